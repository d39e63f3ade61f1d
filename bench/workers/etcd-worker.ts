/**
 * One instance for bench/etcd.ts (a real child process): a registry with one unit fed by an etcd
 * key, reported by etcdFleetReporter. Prints `ready`, then `c <seq> <epoch ms>` at each commit
 * (the time taken inside this process, with sub-millisecond precision, right in the `committed`
 * listener). Closes everything on SIGTERM.
 *
 * argv: <etcd url> <config key> <fleet prefix> <instance id> [no-reporter]
 * (`no-reporter`: the unit alone, to tell the source's cost per event from the reporter's put).
 */
import { Etcd3 } from 'etcd3';
import { z } from 'zod';
import { createRegistry, reloadable } from '../../src/index.js';
import { etcdFleetReporter, etcdSource } from '../../src/etcd/index.js';

const [url, key, prefix, instanceId, mode] = process.argv.slice(2) as [string, string, string, string, string | undefined];
const Config = z.object({ seq: z.number().int(), payload: z.string() });

const client = new Etcd3({ hosts: url });
const registry = createRegistry();
const config = registry.add(reloadable({ name: 'config', source: etcdSource(client, { key }), schema: Config }));
config.on('committed', ({ current }) => {
  process.stdout.write(`c ${current.value.seq} ${performance.timeOrigin + performance.now()}\n`);
});
await registry.start();
const reporter = etcdFleetReporter(registry, client, { prefix, instanceId, ttl: 10 });
if (mode !== 'no-reporter') await reporter.start();
process.stdout.write('ready\n');

// `cpu <µs>`: this process's CPU time so far (user + system), so the bench can report CPU per event.
process.on('SIGUSR2', () => {
  const { user, system } = process.cpuUsage();
  process.stdout.write(`cpu ${user + system}\n`);
});

process.once('SIGTERM', () => {
  void (async () => {
    await reporter.close();
    await registry.close();
    client.close();
    process.exit(0);
  })();
});
