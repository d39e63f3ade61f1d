/**
 * bench/mcp.ts: the cost of routing through a `modelRollout` router, and the duration of a
 * rollout step. Baseline and subject run in the same process against the same loopback service.
 *
 * - routing: `client.infer()` directly vs `rollout.route()` (lease + router + outcome recording),
 *   sequential requests, interleaved rounds; reports added µs per request and the ratio.
 * - step: wall time of one canary step (5%) with `minRequests` canary requests under 4 traffic loops.
 *
 *   node --import tsx bench/mcp.ts            # quick (default, < 60 s)
 *   node --import tsx bench/mcp.ts --full     # more rounds
 *
 * Writes bench/results/mcp.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createMcpClient, modelRollout, startMcpServer } from '../src/mcp/index.js';
import type { StepReport } from '../src/mcp/index.js';
import { sentimentModel } from '../examples/model-gateway/sentiment-model.js';

const full = process.argv.includes('--full');
const ROUNDS = full ? 10 : 4;
const PER_ROUND = full ? 2000 : 800;
const input = { text: 'the food was good but the service was awful' };

const service = await startMcpServer({ models: [sentimentModel()] });
await service.handler.ready();
const client = createMcpClient({ baseUrl: service.url, retries: 0 });
let target = 'v1';
const steps: StepReport[] = [];
const minRequests = full ? 200 : 50;
const rollout = modelRollout({ client, model: 'sentiment', load: () => target, steps: [5], minRequests, maxErrorRate: 0.01, retry: false, reportWeights: false, onStep: (s) => steps.push(s) });
await rollout.start();

async function timeDirect(n: number): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < n; i++) await client.infer('sentiment', 'v1', input);
  return performance.now() - t;
}
async function timeRouted(n: number): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < n; i++) await rollout.route(input);
  return performance.now() - t;
}

// Warm up both paths (JIT, keep-alive sockets).
await timeDirect(200);
await timeRouted(200);
const direct: number[] = [];
const routed: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  // Interleave so drift in machine load hits both sides alike.
  direct.push((await timeDirect(PER_ROUND)) / PER_ROUND);
  routed.push((await timeRouted(PER_ROUND)) / PER_ROUND);
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const directMs = median(direct);
const routedMs = median(routed);

// One rollout step (5%) under 4 concurrent traffic loops, then back (the step targets v2, steps: [5]).
let running = true;
const loops = Array.from({ length: 4 }, async () => { while (running) await rollout.route(input).catch(() => undefined); });
target = 'v2';
const t0 = performance.now();
const result = await rollout.reload({ reason: 'bench' });
const rolloutMs = performance.now() - t0;
running = false;
await Promise.all(loops);
await rollout.close();
await service.close();

const step = steps[0];
const out = {
  mode: full ? 'full' : 'quick',
  node: process.version,
  routing: {
    requestsPerSide: ROUNDS * PER_ROUND,
    directMsPerRequest: directMs,
    routedMsPerRequest: routedMs,
    addedMicrosPerRequest: (routedMs - directMs) * 1000,
    ratio: routedMs / directMs,
  },
  rolloutStep: {
    percent: 5,
    minRequests,
    stepMs: step?.durationMs ?? null,
    totalRolloutMs: rolloutMs,
    result: result.status,
  },
};
console.log(`routing: direct ${(directMs * 1000).toFixed(1)} µs/request, through the router ${(routedMs * 1000).toFixed(1)} µs/request`);
console.log(`         added ${out.routing.addedMicrosPerRequest.toFixed(1)} µs/request, ratio ${out.routing.ratio.toFixed(3)} (router / direct)`);
console.log(`rollout: one 5% step with ${minRequests} canary requests took ${step?.durationMs.toFixed(0)} ms; load + step + commit ${rolloutMs.toFixed(0)} ms (${result.status})`);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/mcp.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
