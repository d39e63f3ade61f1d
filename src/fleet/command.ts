/**
 * `fleetCommand()`: an operator's action (reload, rollback, pause, resume, invalidate) run by
 * exactly the selected live members of a fleet. The command is one key under `ctl/commands/`
 * naming its targets, attached to a lease as long as its timeout (it vanishes by itself); each
 * target runs it locally and writes its result under that lease; members that did not answer in
 * time are named.
 *
 * @module
 */
import type { Namespace } from 'etcd3';
import { errorInfo } from '../errors.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { readFleet } from '../etcd/fleet-table.js';
import { checkName, fleetKeys, newId, type FleetKeys } from './keys.js';
import { matchesSelector, parseJson } from './record.js';
import type { FleetUnit } from './unit-shape.js';

export type FleetAction = 'reload' | 'rollback' | 'pause' | 'resume' | 'invalidate';
const ACTIONS: readonly FleetAction[] = ['reload', 'rollback', 'pause', 'resume', 'invalidate'];

export interface FleetCommandRecord {
  id: string;
  unit: string;
  action: FleetAction;
  args: Record<string, unknown>;
  targets: string[];
  actor: string;
  at: number;
}

/** One member's result. Hashes and codes only. */
export interface FleetCommandResult {
  instance: string;
  ok: boolean;
  status?: string;
  generation?: number;
  hash?: string | null;
  code?: string;
  at: number;
}

export interface FleetCommandOptions {
  client: Namespace;
  fleet: string;
  /** `key=value` labels every target has. @default {} (every live member running the unit) @example { zone: 'b' } */
  selector?: Record<string, string>;
  action: FleetAction;
  unit: string;
  /** Passed to the unit's method (`{ force: true }`, `{ to: 3 }`, `{ reason }`...). @default {} @example { reason: 'db failover' } */
  args?: Record<string, unknown>;
  /** How long to wait for every target's answer. @default 10000 @example 5000 */
  timeoutMs?: number;
  /** Who runs it (recorded in the members' audit). @default 'fleet' @example 'ops:alice' */
  actor?: string;
}

export interface FleetCommandOutcome {
  id: string;
  /** The members the command was sent to (live, running the unit, matching the selector). */
  targets: string[];
  results: Record<string, FleetCommandResult>;
  /** Targets that did not answer within `timeoutMs`. */
  missing: string[];
}

const KNOWN_KEYS = ['client', 'fleet', 'selector', 'action', 'unit', 'args', 'timeoutMs', 'actor'] as const;

/** The live members of `fleet` that run `unit` and match `selector`. */
export async function selectMembers(client: Namespace, fleet: string, unit: string, selector?: Record<string, string>): Promise<string[]> {
  const table = await readFleet(client, fleetKeys(fleet).members);
  const running = new Set(table.rows.filter((r) => r.unit === unit).map((r) => r.instance));
  return table.instances.filter((i) => running.has(i.instance) && matchesSelector(i.labels ?? {}, selector)).map((i) => i.instance).sort();
}

/**
 * Sends `action` to the selected members and collects their results.
 *
 * @example
 * ```ts
 * const { results, missing } = await fleetCommand({ client, fleet: 'api', selector: { zone: 'b' }, action: 'reload', unit: 'config' });
 * ```
 */
export async function fleetCommand(options: FleetCommandOptions): Promise<FleetCommandOutcome> {
  if (typeof options !== 'object' || options === null) throw new TypeError('fleetCommand: expected an options object');
  rejectUnknownKeys('fleetCommand', options, KNOWN_KEYS);
  const { client, fleet, unit, action, selector, args = {}, timeoutMs = 10_000, actor = 'fleet' } = options;
  if (typeof client !== 'object' || client === null || typeof client.lease !== 'function') throw new TypeError('fleetCommand: expected `client` to be an etcd3 client');
  checkName('fleetCommand', 'fleet', fleet);
  checkName('fleetCommand', 'unit', unit);
  if (!ACTIONS.includes(action)) throw new TypeError(`fleetCommand: expected \`action\` to be one of ${ACTIONS.join(', ')}, got \`${String(action)}\``);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new TypeError(`fleetCommand: expected \`timeoutMs\` to be a number > 0, got \`${String(timeoutMs)}\``);

  const keys = fleetKeys(fleet);
  const targets = await selectMembers(client, fleet, unit, selector);
  const id = newId(unit);
  if (targets.length === 0) return { id, targets, results: {}, missing: [] };
  const lease = client.lease(Math.ceil(timeoutMs / 1000) + 2, { autoKeepAlive: false });
  const results: Record<string, FleetCommandResult> = {};
  try {
    const watcher = await client.watch().prefix(keys.results(id)).create();
    const all = new Promise<void>((resolve) => {
      const take = (key: string, text: string) => {
        const result = parseJson<FleetCommandResult>(text);
        const instance = key.slice(keys.results(id).length);
        if (result && targets.includes(instance)) results[instance] = result;
        if (targets.every((t) => results[t])) resolve();
      };
      watcher.on('put', (kv) => take(kv.key.toString(), kv.value.toString()));
    });
    const record: FleetCommandRecord = { id, unit, action, args, targets, actor, at: Date.now() };
    await lease.put(keys.command(id)).value(JSON.stringify(record)).exec();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([all, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    await watcher.cancel();
  } finally {
    await lease.revoke().catch(() => lease.release());
  }
  return { id, targets, results, missing: targets.filter((t) => !results[t]) };
}

/** A member runs a command addressed to it and writes its result under the command's lease. */
export async function runCommand(client: Namespace, keys: FleetKeys, unit: FleetUnit, instance: string, id: string, lease: string, command: FleetCommandRecord): Promise<void> {
  const exists = await client.get(keys.result(id, instance)).string();
  if (exists !== null) return; // answered before this process restarted
  const args = { ...command.args, actor: command.actor, reason: (command.args.reason as string | undefined) ?? `fleet command ${id}` };
  const out: FleetCommandResult = { instance, ok: false, at: 0 };
  try {
    let result: { status?: string; ok?: boolean; generation?: number; error?: unknown } | undefined;
    if (command.action === 'reload') result = await unit.reload(args);
    else if (command.action === 'rollback') {
      if (!unit.rollback) throw new TypeError(`unit ${unit.name} has no rollback()`);
      result = await unit.rollback(args);
    } else if (command.action === 'pause') {
      if (!unit.pause) throw new TypeError(`unit ${unit.name} has no pause()`);
      unit.pause(args);
      result = { status: 'paused', ok: true };
    } else if (command.action === 'resume') {
      if (!unit.resume) throw new TypeError(`unit ${unit.name} has no resume()`);
      result = (await unit.resume(args)) ?? { status: 'resumed', ok: true };
    } else {
      if (!unit.invalidate) throw new TypeError(`unit ${unit.name} has no invalidate()`);
      await (unit.invalidate as (...a: unknown[]) => unknown)(...(Array.isArray(command.args.keys) ? [command.args.keys] : []));
      result = { status: 'invalidated', ok: true };
    }
    out.ok = result.ok === true;
    if (result.status) out.status = result.status;
    if (result.error) out.code = errorInfo(result.error).code;
  } catch (error) {
    out.code = errorInfo(error).code;
  }
  const status = unit.status();
  out.generation = status.generation;
  out.hash = status.hash;
  out.at = Date.now();
  const put = client.put(keys.result(id, instance)).value(JSON.stringify(out));
  await (lease !== '0' ? put.lease(lease) : put).exec();
}
