/**
 * A cache lease: a hold on one entry, counted by the core's lease tracker, so the entry is not
 * disposed until it is released (or its drain timeout fires). `release()` is idempotent.
 *
 * @module
 * @internal
 */
import type { CacheContext } from './context.js';
import type { CacheEntry } from './entry.js';
import type { CacheLease } from './types.js';

/**
 * A lease on one entry; its `hash` is derived when read.
 *
 * @example
 * ```ts
 * using lease = new EntryLease(ctx, entry);
 * lease.value;
 * ```
 */
export class EntryLease<V> implements CacheLease<V> {
  readonly #ctx: CacheContext<V>;
  readonly #entry: CacheEntry<V>;
  #released = false;
  readonly value: V;
  readonly key: string;

  constructor(ctx: CacheContext<V>, entry: CacheEntry<V>) {
    this.#ctx = ctx;
    this.#entry = entry;
    this.value = entry.value;
    this.key = entry.key;
    ctx.leases.hold(entry);
  }

  get hash(): string {
    return this.#ctx.valueHash(this.value);
  }

  /** Idempotent: only the first call gives the lease back to the tracker. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#ctx.leases.release(this.#entry);
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

