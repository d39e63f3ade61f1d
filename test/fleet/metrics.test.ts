/**
 * Fleet metrics from a real etcd and three real member processes, through the real prom-client
 * registry and the real OpenTelemetry SDK: during a rollout paused in its first bake, one member
 * serves the candidate (two hashes, step 0, one `committed` verdict); once done, one hash, the
 * rollout counted `done` and no step series left. No label carries a value or a hash.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { rollout } from '../../src/fleet/index.js';
import { fleetOpenTelemetry, fleetPrometheus, readFleetMetrics } from '../../src/fleet/metrics.js';
import { waitFor } from '../helpers/wait.js';
import { useFleetEnv } from './support.js';
import { haveBinary } from '../helpers/servers.js';

const available = haveBinary('etcd');
/** The candidate's one value: no rollout id (random lowercase base36) can contain it. */
const SECRET_TAG = 'SECRET_TAG_VALUE';

/** `name{labels} value` lines of a Prometheus exposition, as a map. */
function series(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe('fleet: metrics', { skip: available ? false : 'etcd not installed' }, () => {
  const env = useFleetEnv();

  it('members, hashes, outcomes, rollouts by state, the step and verdicts of a moving rollout: Prometheus and OpenTelemetry', async (t) => {
    const fleet = 'metrics';
    const members = await env.fleetOf(fleet, 3);
    const register = new Registry();
    const prom = fleetPrometheus({ client: env.client, fleet, register });
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({ readers: [reader] });
    const otel = fleetOpenTelemetry({ client: env.client, fleet, meter: provider.getMeter('fleet-test') });
    t.after(async () => {
      prom.detach();
      otel.detach();
      await provider.shutdown();
    });

    const before = series(await register.metrics());
    assert.equal(before.get(`reloadkit_fleet_members{fleet="${fleet}",unit="config"}`), 3);
    assert.equal(before.get(`reloadkit_fleet_hashes{fleet="${fleet}",unit="config"}`), 1);

    const handle = await rollout({
      client: env.client, fleet, unit: 'config', candidate: { tag: SECRET_TAG, db: env.db1 }, actor: 'test:metrics', reason: 'metrics',
      strategy: { steps: [{ instances: 1, bakeMs: 60_000 }, { percent: 100 }] },
    });
    await waitFor(() => handle.record().phase === 'bake', { message: 'the first step bakes', timeoutMs: 60_000 });
    await handle.pause({ actor: 'test:metrics' });
    const id = handle.record().id;

    const paused = await waitFor(async () => {
      const s = series(await register.metrics());
      return s.get(`reloadkit_fleet_hashes{fleet="${fleet}",unit="config"}`) === 2 ? s : undefined;
    }, { message: 'the canary serves the candidate: two hashes' });
    assert.equal(paused.get(`reloadkit_fleet_members{fleet="${fleet}",unit="config"}`), 3);
    assert.equal(paused.get(`reloadkit_fleet_rollouts{fleet="${fleet}",unit="config",state="paused"}`), 1);
    assert.equal(paused.get(`reloadkit_fleet_rollout_step{fleet="${fleet}",unit="config",rollout="${id}"}`), 0);
    assert.equal(paused.get(`reloadkit_fleet_rollout_verdicts{fleet="${fleet}",unit="config",rollout="${id}",verdict="committed"}`), 1);
    assert.equal(paused.get(`reloadkit_fleet_member_outcomes{fleet="${fleet}",unit="config",outcome="committed"}`), 3);

    // The same moment through the OpenTelemetry SDK.
    await provider.forceFlush();
    const metrics: MetricData[] = exporter.getMetrics().at(-1)!.scopeMetrics.flatMap((s) => s.metrics);
    const point = (name: string, attrs: Record<string, string>) =>
      metrics.find((m) => m.descriptor.name === name)?.dataPoints.find((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v))?.value;
    assert.equal(point('reloadkit.fleet_hashes', { fleet, unit: 'config' }), 2);
    assert.equal(point('reloadkit.fleet_rollout_step', { fleet, unit: 'config', rollout: id }), 0);
    assert.equal(point('reloadkit.fleet_rollout_verdicts', { fleet, unit: 'config', rollout: id, verdict: 'committed' }), 1);

    // No label value is a hash or a config value. (Rollout ids are random lowercase base36, so the
    // tag is one no id can contain; a short tag such as `v2` would match an id now and then.)
    const text = await register.metrics();
    // Every hash in play: the candidate's, and each one a member served (its own log says which).
    const hashes = new Set([handle.record().candidateHash, ...members.flatMap((m) => m.lines.filter((l) => l.startsWith('serve ')).map((l) => l.split(' ')[1]!))]);
    assert.ok(hashes.size >= 2, 'the old hash and the candidate hash are known');
    for (const hash of hashes) assert.ok(!text.includes(hash.replace(/^sha256:/, '').slice(0, 12)), `no label carries the hash ${hash}`);
    assert.doesNotMatch(text, /sha256|SECRET_TAG_VALUE|"db"/);

    await handle.resume({ actor: 'test:metrics' });
    // Skip the rest of the bake: the test is about the gauges, not the wait.
    await handle.abort({ actor: 'test:metrics', reason: 'done looking' });
    const final = await handle.done;
    assert.equal(final.state, 'aborted');
    const ended = await waitFor(async () => {
      const s = await readFleetMetrics({ client: env.client, fleet });
      return s.units[0]?.hashes === 1 ? s : undefined;
    }, { message: 'after the abort every member serves one hash again' });
    assert.deepEqual(ended.active, [], 'no rollout is moving');
    const after = series(await register.metrics());
    assert.equal(after.get(`reloadkit_fleet_rollouts{fleet="${fleet}",unit="config",state="aborted"}`), 1);
    assert.equal([...after.keys()].filter((k) => k.startsWith('reloadkit_fleet_rollout_step')).length, 0, 'no step series once nothing moves');
  });

  it('rejects bad arguments precisely', () => {
    assert.throws(() => fleetPrometheus({ client: env.client, fleet: 'x', register: {} as Registry }), /expected `register` to be a prom-client Registry/);
    assert.throws(() => fleetPrometheus({ client: env.client, fleet: 'a/b', register: new Registry() }), /expected `fleet`/);
    assert.throws(() => fleetPrometheus({ client: env.client, fleet: 'x', register: new Registry(), prefx: 'a_' } as never), /unknown option `prefx`; did you mean `prefix`\?/);
    assert.throws(() => fleetOpenTelemetry({ client: {} as never, fleet: 'x', meter: {} as never }), /expected `client` to be an etcd3 client/);
  });
});
