/**
 * The public types of reloadkit's core: units, generations, results, leases, triggers, sources,
 * events and audit records. Every other module (file, http, etcd, redis, nats, cache, mcp,
 * metrics) is written against these names; see docs/architecture.md.
 *
 * @module
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';

export type { ReloadableOptions, UnvalidatedOptions } from './reloadable-options.js';

/**
 * The pipeline stages, as named in results, events, errors and audit records. `'refused'` is not a
 * stage that runs: it names where a candidate whose hash is in the refused set was stopped (right
 * after its hash was computed, before `create`).
 */
export type Stage = 'load' | 'validate' | 'create' | 'health' | 'verify' | 'refused';

/** A hint from a trigger or source: "something may have changed". The unit re-reads; the hash decides. */
export interface Hint {
  /** What kind of event fired, e.g. `file`, `signal`, `interval`, `etcd`, `manual`. */
  kind: string;
  /** Free-form detail (a path, a signal name, a key). Never a config value. */
  detail?: string;
  /** Cache keys the message names as changed (an invalidation). A unit ignores it and re-reads. */
  keys?: readonly string[];
  /** A key prefix the message names as changed. */
  prefix?: string;
  /** The message says everything may have changed. */
  all?: boolean;
  /**
   * Set when the transport may have lost messages before this hint (a skipped sequence number, a
   * reconnect, a publisher restart): what was loaded before `since` (epoch ms) cannot be proven
   * fresh. A unit re-reads; a cache applies its `onGap` policy.
   */
  gap?: { since: number; reason: 'sequence' | 'reconnect' | 'publisher-restart' };
}

/** Why a reload ran: the trigger's kind and detail, or `manual` / `start` / `rollback` / `verify`. */
export interface TriggerInfo {
  kind: string;
  detail?: string;
}

/**
 * Something that says *when* to reload. `start` receives `fire`; the unit or registry coalesces
 * every call to `fire` into reloads. `stop` must release every handle (listeners, timers, watches).
 *
 * @example
 * ```ts
 * const every5s: Trigger = {
 *   start(fire) { this.t = setInterval(() => fire({ kind: 'interval' }), 5000); },
 *   stop() { clearInterval(this.t); },
 * };
 * ```
 */
export interface Trigger {
  start(fire: (hint: Hint) => void): void | Promise<void>;
  stop(): void | Promise<void>;
}

/**
 * Something that says *what* to read. `describe()` names it in error messages (`file config.json`);
 * `read` returns the raw candidate; `watch`, when present, reports hints until the returned
 * function is called.
 */
export interface Source<Raw = unknown> {
  describe(): string;
  read(ctx: { signal: AbortSignal }): Promise<Raw>;
  watch?(hint: (h: Hint) => void): () => void | Promise<void>;
}

/** One committed state of a unit. `toJSON()` omits `value` and `resource`. */
export interface Generation<T = unknown, R = T> {
  /** Increases by one on every commit, rollbacks included. */
  readonly id: number;
  /** Content identity of `value` (default `sha256:<hex>` of RFC 8785 canonical JSON). */
  readonly hash: string;
  readonly value: T;
  readonly resource: R;
  /** Epoch milliseconds. */
  readonly committedAt: number;
  readonly trigger: TriggerInfo;
  toJSON(): GenerationInfo;
}

/** The serializable part of a generation: never a value or a resource. */
export interface GenerationInfo {
  id: number;
  hash: string;
  committedAt: number;
  trigger: TriggerInfo;
}

/**
 * How an attempt ended: `committed`, `unchanged` (same hash as the live one), `rejected` (a stage
 * failed), `refused` (the candidate's hash is in the refused set), `paused` (the unit is paused),
 * `would-commit` (a dry run that passed every stage before the commit).
 */
export type ReloadStatus = 'committed' | 'unchanged' | 'rejected' | 'refused' | 'paused' | 'would-commit';

