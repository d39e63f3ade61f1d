import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { invalidationTrigger, reloadableCache } from '../../src/cache/index.js';
import { sha256 } from '../../src/support/hash.js';
import type { AuditRecord } from '../../src/types.js';
import { memberHooks } from '../../src/core/member.js';
import { FakeClock } from '../../src/testing/clock.js';
import { deferred, flush } from './helpers.js';

test('1,000 concurrent gets of one cold key cause exactly one load', async () => {
  let loads = 0;
  const gate = deferred<void>();
  const cache = reloadableCache({
    name: 'cold',
    load: async (key) => {
      loads += 1;
      await gate.promise;
      return { key, n: loads };
    },
  });
  const gets = Array.from({ length: 1000 }, () => cache.get('hot'));
  await flush();
  assert.equal(cache.status().inflight, 1);
  gate.resolve();
  const values = await Promise.all(gets);
  assert.equal(loads, 1);
  assert.ok(values.every((v) => v === values[0]), 'every caller receives the same entry');
  assert.deepEqual(values[0], { key: 'hot', n: 1 });
  assert.equal(cache.status().misses, 1000);
  // Now warm: more gets are hits and load nothing.
  await Promise.all(Array.from({ length: 100 }, () => cache.get('hot')));
  assert.equal(loads, 1);
  assert.equal(cache.status().hits, 100);
  await cache.close();
});

test('stale-while-revalidate: a stale entry is served at once and refreshed once in the background', async () => {
  const clock = new FakeClock();
  let version = 1;
  let loads = 0;
  const cache = reloadableCache({
    name: 'swr',
    clock,
    retry: false,
    ttlMs: 1000,
    staleWhileRevalidateMs: 5000,
    load: async () => {
      loads += 1;
      return { version };
    },
  });
  assert.deepEqual(await cache.get('k'), { version: 1 });
  version = 2;
  await clock.advanceAsync(1500); // stale, inside the SWR window
  const stale = await Promise.all([cache.get('k'), cache.get('k'), cache.get('k')]);
  assert.deepEqual(stale, [{ version: 1 }, { version: 1 }, { version: 1 }]);
  assert.equal(cache.stats().staleServes, 3);
  await flush();
  assert.equal(loads, 2, 'one background refresh for three stale reads');
  assert.deepEqual(await cache.get('k'), { version: 2 });
  assert.equal(cache.getSync('k')?.version, 2);
  await cache.close();
});

