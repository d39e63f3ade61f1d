/**
 * `reloadkit/prometheus`: reload metrics on a prom-client registry, from unit events (counters,
 * histogram) and from `status()` at scrape time (gauges). See docs/observability.md for the list
 * of metrics and what each means.
 *
 * @module
 */
import { Counter, Histogram, register as defaultRegister } from 'prom-client';
import type { Registry as PromRegistry } from 'prom-client';
import { describeValue } from '../support/describe-value.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { isReady, observeMembers, statuses } from './observe.js';
import type { MetricsTarget, ObservableMember } from './observe.js';
import { scrapedGauge } from './scraped.js';

export type { MetricsTarget, ObservableMember, ObservableRegistry } from './observe.js';

/** Default histogram buckets for reload durations, in seconds (5 ms … 60 s). */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** What an extension receives: the registry and prefix to create its own instruments with. */
export interface PrometheusExtensionContext {
  register: PromRegistry;
  /** Metric name prefix, `reloadkit_` by default. */
  prefix: string;
}

/**
 * An extension point for members with extra events (the cache's hits, misses, evictions…).
 * Called once per `prometheusMetrics()` call to create its instruments; `attach` is then called
 * for every observed member (now and later) and may ignore members it does not know. `detach`
 * removes its instruments.
 *
 * @example
 * ```ts
 * const hitsExtension: PrometheusExtension = ({ register, prefix }) => {
 *   const hits = new Counter({ name: `${prefix}cache_hits_total`, help: 'Cache hits', labelNames: ['unit'], registers: [register] });
 *   return {
 *     attach(member) {
 *       const onHit = () => hits.inc({ unit: member.name });
 *       member.on('hit', onHit);
 *       return () => member.off?.('hit', onHit);
 *     },
 *     detach: () => register.removeSingleMetric(`${prefix}cache_hits_total`),
 *   };
 * };
 * prometheusMetrics(registry, { register, extensions: [hitsExtension] });
 * ```
 */
export type PrometheusExtension = (ctx: PrometheusExtensionContext) => {
  attach(member: ObservableMember): (() => void) | void;
  detach?(): void;
};

/** Options of `prometheusMetrics`. */
export interface PrometheusMetricsOptions {
  /**
   * The prom-client registry to register on.
   * @default prom-client's global `register`
   * @example
   * ```ts
   * prometheusMetrics(registry, { register: new Registry() });
   * ```
   */
  register?: PromRegistry;
  /**
   * Metric name prefix (`''` for none).
   * @default 'reloadkit_'
   * @example
   * ```ts
   * prometheusMetrics(registry, { prefix: 'myapp_reload_' }); // myapp_reload_reloads_total
   * ```
   */
  prefix?: string;
  /**
   * Buckets of the duration histogram, in seconds (increasing, positive).
   * @default DEFAULT_DURATION_BUCKETS (0.005 s … 60 s)
   * @example
   * ```ts
   * prometheusMetrics(registry, { buckets: [0.01, 0.1, 1, 10] });
   * ```
   */
  buckets?: readonly number[];
  /**
   * Metrics for members with extra events, e.g. `cacheMetrics()` for `reloadableCache`.
   * @default []
   * @example
   * ```ts
   * prometheusMetrics(registry, { extensions: [cacheMetrics()] });
   * ```
   */
  extensions?: readonly PrometheusExtension[];
}

/** The options `prometheusMetrics` reads; any other key is a typo and throws. */
const KNOWN_KEYS = ['register', 'prefix', 'buckets', 'extensions'] as const;

/** The handle returned by `prometheusMetrics`. */
export interface PrometheusMetrics {
  readonly register: PromRegistry;
  /** The text exposition of the whole prom-client registry (for a `/metrics` route). */
  metrics(): Promise<string>;
  /** The Content-Type to serve `metrics()` with. */
  readonly contentType: string;
  /** Stops observing and removes reloadkit's metrics from the registry. Idempotent. */
  detach(): void;
}

/** The metric names, without the prefix. */
export const METRIC_NAMES = {
  reloads: 'reloads_total',
  duration: 'reload_duration_seconds',
  rollbacks: 'rollbacks_total',
  errors: 'errors_total',
  drainTimeouts: 'drain_timeouts_total',
  generation: 'generation',
  lastCommit: 'last_commit_timestamp_seconds',
  leases: 'leases',
  draining: 'draining',
  ready: 'unit_ready',
} as const;

/**
 * Registers reloadkit's metrics for `target` (a registry — members added later included —, a list
 * of units, or one unit) on a prom-client registry.
 *
 * @throws {TypeError} for a bad target or options; prom-client's own error if the metric names are
 *   already registered on `register` (call `detach()` on the previous handle first).
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import { prometheusMetrics } from 'reloadkit/prometheus';
 * const prom = new Registry();
 * const metrics = prometheusMetrics(registry, { register: prom });
 * app.get('/metrics', async (_req, res) => res.type(metrics.contentType).send(await metrics.metrics()));
 * ```
 */
