import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reloadableCache } from '../../src/cache/index.js';
import { keyHash } from '../../src/cache/key-hash.js';
import type { AuditRecord } from '../../src/types.js';
import { flush } from './helpers.js';

const KEY = 'flag:KEYTEXT-dark-mode';

/** Runs a cache through a commit, a refresh, a failure, an eviction and a close; returns what it showed. */
async function exercise(keys: 'hash' | 'plain' | undefined) {
  const events: Array<{ event: string; key?: string; keyHash?: string }> = [];
  const audit: AuditRecord[] = [];
  let fail = false;
  const cache = reloadableCache({
    name: `keys-${keys ?? 'default'}`,
    retry: false,
    max: 1,
    ...(keys === undefined ? {} : { keys }),
    audit: (r) => void audit.push(r),
    dispose: () => undefined,
    load: (key: string) => {
      if (fail) throw new Error('backend down');
      return { on: key.length > 3 };
    },
  });
  for (const event of ['committed', 'unchanged', 'rejected', 'evicted', 'disposed'] as const) {
    cache.on(event, (e: { key?: string; keyHash?: string }) => events.push({ event, key: e.key, keyHash: e.keyHash }));
  }
  await cache.start();
  await cache.get(KEY);
  await cache.invalidate(KEY, { mode: 'refresh' }); // unchanged
  fail = true;
  await cache.invalidate(KEY, { mode: 'refresh' }); // rejected, kept
  const cold = await cache.get(`${KEY}-cold`).catch((error: Error) => error);
  fail = false;
  await cache.get(`${KEY}-2`); // evicts KEY (max 1)
  await flush();
  const external = JSON.stringify({ status: cache.status(), stats: cache.stats(), inspect: cache.inspect(`${KEY}-2`), audit, cold: (cold as Error).message });
  await cache.close();
  return { events, external };
}

test("keys: 'plain' puts the key in in-process events; status, stats, inspect, audit and errors still name it by hash only", async () => {
  const { events, external } = await exercise('plain');
  for (const event of ['committed', 'unchanged', 'rejected', 'evicted', 'disposed']) {
    const e = events.find((x) => x.event === event && x.keyHash === keyHash(KEY));
    assert.ok(e, `a ${event} event for the key`);
    assert.equal(e.key, KEY, `${event} carries the key`);
  }
  assert.ok(!external.includes('KEYTEXT'), 'no external surface shows the key');
  assert.ok(external.includes(keyHash(KEY)), 'they name it by its hash');
});

test("keys: 'hash' (default) keeps the key out of events too", async () => {
  for (const keys of [undefined, 'hash'] as const) {
    const { events, external } = await exercise(keys);
    assert.ok(events.length >= 5);
    assert.ok(events.every((e) => e.key === undefined && typeof e.keyHash === 'string'));
    assert.ok(!external.includes('KEYTEXT'));
  }
  assert.throws(() => reloadableCache({ name: 'x', load: () => 1, keys: 'clear' as never }), /`keys` to be 'hash' or 'plain'/);
});
