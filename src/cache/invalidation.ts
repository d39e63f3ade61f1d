/**
 * Invalidation as narrow as the change: targets (a key, `{ prefix }`, `{ loadedBefore }`), and the
 * glue that maps hints from any `Trigger` or `Source` (a Redis channel, an etcd prefix watch, a
 * NATS subject, a file) to keys: the hint's own `keys` / `prefix` / `all`, or a function the user
 * gives; a hint's `gap` goes to the cache's `onGap` repair.
 *
 * @module
 */
import { Watches } from '../core/lifecycle.js';
import { describeValue } from '../support/describe-value.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import type { Hint, Source, Trigger } from '../types.js';
import type { HintGap, HintsToKeys, InvalidateOptions, InvalidationMode, InvalidationSpec, KeySelection } from './types.js';

/** The options `invalidate()` knows. */
const INVALIDATE_KEYS = ['mode', 'actor', 'reason', 'trigger'] as const;
/** The fields of an `invalidationTrigger()` spec. */
const SPEC_KEYS = ['from', 'hintsToKeys', 'mode', 'actor'] as const;

/** A parsed invalidation target. */
export type ParsedTarget = { scope: 'key'; key: string } | { scope: 'prefix'; prefix: string } | { scope: 'loaded-before'; loadedBefore: number };

/**
 * Validates `invalidate()`'s target; a precise `TypeError` otherwise.
 *
 * @example
 * ```ts
 * parseTarget('user:1');                 // { scope: 'key', key: 'user:1' }
 * parseTarget({ prefix: 'user:' });      // { scope: 'prefix', prefix: 'user:' }
 * parseTarget({ loadedBefore: t });      // { scope: 'loaded-before', loadedBefore: t }
 * ```
 */
