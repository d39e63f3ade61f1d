/**
 * Invalidations of one cache: which keys a target selects (a key, a prefix, everything, or what
 * was loaded before a time), dropping or refreshing them, the repair after a hint's gap, and one
 * audit record per invalidation through the core's `Reporter`.
 *
 * @module
 * @internal
 */
import type { CacheContext } from './context.js';
import { covers, type KeyTargets } from './invalidation.js';
import type { EntryLoads, RefreshCounts } from './loads.js';
import type { HintGap, InvalidateOptions, InvalidationMode, InvalidationScope } from './types.js';

/** Options of one invalidation, validated. */
export type ResolvedInvalidate = InvalidateOptions & { mode: InvalidationMode };

/**
 * Runs invalidations against a cache's store and loads.
 *
 * @example
 * ```ts
 * const invalidator = new Invalidator(ctx, loads);
 * await invalidator.keys(invalidator.withPrefix('user:'), { mode: 'refresh' }, 'prefix', { prefixHash });
 * ```
 */
export class Invalidator<V> {
  constructor(
    private readonly c: CacheContext<V>,
    private readonly loads: EntryLoads<V>,
  ) {}

  /** Keys with an entry or an in-flight load that match. */
  present(match: (key: string) => boolean): string[] {
    const out = new Set<string>();
    for (const key of this.c.lru.keys()) if (match(key)) out.add(key);
    for (const key of this.c.flights.keys()) if (match(key)) out.add(key);
    return [...out];
  }

  /**
   * Keys whose newest data was loaded before `t`: by the start of their running load if there is
   * one (a load started at or after `t` brings data at least that fresh), else by their entry's
   * last successful load.
   */
  loadedBefore(t: number): string[] {
    const { lru, flights } = this.c;
    const out: string[] = [];
    lru.forEach((entry, loadedAt) => {
      const flight = flights.get(entry.key);
      if ((flight !== undefined ? flight.startedAt : loadedAt) < t) out.push(entry.key);
    });
    for (const flight of flights.values()) if (!lru.has(flight.key) && flight.startedAt < t) out.push(flight.key);
    return out;
  }

  /** Invalidates one hint's targets, then repairs its gap (skipping the keys the hint names). */
  async targets(targets: KeyTargets | 'all', gap: HintGap | undefined, o: ResolvedInvalidate): Promise<void> {
    if (this.c.closed) return;
    const c = this.c;
    const work: Array<Promise<unknown>> = [];
    if (targets === 'all') work.push(this.keys(this.present(() => true), o, 'all', {}));
    else {
      for (const t of targets) {
        if (t.scope === 'key') work.push(this.keys([t.key], o, 'key', { keyHash: c.keyHash(t.key) }));
        else work.push(this.keys(this.present((k) => k.startsWith(t.prefix)), o, 'prefix', { prefixHash: c.keyHash(t.prefix) }));
      }
    }
    if (gap !== undefined) work.push(this.repairGap(gap, (key) => covers(targets, key), o));
    await Promise.all(work);
  }

  /** `onGap`: what might have been missed since `gap.since` is refreshed, dropped, or handed to the user. */
  private async repairGap(gap: HintGap, covered: (key: string) => boolean, o: InvalidateOptions): Promise<void> {
    const policy = this.c.o.onGap;
    if (typeof policy === 'function') {
      try {
        await policy(gap);
      } catch (error) {
        this.c.reportError(error, 'onGap');
      }
      return;
    }
    const opts = { ...o, reason: `gap ${gap.reason}` };
    if (policy === 'refresh-stale') {
      const keys = this.loadedBefore(gap.since).filter((key) => !covered(key));
      await this.keys(keys, { ...opts, mode: 'refresh' }, 'loaded-before', { loadedBefore: gap.since, gap: gap.reason });
      return;
    }
    const keys = this.present((key) => !covered(key));
    await this.keys(keys, { ...opts, mode: policy === 'drop-all' ? 'drop' : 'refresh' }, 'all', { gap: gap.reason });
  }

  /**
   * Drops or refreshes `keys`: one attempt, one `invalidated` event and one audit record. Loads
   * that began before it are superseded.
   */
  async keys(keys: readonly string[], o: ResolvedInvalidate, scope: InvalidationScope, detail: Record<string, string | number>): Promise<{ invalidated: number }> {
    const c = this.c;
    const attempt = c.report.begin('invalidate', o.trigger ?? { kind: 'invalidate' }, { actor: o.actor, reason: o.reason });
    let invalidated = 0;
    let counts: RefreshCounts = { committed: 0, unchanged: 0, rejected: 0 };
    if (o.mode === 'drop') {
      for (const key of keys) {
        const hadFlight = c.flights.supersede(key);
        const entry = c.lru.delete(key);
        if (entry !== undefined) c.retire(entry, 'invalidated');
        if (hadFlight || entry !== undefined) invalidated += 1;
      }
      c.counters.drop += invalidated;
    } else {
      const present = keys.filter((key) => c.lru.has(key) || c.flights.get(key) !== undefined);
      invalidated = present.length;
      c.counters.refresh += invalidated;
      counts = await this.loads.refreshKeys(present, attempt.trigger, false);
    }
    const status = counts.rejected > 0 ? 'rejected' : invalidated > 0 ? 'committed' : 'unchanged';
    const refreshed: Record<string, number> = o.mode === 'refresh' ? { committed: counts.committed, unchanged: counts.unchanged, rejected: counts.rejected } : {};
    c.report.end(
      attempt,
      { status, generation: c.generation, stage: counts.first?.stage, error: counts.first?.error, detail: { mode: o.mode, scope, ...detail, invalidated, ...refreshed } },
      () => c.events.emit('invalidated', { unit: c.name, mode: o.mode, scope, invalidated, actor: o.actor, reason: o.reason }),
    );
    return { invalidated };
  }
}
