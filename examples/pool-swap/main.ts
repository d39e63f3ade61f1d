/**
 * Pool-swap example: an HTTP service on a Redis connection pool whose credentials and size rotate
 * every 50–100 ms, while requests keep flowing.
 *
 *   node --import tsx examples/pool-swap/main.ts                 # demo: reloadkit vs naive swap
 *   node --import tsx examples/pool-swap/main.ts --serve          # serve until Ctrl-C (rotating)
 *   node --import tsx examples/pool-swap/main.ts --serve --mode naive --no-rotate
 *
 * `--serve` prints one JSON line `{"event":"listening","url":...}` when ready and, on SIGINT or
 * SIGTERM, `{"event":"closed","stats":{...}}` after draining (the benchmark reads both).
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { startPoolSwapApp, type PoolSwapStats } from './app.js';
import { driveRequests } from './drive.js';

const { values: args } = parseArgs({
  options: {
    serve: { type: 'boolean', default: false },
    mode: { type: 'string', default: 'reloadkit' },
    'no-rotate': { type: 'boolean', default: false },
    requests: { type: 'string', default: '4000' },
    port: { type: 'string', default: '0' },
  },
});

const mode = args.mode;
if (mode !== 'reloadkit' && mode !== 'naive') {
  console.error(`--mode must be 'reloadkit' or 'naive', got '${mode}'`);
  process.exit(2);
}

if (args.serve) await serve(mode);
else await demo();

async function serve(mode: 'reloadkit' | 'naive'): Promise<void> {
  const app = await startPoolSwapApp({ mode, rotate: !args['no-rotate'], port: Number(args.port) });
  console.log(JSON.stringify({ event: 'listening', url: app.url, mode, rotating: !args['no-rotate'] }));
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await app.stopRotation();
    // Stats before close: what the clients saw. Pool counts after close: every pool retired.
    const served = app.stats();
    await app.close();
    const stats: PoolSwapStats = { ...served, pools: { ...app.ledger } };
    console.log(JSON.stringify({ event: 'closed', stats }));
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

async function demo(): Promise<void> {
  const total = Number(args.requests);
  console.log(`${total} requests, 16 in flight, while the pool's user, password and size rotate every 50-100 ms`);
  for (const demoMode of ['reloadkit', 'naive'] as const) {
    const app = await startPoolSwapApp({ mode: demoMode });
    try {
      app.startRotation();
      const drive = await driveRequests(app.url, { concurrency: 16, maxRequests: total });
      await app.stopRotation();
      const served = app.stats();
      await app.close();
      const { pools } = app.stats();
      const label = demoMode === 'reloadkit' ? 'reloadkit (lease + drain)' : 'naive (close old pool at once)';
      console.log(`${label}:`);
      console.log(`  requests       ${drive.sent} sent, ${drive.ok} ok, ${drive.failed} failed`);
      console.log(`  rotations      ${served.rotations.committed} committed, ${served.rotations.rejected} rejected`);
      console.log(`  pools          ${pools.opened} opened (${pools.connections} connections), ${pools.closed} closed after drain (${pools.quits} QUITs answered), ${pools.destroyed} closed at once, ${pools.doubleCloses} closed twice`);
      if (served.failureSamples.length > 0) console.log(`  first failure  ${served.failureSamples[0]}`);
    } finally {
      await app.close();
    }
  }
}
