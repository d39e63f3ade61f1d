/**
 * Events, audit records, the member hooks (staging, audit attach) and the promise that a secret in
 * a config value appears nowhere in status(), errors, events' JSON or audit records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import * as v from 'valibot';
import { reloadable, type AuditRecord } from '../../src/index.js';
import { ResourceTracker, attachAudit, deferred, flush, stage } from './helpers.js';

const SECRET = 'hunter2-SECRET-4f9a';

test('a secret string in a config value appears nowhere in status(), errors, events or audit records', async () => {
  for (const schema of [
    z.object({ db: z.object({ password: z.string(), port: z.number() }), mode: z.enum(['a', 'b']) }),
    v.object({ db: v.object({ password: v.string(), port: v.number() }), mode: v.picklist(['a', 'b']) }),
  ]) {
    let raw: unknown = { db: { password: SECRET, port: 1 }, mode: 'a' };
    const serialized: string[] = [];
    const record = (x: unknown): void => void serialized.push(JSON.stringify(x));
    const unit = reloadable({
      name: 'config',
      load: () => raw,
      schema,
      retry: false,
      audit: record,
      create: (cfg) => ({ ...cfg }),
      healthCheck: (r) => r.db.port !== 13,
    });
    for (const event of ['reloading', 'committed', 'unchanged', 'rejected', 'rolled-back', 'disposed', 'drain-timeout', 'error'] as const) {
      unit.on(event, (payload: unknown) => record(payload));
    }
    await unit.start();
    const results = [];
    // Every failure mode, with the secret in the candidate (and even in the failing field).
    for (const candidate of [
      { db: { password: SECRET, port: 2 }, mode: 'a' },
      { db: { password: SECRET, port: SECRET }, mode: SECRET },
      { db: { password: 42, port: 3 }, mode: 'b' },
      { db: { password: SECRET, port: 13 }, mode: 'b' },
      { db: { password: SECRET, port: 2 }, mode: 'a' },
      SECRET,
    ]) {
      raw = candidate;
      results.push(await unit.reload());
    }
    results.push(await unit.rollback());
    results.push(await unit.rollback({ to: 999 }));
    record(results);
    record(results.map((r) => r.error?.message));
    record(unit.status());
    record(unit.history());
    record(unit.current);
    await unit.close();
    record(unit.status());
    assert.ok(results.some((r) => r.status === 'rejected' && r.stage === 'validate'));
    assert.ok(results.some((r) => r.status === 'rejected' && r.stage === 'health'));
    const all = serialized.join('\n');
    assert.ok(serialized.length > 20);
    assert.ok(!all.includes(SECRET), `the secret leaked: ${all.slice(Math.max(0, all.indexOf(SECRET) - 200), all.indexOf(SECRET) + 50)}`);
    assert.ok(all.includes('sha256:'), 'hashes are there instead');
  }
});

test('audit: one record per start, reload and rollback, with actor, reason, from/to, hash, stage and error; registry sinks attach and detach', async () => {
  const records: AuditRecord[] = [];
  const attached: AuditRecord[] = [];
  let version = 1;
  const unit = reloadable({ name: 'config', load: () => (version === 3 ? { bad: true } : { version }), retry: false, validate: (c) => { if ('bad' in c) throw new Error('no'); }, audit: { write: (r) => void records.push(r) } });
  const detach = attachAudit(unit, (r) => void attached.push(r));
  await unit.start();
  version = 2;
  await unit.reload({ actor: 'alice', reason: 'deploy 42', trigger: { kind: 'http', detail: 'POST /reload' } });
  await unit.reload();
  version = 3;
  await unit.reload();
  await unit.rollback({ actor: 'bob', reason: 'oops' });
  detach();
  detach();
  version = 1;
  await unit.reload();
  await unit.close();

  assert.deepEqual(records.map((r) => [r.action, r.outcome]), [
    ['start', 'committed'],
    ['reload', 'committed'],
    ['reload', 'unchanged'],
    ['reload', 'rejected'],
    ['rollback', 'committed'],
    ['reload', 'unchanged'],
  ]);
  assert.equal(attached.length, 5, 'the attached sink saw everything until detached');
  const deploy = records[1]!;
  assert.equal(deploy.actor, 'alice');
  assert.equal(deploy.reason, 'deploy 42');
  assert.deepEqual(deploy.trigger, { kind: 'http', detail: 'POST /reload' });
  assert.equal(deploy.from, 1);
  assert.equal(deploy.to, 2);
  assert.match(deploy.hash!, /^sha256:/);
  assert.match(deploy.startedAt, /^\d{4}-\d\d-\d\dT/);
  assert.equal(typeof deploy.durationMs, 'number');
  assert.equal(new Set(records.map((r) => r.id)).size, records.length, 'ids are unique');
  const rejected = records[3]!;
  assert.equal(rejected.stage, 'validate');
  assert.deepEqual(rejected.error, { code: 'RELOADKIT_VALIDATION', message: '[config] validation failed: no' });
  const rollback = records[4]!;
  assert.equal(rollback.actor, 'bob');
  assert.equal(rollback.from, 2);
  assert.equal(rollback.to, 3);
  assert.deepEqual(rollback.detail, { target: 1 });
});

test('an audit sink that rejects asynchronously becomes an error event and does not block', async () => {
  const never = deferred();
  const errors: string[] = [];
  const unit = reloadable({ name: 'c', load: () => 1, retry: false, audit: async () => { await flush(); throw new Error('disk full'); } });
  attachAudit(unit, () => never.promise); // a sink that never settles blocks nothing
  unit.on('error', (e) => errors.push(`${e.where}: ${e.error.message}`));
  await unit.start();
  await unit.reload();
  for (let i = 0; i < 10 && errors.length < 2; i++) await flush();
  assert.deepEqual(errors, ['audit: disk full', 'audit: disk full']);
  await unit.close();
});

test('events: reloading, committed (with changedPaths), unchanged, rejected, disposed carry typed payloads', async () => {
  let value: Record<string, unknown> = { db: { host: 'a', port: 1 }, log: 'info' };
  const unit = reloadable({ name: 'config', load: () => value, retry: false, validate: (c) => { if (c.log === 'bad') throw new Error('bad log'); } });
  const seen: string[] = [];
  unit.on('reloading', (e) => seen.push(`reloading ${e.attempt} ${e.trigger.kind}`));
  unit.on('committed', (e) => seen.push(`committed ${e.previous?.id ?? '-'}->${e.current.id} [${e.changedPaths.join(',')}]`));
  unit.on('unchanged', (e) => seen.push(`unchanged ${e.current.id}`));
  unit.on('rejected', (e) => seen.push(`rejected ${e.stage} ${e.error.code}`));
  unit.on('disposed', (e) => seen.push(`disposed ${e.generation.id}`));
  const once: number[] = [];
  unit.once('committed', (e) => once.push(e.current.id));
  await unit.start();
  value = { db: { host: 'a', port: 2 }, log: 'info' };
  await unit.reload();
  await unit.reload();
  value = { ...value, log: 'bad' };
  await unit.reload();
  const off = (): void => void seen.push('never');
  unit.on('unchanged', off);
  unit.off('unchanged', off);
  await unit.close();
  assert.deepEqual(seen, [
    'reloading 1 start',
    'committed -->1 [db.host,db.port,log]',
    'reloading 2 manual',
    'committed 1->2 [db.port]',
    'disposed 1',
    'reloading 3 manual',
    'unchanged 2',
    'reloading 4 manual',
    'rejected validate RELOADKIT_VALIDATION',
    'disposed 2',
  ]);
  assert.deepEqual(once, [1]);
});

test('staging (the group member hook): a staged candidate holds the reload lock until commit() (synchronous) or discard()', async () => {
  const tracker = new ResourceTracker();
  let version = 1;
  const unit = reloadable({ name: 'pool', load: () => ({ version }), retry: false, create: tracker.create, dispose: tracker.dispose });
  await unit.start();
  version = 2;
  const outcome = await stage(unit, { reason: 'group' });
  assert.equal(outcome.kind, 'staged');
  if (outcome.kind !== 'staged') return;
  assert.equal(outcome.staged.unit, 'pool');
  assert.match(outcome.staged.hash, /^sha256:/);
  assert.equal(unit.get().version, 1, 'staging does not commit');
  // A reload queued meanwhile waits for the lock.
  let reloaded = false;
  const queued = unit.reload().then((r) => {
    reloaded = true;
    return r;
  });
  await flush();
  assert.equal(reloaded, false);
  const result = outcome.staged.commit();
  assert.equal(result.status, 'committed');
  assert.equal(unit.get().version, 2, 'commit() swapped synchronously');
  assert.equal((await queued).status, 'unchanged');

  version = 3;
  const second = await stage(unit);
  assert.equal(second.kind, 'staged');
  if (second.kind !== 'staged') return;
  const discarded = await second.staged.discard(new Error('another member failed'));
  assert.equal(discarded.status, 'rejected');
  assert.equal(discarded.error!.message, 'another member failed');
  assert.equal(tracker.created.at(-1)!.disposed, 1, 'the staged resource is disposed');
  assert.equal(unit.get().version, 2);

  version = 2;
  const done = await stage(unit);
  assert.equal(done.kind, 'done');
  if (done.kind === 'done') assert.equal(done.result.status, 'unchanged');

  // close() while a candidate is staged discards it; a later commit() reports the rejection.
  version = 4;
  const third = await stage(unit);
  if (third.kind !== 'staged') throw new Error('expected staged');
  await unit.close();
  const late = third.staged.commit();
  assert.equal(late.status, 'rejected');
  assert.equal(late.error!.code, 'RELOADKIT_CLOSED');
  assert.ok(tracker.created.every((r) => r.disposed === 1));
});
