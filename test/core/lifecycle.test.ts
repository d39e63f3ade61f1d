/**
 * start() (idempotent, same promise, retry after failure), lastKnownGood (atomic persistence and
 * the degraded fallback), minIntervalMs under a burst of hints, leases through use()/acquire(),
 * and close().
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { LoadError, ValidationError, reloadable, type Hint, type Trigger } from '../../src/index.js';
import { FakeClock } from '../../src/testing/clock.js';
import { MemorySource, ResourceTracker, deferred, flush } from './helpers.js';

test('start(): loads nothing before it is called, returns the same promise, and a failed start can be retried', async () => {
  let loads = 0;
  let fail = true;
  const unit = reloadable({
    name: 'config',
    retry: false,
    load: () => {
      loads++;
      if (fail) throw new Error('source down');
      return { ok: true };
    },
  });
  await flush();
  assert.equal(loads, 0, 'nothing loads before start()');
  const p1 = unit.start();
  const p2 = unit.start();
  assert.equal(p1, p2, 'a second call returns the same promise');
  await assert.rejects(p1, (e: Error) => e instanceof LoadError && e.message === '[config] load failed: source down');
  assert.equal(loads, 1);
  assert.equal(unit.status().state, 'failed');
  assert.equal(unit.status().lastAttempt!.error!.code, 'RELOADKIT_LOAD');

  fail = false;
  const p3 = unit.start();
  assert.notEqual(p3, p1, 'after a failure a new call tries again');
  const gen = await p3;
  assert.equal(gen.id, 1);
  assert.equal(unit.start(), p3, 'after success start() keeps returning the same promise');
  assert.equal(loads, 2);
  assert.equal(unit.status().state, 'ready');
  await unit.close();
});

test('start() rejects with the ReloadkitError of the stage that failed when nothing valid can be committed', async () => {
  const unit = reloadable({ name: 'config', load: () => ({ port: 'x' }), schema: z.object({ port: z.number() }), retry: false });
  await assert.rejects(unit.start(), (e: Error) => e instanceof ValidationError && e.message === '[config] validation failed: port: expected number, received string');
  await unit.close();
});

test('a failed start stops its watches and triggers; a retried start restarts them', async () => {
  let running = 0;
  const trigger: Trigger = { start: () => void running++, stop: () => void running-- };
  let fail = true;
  const unit = reloadable({ name: 'c', retry: false, triggers: [trigger], load: () => { if (fail) throw new Error('down'); return 1; } });
  await assert.rejects(unit.start());
  assert.equal(running, 0);
  fail = false;
  await unit.start();
  assert.equal(running, 1);
  await unit.close();
  assert.equal(running, 0);
});

test('lastKnownGood: every commit is persisted atomically; start() falls back to it when the source is down and reports degraded', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'reloadkit-lkg-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'config.lkg.json');
  const Schema = z.object({ port: z.number(), name: z.string() });
  const source = new MemorySource<unknown>({ port: 1, name: 'a' }, 'file config.json');
  const first = reloadable({ name: 'config', source, schema: Schema, retry: false, lastKnownGood: path });
  await first.start();
  source.value = { port: 2, name: 'b' };
  await first.reload();
  source.value = { port: 'bad', name: 'c' };
  await first.reload(); // rejected: must not be persisted
  await first.close(); // flushes the writer
  const saved = JSON.parse(await readFile(path, 'utf8')) as { unit: string; hash: string; raw: unknown };
  assert.equal(saved.unit, 'config');
  assert.deepEqual(saved.raw, { port: 2, name: 'b' });
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith('.tmp')), [], 'no temp files left behind');

  // The source is down at the next start: the unit comes up on the persisted state, degraded.
  source.failWith = new Error('ECONNREFUSED');
  const second = reloadable({ name: 'config', source, schema: Schema, retry: false, lastKnownGood: path });
  const gen = await second.start();
  assert.deepEqual(gen.value, { port: 2, name: 'b' });
  assert.equal(gen.hash, saved.hash);
  assert.equal(gen.trigger.kind, 'lastKnownGood');
  const status = second.status();
  assert.equal(status.state, 'degraded');
  assert.match(status.reason!, /lastKnownGood.*ECONNREFUSED/);
  // The source recovers: the next commit clears degraded.
  source.failWith = undefined;
  source.value = { port: 3, name: 'c' };
  await second.reload();
  assert.equal(second.status().state, 'ready');
  assert.equal(second.status().reason, undefined);
  await second.close();

  // No lastKnownGood file and the source down: start() fails.
  const third = reloadable({ name: 'config', source, schema: Schema, retry: false, lastKnownGood: join(dir, 'missing.json') });
  source.failWith = new Error('down');
  await assert.rejects(third.start(), LoadError);
  await third.close();

  // A corrupt file is an error event, and start() fails with the source's error.
  await writeFile(join(dir, 'corrupt.json'), '{not json');
  const fourth = reloadable({ name: 'config', source, schema: Schema, retry: false, lastKnownGood: join(dir, 'corrupt.json') });
  const errors: string[] = [];
  fourth.on('error', (e) => errors.push(e.where));
  await assert.rejects(fourth.start(), LoadError);
  assert.deepEqual(errors, ['lastKnownGood']);
  await fourth.close();
});

test('minIntervalMs: a burst of 10,000 hints causes a bounded number of loads (fake clock)', async () => {
  const clock = new FakeClock();
  let loads = 0;
  let fire: ((h: Hint) => void) | undefined;
  const trigger: Trigger = { start: (f) => void (fire = f), stop: () => void (fire = undefined) };
  let version = 0;
  const unit = reloadable({
    name: 'config',
    retry: false,
    clock,
    minIntervalMs: 1_000,
    triggers: [trigger],
    load: () => {
      loads++;
      return { version: ++version };
    },
  });
  await unit.start();
  assert.equal(loads, 1);
  // 10,000 hints spread over 5 seconds of virtual time, 2 per millisecond.
  for (let i = 0; i < 10_000; i++) {
    fire!({ kind: 'burst' });
    if (i % 2 === 1) {
      clock.advance(1);
      if (i % 200 === 1) await flush();
    }
  }
  await clock.advanceAsync(2_000);
  await flush();
  // One load per interval at most: 5 s of hints plus the trailing one.
  assert.ok(loads - 1 <= 7, `10,000 hints caused ${loads - 1} loads`);
  assert.ok(loads - 1 >= 2, 'hints do reload');
  assert.equal(unit.current!.value.version, version, 'the last load is committed');
  await unit.close();
});

test('use() holds a lease while fn runs (sync and async); acquire() works with `using`-style dispose', async () => {
  const tracker = new ResourceTracker();
  let version = 1;
  const unit = reloadable({ name: 'pool', load: () => ({ version }), retry: false, create: tracker.create, dispose: tracker.dispose });
  await unit.start();
  assert.equal(await unit.use((r, gen) => `${r.version}@${gen.id}`), '1@1');
  assert.equal(unit.status().leases, 0);

  const gate = deferred();
  const using = unit.use(async (r) => {
    await gate.promise;
    return r.disposed;
  });
  assert.equal(unit.status().leases, 1);
  version = 2;
  await unit.reload();
  assert.equal(tracker.created[0]!.disposed, 0, 'not disposed while use() runs');
  gate.resolve();
  assert.equal(await using, 0, 'fn saw its resource undisposed to the end');
  assert.equal(tracker.created[0]!.disposed, 1);
  await assert.rejects(unit.use(() => { throw new Error('boom'); }), /boom/);
  assert.equal(unit.status().leases, 0, 'a throwing fn releases its lease');

  {
    const lease = unit.acquire();
    assert.equal(lease.value, unit.get());
    assert.equal(lease.generation.id, 2);
    lease[Symbol.dispose]();
    lease.release();
  }
  assert.equal(unit.status().leases, 0);
  await unit.close();
});

test('close() waits for leases up to the drain timeout, disposes everything once, and aborts a running reload', async () => {
  const clock = new FakeClock();
  const tracker = new ResourceTracker();
  let hang = false;
  const unit = reloadable({
    name: 'pool',
    clock,
    retry: false,
    timeouts: { drain: 1_000 },
    load: () => (hang ? new Promise(() => {}) : { v: 1 }),
    create: tracker.create,
    dispose: tracker.dispose,
  });
  await unit.start();
  const lease = unit.acquire();
  hang = true;
  const pending = unit.reload();
  await flush();
  let closed = false;
  const closing = unit.close().then(() => (closed = true));
  const result = await pending;
  assert.equal(result.status, 'rejected', 'the in-flight reload settles when closing');
  await flush();
  assert.equal(closed, false, 'close waits for the lease');
  assert.equal(tracker.created[0]!.disposed, 0);
  await clock.advanceAsync(1_000);
  await closing;
  assert.equal(tracker.created[0]!.disposed, 1);
  lease.release();
  assert.equal(tracker.created[0]!.disposed, 1);
  assert.equal(clock.pending, 0, 'no timer left behind');
});

test('history option 0 keeps only the live generation; status() and history() are JSON-safe', async () => {
  let version = 1;
  const unit = reloadable({ name: 'c', load: () => ({ version }), retry: false, history: 0 });
  await unit.start();
  version = 2;
  await unit.reload();
  assert.deepEqual(unit.history().map((g) => g.id), [2]);
  const status = unit.status();
  assert.deepEqual(JSON.parse(JSON.stringify(status)), status);
  assert.deepEqual(Object.keys(unit.history()[0]!).sort(), ['committedAt', 'hash', 'id', 'trigger']);
  await unit.close();
});

test('a source that fails after the first commit: the live generation stays, the unit is degraded until a candidate validates', async () => {
  const source = new MemorySource<{ v: number }>({ v: 1 }, 'file config.json');
  const unit = reloadable({ name: 'config', source, retry: false, validate: (c) => { if (c.v < 0) throw new Error('negative'); } });
  await unit.start();
  source.failWith = new Error('ENOENT: no such file or directory');
  const failed = await unit.reload();
  assert.equal(failed.stage, 'load');
  assert.equal(unit.get().v, 1);
  assert.equal(unit.status().state, 'degraded');
  assert.equal(unit.status().reason, 'load failing: [config] load failed (file config.json): ENOENT: no such file or directory');
  source.failWith = undefined;
  source.value = { v: -1 };
  const invalid = await unit.reload();
  assert.equal(invalid.stage, 'validate');
  // A wrong value and an unreadable file end in the same state: the source gives no valid candidate.
  assert.equal(unit.status().state, 'degraded', 'an invalid candidate degrades like a failing load');
  assert.match(String(unit.status().reason), /^validation failing: \[config\] validation failed/);
  source.failWith = new Error('EACCES');
  await unit.reload();
  assert.equal(unit.status().state, 'degraded');
  source.failWith = undefined;
  source.value = { v: 1 };
  assert.equal((await unit.reload()).status, 'unchanged');
  assert.equal(unit.status().state, 'ready');
  assert.equal(unit.status().reason, undefined);
  await unit.close();
});

test('close() during start(): the start rejects with ClosedError and nothing is left running', async () => {
  let running = 0;
  const trigger: Trigger = { start: () => void running++, stop: () => void running-- };
  const gate = deferred();
  const unit = reloadable({ name: 'c', retry: false, triggers: [trigger], load: async ({ signal }) => {
    await Promise.race([gate.promise, new Promise((resolve) => signal.addEventListener('abort', resolve))]);
    return 1;
  } });
  const starting = unit.start();
  await flush();
  await unit.close();
  await assert.rejects(starting, (e: Error) => (e as { code?: string }).code === 'RELOADKIT_CLOSED');
  assert.equal(running, 0);
  assert.equal(unit.status().state, 'closed');
  gate.resolve();
});
