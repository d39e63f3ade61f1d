/**
 * Rollbacks: an operator's `rollback()` and the verify window's. A rollback commits a retained
 * generation's value again as a new generation (its warm resource under `keepPrevious`, else
 * rebuilt), and the hash it rolled back FROM joins the refused set (refusals.ts), so the next hint
 * over a source that still holds the bad content commits nothing. A failed verify refuses the
 * failed hash whatever happens next.
 *
 * @module
 * @internal
 */
import { RollbackError, formatMessage, type VerifyError } from '../errors.js';
import type { CommittedGeneration } from './generations.js';
import { build } from './pipeline.js';
import type { StageAbort } from './timeout.js';
import type { Outcome, UnitCore } from './unit-core.js';
import type { Generation, ReloadResult, RollbackOptions, TriggerInfo, UnitEvents } from '../types.js';

/**
 * Rolls `core` back (the caller holds the lock).
 *
 * @example
 * ```ts
 * await scheduler.exclusive((hold) => rollbackOn(core, { to: 3 }, hold.abort, undefined));
 * ```
 */
export async function rollbackOn<T, R>(core: UnitCore<T, R>, opts: RollbackOptions, abort: StageAbort, verify: { gen: Generation<T, R>; error: VerifyError } | undefined): Promise<ReloadResult> {
  const trigger: TriggerInfo = verify ? { kind: 'verify', detail: `generation ${verify.gen.id}` } : { kind: 'rollback' };
  const a = core.report.begin('rollback', trigger, { reason: opts.reason ?? verify?.error.message, actor: opts.actor });
  if (core.closed()) return core.rejected(a, undefined, core.closedError('rollback'));
  const live = core.gens.live;
  const target = core.gens.rollbackTarget(opts.to);
  if (target === 'live') return core.outcomes.unchanged(a, live!.gen, live!.gen.hash);
  if ('missing' in target) {
    const ctx = { unit: core.name };
    return core.rejected(a, undefined, new RollbackError(formatMessage('rollback failed', ctx, target.missing), ctx));
  }
  core.outcomes.reloading(a);
  // The warm resource (keepPrevious) goes live again as it is; otherwise the value is rebuilt.
  const reuse = { raw: target.raw, value: target.gen.value, hash: target.gen.hash, provenance: target.provenance };
  const outcome: Outcome<T, R> = core.gens.isWarm(target) ? { kind: 'candidate', ...reuse, cell: target.cell } : await build(core.spec, reuse, { abort, previous: live!.gen, trigger });
  const from = live!.gen.id;
  // The hash rolled back FROM becomes refused when the rollback commits.
  const result = core.settle(a, outcome, { target: target.gen.id, from: live!.gen.hash, cause: verify?.error });
  if (result.status !== 'committed') return result;
  const event: UnitEvents<T, R>['rolled-back'][0] = { unit: core.name, from, to: result.generation, target: target.gen.id, reason: a.reason ?? 'rollback', result };
  if (verify) event.error = verify.error;
  core.outcomes.rolledBack(event);
  return result;
}

/**
 * The verify check failed while `gen` was live: refuse its hash, roll back to the generation
 * before it. Never throws (failures are the unit's `error` events).
 *
 * @example
 * ```ts
 * new VerifyWindow({ ..., onFailure: (gen, error) => verifyFailedOn(core, gen, error) });
 * ```
 */
export async function verifyFailedOn<T, R>(core: UnitCore<T, R>, gen: CommittedGeneration<T, R>, error: VerifyError): Promise<void> {
  try {
    await core.scheduler.exclusive(async (hold) => {
      if (core.closed() || core.gens.current !== gen) return;
      // Quarantined whatever happens next: the same content must not come back on the next hint.
      core.ops.refused.add(gen.hash);
      const target = core.gens.rollbackTarget(undefined);
      if (typeof target !== 'object' || 'missing' in target) core.report.error(error, 'verify');
      else await rollbackOn(core, { to: target.gen.id }, hold.abort, { gen, error });
    });
  } catch (e) {
    core.report.error(e, 'verify');
  }
}
