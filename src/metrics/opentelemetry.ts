/**
 * `reloadkit/opentelemetry`: the reload metrics of `reloadkit/prometheus`, through an
 * `@opentelemetry/api` Meter. Names are OpenTelemetry-style; an OTel Prometheus exporter turns
 * them into exactly the `reloadkit_*` names of the Prometheus adapter (see docs/observability.md).
 *
 * @module
 */
import { metrics as otelMetrics } from '@opentelemetry/api';
import type { BatchObservableCallback, Meter, Observable } from '@opentelemetry/api';
import { describeValue } from '../support/describe-value.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { isReady, observeMembers, statuses } from './observe.js';
import type { MetricsTarget, ObservableMember } from './observe.js';

export type { MetricsTarget, ObservableMember, ObservableRegistry } from './observe.js';
export * from './tracing.js';

/** The instrument names. */
export const INSTRUMENT_NAMES = {
  reloads: 'reloadkit.reloads',
  duration: 'reloadkit.reload.duration',
  rollbacks: 'reloadkit.rollbacks',
  errors: 'reloadkit.errors',
  drainTimeouts: 'reloadkit.drain_timeouts',
  generation: 'reloadkit.generation',
  lastCommit: 'reloadkit.last_commit.timestamp',
  leases: 'reloadkit.leases',
  draining: 'reloadkit.draining',
  ready: 'reloadkit.unit.ready',
} as const;

/** Extension point for members with extra events (the cache): like `PrometheusExtension`, with a Meter. */
export type OpenTelemetryExtension = (ctx: { meter: Meter }) => {
  attach(member: ObservableMember): (() => void) | void;
  detach?(): void;
};

/** Options of `openTelemetryMetrics`. */
export interface OpenTelemetryMetricsOptions {
  /**
   * The meter to create instruments on.
   * @default `metrics.getMeter('reloadkit')` of the global provider
   * @example
   * ```ts
   * openTelemetryMetrics(registry, { meter: provider.getMeter('my-service') });
   * ```
   */
  meter?: Meter;
  /**
   * Explicit bucket boundaries (seconds) advised for the duration histogram.
   * @default undefined (the SDK's or the view's buckets)
   * @example
   * ```ts
   * openTelemetryMetrics(registry, { buckets: [0.01, 0.1, 1, 10] });
   * ```
   */
  buckets?: readonly number[];
  /**
   * Instruments for members with extra events.
   * @default []
   * @example
   * ```ts
   * openTelemetryMetrics(registry, { extensions: [({ meter }) => ({ attach: (member) => { meter.createCounter(`${member.name}_seen`).add(1); } })] });
   * ```
   */
  extensions?: readonly OpenTelemetryExtension[];
}

/** The options `openTelemetryMetrics` reads; any other key is a typo and throws. */
const KNOWN_KEYS = ['meter', 'buckets', 'extensions'] as const;

/** The handle returned by `openTelemetryMetrics`. */
export interface OpenTelemetryMetrics {
  readonly meter: Meter;
  /** Stops observing (event listeners and the gauges' callback). Idempotent. */
  detach(): void;
}

/**
 * Records reloadkit's instruments for `target` (a registry — members added later included —, a
 * list of units, or one unit) on an OpenTelemetry meter.
 *
 * @throws {TypeError} for a bad target or options.
 * @example
 * ```ts
 * import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
 * import { openTelemetryMetrics } from 'reloadkit/opentelemetry';
 * const provider = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter })] });
 * const handle = openTelemetryMetrics(registry, { meter: provider.getMeter('my-service') });
 * // ... on shutdown
 * handle.detach();
 * ```
 */
