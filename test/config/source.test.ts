/**
 * `configSource` under a real unit, in this process (no environment involved): provenance of
 * every leaf, optional files appearing and disappearing, one reload per change in each layer,
 * a broken layer keeping the live generation, merge rules, `layered()` and option checks.
 */
import { strict as assert } from 'node:assert';
import { after, afterEach, before, describe, test } from 'node:test';
import { rm, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { reloadable } from '../../src/index.js';
import type { Reloadable } from '../../src/types.js';
import { configSource, explain, layered } from '../../src/config/index.js';
import { leafPaths } from '../../src/config/paths.js';
import { etcdSource } from '../../src/etcd/index.js';
import { provenanceOf } from '../../src/support/provenance.js';
import { useEtcd } from '../etcd/support.js';
import { haveBinary } from '../helpers/servers.js';
import { atomicWrite, kubeletWrite, vimSave } from '../file/helpers.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { configDir } from './helpers.js';

let dir: Awaited<ReturnType<typeof configDir>>;
before(async () => {
  dir = await configDir();
});
after(() => dir.cleanup());

const signal = new AbortController().signal;
const watch = { debounceMs: 50 };
const units: Reloadable<any, any>[] = [];
afterEach(async () => {
  await Promise.all(units.splice(0).map((u) => u.close()));
});

/** A started unit over `source`, counting its attempts and commits. */
async function startUnit(source: ReturnType<typeof configSource>, schema?: z.ZodType<unknown>) {
  const unit = reloadable({ name: 'config', source, ...(schema ? { schema } : {}) }) as Reloadable<any, any>;
  units.push(unit);
  const seen = { reloading: 0, committed: [] as string[][], rejected: [] as string[], triggers: [] as string[] };
  unit.on('reloading', ({ trigger }) => {
    // A transport's repair read after its watch reconnected (an etcd stream re-opened) is no layer
    // change: it is counted apart, so the assertion stays about the change.
    seen.triggers.push(`${trigger.kind}: ${trigger.detail ?? ''}`);
    if (!/watch reconnected/.test(trigger.detail ?? '')) seen.reloading++;
  });
  unit.on('committed', ({ changedPaths }) => seen.committed.push(changedPaths));
  unit.on('rejected', ({ error }) => seen.rejected.push(error.message));
  await unit.start();
  return { unit, seen };
}

/**
 * Makes one change and checks it was exactly one reload: one attempt, one commit with
 * `changedPaths`, and nothing more during a quiet period after it.
 */
async function oneReload(seen: { reloading: number; committed: string[][]; rejected: string[]; triggers: string[] }, change: () => Promise<unknown>, changedPaths: string[]): Promise<void> {
  await quiet(seen);
  const reloads = seen.reloading;
  const commits = seen.committed.length;
  const rejections = seen.rejected.length;
  await change();
  await waitFor(() => seen.committed.length > commits, { message: 'a commit' });
  await sleep(700);
  assert.equal(seen.reloading - reloads, 1, `one change, one reload attempt (triggers: ${JSON.stringify(seen.triggers)})`);
  assert.equal(seen.rejected.length - rejections, 0, 'no attempt rejected');
  assert.equal(seen.committed.length - commits, 1);
  assert.deepEqual(seen.committed.at(-1), changedPaths);
}

/**
 * Waits until no attempt has started for a while: a watcher that became ready after files were
 * written just before `start()` sends one catch-up hint (nobody watched then), and the count of
 * reloads that follows must be about the test's change alone.
 */
async function quiet(seen: { reloading: number }): Promise<void> {
  for (;;) {
    const before = seen.reloading;
    await sleep(400);
    if (seen.reloading === before) return;
  }
}

describe('provenance', () => {
  test('every leaf of the merged value has the layer that set it, with file and line', async () => {
    const base = await dir.write('prov/config.yaml', 'db:\n  host: base\n  port: 5432\npool:\n  min: 1\n  max: 4\nfeatures: [a]\n');
    const prod = await dir.write('prov/config.production.toml', '[db]\nhost = "prod"\n\n[pool]\nmax = 16\n');
    const source = configSource({ defaults: { db: { ssl: false }, name: 'app' }, files: [base, dir.path('prov/config.{env}.toml')], nodeEnv: 'production', watch: false });
    const value = await source.read({ signal });
    const provenance = provenanceOf(value)!;
    assert.deepEqual(Object.keys(provenance).sort(), leafPaths(value).sort(), 'one entry per leaf, no more');
    assert.deepEqual(provenance, {
      'db.ssl': 'defaults',
      name: 'defaults',
      'db.host': `${prod}:2`,
      'db.port': `${base}:3`,
      'pool.min': `${base}:5`,
      'pool.max': `${prod}:5`,
      features: `${base}:7`,
    });
    assert.deepEqual(source.layers(), ['defaults', base, prod]);
  });

  test('a merge rule: replace takes an object whole, append concatenates, arrays are replaced by default', async () => {
    const a = await dir.write('merge/a.json', JSON.stringify({ pool: { min: 1, max: 4 }, plugins: ['p1'], tags: ['t1'] }));
    const b = await dir.write('merge/b.json', JSON.stringify({ pool: { max: 8 }, plugins: ['p2'], tags: ['t2'] }));
    const value = await configSource({ files: [a, b], merge: { pool: 'replace', plugins: 'append' }, watch: false }).read({ signal });
    assert.deepEqual(value, { pool: { max: 8 }, plugins: ['p1', 'p2'], tags: ['t2'] });
    assert.deepEqual(provenanceOf(value), { 'pool.max': `${b}:1`, plugins: `${a}:1 + ${b}:1`, tags: `${b}:1` });
  });
});

describe('reload: one change in a layer is one reload', () => {
  test('a config file replaced (write a temp file, rename it over) reloads once, changedPaths names what moved', async () => {
    const file = await dir.write('edit/config.json', JSON.stringify({ db: { port: 1, host: 'h' } }));
    const { unit, seen } = await startUnit(configSource({ files: [file], watch }));
    await oneReload(seen, () => atomicWrite(file, JSON.stringify({ db: { port: 2, host: 'h' } })), ['db.port']);
    assert.equal(unit.get().db.port, 2);
  });

  test('an editor save (vim: rename away, write, delete the backup) is seen', async () => {
    const file = await dir.write('vim/config.json', JSON.stringify({ db: { port: 1 } }));
    const { unit, seen } = await startUnit(configSource({ files: [file], watch }));
    await quiet(seen);
    await vimSave(file, JSON.stringify({ db: { port: 2 } }));
    await waitFor(() => unit.get().db.port === 2, { message: 'the saved file committed' });
    assert.deepEqual(seen.committed.at(-1), ['db.port']);
  });

  test('an optional file appearing and disappearing: one reload each, the layer comes and goes', async () => {
    const base = await dir.write('opt/config.json', JSON.stringify({ level: 'base', db: { port: 1 } }));
    const local = dir.path('opt/local.yaml');
    const { unit, seen } = await startUnit(configSource({ files: [base, { path: local, optional: true }], watch }));
    assert.deepEqual(unit.get(), { level: 'base', db: { port: 1 } });
    await oneReload(seen, () => writeFile(local, 'level: local\n'), ['level']);
    assert.equal(unit.get().level, 'local');
    await oneReload(seen, () => rm(local), ['level']);
    assert.equal(unit.get().level, 'base');
  });

  test('a file in a ConfigMap volume (..data swap) reloads once', async () => {
    const volume = dir.path('cm');
    await dir.write('cm/.keep', '');
    await kubeletWrite(volume, { 'config.yaml': 'db:\n  port: 1\n' });
    const { unit, seen } = await startUnit(configSource({ files: [`${volume}/config.yaml`], watch }));
    await oneReload(seen, () => kubeletWrite(volume, { 'config.yaml': 'db:\n  port: 2\n' }), ['db.port']);
    assert.equal(unit.get().db.port, 2);
  });

  test('a Secret volume: keys become paths, a rotation reloads once', async () => {
    const volume = dir.path('secret');
    await dir.write('secret/.keep', '');
    await kubeletWrite(volume, { 'db.password': 'one\n', DB__USER: 'app' });
    const source = configSource({ defaults: { db: { user: 'x', password: 'x' } }, secrets: { dir: volume, fileSuffix: false }, watch });
    const { unit, seen } = await startUnit(source);
    assert.deepEqual(unit.get(), { db: { user: 'app', password: 'one' } });
    assert.deepEqual(provenanceOf(await source.read({ signal })), { 'db.user': `secret ${volume}/DB__USER`, 'db.password': `secret ${volume}/db.password` });
    await oneReload(seen, () => kubeletWrite(volume, { 'db.password': 'two\n', DB__USER: 'app' }), ['db.password']);
    assert.equal(unit.get().db.password, 'two');
  });

  describe('remote layer (etcd)', () => {
    const hasEtcd = haveBinary('etcd');
    const ctx = hasEtcd ? useEtcd() : undefined;

    test('an etcd put reloads once, on top of the files', async (t) => {
      if (!ctx) return t.skip('etcd not installed');
      await ctx.client.put('/cfg/remote').value(JSON.stringify({ db: { port: 9 } }));
      const file = await dir.write('remote/config.json', JSON.stringify({ db: { port: 1, host: 'file' } }));
      const { unit, seen } = await startUnit(configSource({ files: [file], remote: etcdSource(ctx.client, { key: '/cfg/remote' }), watch }));
      assert.deepEqual(unit.get(), { db: { port: 9, host: 'file' } });
      assert.equal(unit.status().hash !== null, true);
      await oneReload(seen, async () => ctx.client.put('/cfg/remote').value(JSON.stringify({ db: { port: 10 } })), ['db.port']);
      assert.equal(unit.get().db.port, 10);
    });

    test('layered(): a configSource and an etcd source, provenance kept per path', async (t) => {
      if (!ctx) return t.skip('etcd not installed');
      await ctx.client.put('/cfg/layered').value(JSON.stringify({ feature: true }));
      const file = await dir.write('layered/config.yaml', 'db:\n  port: 1\nfeature: false\n');
      const value = await layered([configSource({ files: [file], watch: false }), etcdSource(ctx.client, { key: '/cfg/layered' })]).read({ signal });
      assert.deepEqual(value, { db: { port: 1 }, feature: true });
      assert.deepEqual(provenanceOf(value), { 'db.port': `${file}:2`, feature: 'etcd key /cfg/layered' });
    });
  });
});

describe('provenance through the unit', () => {
  const Schema = z.object({ db: z.object({ host: z.string(), port: z.number() }), name: z.string() });

  test('a wrong type in the production file is named with its file and line, never its value', async () => {
    const base = await dir.write('wrong/config.yaml', 'name: app\ndb:\n  host: base\n  port: 5432\n');
    const prod = await dir.write('wrong/config.production.yaml', '# production\ndb:\n  host: prod\n  port: "54x32"\n');
    const unit = reloadable({ name: 'config', schema: Schema, source: configSource({ files: [base, dir.path('wrong/config.{env}.yaml')], nodeEnv: 'production', watch: false }) });
    units.push(unit as never);
    const error = await unit.start().then(() => assert.fail('expected a validation error'), (e: Error & { code?: string }) => e);
    assert.equal(error.code, 'RELOADKIT_VALIDATION');
    assert.match(error.message, new RegExp(`db\\.port: expected number, received string \\(from ${prod.replace(/[.]/g, '\\.')}:4\\)`));
    assert.ok(!error.message.includes('54x32'), error.message);
  });

  test('status().provenance is the live map and explain() answers from it, after each reload', async () => {
    const file = await dir.write('live/config.json', JSON.stringify({ name: 'app', db: { host: 'h', port: 1 } }, null, 2));
    const source = configSource({ defaults: { db: { host: 'default' } }, files: [file], watch: false });
    const { unit } = await startUnit(source, Schema);
    const provenance = provenanceOf(await source.read({ signal }));
    assert.deepEqual(unit.status().provenance, provenance);
    assert.equal(explain(unit, 'db.port'), `${file}:5`);
    assert.equal(explain(unit, 'db'), undefined, 'a path no single layer set');
    assert.equal(explain(unit, 'nope'), undefined);
    await writeFile(file, JSON.stringify({ name: 'app', db: { port: 2 } }, null, 2));
    assert.equal((await unit.reload()).status, 'committed');
    assert.equal(explain(unit, 'db.host'), 'defaults');
    assert.equal(explain(unit, 'db.port'), `${file}:4`);
    assert.ok(!JSON.stringify(unit.status()).includes('"h"'), 'status holds no value');
  });
});

describe('a broken layer keeps the live generation and says which layer broke', () => {
  test('invalid YAML in the production file: rejected at load, naming the layer, the line, not the content', async () => {
    const base = await dir.write('broken/config.yaml', 'db:\n  port: 1\n');
    const prod = await dir.write('broken/config.production.yaml', 'db:\n  port: 2\n');
    const { unit, seen } = await startUnit(configSource({ files: [base, dir.path('broken/config.${NODE_ENV}.yaml')], nodeEnv: 'production', watch }));
    const live = unit.current!.id;
    await writeFile(prod, 'db:\n  port: 3\n  password: @hunter2\n');
    await waitFor(() => seen.rejected.length > 0, { message: 'a rejection' });
    assert.match(seen.rejected[0]!, new RegExp(`layer ${prod} failed: invalid YAML in ${prod} at line 3, column 13`));
    assert.ok(!seen.rejected[0]!.includes('hunter2'));
    assert.equal(unit.current!.id, live);
    assert.equal(unit.get().db.port, 2);
    assert.equal(unit.status().lastAttempt?.outcome, 'rejected');
    await writeFile(prod, 'db:\n  port: 4\n');
    await waitFor(() => unit.get().db.port === 4, { message: 'the fixed file committed' });
  });

  test('a remote source that reads no object is refused by name', async () => {
    const remote = { describe: () => 'http http://127.0.0.1/x', read: () => Promise.resolve(['not', 'an', 'object']) };
    await assert.rejects(configSource({ remote, watch: false }).read({ signal }), /layer http http:\/\/127\.0\.0\.1\/x did not produce an object \(got an array\)/);
  });
});

describe('options', () => {
  test('unknown keys are TypeErrors with the near miss named', () => {
    assert.throws(() => configSource({ file: ['a.json'] } as never), /configSource: unknown option `file`; did you mean `files`\?/);
    assert.throws(() => configSource({ env: { prefx: 'APP_' } } as never), /configSource: env: unknown option `prefx`; did you mean `prefix`\?/);
    assert.throws(() => configSource({ secrets: { directory: '/x' } } as never), /configSource: secrets: unknown option `directory`/);
    assert.throws(() => configSource({ files: [{ path: 'a.json', optinal: true }] } as never), /files\[0\]: unknown option `optinal`; did you mean `optional`\?/);
    assert.throws(() => configSource({ watch: { debounce: 1 } } as never), /watch: unknown option `debounce`/);
    assert.throws(() => layered([configSource({ watch: false })], { merg: {} } as never), /layered: unknown option `merg`; did you mean `merge`\?/);
  });

  test('bad values are precise TypeErrors', () => {
    assert.throws(() => configSource({ env: { prefix: '' } }), /`env\.prefix` to be a non-empty string \(an empty prefix would read the whole environment\)/);
    assert.throws(() => configSource({ merge: { db: 'shallow' as never } }), /`merge\['db'\]` to be 'deep', 'replace' or 'append'/);
    assert.throws(() => configSource({ files: [{ path: 'a.json', format: 'xml' as never }] }), /`files\[0\]\.format` to be one of json, jsonc, json5, yaml, toml, ini, env/);
    assert.throws(() => configSource({ remote: {} as never }), /`remote\[0\]` to be a reloadkit Source/);
    assert.throws(() => configSource({ schema: {} as never }), /`schema` to be a Standard Schema/);
    assert.throws(() => layered([]), /layered: expected a non-empty array of sources/);
  });

  test('a required file that is missing fails the load and says how to make it optional', async () => {
    await assert.rejects(configSource({ files: [dir.path('none.json')], watch: false }).read({ signal }), /none\.json does not exist \(mark it `optional: true` if it may be missing\)/);
  });
});
