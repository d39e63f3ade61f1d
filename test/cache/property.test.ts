import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { z } from 'zod';
import { reloadableCache } from '../../src/cache/index.js';
import { ReloadkitError } from '../../src/errors.js';
import { FakeClock } from '../../src/testing/clock.js';
import type { CacheLease } from '../../src/cache/index.js';
import { flush } from './helpers.js';

const KEYS = ['a', 'b', 'c', 'd'] as const;
const key = fc.constantFrom(...KEYS);
const op = fc.oneof(
  fc.record({ op: fc.constant('get' as const), key }),
  fc.record({ op: fc.constant('invalidate' as const), key, mode: fc.constantFrom('drop' as const, 'refresh' as const) }),
  fc.record({ op: fc.constant('loadedBefore' as const), mode: fc.constantFrom('drop' as const, 'refresh' as const) }),
  fc.record({ op: fc.constant('acquire' as const), key }),
  fc.record({ op: fc.constant('release' as const) }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 400 }) }),
  fc.record({ op: fc.constant('backend' as const), mode: fc.constantFrom('ok' as const, 'fail' as const, 'invalid' as const, 'bump' as const) }),
  fc.record({ op: fc.constant('flush' as const) }),
);

test('under any interleaving of reads, invalidations, leases, time and backend failures: only valid values are served, and every committed entry is disposed exactly once', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) => {
      const clock = new FakeClock();
      let backend: 'ok' | 'fail' | 'invalid' = 'ok';
      let version = 0;
      const disposed = new Map<object, number>();
      const served = new Set<object>();
      const cache = reloadableCache({
        name: 'property',
        clock,
        max: 3,
        ttlMs: 100,
        staleWhileRevalidateMs: 50,
        drainTimeoutMs: 300,
        retry: { retries: 1, minTimeout: 50 },
        schema: z.object({ key: z.string(), v: z.number() }),
        load: async (k: string) => {
          await Promise.resolve();
          if (backend === 'fail') throw new Error('backend down');
          if (backend === 'invalid') return { key: k, v: 'not a number' };
          return { key: k, v: version };
        },
        dispose: (value) => void disposed.set(value, (disposed.get(value) ?? 0) + 1),
      });
      const leases: Array<CacheLease<{ key: string; v: number }>> = [];
      const pending: Array<Promise<unknown>> = [];
      const serve = (p: Promise<{ key: string; v: number }>): void => {
        pending.push(
          p.then(
            (value) => {
              assert.equal(typeof value.v, 'number', 'never an invalid value');
              served.add(value);
            },
            (error: unknown) => assert.ok(error instanceof ReloadkitError, `a ReloadkitError, got ${String(error)}`),
          ),
        );
      };
      for (const step of ops) {
        switch (step.op) {
          case 'get':
            serve(cache.get(step.key));
            break;
          case 'invalidate':
            pending.push(cache.invalidate(step.key, { mode: step.mode }));
            break;
          case 'loadedBefore':
            pending.push(cache.invalidate({ loadedBefore: clock.now() }, { mode: step.mode }));
            break;
          case 'acquire':
            pending.push(
              cache.acquire(step.key).then(
                (lease) => {
                  served.add(lease.value);
                  leases.push(lease);
                },
                (error: unknown) => assert.ok(error instanceof ReloadkitError),
              ),
            );
            break;
          case 'release':
            leases.shift()?.release();
            break;
          case 'advance':
            await clock.advanceAsync(step.ms);
            break;
          case 'backend':
            if (step.mode === 'bump') version += 1;
            else backend = step.mode;
            break;
          case 'flush':
            await flush();
            break;
        }
      }
      backend = 'ok';
      // Let retries and loads finish on virtual time, then release every lease and close.
      for (let i = 0; i < 10; i++) await clock.advanceAsync(100);
      await Promise.all(pending);
      for (const lease of leases) lease.release();
      await cache.close();
      for (const [value, times] of disposed) assert.equal(times, 1, `disposed once: ${JSON.stringify(value)}`);
      for (const value of served) assert.equal(disposed.get(value), 1, `every served (committed) value is disposed: ${JSON.stringify(value)}`);
      const status = cache.status();
      assert.equal(status.leases, 0);
      assert.equal(status.draining, 0);
    }),
    { numRuns: 150 },
  );
});
