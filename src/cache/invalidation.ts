/**
 * Invalidation as narrow as the change: targets (`'key'` or `{ prefix }`), and the glue that maps
 * hints from any `Trigger` or `Source` (a Redis channel, an etcd prefix watch, a NATS subject, a
 * file) to keys through a function the user gives.
 *
 * @module
 */
import type { Hint, Source, Trigger } from '../types.js';
import type { HintsToKeys, InvalidateOptions, InvalidationMode, InvalidationSpec, InvalidationTarget, KeySelection } from './types.js';

/** A parsed invalidation target. */
export type ParsedTarget = { scope: 'key'; key: string } | { scope: 'prefix'; prefix: string };

/**
 * Validates `invalidate()`'s target; a precise `TypeError` otherwise.
 *
 * @example
 * ```ts
 * parseTarget('user:1');             // { scope: 'key', key: 'user:1' }
 * parseTarget({ prefix: 'user:' });  // { scope: 'prefix', prefix: 'user:' }
 * ```
 */
export function parseTarget(target: unknown): ParsedTarget {
  if (typeof target === 'string') return { scope: 'key', key: target };
  if (target !== null && typeof target === 'object' && typeof (target as { prefix?: unknown }).prefix === 'string') {
    const prefix = (target as { prefix: string }).prefix;
    if (prefix === '') throw new TypeError('Expected `prefix` to be a non-empty string; use invalidateAll() to invalidate every key.');
    return { scope: 'prefix', prefix };
  }
  throw new TypeError(`Expected an invalidation target: a key string or { prefix: string }, got ${describe(target)}.`);
}

/**
 * Validates `mode` and the other invalidation options (default mode `drop`).
 *
 * @example
 * ```ts
 * parseInvalidateOptions({ mode: 'refresh', actor: 'ops' }); // { mode: 'refresh', actor: 'ops' }
 * ```
 */
export function parseInvalidateOptions(opts: unknown): Required<Pick<InvalidateOptions, 'mode'>> & InvalidateOptions {
  if (opts === undefined) return { mode: 'drop' };
  if (opts === null || typeof opts !== 'object') throw new TypeError(`Expected invalidation options to be an object, got ${describe(opts)}.`);
  const o = opts as InvalidateOptions;
  const mode = o.mode ?? 'drop';
  if (mode !== 'drop' && mode !== 'refresh') throw new TypeError(`Expected \`mode\` to be 'drop' or 'refresh', got ${describe(mode)}.`);
  for (const field of ['actor', 'reason'] as const) {
    if (o[field] !== undefined && typeof o[field] !== 'string') throw new TypeError(`Expected \`${field}\` to be a string, got ${describe(o[field])}.`);
  }
  return { ...o, mode };
}

/**
 * Normalizes what `hintsToKeys` returned; `'all'` stays `'all'`. Throws a `TypeError` on anything else.
 *
 * @example
 * ```ts
 * normalizeSelection(['a', { prefix: 'b:' }]); // [{ scope: 'key', key: 'a' }, { scope: 'prefix', prefix: 'b:' }]
 * normalizeSelection(null);                    // []
 * ```
 */
export function normalizeSelection(selection: KeySelection): ParsedTarget[] | 'all' {
  if (selection === null || selection === undefined) return [];
  if (selection === 'all') return 'all';
  const list: readonly unknown[] = Array.isArray(selection) ? selection : [selection];
  return list.map(parseTarget);
}

/**
 * Declares that hints from `from` (a `Trigger`, or a `Source` with `watch`) invalidate the keys
 * `hintsToKeys(hint)` names. Pass the result in `reloadableCache({ invalidateOn: [...] })`: the cache
 * starts it in `start()` and stops it in `close()`.
 *
 * @throws {TypeError} when `from` is neither a trigger nor a watchable source, or `hintsToKeys` is not a function.
 * @example
 * ```ts
 * const users = reloadableCache({
 *   name: 'users',
 *   load: (key) => db.user(key.slice('user:'.length)),
 *   invalidateOn: [
 *     invalidationTrigger({
 *       from: redisChannelTrigger,                    // any Trigger: fires { kind: 'redis', detail: 'user:42' }
 *       hintsToKeys: (hint) => hint.detail ?? null,   // the message names the key
 *       mode: 'refresh',
 *     }),
 *   ],
 * });
 * ```
 */