test('a failing refresh serves the stale value and reports it in status, events and audit', async () => {
  const clock = new FakeClock();
  let fail = false;
  const records: AuditRecord[] = [];
  const cache = reloadableCache({
    name: 'sessions',
    clock,
    retry: false,
    ttlMs: 1000,
    errorBackoffMs: 10_000,
    audit: (r) => {
      records.push(r);
    },
    load: async (key) => {
      if (fail) throw new Error('backend down');
      return { owner: key.toUpperCase() };
    },
  });
  await cache.start();
  const secretKey = 'session:alice@example.com';
  assert.deepEqual(await cache.get(secretKey), { owner: secretKey.toUpperCase() });
  const rejected: Array<{ keyHash: string; stage: string; stale: boolean; error: Error & { code?: string } }> = [];
  cache.on('rejected', (e) => rejected.push(e));
  fail = true;
  await clock.advanceAsync(5000); // expired (no SWR window): get waits for the refresh
  assert.deepEqual(await cache.get(secretKey), { owner: secretKey.toUpperCase() }, 'stale value served on error');

  assert.equal(rejected.length, 1);
  assert.equal(rejected[0]?.keyHash, sha256(secretKey));
  assert.equal(rejected[0]?.stage, 'load');
  assert.equal(rejected[0]?.stale, true);
  assert.equal(rejected[0]?.error.code, 'RELOADKIT_LOAD');
  assert.ok(!rejected[0]?.error.message.includes(secretKey), 'the error names the key by its hash only');

  const status = cache.status();
  assert.equal(status.state, 'degraded');
  assert.equal(status.failing, 1);
  assert.equal(status.stale, 1);
  assert.equal(status.size, 1);
  assert.equal(status.lastAttempt?.outcome, 'rejected');
  assert.equal(status.lastAttempt?.stage, 'load');
  assert.ok(status.staleServes >= 1);
  const json = JSON.stringify(status);
  assert.ok(!json.includes('alice') && !json.includes('ALICE'), 'status carries neither keys nor values');

  const audit = records.find((r) => r.outcome === 'rejected');
  assert.ok(audit, 'the failure is audited');
  assert.equal(audit.action, 'reload');
  assert.equal(audit.detail?.keyHash, sha256(secretKey));
  assert.equal(audit.error?.code, 'RELOADKIT_LOAD');
  assert.ok(!JSON.stringify(records).toLowerCase().includes('alice'), 'audit carries neither keys nor values');

  // Inside the error backoff the stale entry is served without hammering the backend.
  assert.deepEqual(await cache.get(secretKey), { owner: secretKey.toUpperCase() });
  assert.equal(rejected.length, 1);

  // Recovery: after the backoff the next read refreshes and the entry is healthy again.
  fail = false;
  await clock.advanceAsync(10_000);
  await cache.get(secretKey);
  await flush();
  assert.equal(cache.status().failing, 0);
  assert.equal(cache.status().state, 'ready');
  await cache.close();
});

test('without serveStaleOnError an expired entry whose refresh fails rejects', async () => {
  const clock = new FakeClock();
  let fail = false;
  const cache = reloadableCache({
    name: 'strict',
    clock,
    retry: false,
    ttlMs: 10,
    serveStaleOnError: false,
    load: async () => {
      if (fail) throw new Error('nope');
      return 1;
    },
  });
  assert.equal(await cache.get('a'), 1);
  fail = true;
  await clock.advanceAsync(20);
  await assert.rejects(cache.get('a'), { code: 'RELOADKIT_LOAD' });
  await cache.close();
});

test('an invalid entry never replaces a valid one', async () => {
  let raw: unknown = { port: 8080 };
  const cache = reloadableCache({
    name: 'ports',
    retry: false,
    schema: z.object({ port: z.number().int() }),
    load: async () => raw,
  });
  assert.deepEqual(await cache.get('svc'), { port: 8080 });
  const before = cache.inspect('svc');
  raw = { port: 'eighty' };
  const rejected: string[] = [];
  cache.on('rejected', (e) => rejected.push(e.stage));
  const { invalidated } = await cache.invalidate('svc', { mode: 'refresh' });
  assert.equal(invalidated, 1);
  assert.deepEqual(rejected, ['validate']);
  assert.deepEqual(await cache.get('svc'), { port: 8080 }, 'the valid entry is still served');
  assert.equal(cache.inspect('svc')?.hash, before?.hash);
  assert.equal(cache.inspect('svc')?.failing, true);

  // A cold key whose only candidate is invalid rejects with a ValidationError (dotted paths).
  await assert.rejects(cache.get('other'), (error: Error & { code?: string; issues?: Array<{ path: string }> }) => {
    assert.equal(error.code, 'RELOADKIT_VALIDATION');
    assert.equal(error.issues?.[0]?.path, 'port');
    return true;
  });
  assert.equal(cache.has('other'), false);

  // reload() reports the rejection without throwing.
  const result = await cache.reload();
  assert.equal(result.status, 'rejected');
  assert.equal(result.ok, false);
  assert.equal(result.stage, 'validate');
  assert.deepEqual(result.keys, { total: 1, committed: 0, unchanged: 0, rejected: 1 });
  await cache.close();
});

