/**
 * p-retry around a stage (the unit's `load`, the cache's per-key loads). Defaults: 2 retries
 * (3 attempts), exponential from 100 ms. Backoff waits run on the injected `Clock`, so a fake
 * clock drives retries in tests; the AbortSignal stops retrying at once.
 *
 * @module
 */
import pRetry, { AbortError, type Options as PRetryOptions } from 'p-retry';
import { realClock, sleepOn } from '../support/clock.js';
import { AbortedError } from '../errors.js';
import type { AbortLike } from './timeout.js';
import type { Clock } from '../types.js';

/** The `retry` option: a retry count, `false` (one attempt), or p-retry options. */
export type RetrySetting = number | false | PRetryOptions | undefined;

/** The defaults: 2 retries, exponential backoff from 100 ms, factor 2. */
export const DEFAULT_RETRY: Readonly<{ retries: number; minTimeout: number; factor: number }> = Object.freeze({ retries: 2, minTimeout: 100, factor: 2 });

/**
 * Normalizes and checks a `retry` option (precise `TypeError` on bad input). `undefined` means the
 * defaults; `false` and `0` mean a single attempt (returned as `undefined`).
 *
 * @example
 * ```ts
 * normalizeRetry(5); // { retries: 5, minTimeout: 100, factor: 2 }
 * ```
 */
export function normalizeRetry(retry: RetrySetting, name = 'retry'): PRetryOptions | undefined {
  if (retry === undefined) return { ...DEFAULT_RETRY };
  if (retry === false) return undefined;
  if (typeof retry === 'number') {
    if (!Number.isInteger(retry) || retry < 0) throw new TypeError(`Expected \`${name}\` to be a non-negative integer, false, or p-retry options, got ${retry}.`);
    return retry === 0 ? undefined : { ...DEFAULT_RETRY, retries: retry };
  }
  if (typeof retry !== 'object' || retry === null) throw new TypeError(`Expected \`${name}\` to be a non-negative integer, false, or p-retry options, got ${typeof retry}.`);
  const merged = { ...DEFAULT_RETRY, ...retry };
  if (typeof merged.retries !== 'number' || merged.retries < 0 || Number.isNaN(merged.retries)) throw new TypeError(`Expected \`${name}.retries\` to be a non-negative number.`);
  return merged.retries === 0 ? undefined : merged;
}

function backoff(retriesConsumed: number, o: PRetryOptions): number {
  const attempt = Math.max(1, retriesConsumed + 1);
  const random = o.randomize ? Math.random() + 1 : 1;
  const ms = Math.round(random * (o.minTimeout ?? DEFAULT_RETRY.minTimeout) * (o.factor ?? DEFAULT_RETRY.factor) ** (attempt - 1));
  return Math.min(ms, o.maxTimeout ?? Number.POSITIVE_INFINITY);
}

/**
 * Calls `fn(attempt)` until it succeeds or the retry budget is spent; rejects with the last
 * error. `AbortedError`s and an aborted `signal` stop at once. `retry` is normalized with
 * `normalizeRetry` (pass the result of `normalizeRetry` or a raw setting).
 *
 * @example
 * ```ts
 * const raw = await withRetry((attempt) => fetchConfig(), 3, { signal });
 * ```
 */
export function withRetry<T>(
  fn: (attempt: number) => T | PromiseLike<T>,
  retry: RetrySetting,
  { signal, clock = realClock }: { signal?: AbortLike; clock?: Clock } = {},
): Promise<T> {
  const options = normalizeRetry(retry);
  if (options === undefined) {
    try {
      return Promise.resolve(fn(1));
    } catch (error) {
      return Promise.reject(error);
    }
  }
  const userShouldRetry = options.shouldRetry;
  const attempt = (n: number): T | PromiseLike<T> => {
    if (signal?.aborted) throw new AbortError(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    return fn(n);
  };
  const retryAfter = (firstError: unknown): Promise<T> => {
    // The first attempt already failed: p-retry replays its error, then retries as configured.
    let replayed = false;
    return pRetry(
      (n) => {
        if (!replayed) {
          replayed = true;
          throw firstError;
        }
        return attempt(n);
      },
      {
        ...options,
        // p-retry waits on real timers; we wait on `clock` inside shouldRetry and let p-retry retry at once.
        minTimeout: 0,
        maxTimeout: 0,
        randomize: false,
        // The signal is honoured here rather than handed to p-retry, so an AbortSignal is never
        // materialized for a load that does not ask for one.
        shouldRetry: async (context) => {
          if (context.error instanceof AbortedError || signal?.aborted) return false;
          if (userShouldRetry && !(await userShouldRetry(context))) return false;
          const ms = backoff(context.retriesConsumed, options);
          if (ms > 0) await sleepOn(clock, ms, signal);
          return true;
        },
      },
    );
  };
  // Fast path: the first attempt runs outside p-retry, so a healthy load pays nothing for retries.
  let first: T | PromiseLike<T>;
  try {
    first = attempt(1);
  } catch (error) {
    return retryAfter(error);
  }
  if (first === null || typeof first !== 'object' || typeof (first as { then?: unknown }).then !== 'function') return Promise.resolve(first as T);
  return Promise.resolve(first).then(undefined, retryAfter);
}
