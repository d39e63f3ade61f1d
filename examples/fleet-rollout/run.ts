/**
 * The fleet-rollout example: four instances in two zones, a two-phase rollout by cohort with a
 * bake, then a candidate zone b cannot use (its database is unreachable from there), rejected at
 * prepare before any instance served it. Starts a throwaway etcd unless `ETCD_URL` is set.
 *
 *   node --import tsx examples/fleet-rollout/run.ts
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { fleetKeys, formatFleetStatus, readFleetStatus, rollout } from '../../src/fleet/index.js';
import { startLocalEtcd } from '../etcd-fleet/local-etcd.js';

const FLEET = 'shop';
const listen = async () => {
  const server = createServer((s) => s.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
};

const local = process.env.ETCD_URL ? undefined : await startLocalEtcd();
const url = process.env.ETCD_URL ?? local!.url;
const client = new Etcd3({ hosts: url });
const db1 = await listen();
const db2 = await listen(); // zone b's firewall blocks this one
await client.put(fleetKeys(FLEET).canonical('config')).value(JSON.stringify({ version: 'v1', dbPort: db1.port, poolSize: 5 }));

const script = fileURLToPath(new URL('./instance.ts', import.meta.url));
const instances: ChildProcess[] = ['a', 'a', 'b', 'b'].map((zone, i) =>
  spawn(process.execPath, ['--import', 'tsx', script, url, `shop-${i + 1}`, zone, ...(zone === 'b' ? [String(db2.port)] : [])], { stdio: ['pipe', 'inherit', 'inherit'] }),
);
for (;;) {
  if ((await readFleetStatus({ client, fleet: FLEET })).rows.length === instances.length) break;
  await new Promise((r) => setTimeout(r, 200));
}

console.log('\n== roll out v2 (pool 20): 1 instance, bake 2s, then 50%, bake 2s, then 100%');
const good = await rollout({
  client, fleet: FLEET, unit: 'config', candidate: { version: 'v2', dbPort: db1.port, poolSize: 20 }, actor: 'example', reason: 'pool 20',
  strategy: { steps: [{ instances: 1, bakeMs: 2000 }, { percent: 50, bakeMs: 2000 }, { percent: 100 }], errorRateThreshold: 0.05 },
});
good.on('progress', (p) => console.log(`  rollout: ${p.decision.action} (step ${p.decision.step + 1})${p.decision.instances ? ` ${p.decision.instances.join(', ')}` : ''}`));
console.log(`  → ${(await good.done).state}`);
console.log(formatFleetStatus(await readFleetStatus({ client, fleet: FLEET })));

console.log('\n== roll out v3 (moves to a database zone b cannot reach)');
const bad = await rollout({
  client, fleet: FLEET, unit: 'config', candidate: { version: 'v3', dbPort: db2.port, poolSize: 20 }, actor: 'example', reason: 'move database',
  strategy: { steps: [{ percent: 100 }] },
});
const final = await bad.done;
console.log(`  → ${final.state}; rejected by: ${Object.entries(final.instances).filter(([, e]) => e.verdict === 'rejected').map(([id, e]) => `${id} (${e.stage}, ${e.code})`).join(', ')}`);
console.log(formatFleetStatus(await readFleetStatus({ client, fleet: FLEET })));

for (const child of instances) child.kill('SIGTERM');
await Promise.all(instances.map((c) => new Promise((r) => c.once('exit', r))));
client.close();
db1.server.close();
db2.server.close();
await local?.stop();