test('an unchanged reload keeps the entry and does not call dispose; a changed one does', async () => {
  let value = { v: 1 };
  const disposed: unknown[] = [];
  const cache = reloadableCache({
    name: 'dedupe',
    retry: false,
    load: async () => ({ ...value }),
    dispose: (v) => {
      disposed.push(v);
    },
  });
  const first = await cache.get('k');
  const unchanged = await cache.reload();
  assert.equal(unchanged.status, 'unchanged');
  assert.equal(await cache.get('k'), first, 'same entry object kept');
  assert.equal(disposed.length, 0);

  value = { v: 2 };
  const committed = await cache.reload();
  assert.equal(committed.status, 'committed');
  assert.equal(committed.generation, 2);
  assert.equal(committed.previous, 1);
  assert.deepEqual(await cache.get('k'), { v: 2 });
  await waitUntil(() => disposed.length === 1);
  assert.equal(disposed[0], first, 'the replaced entry is disposed');

  const forced = await cache.reload({ force: true });
  assert.equal(forced.status, 'committed', 'force bypasses dedupe');
  await cache.close();
  assert.equal(disposed.length, 3, 'every committed entry disposed exactly once');
});

test('LRU bound: least recently used entries are evicted and disposed, each once', async () => {
  const disposed: string[] = [];
  let loads = 0;
  const cache = reloadableCache({
    name: 'lru',
    max: 3,
    retry: false,
    load: async (key) => {
      loads += 1;
      return { key };
    },
    dispose: (v) => {
      disposed.push(v.key);
    },
  });
  for (const k of ['a', 'b', 'c']) await cache.get(k);
  await cache.get('a'); // a is now most recent; b is the oldest
  await cache.get('d');
  await cache.get('e');
  assert.equal(cache.size, 3);
  assert.deepEqual([...['a', 'b', 'c', 'd', 'e']].filter((k) => cache.has(k)), ['a', 'd', 'e']);
  await waitUntil(() => disposed.length === 2);
  assert.deepEqual(disposed.sort(), ['b', 'c']);
  assert.equal(cache.stats().evictions, 2);
  assert.equal(loads, 5);
  await cache.close();
  assert.deepEqual(disposed.sort(), ['a', 'b', 'c', 'd', 'e']);
});

test('drain then dispose: a leased entry is disposed only after its lease ends, or when its drain times out', async () => {
  const clock = new FakeClock();
  const disposed: string[] = [];
  let version = 0;
  const cache = reloadableCache({
    name: 'pool',
    clock,
    retry: false,
    drainTimeoutMs: 1000,
    load: async (key) => ({ key, version: ++version }),
    dispose: (v) => {
      disposed.push(`${v.key}@${v.version}`);
    },
  });
  // use(): the entry is replaced while fn runs; dispose waits for fn.
  const inside = deferred<void>();
  const leaving = deferred<void>();
  const used = cache.use('a', async (v) => {
    inside.resolve();
    await leaving.promise;
    return v.version;
  });
  await inside.promise;
  await cache.invalidate('a', { mode: 'refresh' }); // replaces a@1 with a@2
  await flush();
  assert.deepEqual(disposed, [], 'still leased');
  assert.equal(cache.status().draining, 1);
  assert.equal(cache.status().leases, 1);
  leaving.resolve();
  assert.equal(await used, 1);
  await waitUntil(() => disposed.length === 1);
  assert.deepEqual(disposed, ['a@1']);

  // acquire() without release: the drain timeout disposes it, once; the late release is harmless.
  const lease = await cache.acquire('a');
  const timeouts: number[] = [];
  cache.on('drain-timeout', (e) => timeouts.push(e.leases));
  await cache.invalidate('a', { mode: 'drop' });
  await flush();
  assert.equal(disposed.length, 1);
  await clock.advanceAsync(1000);
  await waitUntil(() => disposed.length === 2);
  assert.deepEqual(timeouts, [1]);
  assert.deepEqual(disposed, ['a@1', 'a@2']);
  lease.release();
  lease.release();
  await flush();
  assert.equal(disposed.length, 2, 'never disposed twice');
  await cache.close();
});

