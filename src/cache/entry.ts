/**
 * One cache entry: a per-key generation, and a lease cell of the core's `LeaseTracker` (which is
 * the only writer of `leases`, `retired` and `disposed`). Its value never changes; only its failure
 * mark does. It is kept small on purpose, because a cache holds many: the key's hash and the
 * value's hash are derived when asked (events, `inspect`, dedupe on a refresh), never stored, and
 * the entry's load time lives in the LRU's per-slot `Float64Array` (no boxed number per entry).
 *
 * @module
 * @internal
 */
import type { LeaseCell } from '../core/leases.js';
import type { Stage } from '../types.js';
import type { LruNode } from './lru.js';

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
 * const entry = new CacheEntry('user:1', value, 7);
 * lru.set(entry, clock.now());
 * ```
 */
export class CacheEntry<V> implements LruNode, LeaseCell {
  failure: EntryFailure | undefined = undefined;
  leases = 0;
  retired = false;
  disposed = false;

  constructor(
    readonly key: string,
    readonly value: V,
    /** Cache-wide commit counter when this entry was committed. */
    readonly generation: number,
  ) {}
}
