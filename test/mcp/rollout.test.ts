import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { prometheusMetrics } from '../../src/metrics/prometheus.js';
import { modelServiceClient } from '../../src/mcp/model-client.js';
import { startMcpServer } from '../../src/mcp/serve.js';
import type { ModelImplementation } from '../../src/mcp/server.js';
import { modelRollout } from '../../src/mcp/rollout.js';
import type { StepReport } from '../../src/mcp/rollout.js';
import type { AuditRecord } from '../../src/types.js';
import { waitFor } from '../helpers/wait.js';
import { wordModel } from './fixtures.js';
import { startTraffic } from './traffic.js';

// Wide steps and small samples: each step needs a few dozen requests, so a loaded machine still
// gathers them well inside the step timeout; the latency bound is out of reach except where a test
// sets its own (what is judged is the count, never the machine's speed).
const quick = { steps: [20, 50, 100], minRequests: 12, maxErrorRate: 0.05, maxLatencyMs: 60_000, stepTimeoutMs: 20_000, retry: false as const };

test('a canary rollout under continuous traffic: every step passes, zero failed requests, old version unloaded; rollback re-promotes', async () => {
  const service = await startMcpServer({ models: [wordModel()] });
  await service.handler.ready();
  const client = modelServiceClient({ url: service.url });
  let target = 'v1';
  const steps: StepReport[] = [];
  const audit: AuditRecord[] = [];
  const rollout = modelRollout({ client, model: 'words', load: () => target, ...quick, onStep: (s) => steps.push(s), audit: (r) => { audit.push(r); } });
  const rolledBack: unknown[] = [];
  rollout.on('rolled-back', (e) => rolledBack.push(e));
  await rollout.start();
  const traffic = startTraffic(() => rollout.route({ text: 'good great day' }));
  try {
    assert.equal(rollout.get().version, 'v1');
    await waitFor(() => traffic.ok > 20, { message: 'traffic on v1' });
    target = 'v2';
    const result = await rollout.reload({ reason: 'ship v2', actor: 'test' });
    assert.equal(result.status, 'committed', result.error?.message);
    assert.deepEqual(steps.map((s) => [s.percent, s.passed, s.requests]), [[20, true, 12], [50, true, 12], [100, true, 12]]);
    assert.equal(rollout.get().version, 'v2');
    assert.deepEqual(rollout.get().weights(), { v2: 100 });
    await waitFor(async () => (await client.getModel('words')).versions.find((v) => v.version === 'v2')?.weight === 100, { message: 'the service shows the new split' });
    await waitFor(async () => (await client.getModel('words')).versions.find((v) => v.version === 'v1')?.state === 'UNAVAILABLE', { message: 'v1 unloaded after drain' });
    const served = traffic.byVersion.v2 ?? 0;
    await waitFor(() => (traffic.byVersion.v2 ?? 0) > served + 20, { message: 'traffic on v2' });

    const stepsBefore = steps.length;
    const back = await rollout.rollback({ reason: 'operator says so' });
    assert.equal(back.status, 'committed', back.error?.message);
    assert.equal(rollout.get().version, 'v1');
    assert.equal(steps.length, stepsBefore, 'a rollback re-promotes directly, without canary steps');
    assert.equal(rolledBack.length, 1);
    await waitFor(async () => (await client.getModel('words')).versions.find((v) => v.version === 'v2')?.state === 'UNAVAILABLE', { message: 'v2 unloaded after rollback' });
    const onV1 = traffic.byVersion.v1 ?? 0;
    await waitFor(() => (traffic.byVersion.v1 ?? 0) > onV1 + 20, { message: 'traffic back on v1' });
    await traffic.stop();
    assert.equal(traffic.failed, 0, `failed requests: ${traffic.errors.join('; ')}`);
    assert.deepEqual(audit.map((r) => [r.action, r.outcome]), [['start', 'committed'], ['reload', 'committed'], ['rollback', 'committed']]);
  } finally {
    await traffic.stop();
    await rollout.close();
    await service.close();
  }
});

