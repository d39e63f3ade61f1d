/**
 * The gateway process: routes live traffic to the model service through `modelRollout`, and keeps
 * the model's context in sync through `modelContext`. Admin routes change the target version or
 * the context; each change runs through the reloadable pipeline (canary steps, hash confirmation).
 *
 * Env: STEPS (canary percents, default 5,25,50,100), MIN_REQUESTS (canary requests per step, default 40),
 * STEP_TIMEOUT_MS (default 60000), MCP_URL (the model service's MCP endpoint, e.g. http://127.0.0.1:8080/mcp), MCP_TOKEN, PORT (default 0). Prints `gateway listening on <url>`.
 *
 *   POST /analyze          { text }           → { version, output }
 *   POST /admin/rollout    { version }        → ReloadResult + step reports
 *   POST /admin/rollback                      → ReloadResult
 *   PUT  /admin/context    { context }        → ReloadResult + confirmed hash
 *   GET  /admin/status                        → unit statuses and routing metrics
 *   GET  /metrics                             → Prometheus exposition (reloads, rejections, durations)
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { prometheusMetrics } from '../../src/metrics/prometheus.js';
import { modelContext, modelRollout, modelServiceClient } from '../../src/mcp/index.js';
import { SentimentContextSchema } from './sentiment-model.js';

const url = process.env.MCP_URL ?? 'http://127.0.0.1:8080/mcp';
const token = process.env.MCP_TOKEN;
// One MCP session to the model service (Streamable HTTP, SDK client), re-opened if the service restarts.
const client = modelServiceClient({ url, ...(token ? { token } : {}), timeoutMs: 2000, name: 'model-service' });
const log = (line: string): void => console.log(`[gateway] ${line}`);

let targetVersion = 'v1';
let targetContext: unknown = { neutralBand: 0 };

const rollout = modelRollout({
  client,
  model: 'sentiment',
  load: () => targetVersion,
  steps: (process.env.STEPS ?? '5,25,50,100').split(',').map(Number),
  minRequests: Number(process.env.MIN_REQUESTS ?? 40),
  maxErrorRate: 0.05,
  maxLatencyMs: 500,
  stepTimeoutMs: Number(process.env.STEP_TIMEOUT_MS ?? 60_000),
  retry: false,
  audit: (r) => log(`audit ${r.action} ${r.outcome}${r.stage ? ` stage=${r.stage}` : ''}${r.error ? ` code=${r.error.code}` : ''} generation ${r.from ?? '-'}→${r.to ?? '-'}`),
  onStep: (s) => log(`step ${String(s.percent).padStart(3)}% ${s.version}: ${s.requests} canary requests, ${s.errors} errors, p95 ${s.p95LatencyMs.toFixed(1)} ms → ${s.passed ? 'pass' : `FAIL (${s.reason})`}`),
});
rollout.on('committed', (e) => log(`committed generation ${e.current.id}: ${e.current.resource.version} serves 100%`));
rollout.on('rejected', (e) => log(`rejected at ${e.stage}: ${e.error.message}`));
rollout.on('rolled-back', (e) => log(`rolled back: generation ${e.from} → ${e.to} (re-promoted generation ${e.target})`));
rollout.on('error', (e) => log(`error (${e.where}): ${e.error.message}`));

const context = modelContext({ client, model: 'sentiment', load: () => targetContext, schema: SentimentContextSchema, retry: false });
context.on('committed', (e) => log(`context confirmed by the service: ${e.current.resource.contextHash}`));
context.on('rejected', (e) => log(`context rejected at ${e.stage}: ${e.error.message}`));

const prometheus = prometheusMetrics([rollout, context], { register: new Registry() });

await rollout.start();
await context.start();

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 16 * 1024) throw new Error('body too large');
  }
  const parsed = text ? JSON.parse(text) : {};
  if (typeof parsed !== 'object' || parsed === null) throw new Error('expected a JSON object');
  return parsed as Record<string, unknown>;
}

function send(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

const server = createServer((req, res) => {
  void (async () => {
    try {
      if (req.method === 'POST' && req.url === '/analyze') {
        const { text } = await body(req);
        const routed = await rollout.route({ text });
        return send(res, 200, { version: routed.version, output: routed.output });
      }
      if (req.method === 'POST' && req.url === '/admin/rollout') {
        targetVersion = String((await body(req)).version);
        // An operator naming a version is a deliberate choice: it lifts the refusal a rollback left.
        rollout.clearRefused({ actor: 'admin' });
        const result = await rollout.reload({ reason: `rollout ${targetVersion}`, actor: 'admin' });
        return send(res, result.ok ? 200 : 422, { result, steps: rollout.progress(), live: rollout.get().version });
      }
      if (req.method === 'POST' && req.url === '/admin/rollback') {
        const result = await rollout.rollback({ reason: 'admin rollback', actor: 'admin' });
        return send(res, result.ok ? 200 : 422, { result, live: rollout.get().version });
      }
      if (req.method === 'PUT' && req.url === '/admin/context') {
        targetContext = (await body(req)).context;
        const result = await context.reload({ reason: 'context update', actor: 'admin' });
        return send(res, result.ok ? 200 : 422, { result, contextHash: context.get().contextHash });
      }
      if (req.method === 'GET' && req.url === '/admin/status') {
        return send(res, 200, { rollout: rollout.status(), live: rollout.get().version, weights: rollout.get().weights(), metrics: rollout.metrics(), context: context.status() });
      }
      if (req.method === 'GET' && req.url === '/metrics') {
        res.writeHead(200, { 'content-type': prometheus.contentType }).end(await prometheus.metrics());
        return;
      }
      send(res, 404, { error: 'not found' });
    } catch (error) {
      send(res, 502, { error: (error as Error).message });
    }
  })();
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port} (live version ${rollout.get().version})`);
});

const stop = async (): Promise<void> => {
  server.close();
  server.closeAllConnections();
  await Promise.all([rollout.close(), context.close()]);
  await client.connection.close();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