/** Outcome of `reload()` / `rollback()`. Never rejects for load or validation failures. */
export interface ReloadResult {
  /** Attempt id, unique per unit. */
  id: number;
  unit: string;
  status: ReloadStatus;
  /** True for `committed`, `unchanged` and `would-commit`. */
  ok: boolean;
  /** The live generation id after the attempt (0 when nothing was ever committed). */
  generation: number;
  /** The live generation id before the attempt, when there was one. */
  previous?: number;
  /** Set when rejected. */
  stage?: Stage;
  /**
   * Set when rejected (a `ReloadkitError` subclass), refused (`RefusedError`) or paused
   * (`PausedError`). Serializes to `{ code, message }`.
   */
  error?: Error & { code?: string };
  durationMs: number;
  /** The candidate's hash, when one was computed (never on `paused`, nor on a load failure). */
  hash?: string;
  /**
   * On `committed` (rollbacks too) and `would-commit`: the dotted leaf paths whose values differ
   * from the live value's (`['db.size', 'greeting']`). Paths only, never values.
   */
  changedPaths?: string[];
  /** Set on every result of a dry run (`reload({ dryRun: true })`, `prepare()`). */
  dryRun?: true;
}

/** What happened on the most recent attempt, as reported by `status()`. */
export interface LastAttempt {
  at: number;
  outcome: ReloadResult['status'];
  stage?: Stage;
  error?: { code: string; message: string };
}

/** JSON-safe status of a unit: hashes only, never values or secrets. */
export interface UnitStatus {
  name: string;
  state: 'initializing' | 'ready' | 'degraded' | 'failed' | 'closed';
  /**
   * True while a committed generation is being served (`ready` or `degraded`, not closed). Each
   * member computes its own (units and caches always set it); registries and metrics read it.
   * Optional only so that hand-written registry members keep compiling.
   */
  ready?: boolean;
  /** Live generation id, 0 before the first commit. */
  generation: number;
  hash: string | null;
  committedAt: number | null;
  lastAttempt: LastAttempt | null;
  /** Open leases across every generation. */
  leases: number;
  /** Retired generations waiting for their leases to drain. */
  draining: number;
  /** Why the unit is degraded (e.g. `served from lastKnownGood`), when it is. */
  reason?: string;
  /**
   * Which layer set each leaf of the live generation (`'db.port': 'env APP_DB__PORT'`), when its
   * source attached one: paths and layer names, never values.
   */
  provenance?: Readonly<Record<string, string>>;
  /** The refused hashes (see `Reloadable.clearRefused`), present when there is at least one. */
  refused?: string[];
  /** Present while the unit is paused: since when (epoch ms), why, by whom, and whether a reload waits for `resume()`. */
  paused?: { since: number; reason?: string; actor?: string; pending: boolean };
  /** The values at the paths listed in the `expose` option, from the live value; nothing else. */
  exposed?: Record<string, unknown>;
  /** Extra kind-specific detail (a cache adds its size, stale entries...). Never values. */
  [extra: string]: unknown;
}

/** A hold on one generation: it is not disposed until released (or its drain times out). */
export interface Lease<R> {
  readonly value: R;
  readonly generation: Generation<unknown, R>;
  /** Idempotent. */
  release(): void;
  [Symbol.dispose](): void;
}

/** Options of `reload()`. */
export interface ReloadOptions {
  reason?: string;
  actor?: string;
  trigger?: TriggerInfo;
  /**
   * Commit even when the candidate's hash equals the live one, is refused, or the unit is paused
   * (the audit record says `forced: true`).
   */
  force?: boolean;
  signal?: AbortSignal;
  /**
   * Run every stage up to the commit (load, validate, dedupe, create, healthCheck), then dispose the
   * candidate: nothing commits. The status is `would-commit` (or `unchanged`, `refused`, `rejected`).
   */
  dryRun?: boolean;
  /**
   * A raw candidate to use instead of the source's read; only with `dryRun: true` (a `TypeError`
   * otherwise). It goes through the schema, `validate`, `create` and `healthCheck`.
   */
  candidate?: unknown;
}

/** Options of `rollback()`. */
export interface RollbackOptions {
  /** Generation id to return to; default: the retained generation just before the live one. */
  to?: number;
  reason?: string;
  actor?: string;
}

