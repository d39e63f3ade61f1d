/** The model-service process killed in the middle of a rollout (a file of its own: it spawns two service processes). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { modelServiceClient } from '../../src/mcp/model-client.js';
import { modelRollout } from '../../src/mcp/rollout.js';
import { freePort, waitFor } from '../helpers/wait.js';
import { startTraffic } from './traffic.js';

const quick = { minRequests: 12, maxErrorRate: 0.05, maxLatencyMs: 60_000, stepTimeoutMs: 20_000, retry: false as const };

async function spawnService(port: number): Promise<ChildProcess> {
  const script = fileURLToPath(new URL('../../examples/model-gateway/service.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, String(port)], { env: { ...process.env, MCP_TOKEN: 'kill-test-token' }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout?.on('data', (d) => { out += d.toString(); });
  await waitFor(() => out.includes('service listening on'), { timeoutMs: 30_000, message: 'service process ready' });
  return child;
}

test('the model-service process killed mid-rollout: rejected, the live router stays on the old version and serves it again once the service is back', async () => {
  const port = await freePort();
  let child = await spawnService(port);
  const client = modelServiceClient({ url: `http://127.0.0.1:${port}/mcp`, token: 'kill-test-token', timeoutMs: 2000 });
  let target = 'v1';
  const errors: string[] = [];
  const rollout = modelRollout({
    // Two wide steps: the first gathers its sample from a few dozen requests even on a loaded machine.
    client, model: 'sentiment', load: () => target, ...quick, steps: [50, 100], minRequests: 20,
    onStep: (s) => {
      // Kill the service right after the first step passed: the rollout is in flight.
      if (s.percent === 50 && s.passed) child.kill('SIGKILL');
    },
  });
  rollout.on('error', (e) => errors.push(`${e.where}: ${e.error.message}`));
  await rollout.start();
  const traffic = startTraffic(() => rollout.route({ text: 'a good day' }));
  try {
    target = 'v2';
    const result = await rollout.reload({ reason: 'ship v2' });
    assert.equal(result.status, 'rejected');
    assert.equal(result.stage, 'health');
    assert.match(result.error?.message ?? '', /canary sentiment@v2 failed at 100%/);
    assert.equal(rollout.get().version, 'v1', 'the old router is still live');
    assert.deepEqual(rollout.get().weights(), { v1: 100 });
    assert.equal(rollout.status().lastAttempt?.outcome, 'rejected');
    // The supervisor restarts the service (with v1 preloaded): the gateway serves v1 again, unchanged.
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    child = await spawnService(port);
    const before = traffic.byVersion.v1 ?? 0;
    await waitFor(() => (traffic.byVersion.v1 ?? 0) > before + 20, { timeoutMs: 20_000, message: 'v1 served after restart' });
    assert.ok((traffic.byVersion.v2 ?? 0) >= 20, 'the first step served its canary requests from v2 before the kill');
    assert.equal(rollout.status().generation, 1);
    assert.ok(errors.some((e) => /tools\/call unload_version failed/.test(e)), 'the failed unload of v2 is reported as an error event');
  } finally {
    await traffic.stop();
    await rollout.close();
    child.kill('SIGTERM');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  }
});

