/**
 * The initial load of `start()`, under the unit's lock: the lastKnownGood record is read first
 * (its refused hashes apply to the source's candidate too), then the source; when the source
 * fails, or its candidate is refused, the record's raw config goes through the pipeline instead
 * and the unit serves it degraded.
 *
 * @module
 * @internal
 */
import { readLastKnownGood } from './last-known-good.js';
import type { StageAbort } from './timeout.js';
import type { UnitCore } from './unit-core.js';
import type { ReloadResult, TriggerInfo } from '../types.js';

const START: TriggerInfo = Object.freeze({ kind: 'start' });

/**
 * Runs the initial load (the caller holds the lock).
 *
 * @example
 * ```ts
 * const result = await scheduler.exclusive((hold) => initialLoad(core, hold.abort), { load: true });
 * ```
 */
export async function initialLoad<T, R>(core: UnitCore<T, R>, abort: StageAbort): Promise<ReloadResult> {
  const stored = await readStored(core);
  const a = core.report.begin('start', START, {});
  if (core.closed()) return core.rejected(a, undefined, core.closedError('start'));
  const first = core.settle(a, await core.attempt(a, abort, false));
  if (first.ok || stored === undefined || core.closed()) return first;
  const reason = first.status === 'refused' ? 'source candidate refused at start' : 'source failed at start';
  const b = core.report.begin('start', { kind: 'lastKnownGood', detail: core.o.lastKnownGood! }, { reason });
  const result = core.settle(b, await core.attempt(b, abort, false, stored.raw));
  if (result.status !== 'committed') return first;
  core.degrade(`served from lastKnownGood: ${first.error?.message ?? 'source failed'}`);
  return result;
}

/** The lastKnownGood record, if any; restores its refused hashes. A broken file is reported, never thrown. */
async function readStored<T, R>(core: UnitCore<T, R>): Promise<Awaited<ReturnType<typeof readLastKnownGood>>> {
  if (!core.lkg) return undefined;
  try {
    const stored = await readLastKnownGood(core.o.lastKnownGood!, core.name);
    if (stored !== undefined) {
      core.ops.refused.restore(stored.refused);
      core.lkg.adopt(stored.record);
    }
    return stored;
  } catch (error) {
    core.report.error(error, 'lastKnownGood');
    return undefined;
  }
}
