/**
 * One process of bench/fleet.ts (a real child process) hosting `members` fleet members: each is a
 * unit fed by the fleet's canonical etcd key (`etcdSource`, one shared watch per process) made a
 * `fleetMember` with its own instance id. Prints on stdout, one line each:
 *
 * - `ready`                          every member registered and following
 * - `c <instance> <seq> <epoch ms>`  a member's unit committed config `seq` (taken in the listener)
 * - `w <fleet watches> <source watches>`  etcd watches this process holds (at ready, and on SIGUSR2)
 *
 * argv: <etcd url> <fleet> <process index> <members>
 */
import { Etcd3 } from 'etcd3';
import { z } from 'zod';
import { etcdSource, etcdWatchStats } from '../../src/etcd/index.js';
import { ctlWatchCount, fleetKeys, fleetMember } from '../../src/fleet/index.js';
import { reloadable } from '../../src/index.js';

const [url, fleet, index, count] = process.argv.slice(2) as [string, string, string, string];
const Config = z.object({ seq: z.number().int(), payload: z.string() });
const client = new Etcd3({ hosts: url });
const key = fleetKeys(fleet).canonical('config');
const log = (line: string) => process.stdout.write(`${line}\n`);

const members = await Promise.all(
  Array.from({ length: Number(count) }, async (_, m) => {
    const instance = `p${index}m${m}`;
    const unit = reloadable({ name: 'config', source: etcdSource(client, { key }), schema: Config, retry: false });
    unit.on('committed', ({ current }) => log(`c ${instance} ${current.value.seq} ${performance.timeOrigin + performance.now()}`));
    await unit.start();
    const member = fleetMember(unit, { client, fleet, instance, leaseTtlS: 10 });
    await member.ready;
    return { unit, member };
  }),
);
const watches = () => log(`w ${ctlWatchCount(client, fleet)} ${etcdWatchStats(client).watchers}`);
watches();
log('ready');
process.on('SIGUSR2', watches);

process.once('SIGTERM', () => {
  void (async () => {
    for (const { unit, member } of members) {
      await member.close();
      await unit.close();
    }
    client.close();
    process.exit(0);
  })();
});
