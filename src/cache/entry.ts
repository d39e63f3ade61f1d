/**
 * One cache entry: a per-key generation. It is immutable in its value and hash; only its
 * freshness times, its failure mark and its lease count change. An entry that leaves the cache
 * (evicted, replaced, dropped) is *retired* and disposed once its leases are released or its drain
 * timeout fires — exactly once.
 *
 * @module
 * @internal
 */
import type { Stage } from '../types.js';
import type { LruNode } from './lru.js';
import type { CacheEntryInfo } from './types.js';

/** Why the entry is served stale: its last refresh failed. */
export interface EntryFailure {
  at: number;
  stage: Stage;
  error: Error & { code?: string };
}

/**
 * A committed value for one key.
 *
 * @example
 * ```ts
 * const entry = new CacheEntry('user:1', keyHash, value, hash, 7, now, ttlMs, swrMs);
 * entry.isFresh(clock.now());
 * ```
 */
export class CacheEntry<V> implements LruNode {
  loadedAt = 0;
  /** Age limit of freshness; `Infinity` when there is no TTL (the hit path then skips the clock). */
  staleAt = Infinity;
  expiresAt = Infinity;
  failure: EntryFailure | undefined = undefined;
  leases = 0;
  retired = false;
  disposed = false;
  drainTimer: unknown = undefined;

  constructor(
    readonly key: string,
    readonly keyHash: string,
    readonly value: V,
    readonly hash: string,
    readonly generation: number,
    now: number,
    ttlMs: number,
    swrMs: number,
  ) {
    this.renew(now, ttlMs, swrMs);
  }

  /** A successful (possibly unchanged) load restarts the entry's freshness and clears its failure. */
  renew(now: number, ttlMs: number, swrMs: number): void {
    this.loadedAt = now;
    this.staleAt = now + ttlMs;
    this.expiresAt = this.staleAt + swrMs;
    this.failure = undefined;
  }

  /** Stale by age, or kept after a failed refresh. */
  isStale(now: number): boolean {
    return this.failure !== undefined || now >= this.staleAt;
  }

  /** Serializable description: hashes and times, never the key or the value. */
  info(): CacheEntryInfo {
    return {
      keyHash: this.keyHash,
      hash: this.hash,
      generation: this.generation,
      loadedAt: this.loadedAt,
      staleAt: this.staleAt,
      expiresAt: this.expiresAt,
      failing: this.failure !== undefined,
      leases: this.leases,
    };
  }
}
