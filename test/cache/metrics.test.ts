import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { reloadableCache } from '../../src/cache/index.js';
import { cacheMetrics } from '../../src/metrics/cache-prometheus.js';
import { prometheusMetrics } from '../../src/metrics/prometheus.js';
import { createRegistry } from '../../src/compose/registry.js';

test('prometheus: cache hits, misses, loads, stale serves, invalidations, evictions and size per cache', async () => {
  const registry = createRegistry();
  let fail = false;
  const cache = registry.add(
    reloadableCache({
      name: 'users',
      retry: false,
      max: 2,
      load: async (key) => {
        if (fail) throw new Error('down');
        return { key };
      },
    }),
  );
  const prom = new Registry();
  const metrics = prometheusMetrics(registry, { register: prom, extensions: [cacheMetrics()] });
  await registry.start();
  await cache.get('a');
  await cache.get('a');
  await cache.get('b');
  await cache.get('c'); // evicts a
  fail = true;
  await cache.invalidate('c', { mode: 'refresh' }); // rejected: c kept, failing
  await cache.get('c'); // stale serve
  await cache.invalidate('b');
  // A unit-less member that is not a cache is ignored by the extension.
  const text = await metrics.metrics();
  const line = (name: string) => text.split('\n').find((l) => l.startsWith(name))?.split(' ').at(-1);
  assert.equal(line('reloadkit_cache_hits_total{unit="users"}'), '1');
  assert.equal(line('reloadkit_cache_misses_total{unit="users"}'), '3');
  assert.equal(line('reloadkit_cache_loads_total{unit="users",outcome="committed"}'), '3');
  assert.equal(line('reloadkit_cache_loads_total{unit="users",outcome="rejected"}'), '1');
  assert.equal(line('reloadkit_cache_stale_serves_total{unit="users"}'), '1');
  assert.equal(line('reloadkit_cache_invalidations_total{unit="users",mode="refresh"}'), '1');
  assert.equal(line('reloadkit_cache_invalidations_total{unit="users",mode="drop"}'), '1');
  assert.equal(line('reloadkit_cache_evictions_total{unit="users"}'), '1');
  assert.equal(line('reloadkit_cache_entries{unit="users"}'), '1');
  assert.equal(line('reloadkit_cache_stale_entries{unit="users"}'), '1');
  // The core counters see per-key loads as attempts too.
  assert.equal(line('reloadkit_reloads_total{unit="users",outcome="rejected"}'), '1');
  metrics.detach();
  assert.equal((await prom.metrics()).includes('cache_hits_total'), false);
  await registry.close();
});
