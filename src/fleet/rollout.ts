/**
 * `rollout()`, `resumeRollout()`, `controlRollout()` and `readRollout()`: starting a fleet rollout
 * (lock, record and candidate in one transaction), continuing one after its controller crashed,
 * and pausing, resuming or aborting one by id from any process.
 *
 * @module
 */
import type { Namespace } from 'etcd3';
import { RolloutLockedError } from '../errors.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { hashValue } from '../support/hash.js';
import { checkSteps, type RolloutStep } from './cohort.js';
import { openFleetWatch, runController, type FleetAuditRecord, type RolloutHandle } from './controller.js';
import { control, startRecord } from './decide.js';
import type { Gate } from './gate.js';
import { checkName, fleetKeys, newId } from './keys.js';
import { selectMembers } from './command.js';
import { TERMINAL, type RolloutRecord } from './record.js';
import { createRecord, lockHolder, pruneRollouts, readRecord, rolloutFleet, takeLock, writeRecord } from './store.js';

export interface RolloutStrategy {
  /** Cumulative steps; the last one is `{ percent: 100 }`. @example [{ instances: 1, bakeMs: 30000 }, { percent: 25, bakeMs: 30000 }, { percent: 100 }] */
  steps: RolloutStep[];
  /** Prepare everywhere in a step before any instance commits. @default true @example false */
  twoPhase?: boolean;
  /** Rejections (or prepare timeouts) a step tolerates. @default 0 @example 1 */
  maxRejections?: number;
  /** Judges each bake: `false` (or a throw) rolls back. @default none @example (s) => s.errorRate < 0.01 */
  gate?: Gate;
  /** Roll back when the committed instances' error rate exceeds this. @default none @example 0.05 */
  errorRateThreshold?: number;
  /** Requests the committed instances must have served before the threshold applies. @default 1 @example 100 */
  minRequests?: number;
  /** How long a prepare or commit phase waits for live instances' verdicts. @default 60000 @example 10000 */
  phaseTimeoutMs?: number;
}

export interface RolloutOptions {
  client: Namespace;
  fleet: string;
  /** The unit's name on the members. @example 'config' */
  unit: string;
  /** The raw candidate (what the unit's source would read). Stored in etcd: as sensitive as the canonical key. */
  candidate: unknown;
  strategy: RolloutStrategy;
  /** Only members with these labels. @default every member running the unit @example { zone: 'b' } */
  selector?: Record<string, string>;
  /** Who starts it (audit). @example 'ops:alice' */
  actor: string;
  /** Why (audit). @example 'raise pool size' */
  reason: string;
  /** The unit's canonical etcd key. @default `/reloadkit/fleets/<fleet>/config/<unit>` @example '/app/config' */
  key?: string;
  /** Write the candidate to `key` when done. @default true without a selector, false with one (members outside it must stay untouched) @example true */
  writeCanonical?: boolean;
  /** TTL of the controller's lease (the lock). @default 10 @example 5 */
  lockTtlS?: number;
  /** Receives one audit record per decision (start, step, commit, rollback, abort...). @default none @example (r) => audit.write(r) */
  onAudit?: (record: FleetAuditRecord) => void;
  /**
   * Ended rollouts of the unit kept in etcd (record, candidate, verdicts) for `readRollout` and
   * `rollout status`; older ones are deleted when a rollout starts.
   * @default 20
   * @example 100
   */
  retainRollouts?: number;
}

const KNOWN_KEYS = ['client', 'fleet', 'unit', 'candidate', 'strategy', 'selector', 'actor', 'reason', 'key', 'writeCanonical', 'lockTtlS', 'onAudit', 'retainRollouts'] as const;
const STRATEGY_KEYS = ['steps', 'twoPhase', 'maxRejections', 'gate', 'errorRateThreshold', 'minRequests', 'phaseTimeoutMs'] as const;

