/**
 * Prometheus metrics of reloadable caches, as an extension of `prometheusMetrics()`: hits, misses,
 * loads by outcome, stale serves, invalidations by mode, evictions, and the entry and stale-entry
 * counts. Values are read from each cache's `stats()` at scrape time, so the hit path pays nothing
 * for metrics. (Per-key load attempts are also counted by the core metrics as
 * `reloadkit_reloads_total`, since cache load events carry a unit-shaped result.)
 *
 * @module
 */
import type { PrometheusExtension } from './prometheus.js';
import { scrapedCounter, scrapedGauge, type ScrapedMetricConfig } from './scraped.js';

/** The metric names, without the prefix. */
export const CACHE_METRIC_NAMES = {
  hits: 'cache_hits_total',
  misses: 'cache_misses_total',
  loads: 'cache_loads_total',
  staleServes: 'cache_stale_serves_total',
  invalidations: 'cache_invalidations_total',
  evictions: 'cache_evictions_total',
  entries: 'cache_entries',
  staleEntries: 'cache_stale_entries',
} as const;

/**
 * The counters the extension reads from a cache's `stats()`: declared here, by shape, because a
 * metrics adapter does not import the cache adapter (the layer rule); a cache's `CacheStats` has
 * every one of these fields.
 */
interface CacheStats {
  hits: number;
  misses: number;
  staleServes: number;
  loads: { committed: number; unchanged: number; rejected: number };
  invalidations: { drop: number; refresh: number };
  evictions: number;
  size: number;
  stale: number;
}

/** What the extension needs from a member to treat it as a cache. */
interface CacheLike {
  readonly name: string;
  stats(): CacheStats;
}

function isCache(member: unknown): member is CacheLike {
  if (member === null || typeof member !== 'object') return false;
  if (typeof (member as { stats?: unknown }).stats !== 'function') return false;
  try {
    return (member as { status(): { kind?: unknown } }).status().kind === 'cache';
  } catch {
    return false;
  }
}

/**
 * The cache extension of `prometheusMetrics()`: members that are not caches are ignored.
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import { prometheusMetrics } from 'reloadkit/prometheus';
 * const prom = new Registry();
 * prometheusMetrics(registry, { register: prom, extensions: [cacheMetrics()] });
 * // reloadkit_cache_hits_total{unit="users"} 1234 ...
 * ```
 */
export function cacheMetrics(): PrometheusExtension {
  return ({ register, prefix }) => {
    const caches = new Set<CacheLike>();
    const registers = [register];
    const name = (key: keyof typeof CACHE_METRIC_NAMES): string => `${prefix}${CACHE_METRIC_NAMES[key]}`;
    const snapshot = (): Array<[string, CacheStats]> => {
      const out: Array<[string, CacheStats]> = [];
      for (const cache of caches) {
        try {
          out.push([cache.name, cache.stats()]);
        } catch {
          // A cache whose stats() throws is skipped for this scrape; metrics never break a cache.
        }
      }
      return out;
    };
    type Key = keyof typeof CACHE_METRIC_NAMES;
    const config = <L extends string>(key: Key, help: string, labelNames: readonly L[]): ScrapedMetricConfig<L> => ({ name: name(key), help, labelNames, registers });
    /** One series per cache, read from one stats field at scrape time (a counter mirrors a monotonic field). */
    const perCache = (create: typeof scrapedCounter<'unit'> | typeof scrapedGauge<'unit'>, key: Key, help: string, read: (s: CacheStats) => number): void => {
      create(config(key, help, ['unit']), (record) => {
        for (const [unit, stats] of snapshot()) record({ unit }, read(stats));
      });
    };
    /** A counter mirrored from a stats field that holds one count per value of `label`. */
    const split = <K extends string>(key: Key, help: string, label: string, values: readonly K[], read: (s: CacheStats) => Record<K, number>): void => {
      scrapedCounter(config(key, help, ['unit', label]), (inc) => {
        for (const [unit, stats] of snapshot()) {
          const counts = read(stats);
          for (const value of values) inc({ unit, [label]: value }, counts[value]);
        }
      });
    };

    perCache(scrapedCounter, 'hits', 'Cache reads served from a fresh entry.', (s) => s.hits);
    perCache(scrapedCounter, 'misses', 'Cache reads that had to wait for a load (missing or expired key).', (s) => s.misses);
    perCache(scrapedCounter, 'staleServes', 'Stale entries served (inside the stale-while-revalidate window, or after a failed refresh).', (s) => s.staleServes);
    perCache(scrapedCounter, 'evictions', 'Entries evicted to stay within max (LRU).', (s) => s.evictions);
    split('loads', 'Per-key loads by outcome (committed, unchanged, rejected).', 'outcome', ['committed', 'unchanged', 'rejected'], (s) => s.loads);
    split('invalidations', 'Keys invalidated, by mode (drop, refresh).', 'mode', ['drop', 'refresh'], (s) => s.invalidations);
    perCache(scrapedGauge, 'entries', 'Entries in the cache.', (s) => s.size);
    perCache(scrapedGauge, 'staleEntries', 'Entries past their TTL or whose last refresh failed.', (s) => s.stale);

    return {
      attach(member) {
        if (!isCache(member)) return;
        caches.add(member);
        return () => {
          caches.delete(member);
        };
      },
      detach() {
        caches.clear();
        for (const key of Object.keys(CACHE_METRIC_NAMES) as Array<keyof typeof CACHE_METRIC_NAMES>) register.removeSingleMetric(name(key));
      },
    };
  };
}