test('invalidate(key) and invalidate({ prefix }) in drop and refresh modes, counting loads', async () => {
  const loads = new Map<string, number>();
  const cache = reloadableCache({
    name: 'users',
    retry: false,
    load: async (key) => {
      loads.set(key, (loads.get(key) ?? 0) + 1);
      return { key, n: loads.get(key) };
    },
  });
  const keys = ['user:1', 'user:2', 'user:10', 'team:1', 'team:2'];
  for (const k of keys) await cache.get(k);
  const count = () => Object.fromEntries(keys.map((k) => [k, loads.get(k) ?? 0]));

  // drop one key: nothing loads until it is read again
  assert.deepEqual(await cache.invalidate('user:2', { mode: 'drop' }), { invalidated: 1 });
  assert.equal(cache.has('user:2'), false);
  assert.deepEqual(count(), { 'user:1': 1, 'user:2': 1, 'user:10': 1, 'team:1': 1, 'team:2': 1 });
  await cache.get('user:2');
  assert.equal(loads.get('user:2'), 2);

  // refresh a prefix: exactly the matching keys reload, in place
  assert.deepEqual(await cache.invalidate({ prefix: 'user:1' }, { mode: 'refresh' }), { invalidated: 2 });
  assert.deepEqual(count(), { 'user:1': 2, 'user:2': 2, 'user:10': 2, 'team:1': 1, 'team:2': 1 });
  assert.equal((await cache.get('user:10')).n, 2);

  // drop a prefix
  assert.deepEqual(await cache.invalidate({ prefix: 'team:' }), { invalidated: 2 });
  assert.equal(cache.size, 3);

  // a key that is not cached invalidates nothing and loads nothing
  assert.deepEqual(await cache.invalidate('nobody', { mode: 'refresh' }), { invalidated: 0 });
  assert.equal(loads.get('nobody'), undefined);

  // all, refresh: every present key reloads once
  assert.deepEqual(await cache.invalidateAll({ mode: 'refresh', actor: 'ops', reason: 'test' }), { invalidated: 3 });
  assert.deepEqual(count(), { 'user:1': 3, 'user:2': 3, 'user:10': 3, 'team:1': 1, 'team:2': 1 });
  // all, drop
  assert.deepEqual(await cache.invalidateAll(), { invalidated: 3 });
  assert.equal(cache.size, 0);
  const stats = cache.stats();
  assert.deepEqual(stats.invalidations, { drop: 6, refresh: 5 });
  await cache.close();
});

test('an invalidation supersedes a load that began before it: waiters get data loaded after it', async () => {
  let version = 1;
  const gates: Array<ReturnType<typeof deferred<void>>> = [];
  const cache = reloadableCache({
    name: 'race',
    retry: false,
    load: async () => {
      const v = version;
      const gate = deferred<void>();
      gates.push(gate);
      await gate.promise;
      return { v };
    },
  });
  const pending = cache.get('k');
  await flush();
  version = 2;
  assert.deepEqual(await cache.invalidate('k', { mode: 'drop' }), { invalidated: 1 });
  gates[0]?.resolve(); // the old load answers late: its result must not be committed
  await flush();
  assert.equal(gates.length, 2, 'the waiter asked again');
  gates[1]?.resolve();
  assert.deepEqual(await pending, { v: 2 });
  assert.deepEqual(await cache.get('k'), { v: 2 });
  await cache.close();
});

