import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeSource } from '../../src/testing/fake-source.js';
import { fakeTrigger } from '../../src/testing/fake-trigger.js';
import type { Hint } from '../../src/types.js';

const signal = () => new AbortController().signal;

test('fakeSource: reads return fresh copies of the current value; set() hints watchers', async () => {
  const source = fakeSource({ port: 1, hosts: ['a'] }, { name: 'config.json' });
  assert.equal(source.describe(), 'fake config.json');
  const a = await source.read({ signal: signal() });
  const b = await source.read({ signal: signal() });
  assert.deepEqual(a, { port: 1, hosts: ['a'] });
  assert.notEqual(a, b, 'each read is a distinct object, as a parse would be');
  const hints: Hint[] = [];
  const unwatch = source.watch!((h) => hints.push(h));
  source.set({ port: 2, hosts: [] });
  assert.deepEqual(hints, [{ kind: 'fake', detail: 'config.json' }]);
  assert.deepEqual(await source.read({ signal: signal() }), { port: 2, hosts: [] });
  await unwatch();
  source.set({ port: 3, hosts: [] });
  assert.equal(hints.length, 1);
  assert.equal(source.stats.reads, 3);
});

test('fakeSource: failNext(n) fails exactly the next n reads', async () => {
  const source = fakeSource('v1');
  const boom = new Error('ECONNREFUSED');
  source.failNext(2, boom);
  await assert.rejects(source.read({ signal: signal() }), boom);
  await assert.rejects(source.read({ signal: signal() }), boom);
  assert.equal(await source.read({ signal: signal() }), 'v1');
  source.failNext();
  await assert.rejects(source.read({ signal: signal() }), { message: 'fake source: injected read failure' });
  assert.equal(source.stats.failed, 3);
});

test('fakeSource: hangNext() hangs until the signal aborts or release()', async () => {
  const source = fakeSource({ a: 1 });
  source.hangNext(2);
  const controller = new AbortController();
  const hung = source.read({ signal: controller.signal });
  const released = source.read({ signal: signal() });
  let settled = false;
  void hung.catch(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false);
  controller.abort(new Error('load timed out'));
  await assert.rejects(hung, { message: 'load timed out' });
  source.release();
  assert.deepEqual(await released, { a: 1 });
  assert.equal(source.stats.hung, 2);
});

test('fakeSource: delay() waits on the injected clock and honours abort', async () => {
  const timers: { fn: () => void; ms: number }[] = [];
  const clock = { now: () => 0, setTimeout: (fn: () => void, ms: number) => timers.push({ fn, ms }), clearTimeout: () => {} };
  const source = fakeSource(1, { clock });
  source.delay(500);
  const read = source.read({ signal: signal() });
  await new Promise((r) => setImmediate(r));
  assert.equal(timers.length, 1);
  assert.equal(timers[0]!.ms, 500);
  timers[0]!.fn();
  assert.equal(await read, 1);
  const controller = new AbortController();
  const aborted = source.read({ signal: controller.signal });
  controller.abort(new Error('stop'));
  await assert.rejects(aborted, { message: 'stop' });
});

test('fakeSource: partialNext() returns a torn value once, then the full one', async () => {
  const source = fakeSource({ a: 1, b: 2, c: 3, d: 4 });
  source.partialNext();
  assert.deepEqual(await source.read({ signal: signal() }), { a: 1, b: 2 });
  assert.deepEqual(await source.read({ signal: signal() }), { a: 1, b: 2, c: 3, d: 4 });
  source.partialNext(1, (v) => ({ ...v, d: undefined }));
  assert.deepEqual(await source.read({ signal: signal() }), { a: 1, b: 2, c: 3, d: undefined });
  const text = fakeSource('{"port": 8080}');
  text.partialNext();
  assert.equal(await text.read({ signal: signal() }), '{"port"');
});

test('fakeSource: duplicateHints() and hint(times) repeat hints', () => {
  const source = fakeSource(0);
  const hints: Hint[] = [];
  source.watch!((h) => hints.push(h));
  source.duplicateHints(3);
  source.set(1);
  assert.equal(hints.length, 3);
  source.duplicateHints(1);
  source.hint({ kind: 'etcd', detail: 'k' }, 2);
  assert.deepEqual(hints.slice(3), [{ kind: 'etcd', detail: 'k' }, { kind: 'etcd', detail: 'k' }]);
  assert.throws(() => source.failNext(-1), { name: 'TypeError', message: 'fakeSource.failNext: expected a non-negative integer, got -1' });
  assert.throws(() => source.duplicateHints(0), { name: 'TypeError' });
});

test('fakeTrigger: records its lifecycle, fires bursts, and fails on demand', async () => {
  const trigger = fakeTrigger();
  const hints: Hint[] = [];
  assert.equal(trigger.fire(), false);
  await trigger.start((h) => hints.push(h));
  assert.equal(trigger.started, true);
  trigger.fire({ kind: 'test' }, 5);
  assert.equal(hints.length, 5);
  await trigger.stop();
  assert.equal(trigger.started, false);
  assert.deepEqual(trigger.stats, { starts: 1, stops: 1, fired: 5 });
  const broken = fakeTrigger({ startError: new Error('no watch'), async: true });
  await assert.rejects(async () => broken.start(() => {}), { message: 'no watch' });
  assert.equal(broken.started, false);
  broken.failStart(undefined);
  await broken.start(() => {});
  assert.equal(broken.started, true);
});
