import { spawn } from 'node:child_process';
import { Etcd3 } from 'etcd3';
import { startEtcd } from '../test/helpers/servers.js';
import { setTimeout as sleep } from 'node:timers/promises';
async function main() {
  const etcd = await startEtcd();
  const client = new Etcd3({ hosts: etcd.url });
  const mode = process.argv[2] ?? '';
  await client.put('/bench/config').value(JSON.stringify({ seq: 0, payload: 'x'.repeat(1024) }));
  const child = spawn(process.execPath, ['--cpu-prof', '--cpu-prof-dir', '.prof/out', '--import', 'tsx', 'bench/workers/etcd-worker.ts', etcd.url, '/bench/config', '/fleet/', 'w1', ...(mode ? [mode] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  let commits = 0;
  await new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => { const t = d.toString(); if (t.includes('ready')) resolve(); commits += (t.match(/^c /gm) ?? []).length; }));
  for (let i = 1; i <= 500; i++) { await client.put('/bench/config').value(JSON.stringify({ seq: i, payload: 'x'.repeat(1024) })); await sleep(15); }
  await sleep(300);
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  console.log('commits', commits);
  client.close(); await etcd.stop();
}
main();
