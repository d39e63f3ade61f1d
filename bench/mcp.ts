/**
 * bench/mcp.ts: the MCP adapter's costs, each against its floor measured in the same run.
 *
 * - notification → catalog: a tool added on a real SDK server (`notifications/tools/list_changed`)
 *   until the `mcpToolsSource` unit committed the new catalog, p50/p99, against the SDK's own
 *   `listTools()` round trip on the same session (the floor: a re-read cannot be faster).
 * - routing: `client.infer()` (a `tools/call infer`) directly vs `rollout.route()` (lease + router +
 *   outcome recording) on the same session; interleaved rounds; added µs per request and the ratio.
 *
 *   node --import tsx bench/mcp.ts            # quick (default)
 *   node --import tsx bench/mcp.ts --full     # more samples
 *
 * Writes bench/results/mcp.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { reloadable } from '../src/core/unit.js';
import { ToolCatalogSchema, mcpConnection, mcpToolsSource, modelRollout, modelServiceClient, startMcpServer } from '../src/mcp/index.js';
import { sentimentModel } from '../examples/model-gateway/sentiment-model.js';
import { startToolServer, tool } from '../test/mcp/tool-server.js';

const full = process.argv.includes('--full');
const NOTIFICATIONS = full ? 500 : 100;
const ROUNDS = full ? 10 : 4;
const PER_ROUND = full ? 1000 : 200;

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
};

// 1. notification → committed catalog, against listTools().
const tools = await startToolServer([tool('t0')]);
const connection = mcpConnection({ url: tools.url, name: 'bench' });
const unit = reloadable({ name: 'tools', source: mcpToolsSource(connection), schema: ToolCatalogSchema, retry: false });
await unit.start();
const floor: number[] = [];
const toCatalog: number[] = [];
for (let i = 1; i <= NOTIFICATIONS; i++) {
  let t = performance.now();
  await connection.client.listTools();
  floor.push(performance.now() - t);
  const committed = new Promise<void>((resolve) => unit.once('committed', () => resolve()));
  t = performance.now();
  await tools.setTools([...tools.tools, tool(`t${i}`)]);
  await committed;
  toCatalog.push(performance.now() - t);
}
const reloads = unit.status().generation - 1;
await unit.close();
await connection.close();
await tools.close();

// 2. routing through the gateway vs a direct call.
const service = await startMcpServer({ models: [sentimentModel()] });
await service.handler.ready();
const client = modelServiceClient({ url: service.url });
const rollout = modelRollout({ client, model: 'sentiment', load: () => 'v1', retry: false, reportWeights: false });
await rollout.start();
const input = { text: 'the food was good but the service was awful' };
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
await timeDirect(50);
await timeRouted(50);
const direct: number[] = [];
const routed: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  // Interleaved so drift in machine load hits both sides alike.
  direct.push((await timeDirect(PER_ROUND)) / PER_ROUND);
  routed.push((await timeRouted(PER_ROUND)) / PER_ROUND);
}
await rollout.close();
await client.connection.close();
await service.close();
const median = (xs: number[]): number => pct(xs, 50);

const out = {
  mode: full ? 'full' : 'quick',
  node: process.version,
  notificationToCatalog: {
    samples: NOTIFICATIONS,
    reloads,
    p50Ms: pct(toCatalog, 50),
    p99Ms: pct(toCatalog, 99),
    listToolsP50Ms: pct(floor, 50),
    listToolsP99Ms: pct(floor, 99),
    ratioP50: pct(toCatalog, 50) / pct(floor, 50),
  },
  routing: {
    requestsPerSide: ROUNDS * PER_ROUND,
    directMsPerRequest: median(direct),
    routedMsPerRequest: median(routed),
    addedMicrosPerRequest: (median(routed) - median(direct)) * 1000,
    ratio: median(routed) / median(direct),
  },
};
const n = out.notificationToCatalog;
console.log(`tools/list_changed → committed catalog: p50 ${n.p50Ms.toFixed(2)} ms, p99 ${n.p99Ms.toFixed(2)} ms (${n.reloads} reloads for ${n.samples} notifications)`);
console.log(`SDK listTools() round trip (floor):     p50 ${n.listToolsP50Ms.toFixed(2)} ms, p99 ${n.listToolsP99Ms.toFixed(2)} ms; ratio p50 ${n.ratioP50.toFixed(2)}`);
console.log(`routing: direct ${(out.routing.directMsPerRequest * 1000).toFixed(0)} µs/request, through the router ${(out.routing.routedMsPerRequest * 1000).toFixed(0)} µs/request; added ${out.routing.addedMicrosPerRequest.toFixed(1)} µs, ratio ${out.routing.ratio.toFixed(3)}`);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/mcp.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
