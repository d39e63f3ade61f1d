import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { createRegistry, group, reloadable, type AuditRecord } from '../../src/index.js';
import { prometheusMetrics } from '../../src/metrics/prometheus.js';
import { fakeSource } from '../../src/testing/index.js';
import { waitFor } from '../helpers/wait.js';

interface Res {
  unit: string;
  version: number;
  disposed: boolean;
}

/** A unit whose resource records its version and disposal; its health check can be made to fail. */
function member(name: string, created: Res[], failHealthAt?: number) {
  const source = fakeSource({ version: 1 }, { name, hintOnSet: false });
  const unit = reloadable({
    name,
    source,
    retry: false,
    create: async ({ version }): Promise<Res> => {
      await tick(); // stages finish on different ticks; commits must still land together
      const res = { unit: name, version, disposed: false };
      created.push(res);
      return res;
    },
    healthCheck: (res) => {
      if (res.version === failHealthAt) throw new Error(`${name} is unhealthy`);
    },
    dispose: (res) => {
      assert.equal(res.disposed, false, 'never disposed twice');
      res.disposed = true;
    },
  });
  return { source, unit };
}

test('group: one member failing its healthCheck means no member commits, and every staged resource is disposed', async (t) => {
  const created: Res[] = [];
  const a = member('a', created);
  const b = member('b', created);
  const c = member('c', created, 2);
  const members = [a, b, c];
  t.after(() => Promise.all(members.map((m) => m.unit.close())));
  await Promise.all(members.map((m) => m.unit.start()));
  const commits: string[] = [];
  for (const m of members) m.unit.on('committed', ({ unit }) => commits.push(unit));

  for (const m of members) m.source.set({ version: 2 });
  const result = await group(members.map((m) => m.unit)).reload({ reason: 'v2', actor: 'test' });

  assert.equal(result.status, 'rejected');
  assert.equal(result.ok, false);
  assert.deepEqual(result.failed, ['c']);
  assert.equal(result.error?.code, 'RELOADKIT_GROUP');
  assert.match(result.error!.message, /^\[group\] nothing committed: 1 of 3 member\(s\) failed: c at health \(RELOADKIT_HEALTH\)$/);
  assert.deepEqual(result.members.map((m) => [m.unit, m.status]), [['a', 'discarded'], ['b', 'discarded'], ['c', 'rejected']]);
  assert.equal(result.members[2]!.stage, 'health');
  assert.deepEqual(commits, [], 'no member committed');
  for (const m of members) assert.equal(m.unit.get().version, 1, `${m.unit.name} still serves v1`);
  const staged = created.filter((r) => r.version === 2);
  assert.equal(staged.length, 3, 'every member created a v2 candidate');
  await waitFor(() => staged.every((r) => r.disposed), { message: 'every staged resource disposed' });
  assert.ok(created.filter((r) => r.version === 1).every((r) => !r.disposed), 'the live resources are untouched');
});

test('group: on success all members commit together; a reader across microtasks and awaits never sees a mix', async (t) => {
  const created: Res[] = [];
  const a = member('a', created);
  const b = member('b', created);
  const both = group({ a: a.unit, b: b.unit });
  t.after(() => Promise.all([a.unit.close(), b.unit.close()]));
  await Promise.all([a.unit.start(), b.unit.start()]);

  let done = false;
  let reads = 0;
  const mixes: string[] = [];
  const reader = (async () => {
    while (!done) {
      const va = a.unit.get().version;
      const vb = b.unit.get().version;
      if (va !== vb) mixes.push(`a=${va} b=${vb}`);
      reads++;
      // Alternate microtask and macrotask boundaries.
      if (reads % 2) await Promise.resolve();
      else await tick();
    }
  })();

  for (let version = 2; version <= 21; version++) {
    a.source.set({ version });
    b.source.set({ version });
    const result = await both.reload({ reason: `v${version}` });
    assert.equal(result.status, 'committed', JSON.stringify(result.members));
    assert.deepEqual(result.members.map((m) => m.status), ['committed', 'committed']);
  }
  done = true;
  await reader;
  assert.deepEqual(mixes, []);
  assert.ok(reads > 40, `the reader ran throughout (${reads} reads)`);
  assert.equal(a.unit.get().version, 21);
  assert.equal(a.unit.current?.id, 21);
  assert.equal(b.unit.current?.id, 21);
});

test('group: unchanged members and overlapping groups reloading at once (no deadlock)', async (t) => {
  const created: Res[] = [];
  const a = member('a', created);
  const b = member('b', created);
  t.after(() => Promise.all([a.unit.close(), b.unit.close()]));
  await Promise.all([a.unit.start(), b.unit.start()]);
  const ab = group([a.unit, b.unit]);
  const ba = group([b.unit, a.unit]);

  const same = await ab.reload();
  assert.equal(same.status, 'unchanged');
  assert.equal(same.ok, true);

  a.source.set({ version: 5 });
  const results = await Promise.all([ab.reload(), ba.reload(), ab.reload(), ba.reload()]);
  assert.ok(results.every((r) => r.ok));
  assert.equal(results.filter((r) => r.status === 'committed').length, 1, 'only the first run had a change');
  assert.equal(a.unit.get().version, 5);
});