test('audit: invalidations are audited with actor and key hash; a registry sink attaches through the member protocol', async () => {
  const own: AuditRecord[] = [];
  const registrySink: AuditRecord[] = [];
  const cache = reloadableCache({ name: 'audited', retry: false, load: async (k) => k.length, audit: (r) => void own.push(r) });
  const detach = memberHooks(cache)!.attachAudit!((r) => void registrySink.push(r));
  await cache.get('secret-key-1');
  await cache.invalidate('secret-key-1', { mode: 'drop', actor: 'alice', reason: 'rotated' });
  await cache.invalidate({ prefix: 'secret-' }, { mode: 'refresh', actor: 'bob' });
  detach();
  await cache.invalidateAll({ actor: 'carol' });
  assert.equal(own.length, 3);
  assert.equal(registrySink.length, 2);
  const [drop, prefix, all] = own;
  assert.equal(drop?.action, 'invalidate');
  assert.equal(drop?.actor, 'alice');
  assert.equal(drop?.reason, 'rotated');
  assert.equal(drop?.outcome, 'committed');
  assert.deepEqual(drop?.detail, { mode: 'drop', scope: 'key', keyHash: sha256('secret-key-1'), invalidated: 1 });
  assert.equal(prefix?.detail?.prefixHash, sha256('secret-'));
  assert.equal(prefix?.outcome, 'unchanged', 'nothing matched');
  assert.equal(all?.detail?.scope, 'all');
  assert.ok(!JSON.stringify(own).includes('secret-key'), 'no key in audit');
  await cache.close();
});

