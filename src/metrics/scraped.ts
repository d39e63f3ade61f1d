/**
 * Prometheus counters and gauges whose series are read from a source of truth (a unit's
 * `status()`, a cache's `stats()`) at scrape time: each scrape resets the metric and records every
 * series again, so a unit or cache that went away leaves no stale series, and the hot path pays
 * nothing for metrics.
 *
 * @module
 */
import { Counter, Gauge } from 'prom-client';
import type { Registry as PromRegistry } from 'prom-client';

/** Label values of one series. */
export type SeriesLabels<L extends string> = Partial<Record<L, string | number>>;

/** Name, help, labels and registries of a scraped metric. */
export interface ScrapedMetricConfig<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  registers: PromRegistry[];
}

/** Called at each scrape: calls `record(labels, value)` once per series to expose. */
export type ScrapeSeries<L extends string> = (record: (labels: SeriesLabels<L>, value: number) => void) => void;

/**
 * A counter mirrored at scrape time from monotonic totals kept elsewhere.
 *
 * @example
 * ```ts
 * scrapedCounter({ name: 'reloadkit_cache_hits_total', help: 'Cache hits.', labelNames: ['unit'], registers: [register] }, (record) => {
 *   for (const cache of caches) record({ unit: cache.name }, cache.stats().hits);
 * });
 * ```
 */
export function scrapedCounter<L extends string>(config: ScrapedMetricConfig<L>, series: ScrapeSeries<L>): Counter<L> {
  return new Counter<L>({
    ...config,
    collect() {
      this.reset();
      series((labels, value) => this.inc(labels, value));
    },
  });
}

/**
 * A gauge read at scrape time.
 *
 * @example
 * ```ts
 * scrapedGauge({ name: 'reloadkit_leases', help: 'Open leases.', labelNames: ['unit'], registers: [register] }, (record) => {
 *   for (const unit of units) record({ unit: unit.name }, unit.status().leases);
 * });
 * ```
 */
export function scrapedGauge<L extends string>(config: ScrapedMetricConfig<L>, series: ScrapeSeries<L>): Gauge<L> {
  return new Gauge<L>({
    ...config,
    collect() {
      this.reset();
      series((labels, value) => this.set(labels, value));
    },
  });
}
