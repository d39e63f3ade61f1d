/**
 * Staging for a group: a unit runs its pipeline under a hold its scheduler gave the group, and
 * a candidate keeps that hold (so nothing else commits on the unit) until the group commits
 * every member in one synchronous section, or discards them all.
 *
 * @module
 * @internal
 */
import { ReloadkitError } from '../errors.js';
import type { StagedCandidate, StageOutcome } from './member.js';
import type { Candidate, Outcome, PipelineCell } from './pipeline.js';
import type { Attempt } from './report.js';
import type { Hold } from './scheduler.js';
import type { StageAbort } from './timeout.js';
import type { Cell, Outcome as UnitOutcome, UnitCore } from './unit-core.js';
import type { ReloadOptions, ReloadResult } from '../types.js';

/** What staging needs from its unit. */
export interface StagingUnit<T, R, C extends PipelineCell<R>> {
  readonly name: string;
  /** Opens the attempt and runs the pipeline (a closed unit answers a rejected outcome). */
  attempt(opts: ReloadOptions, abort: StageAbort): { a: Attempt; outcome: Promise<Outcome<T, R, C>> };
  /** Commits a candidate, or reports a non-candidate outcome. */
  settle(a: Attempt, outcome: Outcome<T, R, C>): ReloadResult;
  /** Disposes the candidate; its attempt is rejected with the group's error (not this unit's own failure). */
  discard(a: Attempt, candidate: Candidate<T, R, C>, error: Error): ReloadResult;
  /** While a candidate waits: how `close()` abandons it (undefined once settled). */
  setAbandon(abandon: (() => void) | undefined): void;
  closedError(): Error;
}

/**
 * Runs `unit`'s pipeline under `hold`. A `staged` outcome keeps the hold until `commit()` or
 * `discard()` (each idempotent; the first wins); a `done` one has released it.
 *
 * @example
 * ```ts
 * const outcome = await stageOn(unit, opts, await scheduler.hold());
 * if (outcome.kind === 'staged') outcome.staged.commit();
 * ```
 */
export async function stageOn<T, R, C extends PipelineCell<R>>(unit: StagingUnit<T, R, C>, opts: ReloadOptions, hold: Hold): Promise<StageOutcome> {
  const signal = opts.signal;
  const onAbort = (): void => hold.abort.abort(signal?.reason);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  const release = (): void => {
    signal?.removeEventListener('abort', onAbort);
    unit.setAbandon(undefined);
    hold.release();
  };
  let a: Attempt;
  let outcome: Outcome<T, R, C>;
  try {
    const run = unit.attempt(opts, hold.abort);
    a = run.a;
    outcome = await run.outcome;
  } catch (error) {
    release();
    throw error;
  }
  if (outcome.kind !== 'candidate') {
    const result = unit.settle(a, outcome);
    release();
    return { kind: 'done', result };
  }
  const candidate = outcome;
  let settled: ReloadResult | undefined;
  const finish = (settle: () => ReloadResult): ReloadResult => {
    if (settled) return settled;
    try {
      settled = settle();
    } finally {
      release();
    }
    return settled;
  };
  const staged: StagedCandidate = {
    unit: unit.name,
    hash: candidate.hash,
    commit: () => finish(() => unit.settle(a, candidate)),
    discard: (error: Error) => finish(() => unit.discard(a, candidate, error)),
  };
  unit.setAbandon(() => staged.discard(unit.closedError()));
  return { kind: 'staged', staged };
}

/**
 * A unit's side of staging, from its core: a paused member holds its group's reload (as its own
 * `reload()` would answer `paused`), and a discarded candidate is rejected at the failing member's
 * stage without degrading this unit (its source is fine).
 *
 * @example
 * ```ts
 * stageOn(unitStaging(core, (abandon) => (abandonStaged = abandon)), opts, hold);
 * ```
 */
export function unitStaging<T, R>(core: UnitCore<T, R>, setAbandon: (abandon: (() => void) | undefined) => void): StagingUnit<T, R, Cell<R>> {
  return {
    name: core.name,
    attempt: (opts, abort) => {
      const a = core.begin('reload', opts.trigger, { reason: opts.reason, actor: opts.actor, forced: opts.force === true });
      const closed: UnitOutcome<T, R> = { kind: 'rejected', stage: undefined, error: core.closedError('reload') };
      if (core.closed()) return { a, outcome: Promise.resolve(closed) };
      if (opts.force !== true && core.ops.gate.defer(a.trigger)) return { a, outcome: Promise.resolve({ kind: 'paused' }) };
      return { a, outcome: core.attempt(a, abort, opts.force === true) };
    },
    settle: (a, outcome) => core.settle(a, outcome),
    discard: (a, candidate, error) => {
      void core.dispose(candidate.cell);
      return core.outcomes.rejected(a, core.gens.current, error instanceof ReloadkitError ? error.stage : undefined, error, candidate.hash);
    },
    setAbandon,
    closedError: () => core.closedError('reload'),
  };
}