test('retry and timeout: a load is retried, and a hung load times out as a TimeoutError of stage load', async () => {
  let calls = 0;
  const cache = reloadableCache({
    name: 'flaky',
    retry: { retries: 2, minTimeout: 1 },
    load: async () => {
      calls += 1;
      if (calls < 3) throw new Error('transient');
      return 'ok';
    },
  });
  assert.equal(await cache.get('k'), 'ok');
  assert.equal(calls, 3);
  await cache.close();

  const hung = reloadableCache({
    name: 'hung',
    retry: false,
    timeouts: { load: 20 },
    load: (_key, { signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
  });
  await assert.rejects(hung.get('k'), (error: Error & { code?: string; stage?: string }) => {
    assert.equal(error.code, 'RELOADKIT_TIMEOUT');
    assert.equal(error.stage, 'load');
    return true;
  });
  await hung.close();
});

test('failure is contained: throwing listeners, dispose and audit sinks become error events', async () => {
  const errors: string[] = [];
  const cache = reloadableCache({
    name: 'contained',
    retry: false,
    max: 1,
    load: async (k) => k,
    dispose: () => {
      throw new Error('dispose failed');
    },
    audit: () => {
      throw new Error('sink failed');
    },
  });
  cache.on('error', (e) => errors.push(e.where));
  cache.on('committed', () => {
    throw new Error('listener failed');
  });
  assert.equal(await cache.get('a'), 'a');
  assert.equal(await cache.get('b'), 'b'); // evicts a: dispose throws
  await cache.invalidate('b'); // audit sink throws
  await waitUntil(() => errors.includes('dispose'));
  assert.ok(errors.includes('listener:committed'));
  assert.ok(errors.includes('audit'));
  await cache.close();
});

test('lifecycle: start is idempotent, status is JSON-safe, close disposes everything and later calls fail with ClosedError', async () => {
  const disposed: string[] = [];
  const cache = reloadableCache({ name: 'life', retry: false, load: async (k) => ({ k }), dispose: (v) => void disposed.push(v.k) });
  assert.equal(cache.status().state, 'initializing');
  const p1 = cache.start();
  assert.equal(cache.start(), p1);
  await p1;
  await cache.get('x');
  await cache.get('y');
  const status = cache.status();
  assert.equal(status.state, 'ready');
  assert.equal(status.kind, 'cache');
  assert.equal(status.generation, 2, 'one generation per commit; starting commits nothing');
  assert.equal(status.ready, true, 'an empty or filled started cache is ready');
  assert.deepEqual(JSON.parse(JSON.stringify(status)), status);
  await cache.close();
  await cache.close();
  assert.deepEqual(disposed.sort(), ['x', 'y']);
  assert.equal(cache.status().state, 'closed');
  await assert.rejects(cache.get('x'), { code: 'RELOADKIT_CLOSED' });
  await assert.rejects(cache.reload(), { code: 'RELOADKIT_CLOSED' });
  await assert.rejects(cache.invalidate('x'), { code: 'RELOADKIT_CLOSED' });
});

test('invalid options and targets throw precise TypeErrors', async () => {
  const load = async () => 1;
  assert.throws(() => reloadableCache({ name: '', load }), /`name`/);
  assert.throws(() => reloadableCache({ name: 'x', load: 'nope' as never }), /`load`/);
  assert.throws(() => reloadableCache({ name: 'x', load, max: 0 }), /`max`/);
  assert.throws(() => reloadableCache({ name: 'x', load, ttlMs: -1 }), /`ttlMs`/);
  assert.throws(() => reloadableCache({ name: 'x', load, schema: {} as never }), /Standard Schema/);
  assert.throws(() => reloadableCache({ name: 'x', load, retry: -1 }), /`retry`/);
  assert.throws(() => reloadableCache({ name: 'x', load, timeouts: { load: 0 } }), /`timeouts.load`/);
  assert.throws(() => reloadableCache({ name: 'x', load, invalidateOn: [{ from: {} as never, hintsToKeys: () => null }] }), /Trigger/);
  const cache = reloadableCache({ name: 'x', load });
  await assert.rejects(cache.invalidate(42 as never), TypeError);
  await assert.rejects(cache.invalidate({ prefix: '' }), /invalidateAll/);
  await assert.rejects(cache.invalidate('k', { mode: 'nuke' as never }), /`mode`/);
  await assert.rejects(cache.get(7 as never), TypeError);
  await cache.close();
});

async function waitUntil(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('close() waits for leased entries to drain before disposing them', async () => {
  const disposed: string[] = [];
  const cache = reloadableCache({ name: 'closing', retry: false, load: async (k: string) => ({ k }), dispose: (v) => void disposed.push(v.k) });
  await cache.get('free');
  const lease = await cache.acquire('held');
  let closed = false;
  const closing = cache.close().then(() => {
    closed = true;
  });
  await flush();
  assert.deepEqual(disposed, ['free'], 'the unleased entry is disposed at once');
  assert.equal(closed, false, 'close() waits for the lease');
  assert.equal(cache.status().draining, 1);
  lease[Symbol.dispose]();
  await closing;
  assert.deepEqual(disposed, ['free', 'held']);
});

test('reload() refreshes every present key with bounded parallelism', async () => {
  let running = 0;
  let peak = 0;
  let version = 1;
  const cache = reloadableCache({
    name: 'bounded',
    retry: false,
    refreshConcurrency: 3,
    load: async (k: string) => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 2));
      running -= 1;
      return { k, version };
    },
  });
  for (let i = 0; i < 20; i++) await cache.get(`k${i}`);
  peak = 0;
  version = 2;
  const result = await cache.reload({ reason: 'test' });
  assert.equal(result.status, 'committed');
  assert.deepEqual(result.keys, { total: 20, committed: 20, unchanged: 0, rejected: 0 });
  assert.equal(peak, 3);
  assert.equal((await cache.get('k7')).version, 2);
  await cache.close();
});

