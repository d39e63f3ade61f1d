/**
 * Where a fleet lives in etcd. Every key of fleet `F` is under `/reloadkit/fleets/F/`:
 *
 * - `members/<instance>`              registration (labels, pid, host), under the member's lease
 * - `members/<instance>/<unit>`       the unit's state record (generation, hash, outcome, health)
 * - `ctl/rollouts/<id>`               a rollout record (the only writer is its controller)
 * - `ctl/locks/<unit>`                one rollout per fleet+unit, under the controller's lease
 * - `ctl/commands/<id>`               a fleet command, under a lease as long as its timeout
 * - `ctl/candidates/<id>`             the raw candidate of a rollout (as sensitive as the config)
 * - `verdicts/<id>/<instance>`        one member's verdict on a rollout
 * - `results/<command id>/<instance>` one member's result of a command, under the command's lease
 * - `config/<unit>`                   the canonical key of a unit (default; a rollout may name another)
 *
 * Members watch `ctl/` only (one watch per process, few events); verdicts and state records,
 * which every member writes, are outside it so that no member wakes for another's write. A
 * candidate is under `ctl/` so that it reaches each process on the watch, in the transaction that
 * creates the rollout, instead of by one read per process; listings of `ctl/` skip candidates.
 *
 * @module
 */

/** Root of every fleet. */
export const FLEETS_ROOT = '/reloadkit/fleets/';
/** Rollout id → fleet name, so `resumeRollout({ id })` needs no fleet. */
export const ROLLOUT_INDEX = '/reloadkit/rollout-index/';

const NAME = /^[A-Za-z0-9._:-]+$/;

/** Throws a TypeError unless `value` is a name usable as one etcd key segment. */
export function checkName(who: string, what: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new TypeError(`${who}: expected \`${what}\` to be a non-empty string of letters, digits, '.', '_', ':' or '-', got \`${typeof value === 'string' ? value : typeof value}\``);
  }
}

/** The keys of one fleet. */
export function fleetKeys(fleet: string) {
  const base = `${FLEETS_ROOT}${fleet}/`;
  return {
    base,
    members: `${base}members/`,
    member: (instance: string) => `${base}members/${instance}`,
    state: (instance: string, unit: string) => `${base}members/${instance}/${unit}`,
    ctl: `${base}ctl/`,
    rollouts: `${base}ctl/rollouts/`,
    rollout: (id: string) => `${base}ctl/rollouts/${id}`,
    lock: (unit: string) => `${base}ctl/locks/${unit}`,
    candidates: `${base}ctl/candidates/`,
    commands: `${base}ctl/commands/`,
    command: (id: string) => `${base}ctl/commands/${id}`,
    candidate: (id: string) => `${base}ctl/candidates/${id}`,
    verdicts: (id: string) => `${base}verdicts/${id}/`,
    verdict: (id: string, instance: string) => `${base}verdicts/${id}/${instance}`,
    results: (id: string) => `${base}results/${id}/`,
    result: (id: string, instance: string) => `${base}results/${id}/${instance}`,
    canonical: (unit: string) => `${base}config/${unit}`,
  };
}

export type FleetKeys = ReturnType<typeof fleetKeys>;

/** A fresh id: `<unit>-<time base36>-<random>`, sortable by creation time. */
export function newId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
