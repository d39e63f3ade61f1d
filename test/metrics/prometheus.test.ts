import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Registry } from 'prom-client';
import { prometheusMetrics } from '../../src/metrics/prometheus.js';
import type { PrometheusExtension } from '../../src/metrics/prometheus.js';
import { reloadable } from '../../src/index.js';
import { waitFor } from '../helpers/wait.js';
import { EXPECTED, guardedUnit, runScenario } from './scenario.js';

/** The samples of the text exposition, keyed by `name{labels}` exactly as printed. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

test('prometheus: the real text exposition shows the exact counts after a scripted sequence', async (t) => {
  const register = new Registry();
  let handle!: ReturnType<typeof prometheusMetrics>;
  const scenario = await runScenario((registry) => {
    handle = prometheusMetrics(registry, { register });
  });
  t.after(() => scenario.close());

  const text = await handle.metrics();
  const s = samples(text);
  const c = EXPECTED.config;
  assert.equal(s.get('reloadkit_reloads_total{unit="config",outcome="committed"}'), c.committed);
  assert.equal(s.get('reloadkit_reloads_total{unit="config",outcome="unchanged"}'), c.unchanged);
  assert.equal(s.get('reloadkit_reloads_total{unit="config",outcome="rejected"}'), c.rejected);
  assert.equal(s.get('reloadkit_reload_duration_seconds_count{unit="config"}'), c.attempts);
  assert.equal(s.get('reloadkit_reload_duration_seconds_bucket{le="+Inf",unit="config"}'), c.attempts);
  assert.equal(s.get('reloadkit_generation{unit="config"}'), c.generation);
  assert.equal(s.get('reloadkit_generation{unit="idle"}'), EXPECTED.idle.generation);
  assert.equal(s.get('reloadkit_leases{unit="config"}'), c.leases);
  assert.equal(s.get('reloadkit_draining{unit="config"}'), 0);
  assert.equal(s.get('reloadkit_unit_ready{unit="config"}'), c.ready);
  assert.equal(s.get('reloadkit_unit_ready{unit="idle"}'), EXPECTED.idle.ready);
  const committedAt = scenario.registry.get('config')!.status().committedAt!;
  assert.equal(s.get('reloadkit_last_commit_timestamp_seconds{unit="config"}'), committedAt / 1000);
  assert.equal(s.has('reloadkit_last_commit_timestamp_seconds{unit="idle"}'), false, 'no commit, no timestamp');
  assert.equal([...s.keys()].filter((k) => k.startsWith('reloadkit_reloads_total')).length, 3, 'the idle unit attempted nothing');
  assert.match(text, /# TYPE reloadkit_reload_duration_seconds histogram/);
  assert.match(handle.contentType, /^text\/plain/);

  // Gauges are read at scrape time.
  scenario.lease.release();
  assert.equal(samples(await handle.metrics()).get('reloadkit_leases{unit="config"}'), 0);

  handle.detach();
  assert.equal(register.getSingleMetric('reloadkit_reloads_total'), undefined, 'detach() unregisters the metrics');
  await scenario.registry.get('config')!.reload();
  handle.detach();
});

test('prometheus: an extension receives every member, and a throwing hook never breaks a reload', async (t) => {
  const register = new Registry();
  const seen: string[] = [];
  const extension: PrometheusExtension = ({ register: reg, prefix }) => {
    const reloading = new Counter({ name: `${prefix}test_reloading_total`, help: 'reloading events', labelNames: ['unit'], registers: [reg] });
    return {
      attach(member) {
        seen.push(member.name);
        const on = () => reloading.inc({ unit: member.name });
        member.on('reloading', on);
        return () => member.off?.('reloading', on);
      },
      detach: () => reg.removeSingleMetric(`${prefix}test_reloading_total`),
    };
  };
  const unit = reloadable({ name: 'solo', load: () => ({ a: 1 }) });
  t.after(() => unit.close());
  const handle = prometheusMetrics(unit, { register, extensions: [extension] });
  // A listener that throws inside the metrics path (failure is contained): the reload still succeeds.
  unit.on('committed', () => {
    throw new Error('listener bug');
  });
  await unit.start();
  assert.equal((await unit.reload()).status, 'unchanged');
  const s = samples(await handle.metrics());
  assert.deepEqual(seen, ['solo']);
  assert.equal(s.get('reloadkit_test_reloading_total{unit="solo"}'), 2);
  assert.equal(s.get('reloadkit_reloads_total{unit="solo",outcome="committed"}'), 1);
  assert.equal(s.get('reloadkit_reloads_total{unit="solo",outcome="unchanged"}'), 1);
  handle.detach();
  assert.equal(register.getSingleMetric('reloadkit_test_reloading_total'), undefined);
});

test('prometheus: precise TypeErrors', () => {
  assert.throws(() => prometheusMetrics(null as never), { name: 'TypeError', message: 'prometheusMetrics: expected a registry, a unit or an array of units, got null' });
  assert.throws(() => prometheusMetrics([], { register: {} as never }), { name: 'TypeError', message: /prom-client Registry/ });
  assert.throws(() => prometheusMetrics([], { register: new Registry(), prefix: 'bad-prefix' }), { name: 'TypeError', message: /prefix/ });
  assert.throws(() => prometheusMetrics([], { register: new Registry(), buckets: [1, 0.5] }), { name: 'TypeError', message: /buckets/ });
});

test('prometheus: a verify rollback counts once; rollbacks, drain timeouts and contained errors have their counters', async (t) => {
  const register = new Registry();
  const { unit, clock, setVersion } = guardedUnit();
  const handle = prometheusMetrics(unit, { register });
  t.after(async () => {
    handle.detach();
    await unit.close();
  });
  const attemptEvents: string[] = [];
  for (const event of ['committed', 'unchanged', 'rejected'] as const) unit.on(event, () => attemptEvents.push(event));
  await unit.start(); // committed: generation 1
  const lease = unit.acquire(); // holds generation 1 past the drain timeout
  setVersion(2);
  assert.equal((await unit.reload()).status, 'committed'); // generation 2, fails verify
  await clock.advanceAsync(500); // verify fails: rollback to v1 as generation 3
  await waitFor(() => unit.current?.id === 3, { message: 'verify rolled back' });
  assert.equal(unit.get().version, 1);
  assert.deepEqual(attemptEvents, ['committed', 'committed', 'committed'], 'start, reload, verify rollback: one outcome event each');
  await clock.advanceAsync(1_000); // generation 1's resource: drain timeout, then a dispose that throws
  await waitFor(() => unit.status().errors === 1, { message: 'the dispose failure surfaced' });
  lease.release();

  const s = samples(await handle.metrics());
  // start, reload, rollback: three committed attempts, each counted from its one event.
  assert.equal(s.get('reloadkit_reloads_total{unit="guarded",outcome="committed"}'), 3);
  assert.equal(s.has('reloadkit_reloads_total{unit="guarded",outcome="rejected"}'), false);
  assert.equal(s.get('reloadkit_reload_duration_seconds_count{unit="guarded"}'), 3);
  assert.equal(s.get('reloadkit_rollbacks_total{unit="guarded"}'), 1);
  assert.equal(s.get('reloadkit_drain_timeouts_total{unit="guarded"}'), 1);
  assert.equal(s.get('reloadkit_errors_total{unit="guarded",where="dispose"}'), 1);
  assert.equal(s.get('reloadkit_generation{unit="guarded"}'), 3);
});
