/**
 * Crash safety of fleet rollouts with a real etcd and real processes, every crash a SIGKILL: the
 * controller killed between prepare and commit and again during bake (resumeRollout finishes
 * each; every prepared resource is committed or disposed, counted from each member's own log); a
 * member killed mid-prepare; etcd itself killed and restarted mid-rollout. Each rollout ends
 * consistent with its record: every member serves the hash the record says.
 *
 * Four member processes per test (a 2-core machine running the suite in parallel).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Etcd3 } from 'etcd3';
import { fleetKeys, readRollout, resumeRollout, rollout, wantsCandidate, type RolloutRecord } from '../../src/fleet/index.js';
import { haveBinary, startEtcd, type RunningServer } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';
import { testEtcdClient } from '../etcd/support.js';
import { allReady, counts, killAll, served, spawnMember, spawnProc, type Proc } from './support.js';

const available = haveBinary('etcd');
const CONTROLLER = fileURLToPath(new URL('./controller-worker.ts', import.meta.url));

describe('fleet rollouts survive crashes', { skip: available ? false : 'etcd not installed' }, () => {
  let etcd: RunningServer;
  let client: Etcd3;
  let db: Server;
  let dbPort: number;
  const procs: Proc[] = [];

  before(async () => {
    etcd = await startEtcd();
    client = testEtcdClient(etcd.url);
    db = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => db.listen(0, '127.0.0.1', resolve));
    dbPort = (db.address() as { port: number }).port;
  });
  after(async () => {
    await killAll(procs);
    client?.close();
    await etcd?.stop();
    db?.close();
  });

  async function fleetOf(fleet: string, n: number, env: Record<string, string> = {}): Promise<Proc[]> {
    await client.put(fleetKeys(fleet).canonical('config')).value(JSON.stringify({ tag: 'v1', db: dbPort }));
    const started = Array.from({ length: n }, (_, i) => spawnMember(etcd.url, fleet, `${fleet}-m${i}`, {}, undefined, env));
    procs.push(...started);
    await allReady(started);
    return started;
  }

  const record = (id: string) => readRollout({ client, id });
  const verdicts = async (fleet: string, id: string) => Object.values(await client.getAll().prefix(fleetKeys(fleet).verdicts(id)).strings()).map((t) => JSON.parse(t) as { instance: string; verdict: string });

  /** Every member serves the hash the record says, and its own log balances creates and disposes. */
  async function consistent(final: RolloutRecord, members: Proc[], tag: string, previous: string) {
    for (const m of members) {
      const want = wantsCandidate(final, m.id) || final.state === 'done' ? tag : previous;
      await waitFor(() => served(m).at(-1) === want, { message: `${m.id} serves ${want}` });
      const { created, disposed } = counts(m, tag);
      await waitFor(() => counts(m, tag).created - counts(m, tag).disposed === (want === tag ? 1 : 0), { message: `${m.id}: every ${tag} resource committed or disposed` });
      assert.ok(created >= 1 || want !== tag, `${m.id} created ${tag}`);
      assert.ok(disposed <= created);
    }
  }

  it('the controller SIGKILLed between prepare and commit, and again during bake: resumeRollout finishes both', async () => {
    const fleet = 'ctl';
    const holdKey = '/test/ctl/hold';
    const members = await fleetOf(fleet, 4, { HOLD_KEY: holdKey, HOLD_TAG: 'v2' });

    // 1. Killed between prepare and commit: the members hold their prepare until the controller is dead.
    const first = spawnProc(CONTROLLER, [etcd.url, fleet, JSON.stringify({ tag: 'v2', db: dbPort }), JSON.stringify([{ percent: 100 }])], 'controller-1');
    procs.push(first);
    const idLine = await waitFor(() => first.lines.find((l) => l.startsWith('id ')), { message: 'the controller started a rollout', timeoutMs: 60_000 });
    const id = idLine.slice(3);
    await waitFor(() => members.every((m) => m.lines.includes('holding v2')), { message: 'every member is preparing' });
    first.child.kill('SIGKILL');
    await first.exited;
    await client.put(holdKey).value('go');
    await waitFor(async () => (await verdicts(fleet, id)).filter((v) => v.verdict === 'prepared').length === 4, { message: 'every member prepared' });
    const beforeResume = await record(id);
    assert.equal(beforeResume.phase, 'prepare', 'nobody decided the commit while the controller was dead');
    assert.ok(Object.values(beforeResume.instances).every((e) => !e.commit));
    const resumed = await resumeRollout({ client, id, lockWaitMs: 30_000 });
    const final = await resumed.done;
    assert.equal(final.state, 'done');
    await consistent(final, members, 'v2', 'v1');
    for (const m of members) assert.deepEqual(counts(m, 'v2'), { created: 1, disposed: 0 }, `${m.id} committed the prepared v2 itself`);

    // 2. Killed during bake.
    const second = spawnProc(CONTROLLER, [etcd.url, fleet, JSON.stringify({ tag: 'v3', db: dbPort }), JSON.stringify([{ instances: 1, bakeMs: 2000 }, { percent: 100 }])], 'controller-2');
    procs.push(second);
    const id2 = (await waitFor(() => second.lines.find((l) => l.startsWith('id ')), { message: 'the second rollout started', timeoutMs: 60_000 })).slice(3);
    await waitFor(() => second.lines.includes('progress bake 0'), { message: 'the first step bakes' });
    second.child.kill('SIGKILL');
    await second.exited;
    const baking = await record(id2);
    assert.equal(baking.phase, 'bake');
    assert.equal(baking.state, 'running');
    const final2 = await (await resumeRollout({ client, id: id2, lockWaitMs: 30_000 })).done;
    assert.equal(final2.state, 'done');
    await consistent(final2, members, 'v3', 'v2');
    for (const m of members) assert.deepEqual(served(m), ['v1', 'v2', 'v3']);
  });

  it('a member SIGKILLed mid-prepare: the step goes on without it once its lease expires, and it rejoins on the record\'s hash', async () => {
    const fleet = 'member';
    const holdKey = '/test/member/hold';
    const members = await fleetOf(fleet, 4, { HOLD_KEY: holdKey, HOLD_TAG: 'v2' });
    const handle = await rollout({ client, fleet, unit: 'config', candidate: { tag: 'v2', db: dbPort }, actor: 'test', reason: 'member crash', strategy: { steps: [{ percent: 100 }] } });
    await waitFor(() => members.every((m) => m.lines.includes('holding v2')), { message: 'every member is preparing' });
    const victim = members[1]!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    await client.put(holdKey).value('go');
    const final = await handle.done;
    assert.equal(final.state, 'done');
    assert.equal(final.instances[victim.id]!.commit, undefined, 'the dead member was not told to commit');
    const alive = members.filter((m) => m !== victim);
    await consistent(final, alive, 'v2', 'v1');
    // Restarted, it reads the canonical key the done transaction wrote: the record's hash.
    const again = spawnMember(etcd.url, fleet, victim.id, {});
    procs.push(again);
    await allReady([again]);
    assert.deepEqual(served(again), ['v2']);
  });

  it('etcd SIGKILLed and restarted mid-rollout: the rollout ends done and every member serves its hash', async () => {
    const fleet = 'etcd';
    const members = await fleetOf(fleet, 4);
    const progress: string[] = [];
    const handle = await rollout({ client, fleet, unit: 'config', candidate: { tag: 'v2', db: dbPort }, actor: 'test', reason: 'etcd crash', strategy: { steps: [{ instances: 1, bakeMs: 1000 }, { percent: 100 }] } });
    handle.on('progress', (p) => progress.push(`${p.decision.action} ${p.decision.step}`));
    await waitFor(() => progress.includes('bake 0'), { message: 'the first step bakes' });
    await etcd.kill();
    await etcd.restart();
    const final = await handle.done;
    assert.equal(final.state, 'done');
    assert.deepEqual(await record(final.id).then((r) => r.state), 'done');
    await consistent(final, members, 'v2', 'v1');
    for (const m of members) assert.deepEqual(served(m), ['v1', 'v2'], `${m.id}: no split state, no flapping`);
  });
});
