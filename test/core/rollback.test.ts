/**
 * history, rollback (default target, `to`, a non-retained target), keepPrevious (instant
 * rollback with the warm resource) and the verify window's automatic rollback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RollbackError, VerifyError, reloadable, type AuditRecord } from '../../src/index.js';
import { FakeClock } from '../../src/testing/clock.js';
import { ResourceTracker, flush } from './helpers.js';

test('rollback() returns to the generation before the live one, as a new generation id', async () => {
  const tracker = new ResourceTracker();
  let version = 1;
  const unit = reloadable({ name: 'config', load: () => ({ version }), retry: false, create: tracker.create, dispose: tracker.dispose });
  const events: Array<{ from: number; to: number; target: number; reason: string }> = [];
  unit.on('rolled-back', ({ from, to, target, reason }) => events.push({ from, to, target, reason }));
  await unit.start();
  version = 2;
  await unit.reload();
  version = 3;
  await unit.reload();
  assert.deepEqual(unit.history().map((g) => g.id), [3, 2, 1]);

  const result = await unit.rollback({ reason: 'bad deploy', actor: 'alice' });
  assert.equal(result.status, 'committed');
  assert.equal(result.generation, 4, 'ids increase on rollbacks too');
  assert.equal(result.previous, 3);
  assert.equal(unit.get().version, 2, 'the value of generation 2');
  assert.notEqual(unit.get(), tracker.created[1], 'without keepPrevious the resource is rebuilt');
  assert.equal(unit.current!.trigger.kind, 'rollback');
  assert.deepEqual(events, [{ from: 3, to: 4, target: 2, reason: 'bad deploy' }]);

  // rollback({ to }) to any retained generation.
  const r2 = await unit.rollback({ to: 1 });
  assert.equal(r2.generation, 5);
  assert.equal(unit.get().version, 1);
  await unit.close();
  assert.ok(tracker.created.every((r) => r.disposed === 1));
});

test('rollback({ to }) naming a generation no longer retained is a rejected result with a clear error', async () => {
  let version = 1;
  const unit = reloadable({ name: 'config', load: () => ({ version }), retry: false, history: 2 });
  await unit.start();
  for (version = 2; version <= 5; version++) await unit.reload();
  assert.deepEqual(unit.history().map((g) => g.id), [5, 4, 3], 'live plus `history` earlier generations');
  const result = await unit.rollback({ to: 2 });
  assert.equal(result.status, 'rejected');
  assert.equal(result.ok, false);
  assert.ok(result.error instanceof RollbackError);
  assert.equal(result.error.code, 'RELOADKIT_ROLLBACK');
  assert.equal(result.error.message, '[config] rollback failed: generation 2 is not retained (retained: 5, 4, 3; history: 2)');
  assert.equal(unit.current!.id, 5);
  assert.equal((await unit.rollback({ to: 5 })).status, 'unchanged', 'rolling back to the live generation changes nothing');
  await assert.rejects(unit.rollback({ to: 'x' as never }), TypeError);

  const fresh = reloadable({ name: 'fresh', load: () => 1, retry: false });
  assert.match((await fresh.rollback()).error!.message, /nothing has been committed yet/);
  await fresh.start();
  assert.match((await fresh.rollback()).error!.message, /no earlier generation is retained/);
  await Promise.all([unit.close(), fresh.close()]);
});

test('keepPrevious: the previous resource stays warm and rollback reuses it without create', async () => {
  const tracker = new ResourceTracker();
  let version = 1;
  const unit = reloadable({ name: 'pool', load: () => ({ version }), retry: false, keepPrevious: true, create: tracker.create, dispose: tracker.dispose });
  await unit.start();
  const [r1] = tracker.created;
  version = 2;
  await unit.reload();
  assert.equal(r1!.disposed, 0, 'previous kept warm');
  version = 3;
  await unit.reload();
  assert.equal(r1!.disposed, 1, 'the one before the previous is retired');
  const r2 = tracker.created[1]!;
  assert.equal(r2.disposed, 0);

  const created = tracker.created.length;
  const result = await unit.rollback();
  assert.equal(result.status, 'committed');
  assert.equal(tracker.created.length, created, 'no create: the warm resource is reused');
  assert.equal(unit.get(), r2);
  assert.equal(tracker.created[2]!.disposed, 0, 'the rolled-back-from resource is now the warm one');
  await unit.close();
  assert.ok(tracker.created.every((r) => r.disposed === 1), 'close disposes live and warm, once each');
});

test('verify window: a failing check after commit rolls back automatically (not verified again)', async () => {
  const clock = new FakeClock();
  const tracker = new ResourceTracker();
  let version = 1;
  const checked: number[] = [];
  const audit: AuditRecord[] = [];
  const unit = reloadable({
    name: 'svc',
    load: () => ({ version }),
    retry: false,
    clock,
    create: tracker.create,
    dispose: tracker.dispose,
    audit: (r) => void audit.push(r),
    verify: {
      windowMs: 10_000,
      check: (gen) => {
        checked.push(gen.id);
        if (gen.value.version === 3) throw new Error('error rate 12% > 5%');
        return gen.value.version !== 4;
      },
    },
  });
  const rejected: Array<{ stage: string; error: Error }> = [];
  unit.on('rejected', (e) => rejected.push({ stage: e.stage, error: e.error }));
  const rolled: Array<{ from: number; to: number; target: number; reason: string }> = [];
  const causes: Array<Error | undefined> = [];
  unit.on('rolled-back', ({ from, to, target, reason, error }) => {
    rolled.push({ from, to, target, reason });
    causes.push(error);
  });
  await unit.start();
  version = 2;
  await unit.reload();
  await clock.advanceAsync(10_000);
  assert.deepEqual(checked, [2], 'the initial commit has nothing to verify against; generation 2 passes');
  assert.equal(unit.current!.id, 2);

  version = 3;
  await unit.reload();
  await clock.advanceAsync(9_999);
  assert.equal(unit.current!.id, 3, 'nothing happens before the window ends');
  await clock.advanceAsync(1);
  for (let i = 0; i < 20 && unit.current!.id === 3; i++) await flush();
  assert.equal(unit.current!.id, 4);
  assert.equal(unit.get().version, 2, 'rolled back to the generation before the failing one');
  assert.deepEqual(rolled, [{ from: 3, to: 4, target: 2, reason: '[svc] verify failed for generation 3: error rate 12% > 5%' }]);
  // One verify failure, one event: the rollback's `rolled-back` carries the VerifyError; no second
  // (`rejected`) event reports the same attempt.
  assert.equal(rejected.length, 0);
  assert.equal(causes.length, 1);
  assert.ok(causes[0] instanceof VerifyError);
  assert.equal(causes[0]!.stage, 'verify');
  const record = audit.at(-1)!;
  assert.equal(record.action, 'rollback');
  assert.equal(record.stage, 'verify');
  assert.equal(record.error!.code, 'RELOADKIT_VERIFY');
  await clock.advanceAsync(20_000);
  assert.deepEqual(checked, [2, 3], 'the rollback is not verified again');

  // A check returning false fails too; a newer commit inside the window cancels the older check.
  version = 4;
  await unit.reload();
  version = 5;
  await unit.reload();
  await clock.advanceAsync(10_000);
  assert.deepEqual(checked, [2, 3, 6], 'generation 6 superseded 5 before its window ended');
  await unit.close();
  assert.ok(tracker.created.every((r) => r.disposed === 1));
});
