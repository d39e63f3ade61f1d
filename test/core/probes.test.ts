/**
 * Behaviour probes for scheduling and allocation policy: what the scheduler lets through while a
 * reload is throttled, whether groups are throttled at all, what a healthy load allocates, and
 * how provenance travels from a source to errors and status. Virtual time only (FakeClock).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { group, reloadable, type Source, type ValidationError } from '../../src/index.js';
import { withProvenance } from '../../src/support/provenance.js';
import { FakeClock } from '../../src/testing/clock.js';
import { fakeSource } from '../../src/testing/index.js';
import { flush } from './helpers.js';

test('a rollback issued while a reload waits out minIntervalMs commits at once; the reload loads when the interval ends', async () => {
  const clock = new FakeClock();
  let version = 1;
  const loads: number[] = [];
  const unit = reloadable({
    name: 'throttled',
    clock,
    retry: false,
    minIntervalMs: 500,
    load: () => {
      loads.push(clock.now());
      return { version };
    },
  });
  const t0 = clock.now();
  await unit.start(); // load at t0
  version = 2;
  await clock.advanceAsync(600);
  assert.equal((await unit.reload()).status, 'committed', 'not throttled: 600 ms since the start');
  assert.equal(unit.current!.id, 2);

  version = 3;
  const order: string[] = [];
  const reload = unit.reload().then((r) => {
    order.push(`reload ${r.status} at +${clock.now() - t0}`);
    return r;
  });
  await flush();
  const rollback = unit.rollback({ reason: 'bad deploy' }).then((r) => {
    order.push(`rollback ${r.status} at +${clock.now() - t0}`);
    return r;
  });
  await flush();
  await flush();
  // No virtual time has passed: the rollback did not wait behind the throttled reload.
  assert.deepEqual(order, ['rollback committed at +600']);
  assert.equal(unit.get().version, 1, 'rolled back to generation 1');
  assert.equal(loads.length, 2, 'the throttled reload has not loaded yet');

  await clock.advanceAsync(499);
  assert.equal(loads.length, 2, 'still throttled 1 ms before the interval ends');
  await clock.advanceAsync(1);
  await reload;
  await rollback;
  assert.deepEqual(order, ['rollback committed at +600', 'reload committed at +1100']);
  assert.deepEqual(
    loads.map((at) => at - t0),
    [0, 600, 1100],
  );
  assert.equal(unit.get().version, 3);
  await unit.close();
});

test('group().reload() honours each member\'s minIntervalMs: a group reload right after a load waits for the interval', async () => {
  const clock = new FakeClock();
  const loads: { a: number[]; b: number[] } = { a: [], b: [] };
  const member = (name: 'a' | 'b', minIntervalMs: number) =>
    reloadable({
      name,
      clock,
      retry: false,
      minIntervalMs,
      load: () => {
        loads[name].push(clock.now());
        return { at: clock.now() };
      },
    });
  const a = member('a', 300);
  const b = member('b', 100);
  const t0 = clock.now();
  await Promise.all([a.start(), b.start()]);
  const both = group([a, b]);
  let done = false;
  const first = both.reload().then((r) => {
    done = true;
    return r;
  });
  await clock.advanceAsync(299);
  assert.equal(done, false, 'member a was loaded 299 ms ago: the group waits');
  assert.deepEqual(loads.a.map((t) => t - t0), [0]);
  await clock.advanceAsync(1);
  assert.equal((await first).status, 'committed');
  assert.deepEqual(loads.a.map((t) => t - t0), [0, 300]);
  assert.deepEqual(loads.b.map((t) => t - t0), [0, 300], 'both members load together, once every throttle allows');

  // Back to back: the second group reload waits for the slowest member's interval again.
  const second = both.reload();
  await clock.advanceAsync(300);
  assert.equal((await second).status, 'committed');
  assert.deepEqual(loads.a.map((t) => t - t0), [0, 300, 600]);
  await Promise.all([a.close(), b.close()]);
});

test('a healthy load through a source creates no AbortController; a source that reads the signal gets one', async () => {
  const created: number[] = [];
  const Original = globalThis.AbortController;
  class CountingController extends Original {
    constructor() {
      super();
      created.push(1);
    }
  }
  const lazy: Source<{ n: number }> = { describe: () => 'lazy test', read: async () => ({ n: 1 }) };
  const eager: Source<{ n: number }> = {
    describe: () => 'eager test',
    read: async ({ signal }) => ({ n: signal.aborted ? 0 : 1 }),
  };
  const clock = new FakeClock();
  const units = [
    reloadable({ name: 'lazy', source: lazy, clock, timeouts: { load: 1_000 } }),
    reloadable({ name: 'fake', source: fakeSource({ n: 1 }), clock, timeouts: { load: 1_000 } }),
  ];
  const eagerUnit = reloadable({ name: 'eager', source: eager, clock });
  globalThis.AbortController = CountingController;
  try {
    for (const unit of units) {
      await unit.start();
      await unit.reload({ force: true });
      await unit.reload();
    }
    assert.equal(created.length, 0, 'start, a forced and an unchanged reload of two sources: no AbortController');
    await eagerUnit.start();
    assert.equal(created.length, 1, 'the probe counts: a source that reads its signal creates exactly one');
  } finally {
    globalThis.AbortController = Original;
  }
  await Promise.all([...units, eagerUnit].map((u) => u.close()));
});

test('provenance: a validation issue names the layer that set its path, and status() reports the live generation\'s map', async () => {
  let raw: Record<string, unknown> = { db: { host: 'db1', port: 5432 } };
  const provenance = { 'db.host': 'config.yaml:2', 'db.port': 'env APP_DB__PORT' };
  const source: Source<unknown> = { describe: () => 'layers test', read: async () => withProvenance(structuredClone(raw), provenance) };
  const unit = reloadable({ name: 'config', source, retry: false, schema: z.object({ db: z.object({ host: z.string(), port: z.number() }) }) });
  await unit.start();
  assert.deepEqual(unit.status().provenance, provenance);
  assert.ok(!JSON.stringify(unit.status()).includes('db1'), 'layer names and paths only, never values');

  raw = { db: { host: 'db1', port: '5433' } };
  const result = await unit.reload();
  assert.equal(result.status, 'rejected');
  const error = result.error as ValidationError;
  assert.equal(error.issues[0]!.path, 'db.port');
  assert.equal(error.issues[0]!.message, 'expected number, received string (from env APP_DB__PORT)');
  assert.match(error.message, /db\.port: expected number, received string \(from env APP_DB__PORT\)/);
  assert.deepEqual(unit.status().provenance, provenance, 'the rejected candidate did not replace the live map');

  // A source without provenance: the field is absent, messages unchanged.
  const plain = reloadable({ name: 'plain', load: () => ({ port: 'x' }), retry: false, schema: z.object({ port: z.number() }) });
  await assert.rejects(plain.start(), (e: ValidationError) => e.issues[0]!.message === 'expected number, received string');
  assert.equal('provenance' in plain.status(), false);
  await Promise.all([unit.close(), plain.close()]);
});

test('status().ready: false before the first commit, true while ready or degraded, false once closed', async () => {
  let fail = false;
  const unit = reloadable({
    name: 'r',
    retry: false,
    load: () => {
      if (fail) throw new Error('source down');
      return { n: 1 };
    },
  });
  assert.equal(unit.status().ready, false);
  await unit.start();
  assert.deepEqual([unit.status().state, unit.status().ready], ['ready', true]);
  fail = true;
  await unit.reload();
  assert.deepEqual([unit.status().state, unit.status().ready], ['degraded', true], 'degraded still serves its generation');
  await unit.close();
  assert.deepEqual([unit.status().state, unit.status().ready, unit.status().generation], ['closed', false, 1]);
  const never = reloadable({ name: 'never', retry: false, load: () => Promise.reject(new Error('down')) });
  await assert.rejects(never.start());
  assert.deepEqual([never.status().state, never.status().ready], ['failed', false]);
});
