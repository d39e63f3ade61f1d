import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { group, pin, reloadable } from '../../src/index.js';
import { stage } from '../core/helpers.js';
import { fakeSource } from '../../src/testing/index.js';
import { waitFor } from '../helpers/wait.js';

interface Res {
  version: number;
  disposed: boolean;
}

function versioned(name: string) {
  const source = fakeSource({ version: 1 }, { name, hintOnSet: false });
  const unit = reloadable({
    name,
    source,
    retry: false,
    create: ({ version }): Res => ({ version, disposed: false }),
    dispose: (r) => {
      r.disposed = true;
    },
  });
  return { source, unit };
}

test('pin: the snapshot stays consistent and alive across awaits while reloads commit underneath', async (t) => {
  const a = versioned('a');
  const b = versioned('b');
  t.after(() => Promise.all([a.unit.close(), b.unit.close()]));
  await Promise.all([a.unit.start(), b.unit.start()]);
  const both = group([a.unit, b.unit]);

  let kept: Res[] = [];
  const result = await pin({ a: a.unit, b: b.unit }, async (values, generations) => {
    const pinned = { a: values.a, b: values.b };
    kept = [values.a, values.b];
    assert.equal(generations.a.id, 1);
    for (let version = 2; version <= 6; version++) {
      a.source.set({ version });
      b.source.set({ version });
      assert.equal((await both.reload()).status, 'committed');
      await tick();
      // The live generations moved on; the pinned ones are the same objects, not disposed.
      assert.equal(a.unit.get().version, version);
      assert.equal(values.a, pinned.a);
      assert.equal(values.a.version, 1);
      assert.equal(values.b.version, 1);
      assert.equal(values.a.disposed || values.b.disposed, false);
    }
    assert.ok(a.unit.status().leases >= 1);
    return values.a.version + values.b.version;
  });
  assert.equal(result, 2);
  // Released: the retired v1 resources drain and are disposed.
  await waitFor(() => kept.every((r) => r.disposed), { message: 'pinned v1 resources disposed after release' });
  assert.equal(a.unit.status().leases, 0);
  assert.equal(b.unit.status().leases, 0);
});

test('pin: leases are released when fn throws, and the error propagates', async (t) => {
  const a = versioned('a');
  const b = versioned('b');
  t.after(() => Promise.all([a.unit.close(), b.unit.close()]));
  await Promise.all([a.unit.start(), b.unit.start()]);
  let pinned: Res | undefined;
  await assert.rejects(
    pin({ a: a.unit, b: b.unit }, async ({ a: ra }) => {
      pinned = ra;
      await tick();
      throw new Error('handler failed');
    }),
    { message: 'handler failed' },
  );
  assert.equal(a.unit.status().leases, 0);
  assert.equal(b.unit.status().leases, 0);
  a.source.set({ version: 2 });
  await a.unit.reload();
  await waitFor(() => pinned?.disposed === true, { message: 'retired resource disposed once unpinned' });
});

test('pin: a unit that is not ready rejects with NotReadyError and releases the leases already taken', async (t) => {
  const a = versioned('a');
  const b = versioned('b');
  t.after(() => Promise.all([a.unit.close(), b.unit.close()]));
  await a.unit.start();
  let called = false;
  await assert.rejects(
    pin({ a: a.unit, b: b.unit }, () => {
      called = true;
    }),
    { code: 'RELOADKIT_NOT_READY' },
  );
  assert.equal(called, false);
  assert.equal(a.unit.status().leases, 0);
  await assert.rejects(pin([a.unit] as never, () => 1), { name: 'TypeError', message: 'pin: expected an object of units such as { config, pool }, got an array' });
});

test('pin: every lease is taken in one synchronous section — a commit queued by the first acquire lands only after the last', async (t) => {
  const a = versioned('a');
  const b = versioned('b');
  t.after(() => Promise.all([a.unit.close(), b.unit.close()]));
  await Promise.all([a.unit.start(), b.unit.start()]);
  a.source.set({ version: 2 });
  b.source.set({ version: 2 });
  // Both v2 candidates staged (not committed): committing them is one synchronous call away.
  const [sa, sb] = await Promise.all([stage(a.unit), stage(b.unit)]);
  assert.ok(sa.kind === 'staged' && sb.kind === 'staged');
  let committed = false;
  const commitBoth = (): void => {
    sa.staged.commit();
    sb.staged.commit();
    committed = true;
  };
  // The first acquire() queues the commit of both units on the microtask queue: if pin() let a
  // single microtask run before its last acquire(), `b` would be pinned at v2 next to `a` at v1.
  const firstA = {
    acquire: () => {
      const lease = a.unit.acquire();
      queueMicrotask(commitBoth);
      return lease;
    },
  };
  const seen = await pin({ a: firstA, b: b.unit }, (values, generations) => ({ a: values.a.version, b: values.b.version, ga: generations.a.id, gb: generations.b.id }));
  assert.equal(committed, true, 'the commit ran meanwhile');
  assert.deepEqual(seen, { a: 1, b: 1, ga: 1, gb: 1 });
  assert.equal(a.unit.get().version, 2);
  assert.equal(b.unit.get().version, 2);
});
