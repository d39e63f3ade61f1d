/**
 * The model-gateway demo: starts the model-service process and the gateway process, sends
 * continuous traffic through the gateway, and walks through a canary rollout, a context update,
 * a broken version rolled back before 100%, a rollback, and the service killed mid-rollout.
 *
 *   node --import tsx examples/model-gateway/run.ts
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));
const token = 'demo-token-not-secret';
const say = (line: string): void => console.log(line);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts a child process and resolves once it printed `ready` (its stdout is echoed, filtered). */
async function start(script: string, env: Record<string, string>, ready: string, echo: (line: string) => boolean): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', here(script)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let buffer = '';
  let isReady = false;
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      let i: number;
      while ((i = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        if (echo(line)) say(`    ${line}`);
        if (!isReady && line.includes(ready)) {
          isReady = true;
          resolve();
        }
      }
    });
  });
  child.removeAllListeners('exit');
  return child;
}

const servicePort = await freePort();
const gatewayPort = await freePort();
const serviceEnv = { MCP_TOKEN: token };
let service = await start('./service.ts', { ...serviceEnv, PORT: String(servicePort) }, 'service listening', () => false);
say(`model service (sentiment v1 preloaded) on 127.0.0.1:${servicePort}`);
/** Watches the gateway's log lines (used to kill the service right after a step passed). */
let onGatewayLine: ((line: string) => void) | undefined;
const gateway = await start('./gateway.ts', { MCP_URL: `http://127.0.0.1:${servicePort}/mcp`, MCP_TOKEN: token, PORT: String(gatewayPort), MIN_REQUESTS: '40' }, 'listening on', (l) => {
  onGatewayLine?.(l);
  return !l.includes('audit start');
});
const gw = `http://127.0.0.1:${gatewayPort}`;

const texts = ['the food was good but the service was awful', 'what a wonderful, happy day', 'this is a terrible, sad mistake', 'not bad at all'];
const counts = { ok: 0, failed: 0, byVersion: {} as Record<string, number> };
let running = true;
const workers = Array.from({ length: 4 }, async (_, w) => {
  let i = w;
  while (running) {
    try {
      const res = await fetch(`${gw}/analyze`, { method: 'POST', body: JSON.stringify({ text: texts[i++ % texts.length] }) });
      const body = (await res.json()) as { version?: string };
      if (res.status !== 200 || !body.version) throw new Error(`status ${res.status}`);
      counts.ok++;
      counts.byVersion[body.version] = (counts.byVersion[body.version] ?? 0) + 1;
    } catch {
      counts.failed++;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
});
const snapshot = (): string => `${counts.ok} ok, ${counts.failed} failed (by version: ${Object.entries(counts.byVersion).map(([v, n]) => `${v} ${n}`).join(', ')})`;
const resetCounts = (): void => { counts.ok = 0; counts.failed = 0; counts.byVersion = {}; };
const post = async (path: string, body?: unknown, method = 'POST'): Promise<any> => (await fetch(`${gw}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })).json();
const analyze = async (text: string): Promise<any> => post('/analyze', { text });

await new Promise((r) => setTimeout(r, 500));
say(`\n1. live traffic on v1: ${snapshot()}`);
say(`   "${texts[0]}" → ${JSON.stringify(await analyze(texts[0] as string))}`);

resetCounts();
say('\n2. canary rollout v1 → v2 (steps 5/25/50/100%, 40 canary requests per step, max error rate 5%)');
const r2 = await post('/admin/rollout', { version: 'v2' });
say(`   result: ${r2.result.status}, live version ${r2.live}; traffic during the rollout: ${snapshot()}`);
say(`   "${texts[0]}" → ${JSON.stringify(await analyze(texts[0] as string))}`);

say('\n3. context update (neutralBand 3), confirmed by hash');
const r3 = await post('/admin/context', { context: { neutralBand: 3, note: 'band=3' } }, 'PUT');
say(`   result: ${r3.result.status}, confirmed hash ${r3.contextHash}`);
say(`   "${texts[0]}" → ${JSON.stringify(await analyze(texts[0] as string))}`);

resetCounts();
say('\n4. canary rollout v2 → broken (fails a fifth of its requests)');
const r4 = await post('/admin/rollout', { version: 'broken' });
say(`   result: ${r4.result.status} at stage ${r4.result.stage}, live version ${r4.live}; failed steps: ${r4.steps.filter((s: any) => !s.passed).map((s: any) => `${s.percent}%`).join(', ')}`);
say(`   traffic during the rollout: ${snapshot()} (failed canary requests were answered by v2)`);
const status = await (await fetch(`${gw}/admin/status`)).json() as any;
say(`   metrics: steps passed ${status.metrics.stepsPassed}, failed ${status.metrics.stepsFailed}; canary errors ${status.metrics.errors.broken ?? 0}, fallbacks ${status.metrics.fallbacks}`);

say('\n5. rollback: re-promote v1');
const r5 = await post('/admin/rollback');
say(`   result: ${r5.result.status}, live version ${r5.live}`);

resetCounts();
say('\n6. canary rollout v1 → v2, and the model service is killed after the first step');
onGatewayLine = (line) => {
  if (/step +5% v2: .*pass/.test(line)) {
    onGatewayLine = undefined;
    // After the step line is echoed, so the output reads in order.
    setImmediate(() => {
      service.kill('SIGKILL');
      say('    (model service killed: SIGKILL)');
    });
  }
};
const r6 = await post('/admin/rollout', { version: 'v2' });
say(`   result: ${r6.result.status} at stage ${r6.result.stage}; live version ${r6.live}`);
say(`   reason: ${r6.result.error?.message}`);
say(`   traffic during this rollout, service down included: ${snapshot()}`);
say('   the supervisor restarts the model service (v1 preloaded)');
service = await start('./service.ts', { ...serviceEnv, PORT: String(servicePort) }, 'service listening', () => false);
await new Promise((r) => setTimeout(r, 200));
resetCounts();
await new Promise((r) => setTimeout(r, 1000));
say(`   traffic after the restart: ${snapshot()}`);

running = false;
await Promise.all(workers);
gateway.kill('SIGTERM');
service.kill('SIGTERM');
await Promise.all([once(gateway, 'exit'), once(service, 'exit')]);
say('\ndone');
