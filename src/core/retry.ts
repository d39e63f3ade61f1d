/**
 * Retries around a stage (the unit's `load`, the cache's per-key loads): a small loop of our own
 * that takes p-retry's option shape (`retries`, `factor`, `minTimeout`, `maxTimeout`,
 * `randomize`, `maxRetryTime`, `onFailedAttempt`, `shouldRetry`, `shouldConsumeRetry`), because
 * its waits must run on the injected `Clock` (a fake clock drives retries in virtual time) and the
 * abort source is a lazy `StageAbort`, not an `AbortSignal`. Defaults: 2 retries (3 attempts),
 * exponential from 100 ms. p-retry's own `signal` and `unref` options do not apply here.
 *
 * @module
 */
import type { Options as PRetryOptions, RetryContext } from 'p-retry';
import { realClock, sleepOn } from '../support/clock.js';
import { safeMessage } from '../support/safe-message.js';
import { AbortedError } from '../errors.js';
import { isThenable, type AbortLike } from './timeout.js';
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

/** Exponential backoff before retry number `retriesConsumed + 1`. */
function delayMs(retriesConsumed: number, o: PRetryOptions): number {
  const base = (o.minTimeout ?? DEFAULT_RETRY.minTimeout) * (o.factor ?? DEFAULT_RETRY.factor) ** retriesConsumed;
  const ms = Math.round((o.randomize ? 1 + Math.random() : 1) * base);
  return Math.min(ms, o.maxTimeout ?? Number.POSITIVE_INFINITY);
}

/**
 * Errors that mean "stop": an abort, p-retry's `AbortError`, an error marked `permanent` (a missing
 * file, permission denied: trying again cannot help), a programming `TypeError` (not a network failure).
 */
function isFinal(error: unknown): boolean {
  if (error instanceof AbortedError) return true;
  if (error instanceof Error && (error as { permanent?: unknown }).permanent === true) return true;
  if (error instanceof Error && error.name === 'AbortError' && 'originalError' in error) return true;
  return error instanceof TypeError && !/fetch failed|failed to fetch|network ?error|load failed/i.test(error.message);
}

/**
 * Calls `fn(attempt)` until it succeeds or the retry budget is spent; rejects with the last
 * error. `AbortedError`s and an aborted `signal` stop at once. `retry` is normalized with
 * `normalizeRetry` (pass the result of `normalizeRetry` or a raw setting). The first attempt runs
 * before anything retry-related is set up, so a healthy call pays nothing for retries.
 *
 * @example
 * ```ts
 * const raw = await withRetry((attempt) => fetchConfig(), 3, { signal, clock });
 * ```
 */
export function withRetry<T>(
  fn: (attempt: number) => T | PromiseLike<T>,
  retry: RetrySetting,
  { signal, clock = realClock }: { signal?: AbortLike; clock?: Clock } = {},
): Promise<T> {
  if (signal?.aborted) return Promise.reject(unwrap(signal.reason));
  const o = normalizeRetry(retry);
  const startedAt = clock.now();
  const retryAfter = (error: unknown): Promise<T> => (o === undefined ? Promise.reject(unwrap(error)) : retryLoop(fn, o, error, startedAt, signal, clock));
  // The first attempt runs before any retry bookkeeping: a healthy call pays for none of it.
  let first: T | PromiseLike<T>;
  try {
    first = fn(1);
  } catch (error) {
    return retryAfter(error);
  }
  return isThenable(first) ? Promise.resolve(first).then(undefined, retryAfter) : Promise.resolve(first);
}

/** Attempts 2…n, after attempt 1 failed with `firstError`. */
async function retryLoop<T>(fn: (attempt: number) => T | PromiseLike<T>, o: PRetryOptions, firstError: unknown, startedAt: number, signal: AbortLike | undefined, clock: Clock): Promise<T> {
  const retries = o.retries ?? 0;
  let attemptNumber = 1;
  let retriesConsumed = 0;
  let thrown = firstError;
  for (;;) {
    if (isFinal(thrown) || signal?.aborted) throw unwrap(thrown);
    const error = thrown instanceof Error ? thrown : new Error(safeMessage(thrown));
    const context: RetryContext = { error, attemptNumber, retriesConsumed, retriesLeft: Math.max(0, retries - retriesConsumed) };
    await o.onFailedAttempt?.(context);
    const consume = o.shouldConsumeRetry ? await o.shouldConsumeRetry(context) : true;
    const outOfTime = clock.now() - startedAt >= (o.maxRetryTime ?? Number.POSITIVE_INFINITY);
    if (outOfTime || (consume && retriesConsumed >= retries)) throw thrown;
    if (o.shouldRetry && !(await o.shouldRetry(context))) throw thrown;
    const ms = consume ? delayMs(retriesConsumed, o) : 0;
    if (consume) retriesConsumed++;
    if (ms > 0) await sleepOn(clock, ms, signal);
    if (signal?.aborted) throw unwrap(signal.reason);
    attemptNumber++;
    try {
      return await fn(attemptNumber);
    } catch (error) {
      thrown = error;
    }
  }
}

/** p-retry's `AbortError` carries the error to reject with. */
function unwrap(error: unknown): unknown {
  return error instanceof Error && error.name === 'AbortError' && 'originalError' in error ? (error as { originalError: unknown }).originalError : error;
}
