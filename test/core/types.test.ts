/**
 * Type inference of `reloadable()`: `T` from the schema's output (zod, valibot) or, without a
 * schema, from `load`'s return type or the source; `R` from `create`. These assertions are
 * checked by the type checker (`npm run lint` runs `tsc` over test/); the runtime part only
 * confirms the same units work.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import * as v from 'valibot';
import { reloadable, type Generation, type Reloadable, type Source } from '../../src/index.js';

type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
function expectType<A, B>(_proof: Equal<A, B>): void {}

class Pool {
  constructor(readonly url: string) {}
  query(_sql: string): Promise<number> {
    return Promise.resolve(1);
  }
  end(): void {}
}

test('types: T from the schema output, R from create', async () => {
  const Config = z.object({ db: z.object({ url: z.string() }), port: z.coerce.number().default(80) });
  const unit = reloadable({
    name: 'typed',
    load: () => ({ db: { url: 'postgres://x' }, port: '8080' }),
    schema: Config,
    create: (cfg) => new Pool(cfg.db.url),
    healthCheck: (pool) => pool.query('select 1'),
    dispose: (pool) => pool.end(),
  });
  expectType<ReturnType<typeof unit.get>, Pool>(true);
  expectType<NonNullable<typeof unit.current>['value'], { db: { url: string }; port: number }>(true);
  await unit.start();
  assert.ok(unit.get() instanceof Pool);
  assert.equal(unit.current!.value.port, 8080);
  // @ts-expect-error: the value has no `nope`
  void unit.current?.value.nope;
  await unit.close();
});

test('types: valibot output, and identity resource without create', async () => {
  const Config = v.object({ name: v.string(), tags: v.array(v.string()) });
  const unit = reloadable({ name: 'v', load: async () => ({ name: 'a', tags: [] }), schema: Config });
  expectType<ReturnType<typeof unit.get>, { name: string; tags: string[] }>(true);
  await unit.start();
  assert.equal(unit.get().name, 'a');
  await unit.close();
});

test('types: without a schema, T comes from load (even with a destructured ctx) or from the source', async () => {
  const a = reloadable({ name: 'a', load: async ({ signal }) => ({ port: signal.aborted ? 0 : 1 }) });
  expectType<ReturnType<typeof a.get>, { port: number }>(true);
  const source: Source<{ flag: boolean }> = { describe: () => 'memory', read: async () => ({ flag: true }) };
  const b = reloadable({ name: 'b', source, create: (value) => ({ enabled: value.flag }) });
  expectType<ReturnType<typeof b.get>, { enabled: boolean }>(true);
  const c = reloadable({ name: 'c', load: () => 'text' });
  const use: Promise<number> = c.use((text, gen: Generation<string, string>) => text.length + gen.id);
  await Promise.all([a.start(), b.start(), c.start()]);
  assert.equal(await use.catch(() => 0), 0, 'use() before start() rejects (NotReady)');
  assert.equal(b.get().enabled, true);
  assert.equal(await c.use((text) => text.length), 4);
  await Promise.all([a.close(), b.close(), c.close()]);
});

test('types: internals are off the public type and off the object: no symbol keys, no hook methods', () => {
  expectType<Extract<keyof Reloadable<unknown, unknown>, symbol>, never>(true);
  const unit = reloadable({ name: 'plain', load: () => 1 });
  const proto = Object.getPrototypeOf(unit) as object;
  assert.deepEqual(Object.getOwnPropertySymbols(unit), []);
  assert.deepEqual(Object.getOwnPropertySymbols(proto), []);
  assert.deepEqual(Object.getOwnPropertyNames(proto).sort(), ['acquire', 'clearRefused', 'close', 'constructor', 'current', 'get', 'history', 'off', 'on', 'once', 'pause', 'prepare', 'reload', 'resume', 'rollback', 'start', 'status', 'use']);
  assert.deepEqual(Object.keys(unit), ['name']);
});