export function parseTarget(target: unknown): ParsedTarget {
  if (typeof target === 'string') return { scope: 'key', key: target };
  if (target !== null && typeof target === 'object') {
    if (typeof (target as { prefix?: unknown }).prefix === 'string') {
      const prefix = (target as { prefix: string }).prefix;
      if (prefix === '') throw new TypeError('Expected `prefix` to be a non-empty string; use invalidateAll() to invalidate every key.');
      return { scope: 'prefix', prefix };
    }
    if ('loadedBefore' in target) {
      const loadedBefore = (target as { loadedBefore: unknown }).loadedBefore;
      if (typeof loadedBefore !== 'number' || Number.isNaN(loadedBefore)) {
        throw new TypeError(`Expected \`loadedBefore\` to be a time in epoch milliseconds (a number), got ${describeValue(loadedBefore)}.`);
      }
      return { scope: 'loaded-before', loadedBefore };
    }
  }
  throw new TypeError(`Expected an invalidation target: a key string, { prefix: string } or { loadedBefore: number }, got ${describeValue(target)}.`);
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
  if (opts === null || typeof opts !== 'object') throw new TypeError(`Expected invalidation options to be an object, got ${describeValue(opts)}.`);
  rejectUnknownKeys('invalidate', opts, INVALIDATE_KEYS);
  const o = opts as InvalidateOptions;
  const mode = o.mode ?? 'drop';
  if (mode !== 'drop' && mode !== 'refresh') throw new TypeError(`Expected \`mode\` to be 'drop' or 'refresh', got ${describeValue(mode)}.`);
  for (const field of ['actor', 'reason'] as const) {
    if (o[field] !== undefined && typeof o[field] !== 'string') throw new TypeError(`Expected \`${field}\` to be a string, got ${describeValue(o[field])}.`);
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
export function normalizeSelection(selection: KeySelection): KeyTargets | 'all' {
  if (selection === null || selection === undefined) return [];
  if (selection === 'all') return 'all';
  const list: readonly unknown[] = Array.isArray(selection) ? selection : [selection];
  return list.map((item) => {
    const target = parseTarget(item);
    if (target.scope === 'loaded-before') throw new TypeError('Expected hintsToKeys to name keys or { prefix }, not { loadedBefore }.');
    return target;
  });
}

/** Key and prefix targets of one hint. */
export type KeyTargets = Array<Exclude<ParsedTarget, { scope: 'loaded-before' }>>;

/**
 * The keys a hint names by itself (the mapping used when `hintsToKeys` is not given): `all: true`
 * is every key; otherwise `keys` and `prefix` together; none of them is nothing.
 *
 * @example
 * ```ts
 * keysOfHint({ kind: 'redis', keys: ['user:1'], prefix: 'team:' }); // ['user:1', { prefix: 'team:' }]
 * keysOfHint({ kind: 'redis', all: true });                         // 'all'
 * ```
 */
export function keysOfHint(hint: Hint): KeySelection {
  if (hint.all === true) return 'all';
  const out: Array<string | { prefix: string }> = [];
  if (hint.keys !== undefined) {
    if (!Array.isArray(hint.keys)) throw new TypeError(`Expected hint.keys to be an array of strings, got ${Array.isArray(hint.keys) ? 'an array' : typeof hint.keys}.`);
    out.push(...(hint.keys as readonly string[]));
  }
  if (hint.prefix !== undefined) out.push({ prefix: hint.prefix });
  return out;
}

/**
 * The gap a hint reports, normalized: a `since` that is not a finite number means nothing loaded
 * so far can be proven fresh.
 *
 * @example
 * ```ts
 * gapOfHint({ kind: 'nats', gap: { since: 1764230400000, reason: 'reconnect' } }); // the gap
 * gapOfHint({ kind: 'nats' });                                                     // undefined
 * ```
 */
export function gapOfHint(hint: Hint): HintGap | undefined {
  const gap = hint.gap;
  if (gap === undefined || gap === null || typeof gap !== 'object') return undefined;
  const since = typeof gap.since === 'number' && Number.isFinite(gap.since) ? gap.since : Infinity;
  const reason = typeof gap.reason === 'string' ? gap.reason : 'sequence';
  return { since, reason };
}

/** True when `key` is one of `targets` (or every key, for `'all'`). */
export function covers(targets: KeyTargets | 'all', key: string): boolean {
  if (targets === 'all') return true;
  for (const t of targets) if (t.scope === 'key' ? t.key === key : key.startsWith(t.prefix)) return true;
  return false;
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
  if (spec === null || typeof spec !== 'object') throw new TypeError(`invalidationTrigger: expected an object, got ${describeValue(spec)}.`);
  rejectUnknownKeys('invalidationTrigger', spec, SPEC_KEYS);
  const { from, hintsToKeys, mode, actor } = spec;
  if (!isTrigger(from) && !isWatchableSource(from)) {
    throw new TypeError('invalidationTrigger: expected `from` to be a Trigger ({ start, stop }) or a Source with watch().');
  }
  if (hintsToKeys !== undefined && typeof hintsToKeys !== 'function') {
    throw new TypeError(`invalidationTrigger: expected \`hintsToKeys\` to be a function, got ${describeValue(hintsToKeys)}.`);
  }
  if (mode !== undefined && mode !== 'drop' && mode !== 'refresh') throw new TypeError(`invalidationTrigger: expected \`mode\` to be 'drop' or 'refresh', got ${describeValue(mode)}.`);
  if (actor !== undefined && typeof actor !== 'string') throw new TypeError(`invalidationTrigger: expected \`actor\` to be a string, got ${describeValue(actor)}.`);
  return spec;
}

/** The part of a cache an invalidation binding drives. */
export interface HintTarget {
  /** Applies one hint already mapped to `targets`: invalidates them, then repairs a gap. */
  applyTargets(targets: KeyTargets | 'all', gap: HintGap | undefined, opts: InvalidateOptions & { mode: InvalidationMode }): Promise<void>;
}

/** One spec's trigger or source watch, started and stopped by the core's `Watches` (watch before read). */
export interface InvalidationBinding {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Binds one spec to a cache: every hint is mapped to keys (by `hintsToKeys`, else by the hint's
 * own `keys` / `prefix` / `all`) and handed to the cache with its gap. Failures of `hintsToKeys`,
 * of the invalidation, or of starting and stopping the trigger go to `onError`, never to the
 * trigger.
 *
 * @example
 * ```ts
 * const binding = bindInvalidation(spec, cache, (e, where) => console.error(where, e));
 * await binding.start();
 * await binding.stop();
 * ```
 */
export function bindInvalidation(spec: InvalidationSpec, cache: HintTarget, onError: (error: unknown, where: string) => void): InvalidationBinding {
  const mode: InvalidationMode = spec.mode ?? 'drop';
  const hintsToKeys: HintsToKeys = spec.hintsToKeys ?? keysOfHint;
  const onHint = (hint: Hint): void => {
    if (!watches.watching) return;
    // The hint's detail may itself be a key: only its kind goes to audit (see docs/cache.md).
    const kind = typeof hint?.kind === 'string' ? hint.kind : 'hint';
    const opts = { mode, actor: spec.actor ?? `trigger:${kind}`, reason: `hint ${kind}`, trigger: { kind } };
    void (async () => {
      const gap = hint !== null && typeof hint === 'object' ? gapOfHint(hint) : undefined;
      const targets = normalizeSelection(await hintsToKeys(hint));
      if (!watches.watching) return;
      await cache.applyTargets(targets, gap, opts);
    })().catch((error: unknown) => onError(error, 'invalidation'));
  };
  const watches = new Watches(onHint, onError);
  const from = spec.from;
  const trigger = isTrigger(from) ? from : undefined;
  if (trigger) watches.add(trigger);
  return {
    start: () => watches.start(trigger ? undefined : (from as Source<unknown>)),
    stop: () => watches.stop(),
  };
}

function isTrigger(value: unknown): value is Trigger {
  return value !== null && typeof value === 'object' && typeof (value as Trigger).start === 'function' && typeof (value as Trigger).stop === 'function';
}

function isWatchableSource(value: unknown): value is Source<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as Source).watch === 'function';
}
