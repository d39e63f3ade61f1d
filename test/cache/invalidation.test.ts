import { test } from 'node:test';
import assert from 'node:assert/strict';
import { invalidationTrigger, reloadableCache } from '../../src/cache/index.js';
import { createRegistry } from '../../src/compose/registry.js';
import { fakeSource } from '../../src/testing/fake-source.js';
import { fakeTrigger } from '../../src/testing/fake-trigger.js';
import type { AuditRecord } from '../../src/types.js';
import { waitFor } from '../helpers/wait.js';
import { countingLoad } from './helpers.js';

test('hints from a trigger invalidate exactly the keys hintsToKeys names', async () => {
  const trigger = fakeTrigger();
  const { loads, load } = countingLoad();
  const seen: Array<{ kind: string; detail?: string }> = [];
  const cache = reloadableCache({
    name: 'products',
    retry: false,
    load,
    invalidateOn: [
      invalidationTrigger({
        from: trigger,
        mode: 'refresh',
        hintsToKeys: (hint) => {
          seen.push(hint);
          if (hint.detail === 'everything') return 'all';
          if (hint.detail?.endsWith('*')) return { prefix: hint.detail.slice(0, -1) };
          return hint.detail?.split(',');
        },
      }),
    ],
  });
  assert.equal(trigger.started, false, 'not started before start()');
  await cache.start();
  assert.equal(trigger.started, true);
  for (const k of ['p:1', 'p:2', 'p:3', 'q:1']) await cache.get(k);

  trigger.fire({ kind: 'bus', detail: 'p:2,q:1' });
  await waitFor(() => loads.get('p:2') === 2 && loads.get('q:1') === 2, { message: 'targeted refresh' });
  trigger.fire({ kind: 'bus', detail: 'p:*' });
  await waitFor(() => loads.get('p:1') === 2 && loads.get('p:3') === 2 && loads.get('p:2') === 3, { message: 'prefix refresh' });
  assert.equal(loads.get('q:1'), 2, 'unrelated key not reloaded');
  trigger.fire({ kind: 'bus', detail: 'everything' });
  await waitFor(() => [...loads.values()].every((n) => n >= 3) && loads.get('p:2') === 4, { message: 'all refresh' });
  trigger.fire({ kind: 'bus' }); // maps to nothing
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(Object.fromEntries(loads), { 'p:1': 3, 'p:2': 4, 'p:3': 3, 'q:1': 3 });
  assert.equal(seen.length, 4);
  await cache.close();
  assert.equal(trigger.started, false, 'stopped by close()');
});

test('hints from a watchable source drop keys; a throwing hintsToKeys is an error event, not a crash', async () => {
  const source = fakeSource({ version: 1 }, { name: 'flags.json' });
  const { loads, load } = countingLoad();
  let throwNext = false;
  const cache = reloadableCache({
    name: 'flags',
    retry: false,
    load,
    invalidateOn: [
      invalidationTrigger({
        from: source,
        hintsToKeys: () => {
          if (throwNext) throw new Error('bad hint');
          return { prefix: 'flag:' };
        },
      }),
    ],
  });
  const errors: string[] = [];
  cache.on('error', (e) => errors.push(e.where));
  await cache.start();
  await cache.get('flag:a');
  await cache.get('other');
  source.set({ version: 2 });
  await waitFor(() => !cache.has('flag:a'), { message: 'dropped by the source hint' });
  assert.equal(cache.has('other'), true);
  assert.equal(loads.get('flag:a'), 1, 'drop mode loads nothing until the next read');
  throwNext = true;
  source.set({ version: 3 });
  await waitFor(() => errors.includes('invalidation'), { message: 'error event' });
  await cache.close();
  assert.equal(source.stats.watchers, 0, 'watch released by close()');
});

test('a cache is a registry member: status, reloadAll, audit sink, close', async () => {
  const records: AuditRecord[] = [];
  const registry = createRegistry({ audit: (r) => void records.push(r) });
  const { loads, load } = countingLoad();
  const cache = registry.add(reloadableCache({ name: 'users', retry: false, load }));
  await registry.start();
  const empty = registry.status();
  assert.equal(empty.ready, true, 'an empty started cache is ready');
  await cache.get('u:1');
  await cache.get('u:2');
  const status = registry.status().units.find((u) => u.name === 'users');
  assert.equal(status?.kind, 'cache');
  assert.equal(status?.size, 2);
  const all = await registry.reloadAll({ actor: 'ops', reason: 'test' });
  assert.equal(all.ok, true);
  assert.equal(all.results[0]?.unit, 'users');
  assert.deepEqual(Object.fromEntries(loads), { 'u:1': 2, 'u:2': 2 });
  await cache.invalidate('u:1', { actor: 'alice' });
  assert.ok(records.some((r) => r.unit === 'users' && r.action === 'reload' && r.actor === 'ops'));
  assert.ok(records.some((r) => r.unit === 'users' && r.action === 'invalidate' && r.actor === 'alice'));
  await registry.close();
  assert.equal(cache.status().state, 'closed');
});

test('a trigger that fails to start or stop is an error event; start() and close() still complete and the other triggers run', async () => {
  const broken = fakeTrigger({ startError: new Error('bus unreachable') });
  const working = fakeTrigger();
  const { loads, load } = countingLoad();
  const cache = reloadableCache({
    name: 'partial',
    retry: false,
    load,
    invalidateOn: [invalidationTrigger({ from: broken, hintsToKeys: () => 'all' }), invalidationTrigger({ from: working, mode: 'refresh', hintsToKeys: () => 'k' })],
  });
  const errors: string[] = [];
  cache.on('error', (e) => errors.push(`${e.where}: ${e.error.message}`));
  await cache.start();
  assert.deepEqual(errors, ['trigger.start: bus unreachable']);
  assert.equal(working.started, true);
  assert.equal(cache.status().ready, true);
  await cache.get('k');
  working.fire({ kind: 'bus' });
  await waitFor(() => loads.get('k') === 2, { message: 'the working trigger refreshes' });
  working.failStop(new Error('stuck'));
  await cache.close();
  assert.ok(errors.includes('trigger.stop: stuck'));
});