test('no key and no entry value ever leaves the cache: events, audit, status, stats, inspect, errors, hint-driven invalidations', async () => {
  const KEY = 'session:KEYSECRET-alice@example.com';
  const VALUE = 'VALUESECRET-tok_live_123';
  let mode: 'ok' | 'invalid' | 'throw' | 'hang' | 'changed' = 'ok';
  const out: string[] = [];
  const seen = (what: string, payload: unknown): void => {
    // Errors are serialized with their message, code and cause chain (what a log line would show).
    const text = JSON.stringify(payload, (_k, v: unknown) => (v instanceof Error ? { name: v.name, message: v.message, code: (v as { code?: string }).code, cause: (v as { cause?: unknown }).cause } : v));
    out.push(`${what}: ${text}`);
  };
  const hintTrigger = manualHintTrigger();
  const cache = reloadableCache({
    name: 'leaks',
    retry: false,
    max: 2,
    timeouts: { load: 30 },
    drainTimeoutMs: 20,
    schema: z.object({ token: z.string(), n: z.number() }),
    audit: (r) => seen('audit', r),
    dispose: () => undefined,
    invalidateOn: [invalidationTrigger({ from: hintTrigger, hintsToKeys: (hint) => hint.detail ?? null, mode: 'refresh' })],
    load: (key, { signal }) => {
      if (mode === 'throw') return Promise.reject(new Error('backend down'));
      if (mode === 'hang') return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
      if (mode === 'invalid') return { token: VALUE, n: `${VALUE}-as-n` };
      return { token: mode === 'changed' ? `${VALUE}-2` : VALUE, n: key.length };
    },
  });
  for (const event of ['committed', 'unchanged', 'rejected', 'invalidated', 'evicted', 'disposed', 'drain-timeout', 'error'] as const) {
    cache.on(event, (payload: unknown) => seen(`event ${event}`, payload));
  }
  await cache.start();
  const capture = async (what: string, op: () => Promise<unknown>): Promise<void> => {
    try {
      await op();
    } catch (error) {
      seen(what, error);
    }
  };
  assert.equal((await cache.get(KEY)).token, VALUE);
  seen('inspect', cache.inspect(KEY));
  await cache.invalidate(KEY, { mode: 'refresh' }); // unchanged
  mode = 'changed';
  await cache.invalidate(KEY, { mode: 'refresh' }); // committed, old entry retired
  mode = 'invalid';
  await cache.invalidate(KEY, { mode: 'refresh' }); // rejected at validate, served stale
  await capture('cold invalid', () => cache.get(`${KEY}-cold`));
  mode = 'throw';
  await capture('reload', () => cache.reload({ reason: 'test' }).then((r) => seen('reload result', r)));
  mode = 'hang';
  await capture('timeout', () => cache.get(`${KEY}-hang`));
  mode = 'ok';
  hintTrigger.fire({ kind: 'redis', detail: KEY });
  await waitUntil(() => out.some((l) => l.startsWith('audit') && l.includes('"trigger":{"kind":"redis"}')));
  const lease = await cache.acquire(`${KEY}-leased`);
  await cache.get(`${KEY}-evictor-1`);
  await cache.get(`${KEY}-evictor-2`); // evicts the leased entry: it drains, then times out
  await waitUntil(() => out.some((l) => l.startsWith('event drain-timeout')));
  lease.release();
  await cache.invalidate({ prefix: 'session:' }, { mode: 'drop' });
  await cache.invalidateAll({ mode: 'drop' });
  seen('status', cache.status());
  seen('stats', cache.stats());
  await cache.close();
  seen('closed status', cache.status());

  for (const kind of ['event committed', 'event unchanged', 'event rejected', 'event evicted', 'event disposed', 'event drain-timeout', 'audit', 'cold invalid', 'timeout', 'reload result']) {
    assert.ok(out.some((l) => l.startsWith(kind)), `the test exercised ${kind}`);
  }
  const leaks = out.filter((l) => l.includes('KEYSECRET') || l.includes('VALUESECRET'));
  assert.deepEqual(leaks, [], 'keys and values never appear outside the process');
});

/** A trigger fired by hand with any hint (the cache maps its detail to a key). */
function manualHintTrigger() {
  let fire: ((hint: { kind: string; detail?: string }) => void) | undefined;
  return {
    start(f: (hint: { kind: string; detail?: string }) => void) {
      fire = f;
    },
    stop() {
      fire = undefined;
    },
    fire(hint: { kind: string; detail?: string }) {
      fire?.(hint);
    },
  };
}
