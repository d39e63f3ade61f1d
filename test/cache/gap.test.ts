import { test } from 'node:test';
import assert from 'node:assert/strict';
import { invalidationTrigger, reloadableCache } from '../../src/cache/index.js';
import { FakeClock } from '../../src/testing/clock.js';
import type { AuditRecord, Hint } from '../../src/types.js';
import { countingLoad, deferred, flush, hintTrigger } from './helpers.js';
import { waitFor } from '../helpers/wait.js';

test('invalidate({ loadedBefore }) selects exactly the entries last loaded before that time, in both modes', async () => {
  const clock = new FakeClock();
  const { loads, count, load } = countingLoad();
  const records: AuditRecord[] = [];
  const cache = reloadableCache({ name: 'epoch', clock, retry: false, load, audit: (r) => void records.push(r) });
  await cache.get('old:1');
  await cache.get('old:2');
  await clock.advanceAsync(100);
  const cut = clock.now();
  await cache.get('new:1'); // loaded at the cut: not before it
  await clock.advanceAsync(100);
  await cache.get('new:2');
  const keys = ['old:1', 'old:2', 'new:1', 'new:2'];

  assert.deepEqual(await cache.invalidate({ loadedBefore: cut }, { mode: 'refresh' }), { invalidated: 2 });
  assert.deepEqual(count(keys), { 'old:1': 2, 'old:2': 2, 'new:1': 1, 'new:2': 1 });
  assert.equal((await cache.get('old:1')).n, 2, 'refreshed in place');

  // The refresh renewed old:* (loaded now); only an unchanged confirmation also counts as a load.
  await clock.advanceAsync(100);
  assert.deepEqual(await cache.invalidate({ loadedBefore: cut + 1 }, { mode: 'drop' }), { invalidated: 1 });
  assert.equal(cache.has('new:1'), false);
  assert.equal(cache.has('new:2'), true);
  assert.equal(loads.get('new:1'), 1, 'drop loads nothing');
  const audit = records.filter((r) => r.action === 'invalidate');
  assert.deepEqual(audit[0]?.detail, { mode: 'refresh', scope: 'loaded-before', loadedBefore: cut, invalidated: 2, committed: 2, unchanged: 0, rejected: 0 });
  assert.equal(audit[1]?.detail?.scope, 'loaded-before');
  await assert.rejects(cache.invalidate({ loadedBefore: 'yesterday' as never }), /`loadedBefore`/);
  await cache.close();
});

test('loadedBefore counts a running load by its start: one started after the cut is left alone, one before is superseded', async () => {
  const clock = new FakeClock();
  const gates: Array<ReturnType<typeof deferred<void>>> = [];
  let version = 1;
  const cache = reloadableCache({
    name: 'running',
    clock,
    retry: false,
    load: async (key: string) => {
      const v = version;
      const gate = deferred<void>();
      gates.push(gate);
      await gate.promise;
      return { key, v };
    },
  });
  const early = cache.get('early'); // starts before the cut
  await flush();
  await clock.advanceAsync(50);
  const cut = clock.now();
  const late = cache.get('late'); // starts at the cut
  await flush();
  version = 2;
  const invalidating = cache.invalidate({ loadedBefore: cut }, { mode: 'drop' });
  assert.deepEqual(await invalidating, { invalidated: 1 });
  gates[0]?.resolve(); // the superseded early load answers late: not committed, its waiter asks again
  gates[1]?.resolve();
  await flush();
  assert.equal(gates.length, 3);
  gates[2]?.resolve();
  assert.deepEqual(await early, { key: 'early', v: 2 });
  assert.deepEqual(await late, { key: 'late', v: 1 }, 'a load started at the cut is kept');
  await cache.close();
});

