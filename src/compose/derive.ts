/**
 * `derive(parent, select, options)`: a unit fed by a slice of another unit's value — e.g. a
 * connection pool rebuilt only when `config.db` changes, not when any other key does.
 *
 * @module
 */
import { NotReadyError } from '../errors.js';
import { memberHooks } from '../core/member.js';
import { reloadable } from '../core/unit.js';
import type { Generation, Hint, Reloadable, ReloadableOptions, Trigger, UnitEvents } from '../types.js';
import { describeValue } from '../support/describe-value.js';
import { RELOADABLE_KEYS } from '../core/options.js';
import { rejectUnknownKeys } from '../support/known-keys.js';

/** A derived unit takes a unit's options, except where it reads from (its parent). */
const DERIVE_KEYS: readonly string[] = RELOADABLE_KEYS.filter((key) => key !== 'load' && key !== 'source');

/** Options of `derive`: those of `reloadable()` without `load` / `source` (the parent is the source). */
export type DeriveOptions<T, R = T> = Omit<ReloadableOptions<T, R>, 'load' | 'source'>;

/**
 * A trigger firing whenever `parent` commits (rollbacks included). Started with the derived unit,
 * before its first load, so no parent commit between the two is missed.
 */
function parentCommitTrigger(parent: Reloadable<any, any>): Trigger {
  let listener: ((e: { unit: string }) => void) | undefined;
  return {
    start(fire: (hint: Hint) => void) {
      if (listener) parent.off('committed', listener).off('rolled-back', listener);
      listener = () => fire({ kind: 'derive', detail: parent.name });
      parent.on('committed', listener as (...a: UnitEvents['committed']) => void);
      parent.on('rolled-back', listener as (...a: UnitEvents['rolled-back']) => void);
    },
    stop() {
      if (!listener) return;
      parent.off('committed', listener as (...a: UnitEvents['committed']) => void);
      parent.off('rolled-back', listener as (...a: UnitEvents['rolled-back']) => void);
      listener = undefined;
    },
  };
}

/**
 * Creates a unit whose candidate is `select(parent.current.value)` — the parent's *validated*
 * value. It reloads whenever the parent commits, and, because a unit commits only when its
 * candidate's hash changes, it commits (and runs `create`) only when the selected slice changed.
 * Its failures are its own: a derived rejection never touches the parent.
 *
 * `start()` starts the parent (idempotent: the same promise as the parent's own `start()`) and
 * waits for its first commit before the derived unit's first load.
 *
 * A derived unit has no dry runs: `reload({ dryRun: true })` and `prepare()` reject with a
 * `TypeError` (dry-run the parent: its dry run is what a derived unit would see). `pause()` holds
 * the parent's commits from reaching it until `resume()`.
 *
 * @throws {TypeError} when `parent` is not a unit, `select` is not a function, or `options` has
 *   `load` / `source` (the parent is the source).
 * @example
 * ```ts
 * import { reloadable, derive } from 'reloadkit';
 * const config = reloadable({ name: 'config', source: fileSource('config.json'), schema: Config });
 * const pool = derive(config, (cfg) => cfg.db, {
 *   name: 'db-pool',
 *   create: (db) => new Pool(db),
 *   dispose: (p) => p.end(),
 * });
 * await pool.start();  // starts config, then builds the pool from config.db
 * // editing config.json's `logLevel` reloads config but keeps the same pool
 * ```
 */
export function derive<P, T, R = T>(
  parent: Reloadable<P, any>,
  select: (value: P) => T,
  options: DeriveOptions<T, R>,
): Reloadable<T, R> {
  if (parent === null || typeof parent !== 'object' || typeof parent.on !== 'function' || typeof parent.start !== 'function' || typeof parent.name !== 'string') {
    throw new TypeError(`derive: expected \`parent\` to be a reloadable unit, got ${describeValue(parent)}`);
  }
  if (typeof select !== 'function') throw new TypeError(`derive: expected \`select\` to be a function, got ${describeValue(select)}`);
  if (options === null || typeof options !== 'object') throw new TypeError(`derive: expected \`options\` to be an object, got ${describeValue(options)}`);
  if ('load' in options || 'source' in options) {
    throw new TypeError(`derive: \`options\` must not have \`load\` or \`source\` (unit "${String(options.name)}" reads its parent "${parent.name}")`);
  }
  rejectUnknownKeys('derive', options, DERIVE_KEYS);

  const readSlice = (): unknown => {
    const live: Generation<P, unknown> | undefined = parent.current;
    if (!live) throw new NotReadyError(`[${options.name}] parent unit "${parent.name}" has not committed yet`, { unit: options.name });
    return select(live.value);
  };

  const unit = reloadable<T, R>({
    // Reading a slice in memory cannot fail transiently: retrying would only delay the error.
    retry: false,
    ...options,
    load: readSlice,
    triggers: [parentCommitTrigger(parent), ...(options.triggers ?? [])],
  } as ReloadableOptions<T, R>);

  // A derived unit is started like any unit; every fresh start first starts its parent (the same
  // promise as the parent's own `start()`) and so waits for the parent's first commit.
  memberHooks(unit)!.beforeStart!(() => parent.start());
  // A derived candidate is a slice of the parent's live value: a dry run could only re-check what is
  // live, and a prepared slice committed on its own would diverge from the parent. Dry-run the parent.
  memberHooks(unit)!.noDryRuns!(`its candidate is a slice of its parent "${parent.name}"; dry-run or prepare the parent instead`);
  return unit;
}
