/**
 * Validation of `reloadableCache()` options: a precise `TypeError` for each invalid option, in
 * p-retry style (`Expected \`ttlMs\` to be ...`), and the defaults in one place.
 *
 * @module
 * @internal
 */
import type { Options as PRetryOptions } from 'p-retry';
import { assertClock, realClock } from '../support/clock.js';
import { hashValue } from '../support/hash.js';
import { normalizeRetry } from '../core/retry.js';
import { isStandardSchema } from '../core/schema.js';
import type { Clock } from '../types.js';
import { invalidationTrigger } from './invalidation.js';
import { describeValue } from '../support/describe-value.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import type { GapPolicy, InvalidationSpec, ReloadableCacheOptions } from './types.js';

/** Options after validation, with defaults applied. */
export interface ResolvedCacheOptions<V> {
  name: string;
  load: ReloadableCacheOptions<V>['load'];
  schema: ReloadableCacheOptions<V>['schema'];
  validate: ReloadableCacheOptions<V>['validate'];
  hash: (value: V) => string;
  ttlMs: number;
  swrMs: number;
  max: number;
  /** `undefined`: a single attempt. */
  retry: PRetryOptions | undefined;
  loadTimeoutMs: number;
  disposeTimeoutMs: number;
  drainMs: number;
  dispose: ReloadableCacheOptions<V>['dispose'];
  serveStaleOnError: boolean;
  errorBackoffMs: number;
  refreshConcurrency: number;
  invalidateOn: InvalidationSpec[];
  onGap: GapPolicy;
  /** `keys: 'plain'`: events carry the key itself too. */
  plainKeys: boolean;
  audit: ReloadableCacheOptions<V>['audit'];
  clock: Clock;
}

/** Every option `reloadableCache()` knows; anything else is a typo (a `TypeError` naming the closest). */
export const KNOWN_KEYS = [
  'name',
  'load',
  'schema',
  'validate',
  'ttlMs',
  'staleWhileRevalidateMs',
  'max',
  'hash',
  'retry',
  'timeouts',
  'drainTimeoutMs',
  'dispose',
  'serveStaleOnError',
  'errorBackoffMs',
  'refreshConcurrency',
  'invalidateOn',
  'onGap',
  'keys',
  'audit',
  'clock',
] as const;

export const DEFAULT_MAX = 1000;
export const DEFAULT_ERROR_BACKOFF_MS = 1000;
export const DEFAULT_REFRESH_CONCURRENCY = 8;
export const DEFAULT_ON_GAP: GapPolicy = 'refresh-stale';
const GAP_POLICIES = ['refresh-stale', 'refresh-all', 'drop-all'];
export const DEFAULT_DRAIN_MS = 30_000;
export const DEFAULT_LOAD_TIMEOUT_MS = 30_000;
export const DEFAULT_DISPOSE_TIMEOUT_MS = 10_000;

/**
 * Validates and completes the options of `reloadableCache()`.
 *
 * @throws {TypeError} naming the first invalid option.
 * @example
 * ```ts
 * resolveCacheOptions({ name: 'users', load: (k) => db.get(k), ttlMs: 60_000 });
 * ```
 */