function checkOptions(o: RolloutOptions): void {
  if (typeof o !== 'object' || o === null) throw new TypeError('rollout: expected an options object');
  rejectUnknownKeys('rollout', o, KNOWN_KEYS);
  if (typeof o.client !== 'object' || o.client === null || typeof o.client.lease !== 'function') throw new TypeError('rollout: expected `client` to be an etcd3 client');
  checkName('rollout', 'fleet', o.fleet);
  checkName('rollout', 'unit', o.unit);
  if (o.candidate === undefined) throw new TypeError('rollout: expected a `candidate`');
  if (typeof o.actor !== 'string' || o.actor.length === 0) throw new TypeError('rollout: expected `actor` to be a non-empty string');
  if (typeof o.reason !== 'string' || o.reason.length === 0) throw new TypeError('rollout: expected `reason` to be a non-empty string');
  if (typeof o.strategy !== 'object' || o.strategy === null) throw new TypeError('rollout: expected a `strategy` object');
  rejectUnknownKeys('rollout: strategy', o.strategy, STRATEGY_KEYS);
  checkSteps('rollout', o.strategy.steps);
  const { maxRejections, errorRateThreshold, minRequests, phaseTimeoutMs, gate, twoPhase } = o.strategy;
  if (maxRejections !== undefined && (!Number.isInteger(maxRejections) || maxRejections < 0)) throw new TypeError(`rollout: expected \`strategy.maxRejections\` to be an integer >= 0, got \`${String(maxRejections)}\``);
  if (errorRateThreshold !== undefined && !(errorRateThreshold >= 0 && errorRateThreshold <= 1)) throw new TypeError(`rollout: expected \`strategy.errorRateThreshold\` to be in [0, 1], got \`${String(errorRateThreshold)}\``);
  if (minRequests !== undefined && (!Number.isInteger(minRequests) || minRequests < 0)) throw new TypeError('rollout: expected `strategy.minRequests` to be an integer >= 0');
  if (phaseTimeoutMs !== undefined && !(phaseTimeoutMs > 0)) throw new TypeError('rollout: expected `strategy.phaseTimeoutMs` to be a number > 0');
  if (gate !== undefined && typeof gate !== 'function') throw new TypeError('rollout: expected `strategy.gate` to be a function');
  if (twoPhase !== undefined && typeof twoPhase !== 'boolean') throw new TypeError('rollout: expected `strategy.twoPhase` to be a boolean');
  if (o.key !== undefined && (typeof o.key !== 'string' || o.key.length === 0)) throw new TypeError('rollout: expected `key` to be a non-empty string');
  if (o.lockTtlS !== undefined && (!Number.isInteger(o.lockTtlS) || o.lockTtlS < 2)) throw new TypeError('rollout: expected `lockTtlS` to be an integer >= 2');
  if (o.onAudit !== undefined && typeof o.onAudit !== 'function') throw new TypeError('rollout: expected `onAudit` to be a function');
  if (o.retainRollouts !== undefined && (!Number.isInteger(o.retainRollouts) || o.retainRollouts < 0)) {
    throw new TypeError(`rollout: expected \`retainRollouts\` to be an integer >= 0, got \`${String(o.retainRollouts)}\``);
  }
}

/**
 * Starts a rollout of `candidate` to the fleet's members of `unit` and runs its controller in
 * this process. Rejects with `RolloutLockedError` when another rollout of the unit is under way.
 *
 * @example
 * ```ts
 * const handle = await rollout({ client, fleet: 'api', unit: 'config', candidate, actor: 'ops:alice', reason: 'pool 20',
 *   strategy: { steps: [{ instances: 1, bakeMs: 30_000 }, { percent: 25, bakeMs: 30_000 }, { percent: 100 }], errorRateThreshold: 0.02 } });
 * handle.on('progress', (p) => console.log(p.decision.action, p.step));
 * const final = await handle.done; // final.state: 'done' | 'rejected' | 'rolled-back' | 'aborted'
 * ```
 */
export async function rollout(options: RolloutOptions): Promise<RolloutHandle> {
  checkOptions(options);
  const { client, fleet, unit, candidate, strategy, selector, actor, reason } = options;
  const raw = JSON.stringify(candidate);
  // Who is eligible, the lock's lease and the controller's watch do not depend on one another:
  // asked together, they cost the start one round trip to etcd instead of three.
  const lease = client.lease(options.lockTtlS ?? 10);
  const [members, granted, watched] = await Promise.allSettled([selectMembers(client, fleet, unit, selector), lease.grant(), openFleetWatch(client, fleet)]);
  // What a start that fails gives back: the watch and the lease (revoked, so the lock goes with it).
  const giveBack = async () => {
    if (watched.status === 'fulfilled') await watched.value.cancel().catch(() => undefined);
    if (granted.status === 'fulfilled') await lease.revoke().catch(() => lease.release());
    else lease.release();
  };
  if (members.status === 'rejected' || granted.status === 'rejected' || watched.status === 'rejected') {
    await giveBack();
    throw [members, granted, watched].find((r): r is PromiseRejectedResult => r.status === 'rejected')!.reason;
  }
  const eligible = new Set(members.value);
  // The rollout starts (its `start` decision, `createdAt`) when its record is written, just below.
  const now = Date.now();
  const record: RolloutRecord = startRecord(
    {
      id: newId(unit), fleet, unit, key: options.key ?? fleetKeys(fleet).canonical(unit), candidateHash: hashValue(candidate),
      ...(selector ? { selector } : {}), actor, reason, createdAt: now,
      strategy: {
        steps: strategy.steps, twoPhase: strategy.twoPhase ?? true, maxRejections: strategy.maxRejections ?? 0,
        phaseTimeoutMs: strategy.phaseTimeoutMs ?? 60_000, minRequests: strategy.minRequests ?? 1,
        ...(strategy.errorRateThreshold !== undefined ? { errorRateThreshold: strategy.errorRateThreshold } : {}),
      },
    },
    eligible,
    now,
  );
  let created: boolean;
  try {
    created = await createRecord(client, record, raw, String(granted.value));
  } catch (error) {
    await giveBack();
    throw error;
  }
  if (!created) {
    await giveBack();
    throw new RolloutLockedError(await lockHolder(client, fleet, unit));
  }
  const handle = await runController({ client, record, lease, watcher: watched.value, gate: strategy.gate, writeCanonical: options.writeCanonical ?? selector === undefined, onAudit: options.onAudit });
  // Under the unit's lock, off the rollout's path: a failure leaves the old records for the next start.
  void pruneRollouts(client, fleet, unit, options.retainRollouts ?? 20).catch(() => undefined);
  return handle;
}

