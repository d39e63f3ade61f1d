/**
 * The member protocol: what compose/ (group, registry) may do to a member beyond its public
 * methods. The hooks live in a module-private `WeakMap`, not on the member, so they are not on any
 * public type, not reachable through reflection, and not callable by application code: nobody
 * outside reloadkit can take a unit's reload lock or attach an audit sink behind its back.
 *
 * @module
 * @internal
 */
import type { AuditSink, ReloadOptions, ReloadResult, UnitStatus } from '../types.js';
import type { Hold, Scheduler } from './scheduler.js';

/** A candidate that passed every pre-commit stage, waiting for its group's decision. */
export interface StagedCandidate {
  readonly unit: string;
  readonly hash: string;
  /** Synchronous reference swap; emits `committed`, retires the previous generation. Idempotent. */
  commit(): ReloadResult;
  /** Disposes the staged resource; the result is `rejected` with `error`. Idempotent. */
  discard(error: Error): ReloadResult;
}

/** What staging produced: a candidate to commit or discard, or a finished attempt (unchanged, rejected). */
export type StageOutcome = { kind: 'staged'; staged: StagedCandidate } | { kind: 'done'; result: ReloadResult };

/** The hooks a member may register. Every one is optional. */
export interface MemberHooks {
  /** Adds an audit sink (a registry's); returns its detach function. */
  attachAudit?(sink: AuditSink): () => void;
  /** The member's scheduler: a group takes every member's hold through it (throttle, then lock). */
  readonly scheduler?: Scheduler;
  /**
   * Runs the pipeline up to the commit under `hold` (already taken from `scheduler`). A `staged`
   * outcome keeps the hold until `commit()` or `discard()`; a `done` one has released it.
   */
  stage?(opts: ReloadOptions, hold: Hold): Promise<StageOutcome>;
  /** Adds a step every fresh `start()` awaits before it watches and loads (a derived unit starts its parent). */
  beforeStart?(step: () => Promise<unknown>): void;
  /** Turns the member's dry runs and `prepare()` into a `TypeError` saying `why` (a derived unit: its candidate comes from its parent). */
  noDryRuns?(why: string): void;
}

const registered = new WeakMap<object, MemberHooks>();

/**
 * Registers `member`'s hooks (once, from its constructor).
 *
 * @example
 * ```ts
 * defineMember(this, { attachAudit: (sink) => this.#report.attachAudit(sink) });
 * ```
 */
export function defineMember(member: object, hooks: MemberHooks): void {
  if (registered.has(member)) throw new Error('defineMember: hooks are already defined for this member');
  registered.set(member, Object.freeze({ ...hooks }));
}

/** The hooks `member` registered, if any. */
export function memberHooks(member: unknown): MemberHooks | undefined {
  return typeof member === 'object' && member !== null ? registered.get(member) : undefined;
}

/**
 * Whether a member is serving: its own `status().ready`, the one definition every reader uses (a
 * registry, the metrics adapters). Units and caches always set it; a hand-written
 * `RegistryMember` that does not is ready once it committed and is `ready` or `degraded`.
 *
 * @example
 * ```ts
 * isReady(unit.status()); // true while the unit serves a committed generation
 * ```
 */
export function isReady(status: UnitStatus): boolean {
  if (typeof status.ready === 'boolean') return status.ready;
  return status.generation > 0 && (status.state === 'ready' || status.state === 'degraded');
}
