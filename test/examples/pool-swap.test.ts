/**
 * The zero-downtime claim, as a test (counts, not timings): a real redis-server, a real HTTP
 * service, a bounded number of concurrent requests while the pool's credentials and size rotate
 * back to back. With reloadkit no request fails and every retired pool is closed exactly once;
 * the naive swap under the same load fails requests (which proves the load does race the swaps).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startPoolSwapApp, type PoolSwapApp } from '../../examples/pool-swap/app.js';
import { driveRequests } from '../../examples/pool-swap/drive.js';
import { haveBinary } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';

/** Rotates back to back (not on a timer) until stopped: the rotation count never depends on speed. */
function rotateContinuously(app: PoolSwapApp, afterEach: () => void = () => {}) {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await app.holder.rotate();
      afterEach();
      // Let requests run between swaps so each pool serves some of them.
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

test('reloadkit pool swap: rotations under concurrent requests fail none, and every retired pool is closed once', async (t) => {
  if (!haveBinary('redis-server')) return t.skip('redis-server not installed');
  const app = await startPoolSwapApp({ mode: 'reloadkit' });
  try {
    const holder = app.holder as typeof app.holder & { unit?: { status(): { draining: number } } };
    assert.ok(holder.unit, 'reloadkit mode exposes its unit');
    let maxDraining = 0;
    const rotator = rotateContinuously(app, () => {
      maxDraining = Math.max(maxDraining, holder.unit!.status().draining);
    });
    const drive = await driveRequests(app.url, {
      concurrency: 16,
      minRequests: 600,
      maxRequests: 50_000,
      until: () => app.stats().rotations.committed >= 10,
    });
    await rotator.stop();
    const stats = app.stats();

    assert.equal(drive.failed, 0, `failed requests: ${JSON.stringify(drive.statuses)} ${stats.failureSamples.join('; ')}`);
    assert.equal(drive.ok, drive.sent);
    assert.equal(stats.requests.failed, 0);
    assert.equal(stats.requests.ok, drive.ok);
    assert.ok(stats.rotations.committed >= 10, `only ${stats.rotations.committed} rotations committed`);
    assert.equal(stats.rotations.rejected, 0);
    // A retired pool still had requests on it when it was swapped out: drain was really exercised.
    assert.ok(maxDraining >= 1, 'no retired pool was ever waiting for leases to drain');
    // Each rotation opened one pool; none of them was closed while serving.
    assert.equal(stats.pools.opened, stats.rotations.committed + 1);
    assert.equal(stats.pools.destroyed, 0);
    // Every retired pool is closed once its requests drained, while the service keeps running:
    // all but the live one, before anything is shut down.
    await waitFor(() => app.ledger.closed === app.ledger.opened - 1, { message: `retired pools closed (${app.ledger.closed} of ${app.ledger.opened - 1})` });
    assert.equal(app.ledger.doubleCloses, 0);
    await waitFor(() => holder.unit!.status().draining === 0, { message: 'no retired pool left draining' });

    await app.holder.close();
    // After close(): every pool ever opened was QUIT exactly once...
    assert.equal(app.ledger.closed, app.ledger.opened);
    assert.equal(app.ledger.doubleCloses, 0);
    // (each of their connections got its QUIT answered: closed gracefully, not cut)
    assert.equal(app.ledger.quits, app.ledger.connections);
    // ...and redis sees no pool connection left, only the admin's.
    await waitFor(async () => (await app.redisClients()) === 1, { message: 'redis to report only the admin connection' });
  } finally {
    await app.close();
  }
});

test('a rotation to a revoked user is rejected at create: the live pool keeps serving, nothing leaks', async (t) => {
  if (!haveBinary('redis-server')) return t.skip('redis-server not installed');
  const app = await startPoolSwapApp({ mode: 'reloadkit' });
  try {
    const holder = app.holder as typeof app.holder & {
      unit?: { status(): { lastAttempt: { outcome: string; stage?: string; error?: { code: string; message: string } } | null } };
    };
    await app.revokeUser('pool-user-2');
    // Users rotate 0 (start), 1, 2, 3, 0, 1, 2, 3, 0: pool-user-2 comes up twice in 8 rotations.
    const rejections: Array<{ stage?: string; code?: string; message?: string }> = [];
    const rotator = (async () => {
      for (let i = 0; i < 8; i++) {
        if (!(await app.holder.rotate())) {
          const last = holder.unit!.status().lastAttempt;
          rejections.push({ stage: last?.stage, code: last?.error?.code, message: last?.error?.message });
        }
      }
    })();
    const drive = await driveRequests(app.url, { concurrency: 8, minRequests: 200, maxRequests: 50_000, until: () => app.stats().rotations.committed + app.stats().rotations.rejected >= 8 });
    await rotator;
    const stats = app.stats();
    assert.equal(drive.failed, 0, JSON.stringify(drive.statuses));
    assert.deepEqual(stats.rotations, { committed: 6, rejected: 2, generation: 7 });
    assert.equal(rejections.length, 2);
    for (const r of rejections) {
      assert.equal(r.stage, 'create');
      assert.equal(r.code, 'RELOADKIT_CREATE');
      assert.match(r.message ?? '', /WRONGPASS/);
    }
    // The rejected candidates never opened a pool (open() closes its partial connections itself).
    assert.equal(stats.pools.opened, 7);
    await app.holder.close();
    assert.equal(app.ledger.closed, 7);
    assert.equal(app.ledger.quits, app.ledger.connections);
    await waitFor(async () => (await app.redisClients()) === 1, { message: 'redis to report only the admin connection' });
  } finally {
    await app.close();
  }
});

test('naive pool swap under the same load fails requests (what drain prevents)', async (t) => {
  if (!haveBinary('redis-server')) return t.skip('redis-server not installed');
  const app = await startPoolSwapApp({ mode: 'naive' });
  try {
    const rotator = rotateContinuously(app);
    const drive = await driveRequests(app.url, {
      concurrency: 16,
      minRequests: 600,
      maxRequests: 50_000,
      until: () => app.stats().rotations.committed >= 20 || app.stats().requests.failed > 0,
    });
    await rotator.stop();
    assert.ok(drive.failed > 0, `expected the naive swap to fail some of ${drive.sent} requests`);
    assert.equal(drive.statuses['503'], drive.failed, 'failures are the handler reporting a closed pool');
  } finally {
    await app.close();
  }
});
