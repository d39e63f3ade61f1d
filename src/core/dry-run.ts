/**
 * Dry runs and prepared candidates on a unit: every stage up to the commit (load or the caller's
 * candidate, validate, hash, refuse, dedupe, create, healthCheck) under the unit's lock, and then
 * either a `PreparedHandle` keeping the resource warm (`prepare()`) or its disposal at once
 * (`reload({ dryRun: true })`). A dry run never commits, never emits an outcome event, never
 * changes the unit's state (generation, degraded, lastAttempt, refused set); it is audited as
 * `dry-run`.
 *
 * @module
 * @internal
 */
import type { ClosedError, PausedError, RefusedError } from '../errors.js';
import { changedPaths } from '../support/changed-paths.js';
import type { ResourceCell } from './generations.js';
import { LOAD, runPipeline, type Candidate, type PipelineSpec } from './pipeline.js';
import { PreparedHandle, type CommitPreparedOptions, type PrepareHost } from './prepare.js';
import type { Attempt, UnitReport } from './report.js';
import type { Scheduler } from './scheduler.js';
import type { Clock, Generation, PrepareOptions, ReloadResult, TriggerInfo } from '../types.js';

type Cell<R> = ResourceCell<R>;

/** What a dry run needs from its unit. */
export interface DryRunUnit<T, R> {
  readonly name: string;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly spec: PipelineSpec<T, R, Cell<R>>;
  readonly outcomes: UnitReport<T, R>;
  closed(): boolean;
  paused(): boolean;
  live(): Generation<T, R> | undefined;
  begin(action: Attempt['action'], trigger: TriggerInfo | undefined, meta: { reason?: string | undefined; actor?: string | undefined; forced?: boolean }): Attempt;
  isRefused(hash: string): boolean;
  /** The refused result of a commit attempt (reported once per hash). */
  refused(a: Attempt, hash: string): ReloadResult;
  refusedError(hash: string): RefusedError;
  pausedError(what: string): PausedError;
  closedError(what: string): ClosedError;
  /** The commit itself (synchronous; the caller holds the lock). */
  commit(a: Attempt, candidate: Candidate<T, R, Cell<R>>): ReloadResult;
  /** Disposes a cell never committed; resolves once its dispose settled. */
  dispose(cell: Cell<R>): Promise<void>;
}

const PREPARED: TriggerInfo = Object.freeze({ kind: 'prepared' });

/**
 * Runs the dry run under the unit's lock. `allowPaused`: a plain dry run runs while paused; a
 * `prepare()` (meant to commit) answers `paused` unless forced.
 *
 * @example
 * ```ts
 * const handle = await prepareOn(dryRunUnit, { candidate }, { allowPaused: true });
 * await handle.discard();
 * handle.result.status; // 'would-commit'
 * ```
 */
export function prepareOn<T, R>(unit: DryRunUnit<T, R>, opts: PrepareOptions & { signal?: AbortSignal | undefined }, { allowPaused }: { allowPaused: boolean }): Promise<PreparedHandle<T, R, Cell<R>>> {
  const host = hostOf(unit);
  return unit.scheduler.exclusive(async (hold) => {
    const force = opts.force === true;
    const a = unit.begin('dry-run', opts.trigger, { reason: opts.reason, actor: opts.actor, forced: force });
    const done = (end: Parameters<UnitReport<T, R>['dryRun']>[2]): PreparedHandle<T, R, Cell<R>> => new PreparedHandle(host, unit.outcomes.dryRun(a, unit.live(), end), undefined, force);
    if (unit.closed()) return done({ status: 'rejected', error: unit.closedError('prepare') });
    if (!allowPaused && !force && unit.paused()) return done({ status: 'paused', error: unit.pausedError('prepare') });
    const signal = opts.signal;
    const onAbort = (): void => hold.abort.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    const live = unit.live();
    let outcome: Awaited<ReturnType<typeof runPipeline<T, R, Cell<R>>>>;
    try {
      const given = opts.candidate !== undefined ? opts.candidate : LOAD;
      outcome = await runPipeline(unit.spec, { abort: hold.abort, previous: live, trigger: a.trigger, force, refused: (hash) => unit.isRefused(hash) }, given);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    switch (outcome.kind) {
      case 'candidate': {
        if (unit.closed()) {
          void unit.dispose(outcome.cell);
          return done({ status: 'rejected', error: unit.closedError('prepare'), hash: outcome.hash });
        }
        const result = unit.outcomes.dryRun(a, live, { status: 'would-commit', hash: outcome.hash, changedPaths: changedPaths(live?.value, outcome.value) });
        return new PreparedHandle(host, result, outcome, force);
      }
      case 'unchanged':
        return done({ status: 'unchanged', hash: outcome.hash });
      case 'refused':
        return done({ status: 'refused', stage: 'refused', error: unit.refusedError(outcome.hash), hash: outcome.hash });
      case 'paused':
        return done({ status: 'paused', error: unit.pausedError('prepare') });
      case 'rejected':
        return done({ status: 'rejected', stage: outcome.stage, error: outcome.error, hash: outcome.hash });
    }
  });
}

/** How a unit's prepared candidates commit, expire and dispose. */
function hostOf<T, R>(unit: DryRunUnit<T, R>): PrepareHost<T, R, Cell<R>> {
  const expired: PrepareHost<T, R, Cell<R>>['expired'] = (handle, opts, error) => unit.outcomes.rejected(unit.begin('reload', opts.trigger ?? PREPARED, opts), unit.live(), undefined, error);
  return {
    unit: unit.name,
    clock: unit.clock,
    expired,
    dispose: (cell) => unit.dispose(cell),
    commit: (handle, opts: CommitPreparedOptions) =>
      unit.scheduler.exclusive(async () => {
        if (unit.closed()) void handle.expire('closed');
        const candidate = handle.candidate;
        // Not warm any more: its timer fired (or the unit closed) while this commit waited for the lock.
        if (candidate === undefined) return expired(handle, opts, handle.expiredError());
        const force = handle.forced;
        const a = unit.begin('reload', opts.trigger ?? PREPARED, { reason: opts.reason, actor: opts.actor, forced: force });
        // The same gates as any commit: a pause and a refusal (added since the prepare) hold it; it stays warm.
        if (!force && unit.paused()) return unit.outcomes.paused(a, unit.live(), unit.pausedError('commit'));
        if (!force && unit.isRefused(candidate.hash)) return unit.refused(a, candidate.hash);
        const live = unit.live();
        if (!force && live !== undefined && live.hash === candidate.hash) {
          void handle.expire('discarded');
          return unit.outcomes.unchanged(a, live, candidate.hash);
        }
        const result = unit.commit(a, candidate);
        handle.committed(result);
        return result;
      }),
  };
}