test('without hintsToKeys a trigger hint invalidates its own keys, prefix or all', async () => {
  const trigger = hintTrigger();
  const { count, load } = countingLoad();
  const cache = reloadableCache({ name: 'defaults', retry: false, load, invalidateOn: [invalidationTrigger({ from: trigger, mode: 'refresh' })] });
  await cache.start();
  const keys = ['a:1', 'a:2', 'b:1', 'c:1'];
  for (const k of keys) await cache.get(k);

  trigger.fire({ kind: 'bus', keys: ['a:1', 'c:1'] });
  await waitFor(() => count(keys)['c:1'] === 2, { message: 'keys refreshed' });
  assert.deepEqual(count(keys), { 'a:1': 2, 'a:2': 1, 'b:1': 1, 'c:1': 2 });
  trigger.fire({ kind: 'bus', prefix: 'a:' });
  await waitFor(() => count(keys)['a:2'] === 2, { message: 'prefix refreshed' });
  assert.deepEqual(count(keys), { 'a:1': 3, 'a:2': 2, 'b:1': 1, 'c:1': 2 });
  trigger.fire({ kind: 'bus', all: true });
  await waitFor(() => count(keys)['b:1'] === 2, { message: 'all refreshed' });
  assert.deepEqual(count(keys), { 'a:1': 4, 'a:2': 3, 'b:1': 2, 'c:1': 3 });
  trigger.fire({ kind: 'bus', detail: 'a:1' }); // no keys, no prefix, no all: nothing
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(count(keys), { 'a:1': 4, 'a:2': 3, 'b:1': 2, 'c:1': 3 });
  await cache.close();
});

test("onGap 'refresh-stale' (default): entries loaded before gap.since refresh in place, once each; newer ones are untouched", async () => {
  const clock = new FakeClock();
  const trigger = hintTrigger();
  const { count, load } = countingLoad();
  const records: AuditRecord[] = [];
  const cache = reloadableCache({
    name: 'gaps',
    clock,
    retry: false,
    load,
    audit: (r) => void records.push(r),
    invalidateOn: [invalidationTrigger({ from: trigger, mode: 'refresh' })],
  });
  await cache.start();
  await cache.get('k:1');
  await cache.get('k:2');
  await cache.get('named');
  await clock.advanceAsync(1000);
  const since = clock.now();
  await cache.get('after');
  const keys = ['k:1', 'k:2', 'named', 'after'];
  const before = await cache.get('k:1');

  // The hint names one key and reports a gap: that key loads once (not twice), the rest by onGap.
  trigger.fire({ kind: 'bus', keys: ['named'], gap: { since, reason: 'sequence' } });
  await waitFor(() => count(keys)['k:2'] === 2 && count(keys)['named'] === 2, { message: 'gap repaired' });
  await flush();
  assert.deepEqual(count(keys), { 'k:1': 2, 'k:2': 2, named: 2, after: 1 });
  assert.notEqual(await cache.get('k:1'), before, 'refreshed in place (never dropped)');
  const repair = records.find((r) => r.action === 'invalidate' && r.reason === 'gap sequence');
  assert.deepEqual(repair?.detail, { mode: 'refresh', scope: 'loaded-before', loadedBefore: since, gap: 'sequence', invalidated: 2, committed: 2, unchanged: 0, rejected: 0 });

  // A gap-only hint (a reconnect) with a since before everything: nothing to repair.
  trigger.fire({ kind: 'bus', gap: { since: since - 10_000, reason: 'reconnect' } });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(count(keys), { 'k:1': 2, 'k:2': 2, named: 2, after: 1 });
  await cache.close();
});

