/**
 * Drain-then-dispose for cache entries, with the same guarantee as a unit's generations: an
 * entry that left the cache is disposed once its last lease is released, or when its drain
 * timeout fires; never twice; a throwing or hanging `dispose` surfaces as an `error` event and
 * never breaks the cache.
 *
 * @module
 * @internal
 */
import { runWithTimeout } from '../core/timeout.js';
import type { Clock } from '../types.js';
import type { CacheEntry } from './entry.js';

/** What the retirer reports to its cache. */
export interface RetireHooks {
  onDisposed(entry: CacheEntry<unknown>): void;
  onDrainTimeout(entry: CacheEntry<unknown>, leases: number): void;
  onError(error: Error, where: string): void;
}

/**
 * Tracks retired entries until they are disposed.
 *
 * @example
 * ```ts
 * const retirer = new Retirer(unit, clock, 30_000, 5_000, (v, k) => v.close(), hooks);
 * retirer.retire(oldEntry); // disposed now, or after its leases / drain timeout
 * ```
 */
export class Retirer<V> {
  /** Retired entries still holding leases. */
  readonly draining = new Set<CacheEntry<V>>();
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly unit: string,
    private readonly clock: Clock,
    private readonly drainMs: number,
    private readonly disposeTimeoutMs: number,
    private readonly dispose: ((value: V, key: string) => unknown) | undefined,
    private readonly hooks: RetireHooks,
  ) {}

  /** The entry left the cache: dispose it now, or once drained. Idempotent. */
  retire(entry: CacheEntry<V>): void {
    if (entry.retired) return;
    entry.retired = true;
    if (entry.leases === 0) {
      this.disposeNow(entry);
      return;
    }
    this.draining.add(entry);
    entry.drainTimer = this.clock.setTimeout(() => {
      entry.drainTimer = undefined;
      if (entry.disposed) return;
      this.hooks.onDrainTimeout(entry as CacheEntry<unknown>, entry.leases);
      this.disposeNow(entry);
    }, this.drainMs);
    unref(entry.drainTimer);
  }

  /** A lease on `entry` was released. */
  released(entry: CacheEntry<V>): void {
    entry.leases -= 1;
    if (entry.retired && entry.leases <= 0) this.disposeNow(entry);
  }

  /** Resolves when every dispose started so far has settled. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Disposes every draining entry at once (close() after its drain wait). */
  disposeDraining(): void {
    for (const entry of [...this.draining]) {
      this.hooks.onDrainTimeout(entry as CacheEntry<unknown>, entry.leases);
      this.disposeNow(entry);
    }
  }

  private disposeNow(entry: CacheEntry<V>): void {
    if (entry.disposed) return;
    entry.disposed = true;
    this.draining.delete(entry);
    if (entry.drainTimer !== undefined) {
      this.clock.clearTimeout(entry.drainTimer);
      entry.drainTimer = undefined;
    }
    const dispose = this.dispose;
    if (!dispose) {
      this.hooks.onDisposed(entry as CacheEntry<unknown>);
      return;
    }
    const run = this.runDispose(dispose, entry).finally(() => this.pending.delete(run));
    this.pending.add(run);
  }

  private async runDispose(dispose: (value: V, key: string) => unknown, entry: CacheEntry<V>): Promise<void> {
    try {
      await runWithTimeout('dispose', this.disposeTimeoutMs, undefined, () => dispose(entry.value, entry.key), {
        clock: this.clock,
        unit: this.unit,
        source: `key ${entry.keyHash}`,
      });
    } catch (error) {
      this.hooks.onError(error instanceof Error ? error : new Error(String(error)), 'dispose');
    }
    this.hooks.onDisposed(entry as CacheEntry<unknown>);
  }
}

/** Real-clock timers must not keep the process alive; fake-clock handles have no `unref`. */
function unref(handle: unknown): void {
  if (handle !== null && typeof handle === 'object' && typeof (handle as { unref?: unknown }).unref === 'function') {
    (handle as { unref(): void }).unref();
  }
}
