/**
 * Fleet rollouts with a real etcd and real member processes (test/fleet/member-worker.ts): a good
 * rollout through three steps with bake; a candidate that fails `healthCheck` in one zone,
 * rejected at prepare before anyone serves it; a candidate that raises the error rate, rolled back
 * after the first step and refused there; fleet commands reaching exactly the selected members.
 *
 * Six member processes per test rather than twenty: the suite runs files in parallel on a 2-core
 * machine, and six already cover a three-step cohort plan (1, 50%, 100%).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import type { Etcd3 } from 'etcd3';
import { cohortOrder, ctlWatchCount, fleetCommand, fleetKeys, readFleetStatus, formatFleetStatus, rollout, type FleetAuditRecord } from '../../src/fleet/index.js';
import { haveBinary, startEtcd, type RunningServer } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';
import { testEtcdClient } from '../etcd/support.js';
import { allReady, ask, counts, killAll, served, spawnMember, type Proc } from './support.js';

const available = haveBinary('etcd');

async function tcpServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

describe('fleet rollouts with real member processes', { skip: available ? false : 'etcd not installed' }, () => {
  let etcd: RunningServer;
  let client: Etcd3;
  let db1: { server: Server; port: number };
  let db2: { server: Server; port: number };
  const procs: Proc[] = [];

  before(async () => {
    etcd = await startEtcd();
    client = testEtcdClient(etcd.url);
    db1 = await tcpServer();
    db2 = await tcpServer();
  });
  after(async () => {
    await killAll(procs);
    client?.close();
    await etcd?.stop();
    db1?.server.close();
    db2?.server.close();
  });

  async function fleetOf(fleet: string, n: number, zoneB = new Set<number>(), env: Record<string, string> = {}): Promise<Proc[]> {
    await client.put(fleetKeys(fleet).canonical('config')).value(JSON.stringify({ tag: 'v1', db: db1.port }));
    const started = Array.from({ length: n }, (_, i) => spawnMember(etcd.url, fleet, `${fleet}-m${i}`, { zone: zoneB.has(i) ? 'b' : 'a' }, zoneB.has(i) ? db2.port : undefined, env));
    procs.push(...started);
    await allReady(started);
    return started;
  }

  it('a good rollout through three steps with bake: all converge, the canonical key holds the candidate, the table shows one hash', async () => {
    const fleet = 'good';
    const members = await fleetOf(fleet, 6);
    const audit: FleetAuditRecord[] = [];
    const candidate = { tag: 'v2', db: db1.port };
    const handle = await rollout({
      client, fleet, unit: 'config', candidate, actor: 'test:alice', reason: 'v2',
      strategy: { steps: [{ instances: 1, bakeMs: 200 }, { percent: 50, bakeMs: 200 }, { percent: 100 }], errorRateThreshold: 0.1 },
      onAudit: (r) => audit.push(r),
    });
    const final = await handle.done;
    assert.equal(final.state, 'done');
    // The steps reached the instances in cohort order: 1, then 3 (50% of 6), then all 6.
    const order = cohortOrder(members.map((m) => m.id));
    const byStep = [0, 1, 2].map((s) => Object.entries(final.instances).filter(([, e]) => e.step === s).map(([id]) => id).sort());
    assert.deepEqual(byStep, [order.slice(0, 1).sort(), order.slice(1, 3).sort(), order.slice(3).sort()]);
    assert.deepEqual(audit.map((a) => a.action), ['start', 'commit', 'bake', 'step', 'commit', 'bake', 'step', 'commit', 'bake', 'done']);
    assert.ok(audit.every((a) => a.actor === 'test:alice' && a.candidateHash === final.candidateHash));

    assert.deepEqual(JSON.parse((await client.get(fleetKeys(fleet).canonical('config')).string())!), candidate);
    const status = await waitFor(async () => {
      const s = await readFleetStatus({ client, fleet });
      return s.rows.length === 6 && s.hashes.config?.length === 1 && s.rows.every((r) => r.outcome === 'committed') ? s : undefined;
    }, { message: 'the fleet table shows one hash' });
    assert.match(formatFleetStatus(status), /^INSTANCE\s+LABELS\s+UNIT\s+GEN\s+HASH\s+STATE\s+LAST/);
    for (const m of members) {
      assert.deepEqual(served(m), ['v1', 'v2'], `${m.id} served v1 then v2, once each`);
      // Exactly one v2 resource, never disposed: the warm prepared one is the one that went live.
      assert.deepEqual(counts(m, 'v2'), { created: 1, disposed: 0 });
    }
  });

  it('a candidate whose dependency zone=b cannot reach is rejected at prepare: nobody ever served it, rejections name instance, stage, code', async () => {
    const fleet = 'zoneb';
    const members = await fleetOf(fleet, 6, new Set([1, 4]));
    const handle = await rollout({
      client, fleet, unit: 'config', candidate: { tag: 'v2', db: db2.port }, actor: 'test', reason: 'move to db2',
      strategy: { steps: [{ percent: 100 }] },
    });
    const final = await handle.done;
    assert.equal(final.state, 'rejected');
    const rejected = Object.entries(final.instances).filter(([, e]) => e.verdict === 'rejected').map(([id, e]) => ({ id, stage: e.stage, code: e.code }));
    assert.deepEqual(rejected.sort((a, b) => a.id.localeCompare(b.id)), [
      { id: 'zoneb-m1', stage: 'health', code: 'RELOADKIT_HEALTH' },
      { id: 'zoneb-m4', stage: 'health', code: 'RELOADKIT_HEALTH' },
    ]);
    assert.deepEqual(final.decisions.at(-1)!.instances?.sort(), ['zoneb-m1', 'zoneb-m4']);
    for (const m of members) {
      await waitFor(() => counts(m, 'v2').created === counts(m, 'v2').disposed, { message: `${m.id} disposed its prepared v2` });
      assert.deepEqual(served(m), ['v1'], `${m.id} never served v2`);
      assert.equal(counts(m, 'v2').created, 1, `${m.id} prepared v2 once`);
    }
    assert.equal(await client.get(fleetKeys(fleet).canonical('config')).string().then((t) => JSON.parse(t!).tag), 'v1', 'the canonical key is untouched');
  });

  it('a candidate that raises the error rate is rolled back after the first step: only the canary served it, and it refuses its hash', async () => {
    const fleet = 'errors';
    const members = await fleetOf(fleet, 6);
    const handle = await rollout({
      client, fleet, unit: 'config', candidate: { tag: 'v2', db: db1.port, failRate: 0.5 }, actor: 'test', reason: 'bad v2',
      strategy: { steps: [{ instances: 1, bakeMs: 60_000 }, { percent: 100 }], errorRateThreshold: 0.1, minRequests: 20 },
    });
    const final = await handle.done;
    assert.equal(final.state, 'rolled-back');
    assert.equal(final.cause, 'gate');
    assert.equal(final.step, 0);
    const canary = cohortOrder(members.map((m) => m.id))[0]!;
    for (const m of members) {
      if (m.id === canary) {
        await waitFor(() => served(m).length === 3, { message: 'the canary rolled back' });
        assert.deepEqual(served(m), ['v1', 'v2', 'v1']);
        const status = await ask<{ refused?: string[]; hash: string }>(m, 'status');
        const v2hash = m.lines.find((l) => l.startsWith('serve ') && l.endsWith(' v2'))!.split(' ')[1]!;
        assert.ok(status.refused?.includes(v2hash), 'the canary refuses the candidate hash');
      } else {
        assert.deepEqual(served(m), ['v1'], `${m.id} never served v2`);
        assert.equal(counts(m, 'v2').created, 0, `${m.id} never even prepared v2`);
      }
    }
  });

  it('fleetCommand reaches exactly the selected live members; a dead member is named as not answering; one watch per process', async () => {
    const fleet = 'cmd';
    // A 10 s lease: the killed member is still registered when the second command goes out.
    const members = await fleetOf(fleet, 4, new Set([0, 2]), { LEASE_TTL_S: '10' });
    const result = await fleetCommand({ client, fleet, unit: 'config', action: 'reload', selector: { zone: 'b' }, args: { force: true }, timeoutMs: 10_000 });
    assert.deepEqual(result.targets, ['cmd-m0', 'cmd-m2']);
    assert.deepEqual(Object.keys(result.results).sort(), ['cmd-m0', 'cmd-m2']);
    assert.ok(Object.values(result.results).every((r) => r.ok && r.status === 'committed'));
    assert.deepEqual(result.missing, []);
    for (const m of members) {
      const stats = await ask<{ commands: number; watches: number }>(m, 'stats');
      assert.equal(stats.watches, 1, `${m.id} shares one fleet watch`);
      assert.equal(stats.commands, m.id === 'cmd-m0' || m.id === 'cmd-m2' ? 1 : 0, `${m.id} ran the command or not`);
    }
    // A member killed without warning stays registered until its lease expires: it is targeted and named.
    members[2]!.child.kill('SIGKILL');
    await members[2]!.exited;
    const second = await fleetCommand({ client, fleet, unit: 'config', action: 'reload', selector: { zone: 'b' }, timeoutMs: 1_500 });
    assert.deepEqual(second.targets, ['cmd-m0', 'cmd-m2']);
    assert.deepEqual(second.missing, ['cmd-m2']);
    assert.deepEqual(Object.keys(second.results), ['cmd-m0']);
    // And once the lease expired, it is no longer a member at all.
    await waitFor(async () => !(await readFleetStatus({ client, fleet })).rows.some((r) => r.instance === 'cmd-m2'), { message: 'the dead member vanished with its lease', timeoutMs: 30_000 });
    assert.equal(ctlWatchCount(client, fleet), 0, 'this (controller) process opened no member watch');
  });
});
