/**
 * One instance of the "shop" service: its config comes from etcd (`etcdSource`), is validated
 * before it goes live, and the instance reports its state to the fleet table
 * (`etcdFleetReporter`): generation, hash, last outcome and error code, never values.
 *
 *   node --import tsx examples/etcd-fleet/worker.ts <etcd url> <instance id>
 *
 * Stops cleanly on SIGTERM/SIGINT (its fleet records vanish with its lease).
 */
import { Etcd3 } from 'etcd3';
import { createRegistry, reloadable } from '../../src/index.js';
import { etcdFleetReporter, etcdSource } from '../../src/etcd/index.js';
import { CONFIG_KEY, ConfigSchema, FLEET_PREFIX } from './config.js';

const [url = 'http://127.0.0.1:2379', instanceId = `shop-${process.pid}`] = process.argv.slice(2);
const client = new Etcd3({ hosts: url });

const registry = createRegistry();
const config = registry.add(
  reloadable({
    name: 'config',
    source: etcdSource(client, { key: CONFIG_KEY }),
    schema: ConfigSchema,
  }),
);
config.on('committed', ({ current }) => console.log(`[${instanceId}] serving generation ${current.id} (${current.hash.slice(0, 19)}…)`));
config.on('rejected', ({ stage, error }) => console.log(`[${instanceId}] rejected at ${stage}: ${error.message}; still serving generation ${config.current?.id}`));

await registry.start();
const reporter = etcdFleetReporter(registry, client, { prefix: FLEET_PREFIX, instanceId, ttl: 10 });
await reporter.start();
console.log(`[${instanceId}] ready`);

const stop = async () => {
  await reporter.close();
  await registry.close();
  client.close();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
