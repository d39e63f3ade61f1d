import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { DataPoint, Histogram, MetricData } from '@opentelemetry/sdk-metrics';
import { INSTRUMENT_NAMES, openTelemetryMetrics } from '../../src/metrics/opentelemetry.js';
import { EXPECTED, runScenario } from './scenario.js';

test('opentelemetry: the real SDK with an in-memory exporter shows the same exact counts', async (t) => {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // A long interval: we export explicitly with forceFlush(), never on a timer.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  let handle!: ReturnType<typeof openTelemetryMetrics>;
  const scenario = await runScenario((registry) => {
    handle = openTelemetryMetrics(registry, { meter: provider.getMeter('reloadkit-test') });
  });
  t.after(async () => {
    handle.detach();
    await scenario.close();
    await provider.shutdown();
  });

  await provider.forceFlush();
  const exported = exporter.getMetrics();
  const metrics: MetricData[] = exported.at(-1)!.scopeMetrics.flatMap((s) => s.metrics);
  const byName = (name: string) => metrics.find((m) => m.descriptor.name === name);
  const point = (name: string, attrs: Record<string, string>) =>
    byName(name)?.dataPoints.find((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v)) as DataPoint<number | Histogram> | undefined;

  const c = EXPECTED.config;
  assert.equal(point(INSTRUMENT_NAMES.reloads, { unit: 'config', outcome: 'committed' })?.value, c.committed);
  assert.equal(point(INSTRUMENT_NAMES.reloads, { unit: 'config', outcome: 'unchanged' })?.value, c.unchanged);
  assert.equal(point(INSTRUMENT_NAMES.reloads, { unit: 'config', outcome: 'rejected' })?.value, c.rejected);
  assert.equal(byName(INSTRUMENT_NAMES.reloads)?.dataPoints.length, 3, 'the idle unit attempted nothing');
  assert.equal((point(INSTRUMENT_NAMES.duration, { unit: 'config' })?.value as Histogram).count, c.attempts);
  assert.equal(byName(INSTRUMENT_NAMES.duration)?.descriptor.unit, 's');
  assert.equal(point(INSTRUMENT_NAMES.generation, { unit: 'config' })?.value, c.generation);
  assert.equal(point(INSTRUMENT_NAMES.generation, { unit: 'idle' })?.value, EXPECTED.idle.generation);
  assert.equal(point(INSTRUMENT_NAMES.leases, { unit: 'config' })?.value, c.leases);
  assert.equal(point(INSTRUMENT_NAMES.draining, { unit: 'config' })?.value, 0);
  assert.equal(point(INSTRUMENT_NAMES.ready, { unit: 'config' })?.value, c.ready);
  assert.equal(point(INSTRUMENT_NAMES.ready, { unit: 'idle' })?.value, EXPECTED.idle.ready);
  const committedAt = scenario.registry.get('config')!.status().committedAt!;
  assert.equal(point(INSTRUMENT_NAMES.lastCommit, { unit: 'config' })?.value, committedAt / 1000);

  // After detach, events no longer count.
  handle.detach();
  await scenario.registry.get('config')!.reload();
  await provider.forceFlush();
  const after = exporter.getMetrics().at(-1)!.scopeMetrics.flatMap((s) => s.metrics);
  const reloads = after.find((m) => m.descriptor.name === INSTRUMENT_NAMES.reloads)!;
  const unchanged = reloads.dataPoints.find((p) => p.attributes.outcome === 'unchanged');
  assert.equal(unchanged?.value, c.unchanged);
});

test('opentelemetry: precise TypeErrors', () => {
  assert.throws(() => openTelemetryMetrics(undefined as never), { name: 'TypeError', message: 'openTelemetryMetrics: expected a registry, a unit or an array of units, got undefined' });
  assert.throws(() => openTelemetryMetrics([], { meter: {} as never }), { name: 'TypeError', message: /Meter/ });
});