test('group: precise TypeErrors', () => {
  const created: Res[] = [];
  const a = member('a', created);
  assert.throws(() => group([]), { name: 'TypeError', message: /non-empty array/ });
  assert.throws(() => group([a.unit, a.unit]), { name: 'TypeError', message: 'group: member "a" appears twice' });
  assert.throws(() => group([{ name: 'x' } as never]), { name: 'TypeError', message: 'group: member "x" is not a reloadable unit (it cannot stage a candidate)' });
});

test('group: a discarded member reports its rejection like any other — event, audit and metrics agree', async (t) => {
  const created: Res[] = [];
  const a = member('a', created);
  const b = member('b', created);
  const c = member('c', created, 2);
  const records: AuditRecord[] = [];
  const registry = createRegistry({ audit: (r) => void records.push(r) });
  for (const m of [a, b, c]) registry.add(m.unit);
  const register = new Registry();
  const metrics = prometheusMetrics(registry, { register });
  t.after(async () => {
    metrics.detach();
    await registry.close();
  });
  await Promise.all([a, b, c].map((m) => m.unit.start()));
  const rejected: Array<{ unit: string; stage: string; code: string | undefined; resultStage: string | undefined }> = [];
  for (const m of [a, b, c]) m.unit.on('rejected', (e) => rejected.push({ unit: e.unit, stage: e.stage, code: e.error.code, resultStage: e.result.stage }));

  for (const m of [a, b, c]) m.source.set({ version: 2 });
  const result = await group([a.unit, b.unit, c.unit]).reload({ reason: 'v2', actor: 'ops' });
  assert.equal(result.status, 'rejected');
  assert.equal(result.error?.stage, 'health', 'the group error carries the failing member\'s stage');

  // Events: the failing member at its own stage; the discarded ones at that stage with the group error.
  assert.deepEqual(
    rejected.sort((x, y) => x.unit.localeCompare(y.unit)),
    [
      { unit: 'a', stage: 'health', code: 'RELOADKIT_GROUP', resultStage: 'health' },
      { unit: 'b', stage: 'health', code: 'RELOADKIT_GROUP', resultStage: 'health' },
      { unit: 'c', stage: 'health', code: 'RELOADKIT_HEALTH', resultStage: 'health' },
    ],
  );
  const discarded = result.members[0]!.result!;
  assert.equal(discarded.status, 'rejected');
  assert.equal(discarded.stage, 'health');
  assert.match(discarded.error!.message, /^\[group\] nothing committed: 1 of 3 member\(s\) failed: c at health/);

  // Audit: one rejected record per member, with the same stage, actor and reason.
  const reloads = records.filter((r) => r.action === 'reload');
  assert.deepEqual(
    reloads.map((r) => [r.unit, r.outcome, r.stage, r.error?.code, r.actor, r.reason]).sort(),
    [
      ['a', 'rejected', 'health', 'RELOADKIT_GROUP', 'ops', 'v2'],
      ['b', 'rejected', 'health', 'RELOADKIT_GROUP', 'ops', 'v2'],
      ['c', 'rejected', 'health', 'RELOADKIT_HEALTH', 'ops', 'v2'],
    ],
  );

  // Metrics: every member counts one rejected attempt, as the audit trail does.
  const text = await metrics.metrics();
  for (const name of ['a', 'b', 'c']) {
    assert.match(text, new RegExp(`^reloadkit_reloads_total\\{unit="${name}",outcome="rejected"\\} 1$`, 'm'), `${name} counted as rejected`);
  }
});

test('group: a member whose source fails makes the others rejected at load, but only that member is degraded', async (t) => {
  const created: Res[] = [];
  const a = member('a', created);
  const b = member('b', created);
  t.after(() => Promise.all([a.unit.close(), b.unit.close()]));
  await Promise.all([a.unit.start(), b.unit.start()]);
  a.source.set({ version: 2 });
  b.source.set({ version: 2 });
  b.source.failNext(1, new Error('connection refused'));
  const result = await group([a.unit, b.unit]).reload();
  assert.deepEqual(result.members.map((m) => [m.unit, m.status, m.result?.stage]), [
    ['a', 'discarded', 'load'],
    ['b', 'rejected', 'load'],
  ]);
  assert.equal(a.unit.status().state, 'ready', "a's own source is fine: not degraded");
  assert.equal(a.unit.status().lastAttempt?.error?.code, 'RELOADKIT_GROUP');
  assert.equal(b.unit.status().state, 'degraded');
  assert.equal(a.unit.get().version, 1);
  await waitFor(() => created.filter((r) => r.version === 2).every((r) => r.disposed), { message: "a's staged v2 disposed" });
});