test('a broken version (a fifth of requests fail) is rolled back before 100%: rejected result, events, audit, metrics; users see no failure', async () => {
  const service = await startMcpServer({ models: [wordModel()] });
  await service.handler.ready();
  const client = modelServiceClient({ url: service.url });
  let target = 'v1';
  const audit: AuditRecord[] = [];
  const rejected: { stage: string; message: string }[] = [];
  const rollout = modelRollout({ client, model: 'words', load: () => target, ...quick, minRequests: 20, audit: (r) => { audit.push(r); } });
  rollout.on('rejected', (e) => rejected.push({ stage: e.stage, message: e.error.message }));
  const prom = prometheusMetrics(rollout, { register: new Registry() });
  await rollout.start();
  const traffic = startTraffic(() => rollout.route({ text: 'good' }));
  try {
    target = 'broken';
    const result = await rollout.reload({ reason: 'ship broken' });
    assert.equal(result.status, 'rejected');
    assert.equal(result.stage, 'health');
    assert.match(result.error?.message ?? '', /canary words@broken failed at 20%: error rate .* exceeds 5\.0%; traffic is back on v1/);
    const progress = rollout.progress();
    assert.ok(progress.length >= 1 && progress.every((s) => s.percent < 100), 'never reached 100%');
    assert.equal(progress.at(-1)?.passed, false);
    assert.equal(rollout.get().version, 'v1');
    assert.deepEqual(rollout.get().weights(), { v1: 100 });
    assert.deepEqual(rejected.map((r) => r.stage), ['health']);
    const record = audit.find((r) => r.action === 'reload');
    assert.equal(record?.outcome, 'rejected');
    assert.equal(record?.stage, 'health');
    assert.equal(record?.error?.code, 'RELOADKIT_HEALTH');
    const metrics = rollout.metrics();
    assert.equal(metrics.stepsFailed, 1);
    assert.ok((metrics.errors.broken ?? 0) >= 2);
    assert.equal(metrics.fallbacks, metrics.errors.broken);
    const exposition = await prom.metrics();
    const rejectedLine = exposition.split('\n').find((l) => l.startsWith('reloadkit_reloads_total{') && l.includes('unit="model:words"') && l.includes('"rejected"'));
    assert.match(rejectedLine ?? exposition, / 1$/, 'one rejected reload in the Prometheus counter');
    await waitFor(async () => (await client.getModel('words')).versions.find((v) => v.version === 'broken')?.state === 'UNAVAILABLE', { message: 'broken unloaded' });
    const onV1 = traffic.byVersion.v1 ?? 0;
    await waitFor(() => (traffic.byVersion.v1 ?? 0) > onV1 + 20, { message: 'traffic on v1' });
    await traffic.stop();
    assert.equal(traffic.failed, 0, 'failed canary requests were answered by v1');
    assert.equal(rollout.status().generation, 1);
    await rollout.close();
    const after = (await client.getModel('words')).versions.find((v) => v.version === 'v1');
    assert.equal(after?.state, 'READY', 'closing the gateway does not unload the serving version');
  } finally {
    prom.detach();
    await traffic.stop();
    await rollout.close();
    await service.close();
  }
});

test('a version that fails to load is rejected at create; a step without traffic fails on its timeout; options are checked', async () => {
  const service = await startMcpServer({ models: [wordModel()] });
  await service.handler.ready();
  const client = modelServiceClient({ url: service.url });
  let target = 'v1';
  const rollout = modelRollout({ client, model: 'words', load: () => target, ...quick, stepTimeoutMs: 300 });
  try {
    await rollout.start();
    target = 'badload';
    const failedLoad = await rollout.reload();
    assert.equal(failedLoad.status, 'rejected');
    assert.equal(failedLoad.stage, 'create');
    assert.match(failedLoad.error?.message ?? '', /weights file is corrupt/);
    target = 'v2';
    const idle = await rollout.reload();
    assert.equal(idle.stage, 'health');
    assert.match(idle.error?.message ?? '', /failed at 20%: only 0 of 12 canary requests within 300 ms/);
    assert.equal(rollout.get().version, 'v1');
    await waitFor(async () => (await client.getModel('words')).versions.find((v) => v.version === 'v2')?.state === 'UNAVAILABLE', { message: 'v2 unloaded' });
    target = 'not a valid name!';
    assert.equal((await rollout.reload()).stage, 'validate');
  } finally {
    await rollout.close();
    await service.close();
  }
  assert.throws(() => modelRollout({ client, model: 'words', load: () => 'v1', steps: [50, 25] }), /steps/);
  assert.throws(() => modelRollout({ client, model: 'words', load: () => 'v1', maxErrorRate: 2 }), /maxErrorRate/);
  assert.throws(() => modelRollout({ client, model: 'words' }), /exactly one of `load` or `source`/);
  assert.throws(() => modelRollout({ client: {} as never, model: 'words', load: () => 'v1' }), /ModelServiceClient/);
});