/** Context passed to `load`. */
export interface LoadContext<T = unknown, R = unknown> {
  signal: AbortSignal;
  previous: Generation<T, R> | undefined;
  trigger: TriggerInfo;
}

/** Context passed to `validate`, `create`, `healthCheck` and `dispose`. */
export interface StageContext<T = unknown, R = unknown> {
  signal: AbortSignal;
  unit: string;
  previous: Generation<T, R> | undefined;
  trigger: TriggerInfo;
}

/** Per-stage timeouts in milliseconds (each applies per attempt). */
export interface Timeouts {
  load?: number;
  create?: number;
  healthCheck?: number;
  dispose?: number;
  /** How long a retired generation may wait for its leases before it is disposed anyway. */
  drain?: number;
}

/** One audit record per start, reload and rollback. Hashes only, never values. */
export interface AuditRecord {
  id: string;
  unit: string;
  action: 'start' | 'reload' | 'rollback' | 'invalidate' | 'dry-run' | 'pause' | 'resume' | 'clear-refused';
  trigger: TriggerInfo;
  actor?: string;
  reason?: string;
  /** ISO-8601. */
  startedAt: string;
  durationMs: number;
  outcome: ReloadResult['status'];
  from?: number;
  to?: number;
  hash?: string;
  stage?: Stage;
  error?: { code: string; message: string };
  /** Extra detail for non-unit members (cache keys' hashes...). Never values. */
  detail?: Record<string, string | number | boolean>;
  /** The dotted leaf paths that differ from the live value (committed, would-commit). Never values. */
  changedPaths?: string[];
  /** The caller passed `force: true` (over a refusal, a pause or an equal hash). */
  forced?: true;
}

/** Where audit records go: a function, or the object returned by `jsonlAudit(path)`. */
export type AuditSink = ((record: AuditRecord) => void | Promise<void>) | { write(record: AuditRecord): void | Promise<void> };

/** Any Standard Schema v1 (zod, valibot, arktype...). */
export type AnySchema = StandardSchemaV1;

/** Output type of a Standard Schema. */
export type SchemaOutput<S> = S extends StandardSchemaV1<any, infer O> ? O : never;

/** A scheduler: real by default, a fake clock in tests. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Typed events of a unit. */
export interface UnitEvents<T = unknown, R = unknown> {
  reloading: [{ unit: string; attempt: number; trigger: TriggerInfo; reason?: string; actor?: string }];
  committed: [{ unit: string; previous: Generation<T, R> | undefined; current: Generation<T, R>; changedPaths: string[]; result: ReloadResult }];
  unchanged: [{ unit: string; current: Generation<T, R>; result: ReloadResult }];
  rejected: [{ unit: string; stage: Stage; error: Error & { code?: string }; result: ReloadResult }];
  /** A rollback committed; `error` is the `VerifyError` when the verify window caused it. */
  'rolled-back': [{ unit: string; from: number; to: number; target: number; reason: string; result: ReloadResult; error?: Error & { code?: string } }];
  disposed: [{ unit: string; generation: GenerationInfo }];
  'drain-timeout': [{ unit: string; generation: GenerationInfo; leases: number }];
  error: [{ unit: string; error: Error; where: string }];
}

export type UnitEventName = keyof UnitEvents;

