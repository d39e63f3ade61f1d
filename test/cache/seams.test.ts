import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reloadableCache } from '../../src/cache/index.js';
import { reloadable } from '../../src/index.js';
import { FakeClock } from '../../src/testing/clock.js';
import { deferred, flush } from './helpers.js';

/** Resolves to `'waiting'` if `p` has not settled after pending reactions and immediates ran. */
async function settledNow<T>(p: Promise<T>): Promise<T | 'waiting'> {
  return Promise.race([p, flush().then(() => 'waiting' as const)]);
}

// First in the file: it counts the process's active timers, so no earlier test may leave one behind.
test('drain timers of retired leased entries follow the one lease policy: unref while serving, ref while close() waits', async () => {
  const disposed: string[] = [];
  const cache = reloadableCache({ name: 'timers', retry: false, drainTimeoutMs: 60_000, load: (k: string) => ({ k }), dispose: (v) => void disposed.push(v.k) });
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const lease = await cache.acquire('held');
  const before = timers();
  await cache.invalidate('held', { mode: 'drop' }); // retired while leased: a drain timer starts
  assert.equal(cache.status().draining, 1);
  assert.equal(timers(), before, 'the drain timer does not keep the process alive');
  const closing = cache.close();
  await flush();
  assert.equal(timers(), before + 1, 'while close() waits for the drain, its timer keeps the process alive');
  assert.deepEqual(disposed, []);
  lease.release();
  await closing;
  assert.deepEqual(disposed, ['held']);
});

test('an expired entry whose refresh fails is answered with its stale value at once; the refresh retries in the background', async () => {
  const clock = new FakeClock();
  let calls = 0;
  let fail = false;
  const cache = reloadableCache({
    name: 'stale-at-once',
    clock,
    ttlMs: 100,
    retry: { retries: 2, minTimeout: 1000, factor: 1 },
    load: async (key: string) => {
      calls += 1;
      if (fail) throw new Error('backend down');
      return { key, v: calls };
    },
  });
  const rejected: Array<{ stale: boolean }> = [];
  cache.on('rejected', (e) => rejected.push(e));
  assert.deepEqual(await cache.get('k'), { key: 'k', v: 1 });
  fail = true;
  await clock.advanceAsync(500); // expired (no stale-while-revalidate window)

  // The retries wait 1 s each on the fake clock: a reader that waited for them would still be waiting.
  assert.deepEqual(await settledNow(cache.get('k')), { key: 'k', v: 1 }, 'answered at once with the stale value');
  assert.equal(calls, 2, 'the first refresh attempt ran');
  assert.equal(cache.stats().inflight, 1, 'the refresh goes on in the background');
  assert.equal(rejected.length, 0, 'not rejected yet: retries remain');
  // More readers during the retries: stale at once, no new load.
  assert.deepEqual(await settledNow(Promise.all([cache.get('k'), cache.get('k')])), [{ key: 'k', v: 1 }, { key: 'k', v: 1 }]);
  assert.equal(calls, 2);

  await clock.advanceAsync(1000);
  assert.equal(calls, 3);
  await clock.advanceAsync(1000);
  await flush();
  assert.equal(calls, 4, 'three attempts in all');
  assert.equal(rejected.length, 1, 'the refresh is reported once, when its retries are exhausted');
  assert.equal(rejected[0]?.stale, true);
  assert.equal(cache.status().failing, 1);
  assert.equal(cache.stats().staleServes, 3);
  await cache.close();
});

test('a reader with nothing stale to serve, or with stale serving off, waits for every retry', async () => {
  const clock = new FakeClock();
  let calls = 0;
  let fail = false;
  const cache = reloadableCache({
    name: 'waits',
    clock,
    ttlMs: 100,
    serveStaleOnError: false,
    retry: { retries: 1, minTimeout: 1000 },
    load: async () => {
      calls += 1;
      if (fail) throw new Error('backend down');
      return calls;
    },
  });
  assert.equal(await cache.get('k'), 1);
  fail = true;
  await clock.advanceAsync(500);
  const expired = cache.get('k');
  const cold = cache.get('cold');
  assert.equal(await settledNow(expired), 'waiting', 'stale serving is off: the reader waits');
  assert.equal(await settledNow(cold), 'waiting', 'nothing stale to serve: the reader waits');
  await clock.advanceAsync(1000);
  await assert.rejects(expired, { code: 'RELOADKIT_LOAD', message: /load failed after 2 attempts \(key sha256:[0-9a-f]{64}\): backend down/ });
  await assert.rejects(cold, { code: 'RELOADKIT_LOAD' });
  await cache.close();
});

test('a stampede of cold reads is one load, and every reader shares one promise', async () => {
  let loads = 0;
  const gate = deferred<void>();
  const cache = reloadableCache({
    name: 'shared',
    retry: false,
    load: async () => {
      loads += 1;
      await gate.promise;
      return { n: loads };
    },
  });
  const reads = Array.from({ length: 10_000 }, () => cache.get('hot'));
  assert.equal(new Set(reads).size, 1, 'one promise for every reader of the flight, not one async frame each');
  gate.resolve();
  const values = await Promise.all(reads);
  assert.equal(loads, 1);
  assert.ok(values.every((v) => v === values[0]));
  assert.equal(cache.stats().misses, 10_000);
  await cache.close();
});

test('the cache and the unit agree: an empty hash is rejected by both, and "closed" reads the same', async () => {
  const cache = reloadableCache({ name: 'same', retry: false, load: () => ({ a: 1 }), hash: () => '' });
  await assert.rejects(cache.get('k'), { code: 'RELOADKIT_VALIDATION', message: /empty string/ });
  const unit = reloadable({ name: 'same-unit', load: () => ({ a: 1 }), hash: () => '' });
  await assert.rejects(unit.start(), { code: 'RELOADKIT_VALIDATION', message: /empty string/ });
  await unit.close().catch(() => undefined);
  await cache.close();
  await assert.rejects(cache.get('k'), { code: 'RELOADKIT_CLOSED', message: '[same] closed: get() after close()' });
  await assert.rejects(cache.reload(), { message: '[same] closed: reload() after close()' });
});

test('status().ready: false before start and after close, true once started (also when empty), without a load', async () => {
  let loads = 0;
  const cache = reloadableCache({ name: 'ready', retry: false, load: () => ++loads });
  assert.equal(cache.status().ready, false);
  await cache.start();
  assert.equal(cache.status().ready, true);
  assert.equal(loads, 0);
  await cache.close();
  assert.equal(cache.status().ready, false);
});

test('a dead backend sees a bounded number of loads: reads every 25 ms for 2 s make 6 loader calls, every read answered', async () => {
  const clock = new FakeClock();
  let calls = 0;
  const cache = reloadableCache({
    name: 'backoff',
    clock,
    ttlMs: 100,
    load: async () => {
      calls += 1;
      if (calls > 1) throw new Error('backend down');
      return { v: 1 };
    },
  }); // default retry (2 retries from 100 ms) and errorBackoffMs (1 s)
  await cache.get('k');
  const before = calls;
  let answered = 0;
  for (let t = 0; t < 2000; t += 25) {
    const value = await settledNow(cache.get('k'));
    assert.deepEqual(value, { v: 1 }, `answered at once at ${t} ms`);
    answered += 1;
    await clock.advanceAsync(25);
  }
  assert.equal(answered, 80);
  assert.equal(calls - before, 6, 'two refreshes of three attempts each, a backoff between them');
  await cache.close();
});
