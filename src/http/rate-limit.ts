/**
 * A token bucket per actor for mutating admin calls: `burst` calls at once, then `refillPerSecond`
 * a second. Over the limit, the caller learns how many whole seconds to wait (`Retry-After`).
 *
 * @module
 */
import { describeValue } from '../support/describe-value.js';
import { rejectUnknownKeys } from '../support/known-keys.js';

/** Options of {@link createRateLimiter}. */
export interface RateLimitOptions {
  /**
   * Bucket size: calls allowed at once.
   * @default 20
   * @example
   * ```ts
   * burst: 5
   * ```
   */
  burst?: number;
  /**
   * Tokens added per second.
   * @default 5
   * @example
   * ```ts
   * refillPerSecond: 0.5 // one call every two seconds once the burst is spent
   * ```
   */
  refillPerSecond?: number;
  /**
   * Injectable time source (ms), for tests.
   * @default { now: Date.now }
   * @example
   * ```ts
   * clock: { now: () => 0 } // frozen: buckets never refill
   * ```
   */
  clock?: { now(): number };
  /**
   * Buckets kept at most; full buckets are forgotten first.
   * @default 10000
   * @example
   * ```ts
   * maxActors: 1_000
   * ```
   */
  maxActors?: number;
}

const RATE_LIMIT_KEYS = ['burst', 'refillPerSecond', 'clock', 'maxActors'];

/** The verdict for one call. */
export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

/** A compiled rate limiter. */
export interface RateLimiter {
  take(actor: string): RateDecision;
}

interface Bucket {
  tokens: number;
  at: number;
}

function positive(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`Expected \`rateLimit.${name}\` to be a positive finite number, got ${describeValue(value)}`);
  }
  return value;
}

/**
 * Creates a per-actor token bucket.
 *
 * @example
 * ```ts
 * const limiter = createRateLimiter({ burst: 20, refillPerSecond: 5 });
 * const verdict = limiter.take('deploy-bot');
 * if (!verdict.ok) res.setHeader('Retry-After', String(verdict.retryAfterSeconds));
 * ```
 */
export function createRateLimiter(options: RateLimitOptions = {}): RateLimiter {
  if (options === null || typeof options !== 'object') throw new TypeError(`Expected \`rateLimit\` to be an object or false, got ${describeValue(options)}`);
  rejectUnknownKeys('rateLimit', options, RATE_LIMIT_KEYS);
  const burst = positive(options.burst ?? 20, 'burst');
  const refill = positive(options.refillPerSecond ?? 5, 'refillPerSecond');
  const maxActors = positive(options.maxActors ?? 10_000, 'maxActors');
  const clock = options.clock ?? { now: () => Date.now() };
  if (typeof clock.now !== 'function') throw new TypeError('Expected `rateLimit.clock` to have a `now()` function');
  const buckets = new Map<string, Bucket>();

  function refilled(bucket: Bucket, now: number): void {
    const elapsed = Math.max(0, now - bucket.at) / 1000;
    bucket.tokens = Math.min(burst, bucket.tokens + elapsed * refill);
    bucket.at = now;
  }

  function prune(now: number): void {
    for (const [actor, bucket] of buckets) {
      refilled(bucket, now);
      if (bucket.tokens >= burst) buckets.delete(actor);
    }
    // Still too many busy actors: drop the oldest (a fresh bucket is the most lenient outcome).
    for (const actor of buckets.keys()) {
      if (buckets.size < maxActors) break;
      buckets.delete(actor);
    }
  }

  return {
    take(actor) {
      const now = clock.now();
      let bucket = buckets.get(actor);
      if (bucket === undefined) {
        if (buckets.size >= maxActors) prune(now);
        bucket = { tokens: burst, at: now };
        buckets.set(actor, bucket);
      } else {
        refilled(bucket, now);
      }
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return { ok: true };
      }
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / refill)) };
    },
  };
}
