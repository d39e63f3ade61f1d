/**
 * The stage helpers other modules reuse (timeout runner, retry wrapper, schema validation), and
 * the small core pieces: changed paths, the safe emitter, the fake clock, the atomic writer,
 * the mutex and the canonical hash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { AbortedError, TimeoutError, ValidationError, canonicalJson, hashValue } from '../../src/index.js';
import { changedPaths } from '../../src/support/changed-paths.js';
import { SafeEmitter } from '../../src/core/emitter.js';
import { writeFileAtomic, readLastKnownGood, toRecord } from '../../src/core/last-known-good.js';
import { Mutex } from '../../src/core/scheduler.js';
import { withRetry, normalizeRetry } from '../../src/core/retry.js';
import { cleanIssueMessage, dottedPath, validateWithSchema } from '../../src/core/schema.js';
import { runWithTimeout } from '../../src/core/timeout.js';
import { safeMessage } from '../../src/support/safe-message.js';
import { FakeClock } from '../../src/testing/clock.js';
import { deferred, flush } from './helpers.js';

test('changedPaths: leaf paths that differ, arrays by index, new subtrees by their leaves', () => {
  assert.deepEqual(changedPaths({ db: { port: 1, host: 'a' } }, { db: { port: 2, host: 'a' } }), ['db.port']);
  assert.deepEqual(changedPaths({ s: [{ h: 'a' }, { h: 'b' }] }, { s: [{ h: 'a' }, { h: 'c' }, { h: 'd' }] }), ['s.1.h', 's.2.h']);
  assert.deepEqual(changedPaths(undefined, { a: 1, b: { c: 2 } }), ['a', 'b.c']);
  assert.deepEqual(changedPaths({ a: 1 }, { a: 1 }), []);
  assert.deepEqual(changedPaths(1, 2), ['']);
  assert.deepEqual(changedPaths({ d: new Date(5) }, { d: new Date(5) }), []);
  assert.equal(changedPaths({}, Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i])), 10).length, 10);
});

test('runWithTimeout: resolves, times out with stage and signal abort, aborts with the parent, hands late values to onLate', async () => {
  const clock = new FakeClock();
  assert.equal(await runWithTimeout('load', 100, undefined, () => 7, { clock }), 7, 'sync values return without a timer');
  assert.equal(clock.pending, 0);
  assert.equal(await runWithTimeout('load', 100, undefined, async () => 8, { clock }), 8);
  assert.equal(clock.pending, 0, 'the timer is cleared once the stage settles');

  const late = deferred<string>();
  const lateValues: string[] = [];
  let stageSignal: AbortSignal | undefined;
  const timed = runWithTimeout(
    'create',
    100,
    undefined,
    (signal) => {
      stageSignal = signal;
      return late.promise;
    },
    { clock, unit: 'pool', source: 'file x', onLate: (v) => lateValues.push(v) },
  );
  clock.advance(100);
  await assert.rejects(timed, (e: Error) => e instanceof TimeoutError && e.stage === 'create' && e.timeoutMs === 100 && e.message === '[pool] create timed out after 100 ms (file x)');
  assert.equal(stageSignal!.aborted, true);
  late.resolve('conn');
  await flush();
  assert.deepEqual(lateValues, ['conn']);

  const parent = new AbortController();
  const aborted = runWithTimeout('load', undefined, parent.signal, () => new Promise(() => {}), { unit: 'u' });
  parent.abort();
  await assert.rejects(aborted, (e: Error) => e instanceof AbortedError && e.message === '[u] load aborted');
  await assert.rejects(runWithTimeout('load', 5, parent.signal, () => 1), AbortedError);
  await assert.rejects(
    runWithTimeout('health', 5, undefined, () => {
      throw new Error('sync throw');
    }),
    /sync throw/,
  );
});

test('withRetry: default 3 attempts with backoff 100 then 200 on the clock; abort stops at once; false is one attempt', async () => {
  const clock = new FakeClock();
  const attempts: number[] = [];
  const failing = withRetry(
    (n) => {
      attempts.push(clock.now());
      throw new Error(`fail ${n}`);
    },
    undefined,
    { clock },
  );
  failing.catch(() => undefined);
  const t0 = clock.now();
  await clock.advanceAsync(99);
  assert.equal(attempts.length, 1);
  await clock.advanceAsync(1);
  assert.equal(attempts.length, 2);
  await clock.advanceAsync(200);
  await assert.rejects(failing, /fail 3/);
  assert.deepEqual(attempts.map((t) => t - t0), [0, 100, 300]);

  const controller = new AbortController();
  let count = 0;
  const stopped = withRetry(
    () => {
      count++;
      throw new Error('x');
    },
    5,
    { clock, signal: controller.signal },
  );
  stopped.catch(() => undefined);
  await flush();
  controller.abort(new Error('stop'));
  await assert.rejects(stopped);
  assert.equal(count, 1);

  let once = 0;
  await assert.rejects(
    withRetry(
      () => {
        once++;
        throw new Error('y');
      },
      false,
    ),
    /y/,
  );
  assert.equal(once, 1);
  assert.deepEqual(normalizeRetry(4), { retries: 4, minTimeout: 100, factor: 2 });
  assert.equal(normalizeRetry(0), undefined);
  assert.throws(() => normalizeRetry(-1), TypeError);
});

test('validateWithSchema: typed value or ValidationError with dotted paths; messages never echo the value', async () => {
  const schema = z.object({ servers: z.array(z.object({ host: z.string() })) });
  assert.deepEqual(await validateWithSchema(schema, { servers: [{ host: 'a' }] }), { servers: [{ host: 'a' }] });
  await assert.rejects(validateWithSchema(schema, { servers: [{ host: 1 }] }, { unit: 'c' }), (e: Error) => e instanceof ValidationError && e.issues[0]!.path === 'servers.0.host' && e.message.startsWith('[c] validation failed: servers.0.host: '));
  // An async Standard Schema works too.
  const asyncSchema = { '~standard': { version: 1 as const, vendor: 'test', validate: async (v: unknown) => (v === 1 ? { value: 1 } : { issues: [{ message: 'must be 1', path: [{ key: 'root' }] }] }) } };
  assert.equal(await validateWithSchema(asyncSchema, 1), 1);
  await assert.rejects(validateWithSchema(asyncSchema, 2), (e: Error) => e instanceof ValidationError && e.message === 'validation failed: root: must be 1');
  assert.equal(dottedPath(['a', 0, { key: 'b' }]), 'a.0.b');
  assert.equal(dottedPath(undefined), '');
  assert.equal(cleanIssueMessage('Invalid input: expected number, received string'), 'expected number, received string');
  assert.equal(cleanIssueMessage('Invalid type: Expected number but received "s3cret"'), 'expected number but received string');
  assert.equal(safeMessage(new Error('line one\nline two with value')), 'line one');
  assert.equal(safeMessage({ a: 1 }), 'non-error thrown (object)');
});

test('SafeEmitter: a throwing listener is reported and the others still run; off() removes exactly one registration', () => {
  const reported: string[] = [];
  const events = new SafeEmitter<{ ping: [number] }>((error, event) => reported.push(`${String(event)}: ${(error as Error).message}`));
  const got: number[] = [];
  const fn = (n: number): void => void got.push(n);
  events.on('ping', () => {
    throw new Error('boom');
  });
  events.on('ping', fn);
  events.on('ping', fn);
  events.once('ping', (n) => got.push(n * 100));
  events.emit('ping', 1);
  events.off('ping', fn);
  events.emit('ping', 2);
  assert.deepEqual(got, [1, 1, 100, 2]);
  assert.deepEqual(reported, ['ping: boom', 'ping: boom']);
  assert.equal(events.listenerCount('ping'), 2);
  events.off('ping');
  assert.equal(events.has('ping'), false);
});

test('FakeClock: timers fire in order only when advanced; runAll drains; clearTimeout cancels', () => {
  const clock = new FakeClock(1_000);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push('b@20'), 20);
  clock.setTimeout(() => fired.push('a@10'), 10);
  const c = clock.setTimeout(() => fired.push('never'), 15);
  clock.setTimeout(() => {
    fired.push('c@10');
    clock.setTimeout(() => fired.push('d@15'), 5);
  }, 10);
  clock.clearTimeout(c);
  assert.equal(clock.advance(9), 0);
  assert.equal(clock.now(), 1_009);
  clock.advance(11);
  assert.deepEqual(fired, ['a@10', 'c@10', 'd@15', 'b@20']);
  clock.setTimeout(() => fired.push('far'), 1e6);
  assert.equal(clock.runAll(), 1);
  assert.equal(clock.pending, 0);
  assert.equal(clock.now(), 1_020 + 1e6);
});

test('writeFileAtomic: replaces the file whole, leaves no temp file; lastKnownGood records round-trip (bytes too)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'reloadkit-atomic-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'state.json');
  await writeFileAtomic(path, 'one');
  await Promise.all(Array.from({ length: 20 }, (_, i) => writeFileAtomic(path, `value ${i}`.repeat(100))));
  assert.match(await readFile(path, 'utf8'), /^(value \d+)+$/);
  assert.deepEqual(await readdir(dir), ['state.json']);

  await writeFileAtomic(path, JSON.stringify(toRecord('u', 'sha256:x', 1, Buffer.from('raw bytes'))));
  const back = await readLastKnownGood(path, 'u');
  assert.deepEqual(back!.raw, Buffer.from('raw bytes'));
  await assert.rejects(readLastKnownGood(path, 'other'), /belongs to unit 'u'/);
  assert.equal(await readLastKnownGood(join(dir, 'none.json'), 'u'), undefined);
});

test('Mutex: FIFO, one holder at a time', async () => {
  const lock = new Mutex();
  const order: number[] = [];
  await Promise.all(
    [1, 2, 3].map(async (n) => {
      await lock.acquire();
      order.push(n);
      await flush();
      order.push(-n);
      lock.release();
    }),
  );
  assert.deepEqual(order, [1, -1, 2, -2, 3, -3]);
  assert.equal(lock.locked, false);
});

test('hash: RFC 8785 canonical JSON; equal content hashes equal whatever the key order', () => {
  assert.equal(canonicalJson({ b: [1, 'x', null, true], a: { d: 1e21, c: -0 } }), '{"a":{"c":0,"d":1e+21},"b":[1,"x",null,true]}');
  assert.equal(hashValue({ a: 1, b: 2 }), hashValue({ b: 2, a: 1 }));
  assert.notEqual(hashValue({ a: 1 }), hashValue({ a: '1' }));
  assert.throws(() => canonicalJson({ n: Number.NaN }), TypeError);
});