export function prometheusMetrics(target: MetricsTarget, options: PrometheusMetricsOptions = {}): PrometheusMetrics {
  if (target === null || typeof target !== 'object') {
    throw new TypeError(`prometheusMetrics: expected a registry, a unit or an array of units, got ${describeValue(target)}`);
  }
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`prometheusMetrics: expected \`options\` to be an object, got ${describeValue(options)}`);
  }
  rejectUnknownKeys('prometheusMetrics', options, KNOWN_KEYS);
  const { register = defaultRegister, prefix = 'reloadkit_', buckets = DEFAULT_DURATION_BUCKETS, extensions = [] } = options;
  if (typeof register?.registerMetric !== 'function') {
    throw new TypeError('prometheusMetrics: expected `register` to be a prom-client Registry');
  }
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$|^$/.test(prefix)) {
    throw new TypeError(`prometheusMetrics: expected \`prefix\` to be a valid metric name prefix, got ${describeValue(prefix)}`);
  }
  if (!Array.isArray(buckets) || buckets.length === 0 || buckets.some((b, i) => typeof b !== 'number' || !(b > 0) || (i > 0 && b <= buckets[i - 1]!))) {
    throw new TypeError('prometheusMetrics: expected `buckets` to be a non-empty increasing list of positive numbers');
  }
  const registers = [register];
  const name = (key: keyof typeof METRIC_NAMES): string => `${prefix}${METRIC_NAMES[key]}`;
  let members: () => ObservableMember[] = () => [];

  /** A gauge read from each member's status() at scrape time. */
  const statusGauge = (key: keyof typeof METRIC_NAMES, help: string, read: (s: ReturnType<ObservableMember['status']>) => number | undefined): void => {
    scrapedGauge({ name: name(key), help, labelNames: ['unit'], registers }, (set) => {
      for (const status of statuses(members())) {
        const value = read(status);
        if (value !== undefined) set({ unit: status.name }, value);
      }
    });
  };

  const reloads = new Counter({ name: name('reloads'), help: 'Reload attempts by outcome (committed, unchanged, rejected), start included.', labelNames: ['unit', 'outcome'], registers });
  const duration = new Histogram({ name: name('duration'), help: 'Duration of reload attempts (load to commit or rejection), in seconds.', labelNames: ['unit'], buckets: [...buckets], registers });
  const rollbacks = new Counter({ name: name('rollbacks'), help: 'Rollbacks committed (manual or by a failed verify check).', labelNames: ['unit'], registers });
  const errors = new Counter({ name: name('errors'), help: 'Contained errors (throwing listener, dispose, trigger, audit sink), by where they happened.', labelNames: ['unit', 'where'], registers });
  const drainTimeouts = new Counter({ name: name('drainTimeouts'), help: 'Retired generations disposed while still leased, because the drain timeout fired.', labelNames: ['unit'], registers });
  statusGauge('generation', 'Live generation id (0 before the first commit).', (s) => s.generation);
  statusGauge('lastCommit', 'Unix time of the live generation\'s commit, in seconds.', (s) => (typeof s.committedAt === 'number' ? s.committedAt / 1000 : undefined));
  statusGauge('leases', 'Open leases across every generation.', (s) => s.leases);
  statusGauge('draining', 'Retired generations waiting for their leases to drain.', (s) => s.draining);
  statusGauge('ready', '1 when the unit serves a committed generation (ready or degraded), else 0.', (s) => (isReady(s) ? 1 : 0));

  const context: PrometheusExtensionContext = { register, prefix };
  const extensionHandles = extensions.map((ext) => ext(context));
  const observed = observeMembers(
    target,
    {
      attempt(unit, outcome, seconds) {
        reloads.inc({ unit, outcome });
        duration.observe({ unit }, seconds);
      },
      rolledBack: (unit) => rollbacks.inc({ unit }),
      error: (unit, where) => errors.inc({ unit, where }),
      drainTimeout: (unit) => drainTimeouts.inc({ unit }),
    },
    extensionHandles.map((h) => (member: ObservableMember) => h.attach(member)),
  );
  members = observed.members;

  let detached = false;
  return {
    register,
    get contentType() {
      return register.contentType;
    },
    metrics: () => register.metrics(),
    detach() {
      if (detached) return;
      detached = true;
      observed.detach();
      for (const handle of extensionHandles) handle.detach?.();
      for (const key of Object.keys(METRIC_NAMES) as (keyof typeof METRIC_NAMES)[]) register.removeSingleMetric(name(key));
    },
  };
}
export { cacheMetrics, CACHE_METRIC_NAMES } from './cache-prometheus.js';
