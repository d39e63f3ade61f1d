/**
 * The diagnostics channels of the core: how a tracer (`traceUnits` of `reloadkit/opentelemetry`,
 * or any other) sees reload attempts, their stages, commits, drains, disposals and leases without
 * the core depending on it. Channels are process-wide by name (`node:diagnostics_channel`), so two
 * copies of reloadkit in one process publish to the same subscribers.
 *
 * Every helper checks `hasSubscribers` first and builds its message only then: a process with no
 * tracer pays one property read per call site. Messages carry ids, names, stages, outcomes,
 * hashes, error codes and counts, never a value, a resource or an error message. A subscriber must
 * not throw (`diagnostics_channel` rethrows it as an uncaught exception on the next tick).
 *
 * Attempts of one unit never overlap (the reload lock serializes them), so stage and retry
 * messages name the unit only: they belong to that unit's open attempt.
 *
 * @module
 */
import { channel } from 'node:diagnostics_channel';
import { changedPaths } from '../support/changed-paths.js';
import { errorInfo } from '../errors.js';
import type { AuditRecord, ReloadResult, Stage, TriggerInfo } from '../types.js';

/** The channel names, one per event. */
export const CHANNELS = {
  /** `reload()` was called (every caller of a coalesced run, each with its own trigger). */
  request: 'reloadkit:reload.request',
  /** An attempt began (reload, start, rollback, a group member's staged reload). */
  attemptStart: 'reloadkit:attempt.start',
  /** The open attempt entered a stage; the previous stage, if any, ended. */
  stageStart: 'reloadkit:stage.start',
  /** The open attempt's load is tried again (the retry number counts from 2). */
  loadRetry: 'reloadkit:load.retry',
  /** The open attempt committed a generation (the synchronous swap). */
  commit: 'reloadkit:commit',
  /** The open attempt finished: committed, unchanged or rejected. Published exactly once per attempt. */
  attemptEnd: 'reloadkit:attempt.end',
  /** A generation was retired while still leased: its drain begins. */
  drain: 'reloadkit:drain',
  /** A resource's disposal began (a retired generation, or a candidate never committed: generation 0). */
  disposeStart: 'reloadkit:dispose.start',
  /** A resource's disposal finished (successfully or not: a failing dispose is a contained error). */
  disposeEnd: 'reloadkit:dispose.end',
  /** `use()` or `acquire()` (so `pin()` too) handed out a generation's resource. */
  lease: 'reloadkit:lease',
  /** A cache lookup: hit or miss. (A cache's per-key loads are attempts: `attempt.start` with its key.) */
  cacheLookup: 'reloadkit:cache.lookup',
} as const;

/** `reloadkit:reload.request`. */
export interface ReloadRequestMessage {
  unit: string;
  /** The coalesced run this caller joined; its attempt's `run` names it. */
  run: number;
  /** This caller's trigger kind (`manual` when none was given). */
  trigger: string;
  /** True when the unit's own source or triggers fired it (a file change, a store event, a signal). */
  hint: boolean;
}

/** `reloadkit:attempt.start`. */
export interface AttemptStartMessage {
  unit: string;
  /** The attempt id (the `id` of its `ReloadResult`). */
  attempt: number;
  action: AuditRecord['action'];
  trigger: string;
  /** The coalesced run this attempt carries out; absent for start, rollback and staged (group) attempts. */
  run?: number;
  /** A cache's per-key load: the key's hash. */
  keyHash?: string;
  /** A cache's per-key load, with `keys: 'plain'` only: the key itself. */
  key?: string;
}

/** `reloadkit:stage.start`. */
export interface StageStartMessage {
  unit: string;
  stage: Exclude<Stage, 'verify'>;
}

/** `reloadkit:load.retry`. */
export interface LoadRetryMessage {
  unit: string;
  /** Which try of the load this is: 2 for the first retry. */
  try: number;
}

/** `reloadkit:commit`. */
export interface CommitMessage {
  unit: string;
  from?: number;
  to: number;
  hash: string;
  /** How many dotted paths differ from the previous generation (capped like `changedPaths`). */
  changedPaths: number;
}