test("onGap 'drop-all', 'refresh-all' and a function; applyHint applies the same policy", async () => {
  for (const policy of ['drop-all', 'refresh-all'] as const) {
    const { count, load } = countingLoad();
    const cache = reloadableCache({ name: policy, retry: false, load, onGap: policy });
    await cache.get('x');
    await cache.get('y');
    await cache.applyHint({ kind: 'bus', gap: { since: 0, reason: 'publisher-restart' } });
    if (policy === 'drop-all') {
      assert.equal(cache.size, 0);
      assert.deepEqual(count(['x', 'y']), { x: 1, y: 1 });
    } else {
      assert.equal(cache.size, 2);
      assert.deepEqual(count(['x', 'y']), { x: 2, y: 2 });
    }
    await cache.close();
  }
  const gaps: Array<NonNullable<Hint['gap']>> = [];
  const { count, load } = countingLoad();
  const errors: string[] = [];
  let fail = false;
  const cache = reloadableCache({
    name: 'custom',
    retry: false,
    load,
    onGap: (gap) => {
      gaps.push(gap);
      if (fail) throw new Error('repair failed');
    },
  });
  cache.on('error', (e) => errors.push(e.where));
  await cache.get('x');
  await cache.applyHint({ kind: 'bus', keys: ['x'], gap: { since: 5, reason: 'reconnect' } }, { mode: 'refresh' });
  assert.deepEqual(gaps, [{ since: 5, reason: 'reconnect' }]);
  assert.deepEqual(count(['x']), { x: 2 }, 'the named key is still invalidated; the policy does the rest');
  fail = true;
  await cache.applyHint({ kind: 'bus', gap: { since: 6, reason: 'sequence' } });
  assert.deepEqual(errors, ['onGap']);
  await cache.close();
  assert.throws(() => reloadableCache({ name: 'bad', load, onGap: 'drop' as never }), /`onGap`/);
});

test('reloadableCache rejects unknown option keys, naming the closest', () => {
  assert.throws(() => reloadableCache({ name: 'x', load: () => 1, ttl: 5 } as never), /unknown option `ttl`; did you mean `ttlMs`\?/);
  assert.throws(() => reloadableCache({ name: 'x', load: () => 1, ongap: 'drop-all' } as never), /did you mean `onGap`/);
  assert.throws(() => invalidationTrigger({ from: hintTrigger(), hintToKeys: () => null } as never), /invalidationTrigger: unknown option `hintToKeys`; did you mean `hintsToKeys`\?/);
});

test('invalidate() rejects unknown option keys', async () => {
  const cache = reloadableCache({ name: 'x', retry: false, load: () => 1 });
  await assert.rejects(cache.invalidate('k', { mod: 'refresh' } as never), /invalidate: unknown option `mod`; did you mean `mode`\?/);
  await cache.close();
});

test('loadedBefore: an old entry whose refresh started after the cut is left to that refresh', async () => {
  const clock = new FakeClock();
  const gates: Array<ReturnType<typeof deferred<void>>> = [];
  let calls = 0;
  const cache = reloadableCache({
    name: 'refreshing',
    clock,
    retry: false,
    ttlMs: 100,
    staleWhileRevalidateMs: 10_000,
    load: async (key: string) => {
      calls += 1;
      if (calls > 2) {
        const gate = deferred<void>();
        gates.push(gate);
        await gate.promise;
      }
      return { key, calls };
    },
  });
  await cache.get('old');
  await cache.get('idle');
  await clock.advanceAsync(500);
  const cut = clock.now();
  await cache.get('old'); // stale: its background refresh starts at the cut
  assert.equal(cache.stats().inflight, 1);
  assert.deepEqual(await cache.invalidate({ loadedBefore: cut }, { mode: 'drop' }), { invalidated: 1 }, 'only the idle entry');
  assert.equal(cache.has('old'), true);
  assert.equal(cache.has('idle'), false);
  gates[0]?.resolve();
  await cache.close();
});

test('a hint naming many keys in refresh mode, with a gap: every key loads once, under any policy', async () => {
  for (const onGap of ['refresh-stale', 'refresh-all'] as const) {
    const clock = new FakeClock();
    const { count, load } = countingLoad();
    const cache = reloadableCache({ name: `many-${onGap}`, clock, retry: false, refreshConcurrency: 2, load, onGap });
    const keys = Array.from({ length: 12 }, (_, i) => `k:${i}`);
    for (const k of keys) await cache.get(k);
    await clock.advanceAsync(10);
    await cache.applyHint({ kind: 'bus', keys: keys.slice(0, 10), gap: { since: clock.now(), reason: 'sequence' } }, { mode: 'refresh' });
    assert.deepEqual(Object.values(count(keys)), Array(12).fill(2), `${onGap}: the named keys once by the hint, the others once by the repair`);
    await cache.close();
  }
});