export function openTelemetryMetrics(target: MetricsTarget, options: OpenTelemetryMetricsOptions = {}): OpenTelemetryMetrics {
  if (target === null || typeof target !== 'object') {
    throw new TypeError(`openTelemetryMetrics: expected a registry, a unit or an array of units, got ${describeValue(target)}`);
  }
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`openTelemetryMetrics: expected \`options\` to be an object, got ${describeValue(options)}`);
  }
  rejectUnknownKeys('openTelemetryMetrics', options, KNOWN_KEYS);
  const { meter = otelMetrics.getMeter('reloadkit'), buckets, extensions = [] } = options;
  if (typeof meter?.createCounter !== 'function') throw new TypeError('openTelemetryMetrics: expected `meter` to be an OpenTelemetry Meter');
  if (buckets !== undefined && (!Array.isArray(buckets) || buckets.some((b, i) => typeof b !== 'number' || !(b > 0) || (i > 0 && b <= buckets[i - 1]!)))) {
    throw new TypeError('openTelemetryMetrics: expected `buckets` to be an increasing list of positive numbers');
  }

  const reloads = meter.createCounter(INSTRUMENT_NAMES.reloads, { description: 'Reload attempts by outcome (committed, unchanged, rejected), start included.' });
  const duration = meter.createHistogram(INSTRUMENT_NAMES.duration, {
    description: 'Duration of reload attempts (load to commit or rejection).',
    unit: 's',
    ...(buckets ? { advice: { explicitBucketBoundaries: [...buckets] } } : {}),
  });
  const rollbacks = meter.createCounter(INSTRUMENT_NAMES.rollbacks, { description: 'Rollbacks committed (manual or by a failed verify check).' });
  const errors = meter.createCounter(INSTRUMENT_NAMES.errors, { description: 'Contained errors (throwing listener, dispose, trigger, audit sink).' });
  const drainTimeouts = meter.createCounter(INSTRUMENT_NAMES.drainTimeouts, { description: 'Retired generations disposed while still leased (drain timeout).' });
  const generation = meter.createObservableGauge(INSTRUMENT_NAMES.generation, { description: 'Live generation id (0 before the first commit).' });
  const lastCommit = meter.createObservableGauge(INSTRUMENT_NAMES.lastCommit, { description: "Unix time of the live generation's commit.", unit: 's' });
  const leases = meter.createObservableGauge(INSTRUMENT_NAMES.leases, { description: 'Open leases across every generation.' });
  const draining = meter.createObservableGauge(INSTRUMENT_NAMES.draining, { description: 'Retired generations waiting for their leases to drain.' });
  const ready = meter.createObservableGauge(INSTRUMENT_NAMES.ready, { description: '1 when the unit serves a committed generation, else 0.' });

  let members: () => ObservableMember[] = () => [];
  const gauges: Observable[] = [generation, lastCommit, leases, draining, ready];
  const observeGauges: BatchObservableCallback = (result) => {
    for (const status of statuses(members())) {
      const attrs = { unit: status.name };
      result.observe(generation, status.generation, attrs);
      if (typeof status.committedAt === 'number') result.observe(lastCommit, status.committedAt / 1000, attrs);
      result.observe(leases, status.leases, attrs);
      result.observe(draining, status.draining, attrs);
      result.observe(ready, isReady(status) ? 1 : 0, attrs);
    }
  };
  meter.addBatchObservableCallback(observeGauges, gauges);

  const extensionHandles = extensions.map((ext) => ext({ meter }));
  const observed = observeMembers(
    target,
    {
      attempt(unit, outcome, seconds) {
        reloads.add(1, { unit, outcome });
        duration.record(seconds, { unit });
      },
      rolledBack: (unit) => rollbacks.add(1, { unit }),
      error: (unit, where) => errors.add(1, { unit, where }),
      drainTimeout: (unit) => drainTimeouts.add(1, { unit }),
    },
    extensionHandles.map((h) => (member: ObservableMember) => h.attach(member)),
  );
  members = observed.members;

  let detached = false;
  return {
    meter,
    detach() {
      if (detached) return;
      detached = true;
      observed.detach();
      meter.removeBatchObservableCallback(observeGauges, gauges);
      for (const handle of extensionHandles) handle.detach?.();
    },
  };
}
