/**
 * The model-gateway example end to end, as separate processes over real sockets: the model-service
 * process (examples/model-gateway/service.ts, the AFINN lexicon of `sentiment`) and the gateway
 * process (examples/model-gateway/gateway.ts) routing continuous traffic sent by this test. Counts,
 * not timings: zero failed requests through a canary rollout, a broken version rejected before
 * 100 % (visible in the result, the gateway's events and audit log lines, its status and its
 * Prometheus metrics), a context update confirmed by its hash, and the service killed mid-rollout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { hashValue } from '../../src/support/hash.js';
import { modelServiceClient } from '../../src/mcp/model-client.js';
import { freePort, waitFor } from '../helpers/wait.js';

const TOKEN = 'gateway-test-token';

interface Proc {
  child: ChildProcess;
  lines: string[];
  /** Called synchronously on each new line (to react to a log line without polling delay). */
  onLine?: (line: string) => void;
}

function startProcess(script: string, env: Record<string, string>): Proc {
  const path = fileURLToPath(new URL(`../../examples/model-gateway/${script}`, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', path], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const proc: Proc = { child, lines: [] };
  let buffer = '';
  child.stdout?.on('data', (d: Buffer) => {
    buffer += d.toString();
    let i: number;
    while ((i = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, i);
      proc.lines.push(line);
      buffer = buffer.slice(i + 1);
      proc.onLine?.(line);
    }
  });
  return proc;
}

async function stopProcess(proc: Proc | undefined): Promise<void> {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const exited = once(proc.child, 'exit');
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Continuous traffic through the gateway's HTTP route. */
/** Concurrent traffic loops, each one request at a time. */
const WORKERS = 4;

function startTraffic(url: string) {
  const t = { ok: 0, failed: 0, byVersion: {} as Record<string, number>, running: true, errors: [] as string[] };
  const texts = ['what a wonderful, happy day', 'this is a terrible, sad mistake', 'the food was good but the service was awful'];
  const loops = Array.from({ length: WORKERS }, async (_, w) => {
    let i = w;
    while (t.running) {
      try {
        const res = await fetch(`${url}/analyze`, { method: 'POST', body: JSON.stringify({ text: texts[i++ % texts.length] }) });
        const body = (await res.json()) as { version?: string; error?: string };
        if (res.status !== 200 || typeof body.version !== 'string') throw new Error(`status ${res.status}: ${body.error ?? ''}`);
        t.ok++;
        t.byVersion[body.version] = (t.byVersion[body.version] ?? 0) + 1;
      } catch (error) {
        t.failed++;
        t.errors.push((error as Error).message);
        if (t.errors.length > 10) t.errors.shift(); // the most recent ones
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  });
  return Object.assign(t, {
    async stop() {
      t.running = false;
      await Promise.all(loops);
    },
  });
}

async function call(url: string, method: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.status, json: await res.json() };
}

test('model gateway: a service process and a gateway process under continuous traffic: canary, context, broken version, service killed', { timeout: 120_000 }, async () => {
  const servicePort = await freePort();
  const serviceEnv = { MCP_TOKEN: TOKEN, PORT: String(servicePort) };
  let service: Proc | undefined = startProcess('service.ts', serviceEnv);
  let gateway: Proc | undefined;
  let traffic: ReturnType<typeof startTraffic> | undefined;
  let direct: ReturnType<typeof modelServiceClient> | undefined;
  try {
    await waitFor(() => service?.lines.some((l) => l.includes('service listening on')), { timeoutMs: 45_000, message: 'service process ready' });
    gateway = startProcess('gateway.ts', { MCP_URL: `http://127.0.0.1:${servicePort}/mcp`, MCP_TOKEN: TOKEN, PORT: '0', MIN_REQUESTS: '20', STEPS: '25,50,100', STEP_TIMEOUT_MS: '300000' });
    const gw = gateway;
    const listening = await waitFor(() => gw.lines.map((l) => /listening on (http:\/\/\S+)/.exec(l)?.[1]).find(Boolean), { timeoutMs: 45_000, message: 'gateway process ready' });
    const models = modelServiceClient({ url: `http://127.0.0.1:${servicePort}/mcp`, token: TOKEN, reconnectDelayMs: 20, maxReconnectDelayMs: 500 });
    direct = models;
    traffic = startTraffic(listening);
    const t = traffic;
    await waitFor(() => (t.byVersion.v1 ?? 0) > 20, { message: 'traffic on v1' });

    // 1. Canary rollout v1 -> v2 under continuous traffic: every step passes, zero failed requests.
    const rollout = await call(`${listening}/admin/rollout`, 'POST', { version: 'v2' });
    assert.equal(rollout.status, 200, JSON.stringify(rollout.json.result));
    assert.equal(rollout.json.result.status, 'committed');
    assert.deepEqual(rollout.json.steps.map((s: { percent: number; passed: boolean }) => [s.percent, s.passed]), [[25, true], [50, true], [100, true]], `gateway log:\n${gw.lines.join('\n')}`);
    assert.equal(rollout.json.live, 'v2');
    const onV2 = t.byVersion.v2 ?? 0;
    await waitFor(() => (t.byVersion.v2 ?? 0) > onV2 + 20, { message: 'traffic on v2 after the commit' });
    assert.equal(t.failed, 0, `no request failed during the canary rollout: ${t.errors.join('; ')}`);
    await waitFor(async () => (await models.getModel('sentiment')).versions.find((v) => v.version === 'v1')?.state === 'UNAVAILABLE', { message: 'v1 unloaded by the service' });

    // 2. Context update, confirmed by its hash on both ends.
    const context = { neutralBand: 2, note: 'band=2' };
    const updated = await call(`${listening}/admin/context`, 'PUT', { context });
    assert.equal(updated.status, 200, JSON.stringify(updated.json.result));
    assert.equal(updated.json.contextHash, hashValue(context));
    assert.equal((await models.getModel('sentiment')).contextHash, hashValue(context));
    const invalid = await call(`${listening}/admin/context`, 'PUT', { context: { neutralBand: 'wide' } });
    assert.equal(invalid.status, 422);
    assert.equal(invalid.json.result.stage, 'validate');
    assert.equal((await models.getModel('sentiment')).contextHash, hashValue(context), 'an invalid context never reaches the service');

    // 3. A broken version (fails a fifth of its requests) is rejected before 100 %.
    const broken = await call(`${listening}/admin/rollout`, 'POST', { version: 'broken' });
    assert.equal(broken.status, 422);
    assert.equal(broken.json.result.status, 'rejected');
    assert.equal(broken.json.result.stage, 'health');
    assert.equal(broken.json.live, 'v2');
    const steps = broken.json.steps as Array<{ percent: number; passed: boolean }>;
    assert.ok(steps.length >= 1 && steps.every((s) => s.percent < 100), 'never reached 100 %');
    assert.equal(steps.at(-1)?.passed, false);
    const status = (await call(`${listening}/admin/status`, 'GET')).json;
    assert.equal(status.rollout.lastAttempt.outcome, 'rejected');
    assert.equal(status.rollout.lastAttempt.stage, 'health');
    assert.deepEqual(status.weights, { v2: 100 });
    assert.equal(status.metrics.stepsFailed, 1);
    assert.ok(status.metrics.errors.broken >= 2, 'the canary errors are counted');
    assert.equal(status.metrics.fallbacks, status.metrics.errors.broken, 'each failed canary request was answered by v2');
    await waitFor(() => gw.lines.some((l) => l.includes('rejected at health: [model:sentiment]') && l.includes('canary sentiment@broken failed')), { message: 'rejected event logged' });
    await waitFor(() => gw.lines.some((l) => /audit reload rejected stage=health code=RELOADKIT_HEALTH/.test(l)), { message: 'rejection audited' });
    const exposition = await (await fetch(`${listening}/metrics`)).text();
    const rejectedLine = exposition.split('\n').find((l) => l.startsWith('reloadkit_reloads_total{') && l.includes('unit="model:sentiment"') && l.includes('"rejected"'));
    assert.match(rejectedLine ?? exposition, / 1$/, 'one rejected reload in the Prometheus counter');
    assert.equal(t.failed, 0, `users saw no failure from the broken canary: ${t.errors.join('; ')}`);

    // 4. Back to v1, then the service is killed right after the first step of a new rollout.
    const back = await call(`${listening}/admin/rollback`, 'POST');
    assert.equal(back.json.result.status, 'committed');
    assert.equal(back.json.live, 'v1');
    const svc = service;
    let killedAfterFirstStep = false;
    gw.onLine = (line) => {
      // Killed as soon as the gateway logs that the first step passed: the rollout is in flight.
      if (/step +25% v2: .*pass/.test(line)) {
        gw.onLine = undefined;
        killedAfterFirstStep = svc.child.kill('SIGKILL');
      }
    };
    const killed = await call(`${listening}/admin/rollout`, 'POST', { version: 'v2' });
    assert.ok(killedAfterFirstStep, `the service was killed after the first step passed; ${JSON.stringify(killed.json.result)}; gateway log:\n${gw.lines.join('\n')}`);
    assert.equal(killed.status, 422);
    assert.equal(killed.json.result.status, 'rejected');
    assert.equal(killed.json.result.stage, 'health');
    // The next step sees only failures (which one depends on how fast the kill lands: 50 % nearly always).
    assert.match(killed.json.result.error.message, /canary sentiment@v2 failed at (50|100)%/);
    assert.equal(killed.json.live, 'v1', 'the gateway keeps the old version');
    const after = (await call(`${listening}/admin/status`, 'GET')).json;
    assert.equal(after.rollout.lastAttempt.outcome, 'rejected');
    assert.deepEqual(after.weights, { v1: 100 });
    if (svc.child.exitCode === null && svc.child.signalCode === null) await once(svc.child, 'exit');

    // The supervisor restarts the service (v1 preloaded): the gateway serves v1 again, no failure.
    service = startProcess('service.ts', serviceEnv);
    const restarted = service;
    await waitFor(() => restarted.lines.some((l) => l.includes('service listening on')), { timeoutMs: 45_000, message: 'service restarted' });
    await waitFor(() => gw.lines.some((l) => /error \(dispose\): .*tools\/call unload_version failed/.test(l)), { message: 'failed unload of v2 reported' });
    const failedBefore = t.failed;
    const onV1 = t.byVersion.v1 ?? 0;
    // Each of the WORKERS traffic loops can fail at most twice more once the restart is seen here:
    // a request refused before the new process listened, whose error arrives after its "listening"
    // line did (two pipes, no order between them), and a request on the gateway's session to the
    // killed process (closed, then re-opened by the client). Then every request succeeds (below).
    await waitFor(() => (t.byVersion.v1 ?? 0) > onV1 + 40, { timeoutMs: 30_000, message: 'v1 served after the restart' });
    const settled = t.failed;
    assert.ok(settled - failedBefore <= 2 * WORKERS, `requests kept failing after the restart: ${settled - failedBefore} (${t.errors.join('; ')})`);
    const onV1Again = t.byVersion.v1 ?? 0;
    await waitFor(() => (t.byVersion.v1 ?? 0) > onV1Again + 40, { timeoutMs: 30_000, message: 'more v1 traffic' });
    assert.equal(t.failed, settled, `no failure once the service is back: ${t.errors.join('; ')}`);
  } finally {
    await traffic?.stop();
    await direct?.connection.close();
    await stopProcess(gateway);
    await stopProcess(service);
  }
});
