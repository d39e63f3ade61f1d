/**
 * HTTP admin benchmark: `GET /units` with 100 registered units (authenticated, the full handler
 * path: bearer digest + constant-time compare, routing, 100 `status()` calls, JSON) against a bare
 * `node:http` handler that returns a static JSON body of the same size — both served and loaded
 * (autocannon, programmatic) in this same process, one after the other.
 *
 *   node --import tsx bench/http.ts            # quick (default): 5 s per side
 *   node --import tsx bench/http.ts --quick    # same
 *   node --import tsx bench/http.ts --full     # 15 s per side
 *
 * Prints requests/s and p99 latency of each and the ratio admin / baseline; writes
 * bench/results/http.json. Informational: nothing is enforced (a shared machine is noisy).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { createRegistry } from '../src/compose/registry.js';
import { reloadable } from '../src/core/unit.js';
import { startAdminServer } from '../src/http/index.js';

const full = process.argv.includes('--full');
const DURATION_S = full ? 15 : 5;
const WARMUP_S = full ? 3 : 1;
const CONNECTIONS = 10;
const UNITS = 100;
const TOKEN = 'bench-token-0123456789abcdef';

interface Measure {
  requestsPerSec: number;
  p99Ms: number;
  p50Ms: number;
  non2xx: number;
  errors: number;
}

async function load(url: string, headers: Record<string, string>, duration: number): Promise<Measure> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration, headers });
  return {
    requestsPerSec: result.requests.average,
    p99Ms: result.latency.p99,
    p50Ms: result.latency.p50,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

async function measure(url: string, headers: Record<string, string>): Promise<Measure> {
  await load(url, headers, WARMUP_S);
  return load(url, headers, DURATION_S);
}

const registry = createRegistry();
for (let i = 0; i < UNITS; i++) {
  registry.add(reloadable({ name: `unit-${String(i).padStart(3, '0')}`, retry: false, load: async () => ({ db: { host: 'db.internal', port: 5432 + i }, features: { beta: i % 2 === 0 } }) }));
}
await registry.start();
const admin = await startAdminServer({ registry, auth: { tokens: [{ token: TOKEN, scopes: ['read'], actor: 'bench' }] }, port: 0 });
const auth = { authorization: `Bearer ${TOKEN}` };

// The baseline serves the admin endpoint's own answer, frozen: same bytes, no work.
const sample = await fetch(`${admin.url}/units`, { headers: auth });
if (sample.status !== 200) throw new Error(`GET /units answered ${sample.status}`);
const body = Buffer.from(await sample.text());
const bare: Server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
  res.end(body);
});
await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/units`;

console.log(`GET /units, ${UNITS} units, ${body.length} bytes, ${CONNECTIONS} connections, ${DURATION_S} s per side${full ? ' (full)' : ' (quick)'}`);
const baseline = await measure(bareUrl, {});
const handler = await measure(`${admin.url}/units`, auth);
const ratio = handler.requestsPerSec / baseline.requestsPerSec;

const row = (name: string, m: Measure) =>
  `${name.padEnd(22)} ${m.requestsPerSec.toFixed(0).padStart(8)} req/s   p50 ${String(m.p50Ms).padStart(4)} ms   p99 ${String(m.p99Ms).padStart(4)} ms   non-2xx ${m.non2xx}   errors ${m.errors}`;
console.log(row('bare node:http', baseline));
console.log(row('reloadkit admin', handler));
console.log(`ratio admin / bare: ${ratio.toFixed(2)} of the requests/s`);

await admin.close();
await new Promise<void>((resolve) => {
  bare.close(() => resolve());
  bare.closeAllConnections();
});
await registry.close();

const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'http.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify(
    {
      benchmark: 'http',
      mode: full ? 'full' : 'quick',
      node: process.version,
      route: 'GET /units',
      units: UNITS,
      bodyBytes: body.length,
      connections: CONNECTIONS,
      durationSeconds: DURATION_S,
      baseline: { name: 'bare node:http, static body of the same bytes', ...baseline },
      admin: { name: 'reloadkit/http createAdminHandler', ...handler },
      ratio: { requestsPerSec: Number(ratio.toFixed(3)) },
      at: new Date().toISOString(),
    },
    null,
    2,
  )}\n`,
);
console.log(`wrote ${out}`);