export function resolveCacheOptions<V>(options: ReloadableCacheOptions<V>): ResolvedCacheOptions<V> {
  if (options === null || typeof options !== 'object') throw new TypeError(`Expected reloadableCache options to be an object, got ${options === null ? 'null' : typeof options}.`);
  const o = options;
  rejectUnknownKeys('reloadableCache', o, KNOWN_KEYS);
  if (typeof o.name !== 'string' || o.name.trim() === '') throw new TypeError('Expected `name` to be a non-empty string.');
  if (typeof o.load !== 'function') throw new TypeError(`Expected \`load\` to be a function (key, ctx) => value, got ${typeof o.load}.`);
  if (o.schema !== undefined && !isStandardSchema(o.schema)) {
    throw new TypeError('Expected `schema` to be a Standard Schema (zod, valibot, arktype...): an object with `~standard.validate`.');
  }
  optionalFunction(o, 'validate');
  optionalFunction(o, 'hash');
  optionalFunction(o, 'dispose');
  const ttlMs = duration(o.ttlMs, 'ttlMs', Infinity, true);
  const swrMs = duration(o.staleWhileRevalidateMs, 'staleWhileRevalidateMs', 0, true);
  if (o.max !== undefined && (!Number.isInteger(o.max) || o.max < 1)) throw new TypeError(`Expected \`max\` to be a positive integer, got ${String(o.max)}.`);
  if (o.timeouts !== undefined && (o.timeouts === null || typeof o.timeouts !== 'object')) throw new TypeError('Expected `timeouts` to be an object { load, dispose, drain }.');
  const timeouts = o.timeouts ?? {};
  const loadTimeoutMs = duration(timeouts.load, 'timeouts.load', DEFAULT_LOAD_TIMEOUT_MS, true, true);
  const disposeTimeoutMs = duration(timeouts.dispose, 'timeouts.dispose', DEFAULT_DISPOSE_TIMEOUT_MS, true, true);
  const drainMs = duration(o.drainTimeoutMs ?? timeouts.drain, o.drainTimeoutMs !== undefined ? 'drainTimeoutMs' : 'timeouts.drain', DEFAULT_DRAIN_MS, true);
  if (o.serveStaleOnError !== undefined && typeof o.serveStaleOnError !== 'boolean') throw new TypeError('Expected `serveStaleOnError` to be a boolean.');
  const errorBackoffMs = duration(o.errorBackoffMs, 'errorBackoffMs', DEFAULT_ERROR_BACKOFF_MS, false);
  if (o.refreshConcurrency !== undefined && (!Number.isInteger(o.refreshConcurrency) || o.refreshConcurrency < 1)) {
    throw new TypeError(`Expected \`refreshConcurrency\` to be a positive integer, got ${String(o.refreshConcurrency)}.`);
  }
  if (o.invalidateOn !== undefined && !Array.isArray(o.invalidateOn)) throw new TypeError('Expected `invalidateOn` to be an array of invalidationTrigger() specs.');
  const invalidateOn = (o.invalidateOn ?? []).map((spec) => invalidationTrigger(spec));
  if (o.onGap !== undefined && typeof o.onGap !== 'function' && !GAP_POLICIES.includes(o.onGap as string)) {
    throw new TypeError(`Expected \`onGap\` to be 'refresh-stale', 'refresh-all', 'drop-all' or a function (gap) => void, got ${describeValue(o.onGap)}.`);
  }
  if (o.keys !== undefined && o.keys !== 'hash' && o.keys !== 'plain') {
    throw new TypeError(`Expected \`keys\` to be 'hash' or 'plain', got ${describeValue(o.keys)}.`);
  }
  if (o.audit !== undefined && typeof o.audit !== 'function' && (o.audit === null || typeof o.audit !== 'object' || typeof (o.audit as { write?: unknown }).write !== 'function')) {
    throw new TypeError('Expected `audit` to be a function or an object with write(record).');
  }
  const clock: Clock = o.clock ?? realClock;
  assertClock(clock, 'clock');
  return {
    name: o.name,
    load: o.load,
    schema: o.schema,
    validate: o.validate,
    hash: o.hash ?? (hashValue as (value: V) => string),
    ttlMs,
    swrMs,
    max: o.max ?? DEFAULT_MAX,
    retry: normalizeRetry(o.retry),
    loadTimeoutMs,
    disposeTimeoutMs,
    drainMs,
    dispose: o.dispose,
    serveStaleOnError: o.serveStaleOnError ?? true,
    errorBackoffMs,
    refreshConcurrency: o.refreshConcurrency ?? DEFAULT_REFRESH_CONCURRENCY,
    invalidateOn,
    onGap: o.onGap ?? DEFAULT_ON_GAP,
    plainKeys: o.keys === 'plain',
    audit: o.audit,
    clock,
  };
}

function optionalFunction(o: object, field: string): void {
  const value = (o as Record<string, unknown>)[field];
  if (value !== undefined && typeof value !== 'function') throw new TypeError(`Expected \`${field}\` to be a function, got ${value === null ? 'null' : typeof value}.`);
}

function duration(value: unknown, field: string, fallback: number, allowInfinity: boolean, positive = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (positive && value === 0) || (!allowInfinity && !Number.isFinite(value))) {
    const what = positive ? 'a positive number' : 'a non-negative number';
    throw new TypeError(`Expected \`${field}\` to be ${what} of milliseconds${allowInfinity ? ' or Infinity' : ''}, got ${String(value)}.`);
  }
  return value;
}