/** A reloadable unit: each member's contract is on the member. */
export interface Reloadable<T = unknown, R = T> {
  readonly name: string;
  /** Starts watches and triggers, then the initial load. Idempotent; retried by a new call after a failure. */
  start(): Promise<Generation<T, R>>;
  /** The live resource: one field read. Throws `NotReadyError` before the first commit, `ClosedError` after close. */
  get(): R;
  /** The live generation, or `undefined` before the first commit. */
  readonly current: Generation<T, R> | undefined;
  /** Runs `fn` with the live resource, holding a lease until `fn` settles. */
  use<X>(fn: (resource: R, generation: Generation<T, R>) => X | Promise<X>): Promise<X>;
  /** A lease on the live generation; release it (or `using`) when done. */
  acquire(): Lease<R>;
  /** Runs (or joins) a reload. Resolves with the outcome; rejects only after `close()`. */
  reload(opts?: ReloadOptions): Promise<ReloadResult>;
  /** Commits a retained generation's value again, as a new generation. */
  rollback(opts?: RollbackOptions): Promise<ReloadResult>;
  /** JSON-safe status: hashes only. */
  status(): UnitStatus;
  /** Retained generations, newest (the live one) first. */
  history(): GenerationInfo[];
  on<E extends UnitEventName>(event: E, fn: (...args: UnitEvents<T, R>[E]) => void): this;
  off<E extends UnitEventName>(event: E, fn: (...args: UnitEvents<T, R>[E]) => void): this;
  once<E extends UnitEventName>(event: E, fn: (...args: UnitEvents<T, R>[E]) => void): this;
  /** Stops triggers, waits for leases (up to the drain timeout), disposes everything. Idempotent. */
  close(): Promise<void>;
  /**
   * Pauses hint-driven reloads: hints coalesce into one pending reload run by `resume()`;
   * `reload()` resolves `paused` unless `force`. Dry runs still run. Idempotent; audited.
   */
  pause(opts?: PauseOptions): void;
  /** Ends a pause; runs the one coalesced pending reload, if a hint or reload arrived meanwhile. */
  resume(opts?: { actor?: string }): Promise<ReloadResult | undefined>;
  /** Empties the refused set (rolled-back and verify-failed hashes). Audited. */
  clearRefused(opts?: { actor?: string }): void;
  /** A dry run that keeps the created resource warm: commit it later without a rebuild, or discard it. */
  prepare(opts?: PrepareOptions): Promise<PreparedCandidate<T, R>>;
}

/**
 * What a registry holds: a unit, or anything unit-like (a cache) that reports status, reloads,
 * and closes. `rollback` is optional (a cache has none).
 */
export interface RegistryMember {
  readonly name: string;
  start(): Promise<unknown>;
  reload(opts?: ReloadOptions): Promise<ReloadResult>;
  rollback?(opts?: RollbackOptions): Promise<ReloadResult>;
  status(): UnitStatus;
  close(): Promise<void>;
  on(event: 'error', fn: (e: { unit: string; error: Error; where: string }) => void): unknown;
}

/** Options of `pause()`. */
export interface PauseOptions {
  reason?: string;
  actor?: string;
}

/** Options of `prepare()`. */
export interface PrepareOptions {
  /** A raw candidate instead of the source's read. */
  candidate?: unknown;
  /**
   * How long the warm resource waits for `commit()` before it is disposed (on the unit's clock).
   * @default 60000 (`DEFAULT_PREPARE_TIMEOUT_MS`)
   */
  timeoutMs?: number;
  reason?: string;
  actor?: string;
  trigger?: TriggerInfo;
  /** Prepare even when the hash equals the live one, is refused, or the unit is paused. */
  force?: boolean;
}

/** A candidate that passed every stage before the commit, its resource kept warm. */
export interface PreparedCandidate<T = unknown, R = T> {
  /** The dry run's result (`dryRun: true`): `would-commit`, or `unchanged`, `refused`, `rejected`, `paused`. */
  readonly result: ReloadResult;
  readonly hash: string | undefined;
  /** The validated candidate value, while it is warm (`would-commit`, before commit or discard). In-process only. */
  readonly value: T | undefined;
  /** The warm resource, while it is warm. In-process only (like `Generation.resource`). */
  readonly resource: R | undefined;
  /**
   * Swaps the warm resource in under the unit's lock, without a rebuild (even if another
   * generation went live meanwhile). A candidate discarded, timed out, or whose unit closed
   * resolves `rejected` with `RELOADKIT_PREPARE_EXPIRED`; one that was not `would-commit` resolves
   * its own result again.
   */
  commit(opts?: { reason?: string; actor?: string; trigger?: TriggerInfo }): Promise<ReloadResult>;
  /** Disposes the warm resource, exactly once. Idempotent. */
  discard(): Promise<void>;
}
