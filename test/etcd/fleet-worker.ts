/**
 * One fleet instance for test/etcd/fleet.test.ts (a real child process): a registry with one
 * unit fed by an etcd key, reported by etcdFleetReporter. Prints `ready` once reporting; answers
 * `get` on stdin with the value it serves; closes everything on SIGTERM.
 *
 * argv: <etcd url> <config key> <fleet prefix> <instance id>
 */
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { etcdFleetReporter, etcdSource } from '../../src/etcd/index.js';
import { createRegistry, reloadable } from '../../src/index.js';
import { testEtcdClient } from './support.js';

const [url, key, prefix, instanceId] = process.argv.slice(2) as [string, string, string, string];
const Config = z.object({ port: z.number().int().min(1).max(65535) });

const client = testEtcdClient(url);
const registry = createRegistry();
const config = registry.add(reloadable({ name: 'config', source: etcdSource(client, { key }), schema: Config, retry: false }));
await registry.start();
const reporter = etcdFleetReporter(registry, client, { prefix, instanceId, ttl: 5 });
await reporter.start();
process.stdout.write('ready\n');

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void (async () => {
    await reporter.close();
    await registry.close();
    client.close();
    process.exit(0);
  })();
};

createInterface({ input: process.stdin })
  .on('line', (line) => {
    if (line.trim() === 'get') process.stdout.write(`value ${JSON.stringify(config.get())}\n`);
  })
  // stdin closes when the test process is gone, however it died: never outlive it.
  .on('close', stop);

process.once('SIGTERM', stop);