export function invalidationTrigger(spec: InvalidationSpec): InvalidationSpec {
  if (spec === null || typeof spec !== 'object') throw new TypeError(`invalidationTrigger: expected an object, got ${describe(spec)}.`);
  const { from, hintsToKeys, mode, actor } = spec;
  if (!isTrigger(from) && !isWatchableSource(from)) {
    throw new TypeError('invalidationTrigger: expected `from` to be a Trigger ({ start, stop }) or a Source with watch().');
  }
  if (typeof hintsToKeys !== 'function') throw new TypeError(`invalidationTrigger: expected \`hintsToKeys\` to be a function, got ${describe(hintsToKeys)}.`);
  if (mode !== undefined && mode !== 'drop' && mode !== 'refresh') throw new TypeError(`invalidationTrigger: expected \`mode\` to be 'drop' or 'refresh', got ${describe(mode)}.`);
  if (actor !== undefined && typeof actor !== 'string') throw new TypeError(`invalidationTrigger: expected \`actor\` to be a string, got ${describe(actor)}.`);
  return spec;
}

/** The part of a cache an invalidation binding drives. */
export interface InvalidationTargetCache {
  invalidate(target: InvalidationTarget, opts: InvalidateOptions): Promise<{ invalidated: number }>;
  invalidateAll(opts: InvalidateOptions): Promise<{ invalidated: number }>;
}

/**
 * Starts one spec: every hint is mapped to keys and invalidated. Returns the stop function.
 * Errors from `hintsToKeys` or from invalidation go to `onError` (never thrown at the trigger).
 *
 * @example
 * ```ts
 * const stop = await startInvalidation(spec, cache, (e) => console.error(e));
 * await stop();
 * ```
 */
export async function startInvalidation(
  spec: InvalidationSpec,
  cache: InvalidationTargetCache,
  onError: (error: Error, where: string) => void,
): Promise<() => Promise<void>> {
  const mode: InvalidationMode = spec.mode ?? 'drop';
  const hintsToKeys: HintsToKeys = spec.hintsToKeys;
  let active = true;
  const onHint = (hint: Hint): void => {
    if (!active) return;
    // The hint's detail may itself be a key: only its kind goes to audit (see docs/cache.md).
    const kind = typeof hint?.kind === 'string' ? hint.kind : 'hint';
    const opts: InvalidateOptions = { mode, actor: spec.actor ?? `trigger:${kind}`, reason: `hint ${kind}`, trigger: { kind } };
    void (async () => {
      const selection = normalizeSelection(await hintsToKeys(hint));
      if (!active) return;
      if (selection === 'all') {
        await cache.invalidateAll(opts);
        return;
      }
      await Promise.all(selection.map((t) => cache.invalidate(t.scope === 'key' ? t.key : { prefix: t.prefix }, opts)));
    })().catch((error: unknown) => onError(error instanceof Error ? error : new Error(String(error)), 'invalidation'));
  };
  let stopFrom: () => void | Promise<void>;
  if (isTrigger(spec.from)) {
    const trigger = spec.from;
    await trigger.start(onHint);
    stopFrom = () => trigger.stop();
  } else {
    const source = spec.from as Source<unknown> & { watch: NonNullable<Source<unknown>['watch']> };
    stopFrom = source.watch(onHint);
  }
  return async () => {
    active = false;
    await stopFrom();
  };
}

function isTrigger(value: unknown): value is Trigger {
  return value !== null && typeof value === 'object' && typeof (value as Trigger).start === 'function' && typeof (value as Trigger).stop === 'function';
}

function isWatchableSource(value: unknown): value is Source<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as Source).watch === 'function';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return typeof value;
}
