/**
 * The etcd fleet demo: three instances of the shop service (real processes), then an operator
 * pushes a good config and a bad one, printing the fleet table after each. The good one shows
 * every instance on the new hash; the bad one shows every instance's rejection (stage, code)
 * while all of them keep serving the good one.
 *
 *   node --import tsx examples/etcd-fleet/run.ts                  # starts a throwaway local etcd
 *   ETCD_URL=http://127.0.0.1:2379 node --import tsx examples/etcd-fleet/run.ts
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd3 } from 'etcd3';
import { formatFleetTable, readFleet, summarizeFleet, type FleetTable } from '../../src/etcd/index.js';
import { hashValue } from '../../src/support/hash.js';
import { CONFIG_KEY, FLEET_PREFIX, ConfigSchema, type Config } from './config.js';
import { startLocalEtcd } from './local-etcd.js';

const INSTANCES = ['shop-1', 'shop-2', 'shop-3'];
const worker = fileURLToPath(new URL('./worker.ts', import.meta.url));

const local = process.env.ETCD_URL ? undefined : await startLocalEtcd();
const url = process.env.ETCD_URL ?? local!.url;
const client = new Etcd3({ hosts: url });

/** Polls the fleet table until `done(table)` or 15 s. */
async function waitForFleet(done: (table: FleetTable) => boolean): Promise<FleetTable> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const table = await readFleet(client, FLEET_PREFIX);
    if (done(table) || Date.now() > deadline) return table;
    await sleep(50);
  }
}

const push = async (config: unknown) => {
  await client.put(CONFIG_KEY).value(JSON.stringify(config));
};

const workers: ChildProcess[] = [];
try {
  const first: Config = { upstream: 'http://127.0.0.1:9000', rateLimit: 100, features: { newCheckout: false } };
  await push(first);

  for (const id of INSTANCES) {
    const child = spawn(process.execPath, ['--import', 'tsx', worker, url, id], { stdio: ['ignore', 'pipe', 'inherit'] });
    createInterface({ input: child.stdout! }).on('line', (line) => console.log(`  ${line}`));
    workers.push(child);
  }
  await waitForFleet((t) => t.instances.length === INSTANCES.length && t.rows.length === INSTANCES.length);

  const good: Config = { upstream: 'http://127.0.0.1:9001', rateLimit: 250, features: { newCheckout: true } };
  const goodHash = hashValue(ConfigSchema.parse(good));
  console.log(`\n== push a good config (expected hash ${goodHash.slice(7, 19)})`);
  await push(good);
  const afterGood = await waitForFleet((t) => summarizeFleet(t, 'config').byHash[goodHash]?.length === INSTANCES.length);
  console.log(formatFleetTable(afterGood));
  const g = summarizeFleet(afterGood, 'config');
  console.log(g.converged && g.byHash[goodHash] ? `converged: ${INSTANCES.length}/${INSTANCES.length} instances on the new config` : 'NOT converged');

  console.log('\n== push a bad config (rateLimit: -5, upstream: "not a url")');
  await push({ ...good, rateLimit: -5, upstream: 'not a url' });
  const afterBad = await waitForFleet((t) => summarizeFleet(t, 'config').rejected.length === INSTANCES.length);
  console.log(formatFleetTable(afterBad));
  const b = summarizeFleet(afterBad, 'config');
  const stillGood = b.byHash[goodHash]?.length ?? 0;
  console.log(`rejected by ${b.rejected.length}/${INSTANCES.length} instances (${[...new Set(b.rejected.map((r) => `${r.stage} ${r.errorCode}`))].join(', ')}); ${stillGood}/${INSTANCES.length} still serving the good config`);
} finally {
  for (const child of workers) child.kill('SIGTERM');
  await Promise.all(workers.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)))));
  client.close();
  await local?.stop();
}
