import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modelServiceClient } from '../../src/mcp/model-client.js';
import { startMcpServer } from '../../src/mcp/serve.js';
import { ModelRouter, StepWindow } from '../../src/mcp/router.js';
import type { RouterMetrics } from '../../src/mcp/router.js';
import { wordModel } from './fixtures.js';

test('StepWindow closes at exactly minRequests, or early once the error budget is spent', async () => {
  const ok = new StepWindow('v2', 10, 1);
  for (let i = 0; i < 12; i++) ok.record(i === 3, 5 + i);
  const seen = await ok.done;
  assert.deepEqual([seen.requests, seen.errors, seen.earlyFailure], [10, 1, false]);
  assert.equal(seen.p95LatencyMs, 14);
  const bad = new StepWindow('v2', 100, 1);
  bad.record(true, 1);
  bad.record(false, 1);
  bad.record(true, 1);
  const early = await bad.done;
  assert.deepEqual([early.requests, early.errors, early.earlyFailure], [3, 2, true]);
});

test('the router splits traffic exactly by percent, records outcomes, and falls back from a failing canary', async () => {
  const service = await startMcpServer({ models: [wordModel()] });
  await service.handler.ready();
  const client = modelServiceClient({ url: service.url });
  try {
    await client.loadVersion('words', 'broken');
    await client.waitForVersion('words', 'broken');
    const metrics: RouterMetrics = { requests: {}, errors: {}, fallbacks: 0 };
    const router = new ModelRouter({ client, model: 'words', version: 'v1', metrics });
    assert.deepEqual(router.weights(), { v1: 100 });
    router.setCanary('broken', 25);
    assert.deepEqual(router.weights(), { v1: 75, broken: 25 });
    const window = router.openWindow(20, 10);
    const served: Record<string, number> = {};
    for (let i = 0; i < 80; i++) {
      const r = await router.route({ text: 'good' });
      served[r.version] = (served[r.version] ?? 0) + 1;
    }
    const seen = await window.done;
    assert.deepEqual([seen.requests, seen.errors], [20, 4], '20 canary requests, every fifth failed');
    assert.equal(metrics.requests.broken, 20);
    assert.equal(metrics.errors.broken, 4);
    assert.equal(metrics.fallbacks, 4);
    assert.deepEqual(served, { v1: 64, broken: 16 }, 'failed canary requests were answered by the primary');
    router.clearCanary('other');
    assert.equal(router.canary?.version, 'broken', 'clearCanary(version) only clears that canary');
    router.clearCanary('broken');
    assert.deepEqual(router.weights(), { v1: 100 });
    const noFallback = new ModelRouter({ client, model: 'words', version: 'v1', metrics, fallbackToPrimary: false });
    noFallback.setCanary('broken', 100);
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => noFallback.route({ text: 'good' })));
    assert.equal(results.filter((r) => r.status === 'rejected').length, 2);
  } finally {
    await client.connection.close();
    await service.close();
  }
});