test('a canary slower than maxLatencyMs (p95) fails its step: rejected at health, traffic back on the old version', async () => {
  const slowModel: ModelImplementation = {
    name: 'latency',
    versions: ['fast', 'slow'],
    preload: ['fast'],
    load() {},
    unload() {},
    async infer(version) {
      // Far above the 20 ms budget: a loaded machine only makes it slower, never faster.
      if (version === 'slow') await new Promise((resolve) => setTimeout(resolve, 60));
      return { version };
    },
  };
  const service = await startMcpServer({ models: [slowModel] });
  await service.handler.ready();
  const client = modelServiceClient({ url: service.url });
  let target = 'fast';
  const rollout = modelRollout({ client, model: 'latency', load: () => target, ...quick, minRequests: 10, maxLatencyMs: 20 });
  await rollout.start();
  const traffic = startTraffic(() => rollout.route({}));
  try {
    target = 'slow';
    const result = await rollout.reload({ reason: 'ship slow' });
    assert.equal(result.status, 'rejected');
    assert.equal(result.stage, 'health');
    assert.match(result.error?.message ?? '', /canary latency@slow failed at 20%: p95 latency [\d.]+ ms exceeds 20 ms; traffic is back on fast/);
    const step = rollout.progress().at(-1);
    assert.equal(step?.requests, 10);
    assert.equal(step?.errors, 0);
    assert.ok((step?.p95LatencyMs ?? 0) > 20);
    assert.equal(rollout.get().version, 'fast');
    assert.deepEqual(rollout.get().weights(), { fast: 100 });
    await waitFor(async () => (await client.getModel('latency')).versions.find((v) => v.version === 'slow')?.state === 'UNAVAILABLE', { message: 'slow unloaded' });
    await traffic.stop();
    assert.equal(traffic.failed, 0);
  } finally {
    await traffic.stop();
    await rollout.close();
    await service.close();
  }
});

test('a rollout of a version whose retired router is still draining keeps that version loaded (rollback, then the same version again)', async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => { release = resolve; });
  const loaded = new Set<string>();
  const model: ModelImplementation = {
    name: 'gated',
    versions: ['v1', 'v2'],
    preload: ['v1'],
    load(version) { loaded.add(version); },
    unload(version) { loaded.delete(version); },
    async infer(version, input) {
      if (!loaded.has(version)) throw new Error(`${version} is not loaded`);
      // A slow request: it keeps a lease on the router that routed it.
      if ((input as { hold?: boolean }).hold) await gate;
      return { version };
    },
  };
  const service = await startMcpServer({ models: [model] });
  await service.handler.ready();
  const client = modelServiceClient({ url: service.url });
  let target = 'v1';
  let releaseAfterFirstStep = false;
  const rollout = modelRollout({
    client, model: 'gated', load: () => target, ...quick,
    onStep: (s) => {
      // The old v2 router drains (and is disposed) while the new v2 rollout runs its next steps.
      if (releaseAfterFirstStep && s.percent === 20) release();
    },
  });
  await rollout.start();
  const traffic = startTraffic(() => rollout.route({}));
  try {
    target = 'v2';
    const first = await rollout.reload();
    assert.equal(first.status, 'committed', first.error?.message);
    const held = rollout.route({ hold: true }); // leases the live v2 router
    await waitFor(() => rollout.status().leases > 0, { message: 'the slow request holds its lease' });
    const back = await rollout.rollback({ reason: 'back to v1' });
    assert.equal(back.status, 'committed', back.error?.message);
    assert.equal(rollout.status().draining, 1, 'the v2 router drains behind the slow request');
    releaseAfterFirstStep = true;
    // The rollback refused v2's hash; rolling the same version out again is a deliberate override.
    const again = await rollout.reload({ reason: 'v2 again', force: true });
    assert.equal(again.status, 'committed', again.error?.message);
    assert.deepEqual(rollout.progress().map((s) => [s.percent, s.passed]), [[20, true], [50, true], [100, true]]);
    assert.equal((await held).version, 'v2');
    assert.equal(rollout.get().version, 'v2');
    await waitFor(async () => (await client.getModel('gated')).versions.find((v) => v.version === 'v1')?.state === 'UNAVAILABLE', { message: 'v1 unloaded after the drain' });
    assert.equal((await client.getModel('gated')).versions.find((v) => v.version === 'v2')?.state, 'READY', 'the serving version was never unloaded');
    await traffic.stop();
    assert.equal(traffic.failed, 0, traffic.errors.join('; '));
  } finally {
    release();
    await traffic.stop();
    await rollout.close();
    await service.close();
  }
});
