/**
 * One fleet instance for the test/fleet suite (a real child process): a unit fed by the fleet's
 * canonical etcd key, made a fleet member. Its resource opens a real TCP connection to the
 * config's `db` port in `healthCheck` (a zone that cannot reach that port rejects the candidate),
 * and it serves simulated traffic whose error rate is the config's `failRate`, reported with
 * `reportHealth`. Prints its own log on stdout, one line each:
 *
 * - `ready`                    registered and following
 * - `holding <tag>`            its healthCheck waits for the test's HOLD_KEY (env HOLD_KEY, HOLD_TAG)
 * - `create <tag>` / `dispose <tag>`   a resource for config `tag` was created / disposed
 * - `serve <hash> <tag>`       a generation went live (committed or rolled back to)
 * - `stats <json>` / `status <json>`   answers to `stats` / `status` on stdin
 *
 * argv: <etcd url> <fleet> <instance> <labels json> [blocked db port]
 */
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { etcdSource } from '../../src/etcd/index.js';
import { ctlWatchCount, fleetKeys, fleetMember } from '../../src/fleet/index.js';
import { reloadable } from '../../src/index.js';
import { testEtcdClient } from '../etcd/support.js';

const [url, fleet, instance, labelsJson, blocked] = process.argv.slice(2) as [string, string, string, string, string | undefined];
const labels = JSON.parse(labelsJson) as Record<string, string>;
const Config = z.object({ tag: z.string(), db: z.number().int(), failRate: z.number().min(0).max(1).default(0) });
type Config = z.infer<typeof Config>;
const log = (line: string) => process.stdout.write(`${line}\n`);

/** A real TCP dial: a zone whose firewall blocks `blocked` dials a port nobody listens on. */
function reach(port: number): Promise<void> {
  const target = blocked !== undefined && Number(blocked) === port ? 1 : port;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: target }, () => {
      socket.end();
      resolve();
    });
    socket.once('error', reject);
  });
}

const client = testEtcdClient(url);
const unit = reloadable({
  name: 'config',
  source: etcdSource(client, { key: fleetKeys(fleet).canonical('config') }),
  schema: Config,
  retry: false,
  create: (config: Config) => {
    log(`create ${config.tag}`);
    return { config };
  },
  healthCheck: async (resource: { config: Config }) => {
    // A test holds this config's prepare here until it writes HOLD_KEY (to crash something mid-prepare).
    if (process.env.HOLD_KEY && resource.config.tag === process.env.HOLD_TAG) {
      log(`holding ${resource.config.tag}`);
      while ((await client.get(process.env.HOLD_KEY).string()) === null) await new Promise((r) => setTimeout(r, 50));
    }
    await reach(resource.config.db);
  },
  dispose: (resource: { config: Config }) => log(`dispose ${resource.config.tag}`),
});
const serve = ({ current }: { current: { hash: string; value: Config } }) => log(`serve ${current.hash} ${current.value.tag}`);
unit.on('committed', serve);
// A rollback commits too: its `committed` event logs it.
await unit.start(); // its first commit is logged by the `committed` listener
const member = fleetMember(unit, { client, fleet, instance, labels, leaseTtlS: Number(process.env.LEASE_TTL_S ?? 3), prepareHoldMs: Number(process.env.PREPARE_HOLD_MS ?? 60_000) });
await member.ready;
log('ready');

// Simulated traffic: 10 requests every 20 ms, failing at the live config's rate.
const traffic = setInterval(() => {
  const rate = unit.current?.value.failRate ?? 0;
  member.reportHealth({ requests: 10, errors: Math.round(10 * rate) });
}, 20);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  clearInterval(traffic);
  void (async () => {
    await member.close();
    await unit.close();
    client.close();
    process.exit(0);
  })();
};
createInterface({ input: process.stdin })
  .on('line', (line) => {
    if (line === 'stats') log(`stats ${JSON.stringify({ ...member.stats(), watches: ctlWatchCount(client, fleet) })}`);
    if (line === 'status') log(`status ${JSON.stringify(unit.status())}`);
  })
  .on('close', stop); // the test process is gone: never outlive it
process.once('SIGTERM', stop);
