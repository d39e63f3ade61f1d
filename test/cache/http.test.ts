/**
 * The cache through the real HTTP admin server: invalidate a key, a prefix and everything over a
 * real socket, with the `reload` scope and the caller recorded as the audit actor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reloadableCache } from '../../src/cache/index.js';
import { keyHash } from '../../src/cache/key-hash.js';
import { startAdminServer } from '../../src/http/server.js';
import { createRegistry } from '../../src/compose/registry.js';
import type { AuditRecord } from '../../src/types.js';

test('HTTP admin: invalidate a cache key, a prefix and all, audited with the caller as actor', async () => {
  const records: AuditRecord[] = [];
  const registry = createRegistry({ audit: (r) => void records.push(r) });
  const loads = new Map<string, number>();
  const cache = registry.add(
    reloadableCache({
      name: 'users',
      retry: false,
      load: async (key: string) => {
        loads.set(key, (loads.get(key) ?? 0) + 1);
        return { key };
      },
    }),
  );
  await registry.start();
  for (const k of ['user:1', 'user:2', 'team:1']) await cache.get(k);
  const admin = await startAdminServer({
    registry,
    port: 0,
    auth: {
      tokens: [
        { token: 'reader-token-0123456789', scopes: ['read'], actor: 'viewer' },
        { token: 'admin-token-0123456789', scopes: ['read', 'reload'], actor: 'alice' },
      ],
    },
  });
  const post = (token: string, body: unknown) =>
    fetch(`${admin.url}/units/users/invalidate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  try {
    const forbidden = await post('reader-token-0123456789', { key: 'user:1' });
    assert.equal(forbidden.status, 403, 'invalidation needs the reload scope');
    assert.equal(cache.has('user:1'), true);

    const one = await post('admin-token-0123456789', { key: 'user:1', mode: 'refresh', reason: 'profile edit' });
    assert.equal(one.status, 200);
    assert.equal(((await one.json()) as { invalidated: number }).invalidated, 1);
    assert.equal(loads.get('user:1'), 2);
    assert.equal(loads.get('user:2'), 1);

    const prefix = await post('admin-token-0123456789', { prefix: 'user:' });
    assert.equal(((await prefix.json()) as { invalidated: number }).invalidated, 2);
    assert.equal(cache.has('user:1') || cache.has('user:2'), false);
    assert.equal(cache.has('team:1'), true);

    const all = await post('admin-token-0123456789', { all: true, mode: 'refresh' });
    assert.equal(((await all.json()) as { invalidated: number }).invalidated, 1);
    assert.equal(loads.get('team:1'), 2);

    const status = await fetch(`${admin.url}/units/users`, { headers: { authorization: 'Bearer reader-token-0123456789' } });
    const body = (await status.json()) as { kind?: string; size?: number };
    assert.equal(body.kind, 'cache');
    assert.equal(body.size, 1);

    const audited = records.filter((r) => r.action === 'invalidate');
    assert.equal(audited.length, 3);
    assert.ok(audited.every((r) => r.actor === 'alice'));
    assert.equal(audited[0]?.reason, 'profile edit');
    assert.equal(audited[0]?.detail?.keyHash, keyHash('user:1'));
    assert.ok(!JSON.stringify(records).includes('user:1'), 'no key in the audit trail');
  } finally {
    await admin.close();
    await registry.close();
  }
});
