import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { derive, reloadable } from '../../src/index.js';
import { fakeSource } from '../../src/testing/index.js';
import { nextEvent, waitFor } from '../helpers/wait.js';

const Config = z.object({ logLevel: z.string(), db: z.object({ host: z.string(), port: z.number() }) });
type Config = z.infer<typeof Config>;

/** A "pool" resource that records its creation and disposal. */
class FakePool {
  static created = 0;
  disposed = false;
  constructor(readonly db: Config['db']) {
    FakePool.created++;
  }
}

function setup() {
  FakePool.created = 0;
  const source = fakeSource<Config>({ logLevel: 'info', db: { host: 'db1', port: 5432 } }, { name: 'config.json' });
  const config = reloadable({ name: 'config', source, schema: Config, retry: false });
  const pool = derive(config, (cfg) => cfg.db, {
    name: 'pool',
    create: (db) => new FakePool(db),
    dispose: (p) => {
      p.disposed = true;
    },
  });
  return { source, config, pool };
}

test('derive: an unrelated key creates no pool; a change to the slice creates exactly one', async (t) => {
  const { source, config, pool } = setup();
  t.after(async () => {
    await pool.close();
    await config.close();
  });
  // start() of the derived unit starts the parent and waits for its first commit.
  const first = await pool.start();
  assert.equal(config.current?.id, 1);
  assert.equal(first.id, 1);
  assert.equal(FakePool.created, 1);
  const firstPool = pool.get();

  // Unrelated key: the parent commits, the derived unit re-reads its slice and finds it unchanged.
  const unchanged = nextEvent(pool, 'unchanged');
  source.set({ logLevel: 'debug', db: { host: 'db1', port: 5432 } });
  await waitFor(() => config.current?.value.logLevel === 'debug', { message: 'config commit' });
  await unchanged;
  assert.equal(config.current?.id, 2);
  assert.equal(pool.current?.id, 1);
  assert.equal(FakePool.created, 1, 'no new pool for an unrelated key');
  assert.equal(pool.get(), firstPool);

  // The pool's slice changes: exactly one new pool, the old one disposed.
  const committed = nextEvent(pool, 'committed');
  source.set({ logLevel: 'debug', db: { host: 'db2', port: 5432 } });
  await committed;
  assert.equal(FakePool.created, 2, 'exactly one new pool');
  assert.equal(pool.get().db.host, 'db2');
  assert.deepEqual(pool.current?.trigger, { kind: 'derive', detail: 'config' });
  await waitFor(() => firstPool.disposed, { message: 'old pool disposed' });
});

test('derive: a derived rejection never touches the parent', async (t) => {
  const { source, config, pool } = setup();
  let failCreate = false;
  const strict = derive(config, (cfg) => cfg.db, {
    name: 'strict-pool',
    create: (db) => {
      if (failCreate) throw new Error('cannot connect');
      return new FakePool(db);
    },
  });
  t.after(async () => {
    await strict.close();
    await pool.close();
    await config.close();
  });
  await strict.start();
  failCreate = true;
  const rejected = new Promise<{ stage: string }>((resolve) => strict.once('rejected', resolve));
  source.set({ logLevel: 'warn', db: { host: 'db3', port: 1 } });
  assert.equal((await rejected).stage, 'create');
  assert.equal(config.current?.value.db.host, 'db3', 'the parent committed its new value');
  assert.equal(config.status().state, 'ready');
  assert.equal(config.status().lastAttempt?.outcome, 'committed');
  assert.equal(strict.current?.value.host, 'db1', 'the derived unit keeps its live generation');
});

test('derive: select throwing rejects the derived unit at load, with a clear error', async (t) => {
  const { config } = setup();
  const broken = derive(config, () => {
    throw new Error('no such key');
  }, { name: 'broken' });
  t.after(async () => {
    await broken.close();
    await config.close();
  });
  await assert.rejects(broken.start(), (e: Error & { code?: string }) => typeof e.code === 'string' && /broken/.test(e.message));
  assert.equal(config.current?.id, 1, 'the parent started fine');
});

test('derive: precise TypeErrors', () => {
  const { config } = setup();
  assert.throws(() => derive({} as never, (c) => c, { name: 'x' }), { name: 'TypeError', message: /expected `parent` to be a reloadable unit/ });
  assert.throws(() => derive(config, 'db' as never, { name: 'x' }), { name: 'TypeError', message: "derive: expected `select` to be a function, got 'db'" });
  assert.throws(() => derive(config, (c) => c, { name: 'x', load: () => 1 } as never), { name: 'TypeError', message: /must not have `load` or `source`/ });
});
