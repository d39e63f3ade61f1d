import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { DataPoint, Histogram, MetricData } from '@opentelemetry/sdk-metrics';
import { INSTRUMENT_NAMES, openTelemetryMetrics } from '../../src/metrics/opentelemetry.js';
import { waitFor } from '../helpers/wait.js';
import { EXPECTED, guardedUnit, runScenario } from './scenario.js';

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

test('opentelemetry: a verify rollback counts once; rollbacks, drain timeouts and contained errors have their counters', async (t) => {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  const { unit, clock, setVersion } = guardedUnit();
  const handle = openTelemetryMetrics(unit, { meter: provider.getMeter('reloadkit-test') });
  t.after(async () => {
    handle.detach();
    await unit.close();
    await provider.shutdown();
  });
  await unit.start(); // committed: generation 1
  const lease = unit.acquire(); // holds generation 1 past the drain timeout
  setVersion(2);
  await unit.reload(); // generation 2, fails verify
  await clock.advanceAsync(500); // rollback to v1 as generation 3
  await waitFor(() => unit.current?.id === 3, { message: 'verify rolled back' });
  await clock.advanceAsync(1_000); // drain timeout, then a dispose that throws
  await waitFor(() => unit.status().errors === 1, { message: 'the dispose failure surfaced' });
  lease.release();

  await provider.forceFlush();
  const metrics: MetricData[] = exporter.getMetrics().at(-1)!.scopeMetrics.flatMap((s) => s.metrics);
  const points = (name: string) => metrics.find((m) => m.descriptor.name === name)?.dataPoints ?? [];
  const reloads = Object.fromEntries(points(INSTRUMENT_NAMES.reloads).map((p) => [String(p.attributes.outcome), p.value]));
  assert.deepEqual(reloads, { committed: 3 }, 'the verify rollback is one attempt, reported by one event: counted once');
  assert.equal(points(INSTRUMENT_NAMES.rollbacks)[0]?.value, 1);
  assert.equal(points(INSTRUMENT_NAMES.drainTimeouts)[0]?.value, 1);
  assert.deepEqual(points(INSTRUMENT_NAMES.errors).map((p) => [p.attributes.where, p.value]), [['dispose', 1]]);
  assert.equal(points(INSTRUMENT_NAMES.generation)[0]?.value, 3);
});

test('opentelemetry: precise TypeErrors', () => {
  assert.throws(() => openTelemetryMetrics(undefined as never), { name: 'TypeError', message: 'openTelemetryMetrics: expected a registry, a unit or an array of units, got undefined' });
  assert.throws(() => openTelemetryMetrics([], { meter: {} as never }), { name: 'TypeError', message: /Meter/ });
});
