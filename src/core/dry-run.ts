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
import { changedPaths } from '../support/changed-paths.js';
import { LOAD, runPipeline } from './pipeline.js';
import { PreparedHandle, Preparations, prepareOptionsError, type CommitPreparedOptions, type PrepareHost } from './prepare.js';
import type { UnitReport } from './report.js';
import type { Cell, UnitCore } from './unit-core.js';
import { callOptionsError } from './options.js';
import type { PreparedCandidate, PrepareOptions, ReloadOptions, ReloadResult, TriggerInfo } from '../types.js';

/** What a dry run needs from its unit. */
export type DryRunUnit<T, R> = UnitCore<T, R>;

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
    const done = (end: Parameters<UnitReport<T, R>['dryRun']>[2]): PreparedHandle<T, R, Cell<R>> => new PreparedHandle(host, unit.outcomes.dryRun(a, unit.gens.current, end), undefined, force);
    if (unit.closed()) return done({ status: 'rejected', error: unit.closedError('prepare') });
    if (!allowPaused && !force && unit.ops.gate.paused) return done({ status: 'paused', error: unit.ops.pausedError('prepare') });
    const signal = opts.signal;
    const onAbort = (): void => hold.abort.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    const live = unit.gens.current;
    let outcome: Awaited<ReturnType<typeof runPipeline<T, R, Cell<R>>>>;
    try {
      const given = opts.candidate !== undefined ? opts.candidate : LOAD;
      outcome = await runPipeline(unit.spec, { abort: hold.abort, previous: live, trigger: a.trigger, force, refused: (hash) => unit.ops.refused.has(hash) }, given);
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
        return done({ status: 'refused', stage: 'refused', error: unit.ops.refusedError(outcome.hash), hash: outcome.hash });
      case 'paused':
        return done({ status: 'paused', error: unit.ops.pausedError('prepare') });
      case 'rejected':
        return done({ status: 'rejected', stage: outcome.stage, error: outcome.error, hash: outcome.hash });
    }
  });
}

/** How a unit's prepared candidates commit, expire and dispose. */
function hostOf<T, R>(unit: DryRunUnit<T, R>): PrepareHost<T, R, Cell<R>> {
  const expired: PrepareHost<T, R, Cell<R>>['expired'] = (handle, opts, error) => unit.outcomes.rejected(unit.begin('reload', opts.trigger ?? PREPARED, opts), unit.gens.current, undefined, error);
  return {
    unit: unit.name,
    clock: unit.o.clock,
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
        if (!force && unit.ops.gate.paused) return unit.outcomes.paused(a, unit.gens.current, unit.ops.pausedError('commit'));
        if (!force && unit.ops.refused.has(candidate.hash)) return unit.refused(a, candidate.hash);
        const live = unit.gens.current;
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

/**
 * The dry-run surface of one unit: `prepare()`, `reload({ dryRun: true })`, the warm candidates
 * `close()` disposes, and the derived unit's refusal of both.
 *
 * @example
 * ```ts
 * const dry = new DryRuns(core);
 * const result = await dry.run({ dryRun: true, candidate }); // 'would-commit'
 * ```
 */
export class DryRuns<T, R> {
  readonly #core: UnitCore<T, R>;
  readonly #prepared = new Preparations<T, R, Cell<R>>();
  /** Set for a derived unit: why it has no dry runs (its candidate comes from its parent). */
  #forbidden: string | undefined;

  constructor(core: UnitCore<T, R>) {
    this.#core = core;
  }

  /** A derived unit: every dry run and prepare becomes a `TypeError` saying `why`. */
  forbid(why: string): void {
    this.#forbidden = why;
  }

  prepare(opts: PrepareOptions): Promise<PreparedCandidate<T, R>> {
    const invalid = prepareOptionsError(opts) ?? this.#forbiddenError('prepare()') ?? callOptionsError({ reason: opts.reason, actor: opts.actor, force: opts.force, trigger: opts.trigger }, 'reload');
    if (invalid) return Promise.reject(invalid);
    return prepareOn(this.#core, opts, { allowPaused: false }).then((handle) => {
      this.#prepared.track(handle, opts.timeoutMs);
      return handle;
    });
  }

  /** `reload({ dryRun: true })`: a prepare, then its discard; the result is the prepare's. */
  async run(opts: ReloadOptions): Promise<ReloadResult> {
    const invalid = this.#forbiddenError('reload({ dryRun: true })');
    if (invalid) throw invalid;
    const handle = await prepareOn(this.#core, opts, { allowPaused: true });
    await handle.discard();
    return handle.result;
  }

  /** Disposes every warm prepared candidate (the unit closes). */
  closeAll(): Promise<void> {
    return this.#prepared.closeAll();
  }

  #forbiddenError(what: string): TypeError | undefined {
    return this.#forbidden === undefined ? undefined : new TypeError(`${what} is not available on the derived unit "${this.#core.name}": ${this.#forbidden}.`);
  }
}
