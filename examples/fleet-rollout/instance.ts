/**
 * One instance of the fleet-rollout example: a unit fed by the fleet's canonical etcd key, whose
 * `healthCheck` really dials the config's database port (an instance started with
 * `BLOCKED_PORT` cannot reach that port, like a zone behind a firewall), made a fleet member.
 *
 *   node --import tsx examples/fleet-rollout/instance.ts <etcd url> <instance id> <zone> [blocked port]
 */
import { connect } from 'node:net';
import { Etcd3 } from 'etcd3';
import { z } from 'zod';
import { etcdSource } from '../../src/etcd/index.js';
import { fleetKeys, fleetMember } from '../../src/fleet/index.js';
import { reloadable } from '../../src/index.js';

export const FLEET = 'shop';
const [url, instance, zone, blocked] = process.argv.slice(2) as [string, string, string, string | undefined];
const Config = z.object({ version: z.string(), dbPort: z.number().int(), poolSize: z.number().int().positive() });
type Config = z.infer<typeof Config>;

const dial = (port: number) =>
  new Promise<void>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: blocked !== undefined && Number(blocked) === port ? 1 : port }, () => {
      socket.end();
      resolve();
    });
    socket.once('error', reject);
  });

const client = new Etcd3({ hosts: url });
const config = reloadable({
  name: 'config',
  source: etcdSource(client, { key: fleetKeys(FLEET).canonical('config') }),
  schema: Config,
  create: (value: Config) => ({ config: value, pool: `pool of ${value.poolSize} to :${value.dbPort}` }),
  // The candidate is tried against this instance's own network before anything commits.
  healthCheck: (resource: { config: Config }) => dial(resource.config.dbPort),
});
config.on('committed', ({ current }) => console.log(`  [${instance}] serving ${(current.value as Config).version} (generation ${current.id})`));
await config.start();
const member = fleetMember(config, { client, fleet: FLEET, instance, labels: { zone } });
await member.ready;
console.log(`  [${instance}] ready in zone ${zone}`);
setInterval(() => member.reportHealth({ requests: 10, errors: 0 }), 200).unref();
process.once('SIGTERM', () => void member.close().then(() => config.close()).then(() => process.exit(0)));
process.stdin.resume().on('close', () => process.exit(0));