/** `reloadkit:attempt.end`. */
export interface AttemptEndMessage {
  unit: string;
  attempt: number;
  outcome: ReloadResult['status'];
  durationMs: number;
  from?: number;
  /** The committed generation (committed outcomes only). */
  to?: number;
  hash?: string;
  /** The failing stage (rejections at a stage). */
  stage?: Stage;
  /** The error code (rejections). */
  code?: string;
  /** The generation a rollback went back to. */
  target?: number;
}

/** `reloadkit:drain`, `reloadkit:dispose.start`, `reloadkit:dispose.end`. */
export interface ResourceMessage {
  unit: string;
  /** The generation that held the resource; 0 for a candidate that was never committed. */
  generation: number;
  /** Leases still open (at dispose time, more than 0 means the drain timed out). */
  leases: number;
}

/** `reloadkit:lease`. */
export interface LeaseMessage {
  unit: string;
  generation: number;
  hash: string;
  via: 'use' | 'acquire';
}

/** `reloadkit:cache.lookup`. */
export interface CacheLookupMessage {
  cache: string;
  hit: boolean;
  keyHash: string;
  /** With `keys: 'plain'` only. */
  key?: string;
}

/** How a cache names a key outside the process: its hash, and with `keys: 'plain'` the key too. */
export interface KeyFields {
  keyFields(key: string): { keyHash: string; key?: string };
}

const request = channel(CHANNELS.request);
const attemptStart = channel(CHANNELS.attemptStart);
const stageStart = channel(CHANNELS.stageStart);
const loadRetry = channel(CHANNELS.loadRetry);
const commit = channel(CHANNELS.commit);
const attemptEnd = channel(CHANNELS.attemptEnd);
const drain = channel(CHANNELS.drain);
const disposeStart = channel(CHANNELS.disposeStart);
const disposeEnd = channel(CHANNELS.disposeEnd);
const lease = channel(CHANNELS.lease);
const cacheLookup = channel(CHANNELS.cacheLookup);

/** Triggers built by a unit's own hint handler (so a tracer can tell a hint from a caller). */
const hintTriggers = new WeakSet<object>();

/**
 * Marks a trigger as coming from a hint; returns it. Only while someone listens.
 *
 * @example
 * ```ts
 * this.reload({ trigger: markHint(trigger) });
 * ```
 */
export function markHint<X extends object>(trigger: X): X {
  if (request.hasSubscribers) hintTriggers.add(trigger);
  return trigger;
}

/**
 * `reload()` was called and joined (or created) run `run`.
 *
 * @example
 * ```ts
 * reloadRequested(this.#unit, run.id, opts.trigger);
 * ```
 */
export function reloadRequested(unit: string, run: number, trigger: { kind: string } | undefined): void {
  if (!request.hasSubscribers) return;
  const message: ReloadRequestMessage = { unit, run, trigger: trigger ? String(trigger.kind) : 'manual', hint: trigger !== undefined && hintTriggers.has(trigger) };
  request.publish(message);
}

/**
 * An attempt began; `run` is the scheduler run it carries out, if any; `key` names a cache's
 * per-key load (called only while someone listens: hashing a key is not free).
 *
 * @example
 * ```ts
 * attemptStarted(this.#o.unit, attempt, meta.run, meta.key);
 * ```
 */
export function attemptStarted(
  unit: string,
  a: { id: number; action: AttemptStartMessage['action']; trigger: TriggerInfo },
  run: number | undefined,
  key?: () => { keyHash: string; key?: string },
): void {
  if (!attemptStart.hasSubscribers) return;
  const message: AttemptStartMessage = { unit, attempt: a.id, action: a.action, trigger: a.trigger.kind };
  if (run !== undefined) message.run = run;
  if (key !== undefined) {
    const fields = key();
    message.keyHash = fields.keyHash;
    if (fields.key !== undefined) message.key = fields.key;
  }
  attemptStart.publish(message);
}

/**
 * The open attempt of `unit` entered `stage`.
 *
 * @example
 * ```ts
 * stageStarted(spec.where.unit, 'validate');
 * ```
 */
