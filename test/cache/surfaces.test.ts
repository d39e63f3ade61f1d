/**
 * Every external surface of a cache — HTTP admin answers over a real socket, Prometheus text,
 * audit records, status — names keys by hash only and never shows a value, even with
 * `keys: 'plain'` (which only adds keys to in-process events).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { reloadableCache } from '../../src/cache/index.js';
import { keyHash } from '../../src/cache/key-hash.js';
import { createRegistry } from '../../src/compose/registry.js';
import { startAdminServer } from '../../src/http/server.js';
import { cacheMetrics } from '../../src/metrics/cache-prometheus.js';
import { prometheusMetrics } from '../../src/metrics/prometheus.js';
import type { AuditRecord } from '../../src/types.js';

const KEY = 'session:KEYTEXT-bob@example.com';
const VALUE = 'VALUETEXT-tok_live_42';

test("no key or value on HTTP, metrics, audit or status, with keys: 'plain' too", async () => {
  const records: AuditRecord[] = [];
  const registry = createRegistry({ audit: (r) => void records.push(r) });
  let fail = false;
  const cache = registry.add(
    reloadableCache({
      name: 'sessions',
      retry: false,
      keys: 'plain',
      load: async (key: string) => {
        if (fail) throw new Error('backend down');
        return { owner: key, token: VALUE };
      },
    }),
  );
  const inProcess: string[] = [];
  cache.on('committed', (e) => inProcess.push(e.key ?? ''));
  const prom = new Registry();
  const metrics = prometheusMetrics(registry, { register: prom, extensions: [cacheMetrics()] });
  await registry.start();
  await cache.get(KEY);
  fail = true;
  await cache.invalidate(KEY, { mode: 'refresh' }); // rejected: an error on record in status and audit
  await cache.get(`${KEY}-cold`).catch(() => undefined);
  fail = false;
  const admin = await startAdminServer({ registry, port: 0, auth: { tokens: [{ token: 'admin-token-0123456789', scopes: ['read', 'reload'], actor: 'ops' }] } });
  const headers = { authorization: 'Bearer admin-token-0123456789', 'content-type': 'application/json' };
  const seen: string[] = [];
  try {
    for (const path of ['/units', '/units/sessions', '/ready', '/health']) {
      const response = await fetch(`${admin.url}${path}`, { headers });
      seen.push(`${path} ${response.status} ${await response.text()}`);
    }
    const invalidated = await fetch(`${admin.url}/units/sessions/invalidate`, { method: 'POST', headers, body: JSON.stringify({ key: KEY, mode: 'refresh' }) });
    assert.equal(invalidated.status, 200);
    seen.push(`invalidate ${await invalidated.text()}`);
    const reloaded = await fetch(`${admin.url}/units/sessions/reload`, { method: 'POST', headers, body: '{}' });
    seen.push(`reload ${reloaded.status} ${await reloaded.text()}`);
    seen.push(`metrics ${await metrics.metrics()}`);
    seen.push(`audit ${JSON.stringify(records)}`);
    seen.push(`status ${JSON.stringify(cache.status())}`);
  } finally {
    await admin.close();
    metrics.detach();
    await registry.close();
  }
  assert.ok(inProcess.includes(KEY), "keys: 'plain' shows the key in process");
  const text = seen.join('\n');
  assert.ok(text.includes('reloadkit_cache_entries{unit="sessions"}'), 'the metrics were read');
  assert.ok(text.includes(keyHash(KEY)), 'the audit names the key by its hash');
  assert.ok(!text.includes('KEYTEXT'), 'no key on an external surface');
  assert.ok(!text.includes('VALUETEXT'), 'no value on an external surface');
});