export interface ResumeRolloutOptions {
  client: Namespace;
  id: string;
  /** The gate, which a record cannot hold (a function). @default none @example (s) => s.errorRate < 0.01 */
  gate?: Gate;
  /** As in `rollout()`. @default true unless the record has a selector @example true */
  writeCanonical?: boolean;
  /** @default 10 @example 5 */
  lockTtlS?: number;
  /** @default none @example (r) => audit.write(r) */
  onAudit?: (record: FleetAuditRecord) => void;
  /** How long to wait for a dead controller's lock to expire. @default 30000 @example 15000 */
  lockWaitMs?: number;
}

const RESUME_KEYS = ['client', 'id', 'gate', 'writeCanonical', 'lockTtlS', 'onAudit', 'lockWaitMs'] as const;

/**
 * Continues a rollout from its record in etcd (after its controller crashed, or was detached):
 * waits for the dead controller's lock to expire, takes it, and runs the controller here. A
 * finished rollout resolves at once.
 *
 * @example
 * ```ts
 * const handle = await resumeRollout({ client, id });
 * await handle.done;
 * ```
 */
export async function resumeRollout(options: ResumeRolloutOptions): Promise<RolloutHandle> {
  if (typeof options !== 'object' || options === null) throw new TypeError('resumeRollout: expected an options object');
  rejectUnknownKeys('resumeRollout', options, RESUME_KEYS);
  const { client, id } = options;
  if (typeof id !== 'string' || id.length === 0) throw new TypeError('resumeRollout: expected `id` to be a non-empty string');
  const fleet = await rolloutFleet(client, id);
  const { record } = await readRecord(client, fleet, id);
  const lease = client.lease(options.lockTtlS ?? 10);
  const leaseId = String(await lease.grant());
  const deadline = Date.now() + (options.lockWaitMs ?? 30_000);
  while (!TERMINAL.has(record.state) && (await takeLock(client, record, leaseId)) === 'held') {
    const holder = await lockHolder(client, fleet, record.unit);
    if (holder !== null && holder !== id) {
      await lease.revoke().catch(() => lease.release());
      throw new RolloutLockedError(holder);
    }
    if (Date.now() > deadline) {
      await lease.revoke().catch(() => lease.release());
      throw new RolloutLockedError(holder);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return runController({ client, record, lease, gate: options.gate, writeCanonical: options.writeCanonical ?? record.selector === undefined, onAudit: options.onAudit });
}

/** Pauses, resumes or aborts a rollout by id from any process (its controller follows the record). */
export async function controlRollout(options: { client: Namespace; id: string; action: 'pause' | 'resume' | 'abort'; actor?: string; reason?: string }): Promise<RolloutRecord> {
  if (typeof options !== 'object' || options === null) throw new TypeError('controlRollout: expected an options object');
  rejectUnknownKeys('controlRollout', options, ['client', 'id', 'action', 'actor', 'reason']);
  const { client, id, action } = options;
  if (!['pause', 'resume', 'abort'].includes(action)) throw new TypeError(`controlRollout: expected \`action\` to be pause, resume or abort, got \`${String(action)}\``);
  const fleet = await rolloutFleet(client, id);
  for (;;) {
    const { record, modRevision } = await readRecord(client, fleet, id);
    const next = control(record, action, options.actor, Date.now(), options.reason);
    if (!next.changed || (await writeRecord(client, next.record, modRevision, false))) return next.record;
  }
}

/** The record of a rollout, by id. */
export async function readRollout(options: { client: Namespace; id: string }): Promise<RolloutRecord> {
  rejectUnknownKeys('readRollout', options, ['client', 'id']);
  const fleet = await rolloutFleet(options.client, options.id);
  return (await readRecord(options.client, fleet, options.id)).record;
}