export function stageStarted(unit: string, stage: StageStartMessage['stage']): void {
  if (stageStart.hasSubscribers) stageStart.publish({ unit, stage } satisfies StageStartMessage);
}

/**
 * The load of the open attempt runs its `n`th try; the first try publishes nothing.
 *
 * @example
 * ```ts
 * loadTried(spec.where.unit, ++attempts);
 * ```
 */
export function loadTried(unit: string, n: number): void {
  if (n > 1 && loadRetry.hasSubscribers) loadRetry.publish({ unit, try: n } satisfies LoadRetryMessage);
}

/**
 * A generation was committed. The values are compared here, and only their count of changed
 * paths leaves: nothing of either value is published.
 *
 * @example
 * ```ts
 * committed(this.name, previous?.gen, slot.gen);
 * ```
 */
export function committed(unit: string, previous: { id: number; value: unknown } | undefined, next: { id: number; hash: string; value: unknown }): void {
  if (!commit.hasSubscribers) return;
  const message: CommitMessage = { unit, to: next.id, hash: next.hash, changedPaths: changedPaths(previous?.value, next.value).length };
  if (previous !== undefined) message.from = previous.id;
  commit.publish(message);
}

/**
 * The attempt finished with `result`.
 *
 * @example
 * ```ts
 * attemptEnded(this.#o.unit, result, end.hash, end.detail?.target);
 * ```
 */
export function attemptEnded(unit: string, result: ReloadResult, hash: string | undefined, target?: unknown): void {
  if (!attemptEnd.hasSubscribers) return;
  const message: AttemptEndMessage = { unit, attempt: result.id, outcome: result.status, durationMs: result.durationMs };
  if (result.previous !== undefined) message.from = result.previous;
  if (result.status === 'committed') message.to = result.generation;
  if (hash !== undefined) message.hash = hash;
  if (result.stage !== undefined) message.stage = result.stage;
  if (result.error !== undefined) message.code = errorInfo(result.error).code;
  if (typeof target === 'number') message.target = target;
  attemptEnd.publish(message);
}

/**
 * A retired generation still has leases: its drain begins.
 *
 * @example
 * ```ts
 * drainStarted(this.#o.unit, generationOf(cell), cell.leases);
 * ```
 */
export function drainStarted(unit: string, generation: number, leases: number): void {
  if (drain.hasSubscribers) drain.publish({ unit, generation, leases } satisfies ResourceMessage);
}

/**
 * A resource's disposal began.
 *
 * @example
 * ```ts
 * disposeStarted(this.#o.unit, generationOf(cell), cell.leases);
 * ```
 */
export function disposeStarted(unit: string, generation: number, leases: number): void {
  if (disposeStart.hasSubscribers) disposeStart.publish({ unit, generation, leases } satisfies ResourceMessage);
}

/**
 * A resource's disposal finished.
 *
 * @example
 * ```ts
 * disposeEnded(this.#o.unit, generationOf(cell), cell.leases);
 * ```
 */
export function disposeEnded(unit: string, generation: number, leases: number): void {
  if (disposeEnd.hasSubscribers) disposeEnd.publish({ unit, generation, leases } satisfies ResourceMessage);
}

/**
 * `use()` or `acquire()` handed out generation `gen`; the subscriber runs in the caller's context,
 * so a tracer can annotate the caller's active span.
 *
 * @example
 * ```ts
 * leased(this.name, slot.gen, 'use');
 * ```
 */
export function leased(unit: string, gen: { id: number; hash: string }, via: LeaseMessage['via']): void {
  if (lease.hasSubscribers) lease.publish({ unit, generation: gen.id, hash: gen.hash, via } satisfies LeaseMessage);
}

/**
 * A cache lookup hit or missed; the subscriber runs in the caller's context. `names` labels the
 * key, only while someone listens (the hit path pays one `hasSubscribers` check).
 *
 * @example
 * ```ts
 * cacheLooked(this.name, true, key, this.#c);
 * ```
 */
export function cacheLooked(cache: string, hit: boolean, key: string, names: KeyFields): void {
  if (cacheLookup.hasSubscribers) cacheLookup.publish({ cache, hit, ...names.keyFields(key) } satisfies CacheLookupMessage);
}
