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
  #entry: CacheEntry<V> | undefined;
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

  release(): void {
    const entry = this.#entry;
    if (entry === undefined) return;
    this.#entry = undefined;
    this.#ctx.leases.release(entry);
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

