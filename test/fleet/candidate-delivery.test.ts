/**
 * A rollout's candidate reaches every process on the fleet watch it already holds, in the
 * transaction that creates the rollout: no member reads the candidate's key. A member that joins
 * while a rollout is under way reads it once, by its key (listings of `ctl/` skip candidates).
 * Real etcd, real units and watches; a proxy over each etcd3 client records the keys it reads and
 * the ranges it lists.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Range, type Etcd3, type Rangable } from 'etcd3';
import { etcdSource } from '../../src/etcd/index.js';
import { fleetKeys, fleetMember, rollout, type FleetMemberHandle } from '../../src/fleet/index.js';
import { reloadable, type Reloadable } from '../../src/index.js';
import { testEtcdClient } from '../etcd/support.js';
import { haveBinary } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';
import { useFleetEnv } from './support.js';

const available = haveBinary('etcd');

/** One "process": its own etcd3 client (seen through a proxy that records reads) and its members. */
interface Proc {
  client: Etcd3;
  /** Keys read one by one (`get`). */
  reads: string[];
  /** Ranges listed (`getAll().prefix()` / `.inRange()`). */
  listed: Range[];
  units: Array<Reloadable<{ tag: string }>>;
  members: FleetMemberHandle[];
}

async function startProc(url: string, fleet: string, name: string, count: number): Promise<Proc> {
  const real = testEtcdClient(url);
  const reads: string[] = [];
  const listed: Range[] = [];
  const client = new Proxy(real, {
    get(target, key) {
      if (key === 'get') return (k: string) => (reads.push(k), target.get(k));
      if (key === 'getAll') {
        return () => {
          const builder = target.getAll();
          const prefix = builder.prefix.bind(builder);
          const inRange = builder.inRange.bind(builder);
          builder.prefix = (p: string | Buffer) => (listed.push(Range.prefix(p)), prefix(p));
          builder.inRange = (r: Rangable) => (listed.push(Range.from(r)), inRange(r));
          return builder;
        };
      }
      return Reflect.get(target, key) as unknown;
    },
  });
  const units = Array.from({ length: count }, () =>
    reloadable<{ tag: string }>({ name: 'config', source: etcdSource(client, { key: fleetKeys(fleet).canonical('config') }), retry: false }),
  );
  await Promise.all(units.map((u) => u.start()));
  const members = units.map((u, i) => fleetMember(u, { client, fleet, instance: `${name}-${i}` }));
  await Promise.all(members.map((m) => m.ready));
  return { client: real, reads, listed, units, members };
}

async function stopProc(proc: Proc): Promise<void> {
  for (const m of proc.members) await m.close();
  for (const u of proc.units) await u.close();
  proc.client.close();
}

const candidateReads = (proc: Proc, fleet: string) => proc.reads.filter((k) => k.startsWith(fleetKeys(fleet).candidates));
/** Listings that took in a candidate: a member lists `ctl/` when it subscribes and on each reconnection, never its candidates. */
const candidateListings = (proc: Proc, key: string) => proc.listed.filter((r) => r.includes(key));

describe('fleet: candidate delivery', { skip: available ? false : 'etcd not installed' }, () => {
  const env = useFleetEnv();

  it('members in two processes prepare and commit the candidate without reading its key', async () => {
    const fleet = 'deliver';
    await env.client.put(fleetKeys(fleet).canonical('config')).value(JSON.stringify({ tag: 'v1' }));
    const procs = [await startProc(env.etcd.url, fleet, 'p1', 2), await startProc(env.etcd.url, fleet, 'p2', 2)];
    try {
      const handle = await rollout({ client: env.client, fleet, unit: 'config', candidate: { tag: 'v2' }, actor: 'test', reason: 'v2', strategy: { steps: [{ percent: 100 }] } });
      assert.equal((await handle.done).state, 'done');
      for (const proc of procs) {
        for (const unit of proc.units) assert.equal(unit.get().tag, 'v2');
        assert.deepEqual(candidateReads(proc, fleet), [], 'the candidate came on the watch, not by a read');
        for (const m of proc.members) assert.equal(m.stats().prepared, 1);
      }
    } finally {
      for (const proc of procs) await stopProc(proc);
    }
  });

  it('a member that joins mid-rollout reads the candidate once, by its key, and commits it', async () => {
    const fleet = 'late';
    await env.client.put(fleetKeys(fleet).canonical('config')).value(JSON.stringify({ tag: 'v1' }));
    const early = await startProc(env.etcd.url, fleet, 'early', 1);
    let late: Proc | undefined;
    try {
      const handle = await rollout({
        client: env.client, fleet, unit: 'config', candidate: { tag: 'v2' }, actor: 'test', reason: 'v2',
        strategy: { steps: [{ instances: 1, bakeMs: 1500 }, { percent: 100 }] },
      });
      await waitFor(() => early.units[0]!.get().tag === 'v2', { message: 'the first step committed' });
      // Joins during the bake: the next step reaches it, and its first listing held no candidate.
      late = await startProc(env.etcd.url, fleet, 'late', 1);
      assert.equal((await handle.done).state, 'done');
      await waitFor(() => late!.units[0]!.get().tag === 'v2', { message: 'the late member serves v2' });
      assert.deepEqual(candidateReads(late, fleet), [fleetKeys(fleet).candidate(handle.id)]);
      assert.deepEqual(candidateReads(early, fleet), []);
      assert.ok(late.listed.length > 0, 'the late member listed ctl/ when it subscribed');
      assert.deepEqual(candidateListings(late, fleetKeys(fleet).candidate(handle.id)), [], 'its listing skipped the candidates');
    } finally {
      if (late) await stopProc(late);
      await stopProc(early);
    }
  });
});
