/**
 * NODE_ENV, interpolation and the precedence of every layer (with a real etcd as the remote one),
 * each in a fresh child process whose environment holds exactly the variables the test gives it.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { configDir, runChild } from './helpers.js';
import { testEtcdClient } from '../etcd/support.js';
import { haveBinary, startEtcd, type RunningServer } from '../helpers/servers.js';

let dir: Awaited<ReturnType<typeof configDir>>;
before(async () => {
  dir = await configDir();
});
after(() => dir.cleanup());

const env = { prefix: 'APP_', separator: '__' };

// One child process per test, all at once: each waits mostly on its own start-up.
describe('NODE_ENV, interpolation and precedence, in child processes', { concurrency: true }, () => {
  describe('NODE_ENV and interpolation from the real environment', { concurrency: true }, () => {
    test('NODE_ENV=prodution names no file: the load fails and lists the environments that have one', async () => {
      await dir.write('envs/config.yaml', 'name: base\n');
      await dir.write('envs/config.production.yaml', 'name: prod\n');
      await dir.write('envs/config.staging.yaml', 'name: staging\n');
      const files = [dir.path('envs/config.yaml'), dir.path('envs/config.${NODE_ENV}.yaml')];
      const typo = await runChild({ options: { files } }, { NODE_ENV: 'prodution' });
      assert.equal(typo.ok, false);
      assert.match(typo.message!, /NODE_ENV is 'prodution' but .*config\.prodution\.yaml does not exist \(files exist for: production, staging\)/);
      const right = await runChild({ options: { files } }, { NODE_ENV: 'production' });
      assert.deepEqual(right.raw, { name: 'prod' });
      const unset = await runChild({ options: { files } }, {});
      assert.deepEqual(unset.raw, { name: 'base' }, 'no NODE_ENV: the templated file is skipped');
    });

    test('${VAR} and ${VAR:-default} resolve against the environment; a missing one is named with its file and line', async () => {
      const file = await dir.write('interp/config.yaml', 'db:\n  host: ${DB_HOST}\n  port: ${DB_PORT:-5432}\n  url: postgres://${DB_HOST}:${DB_PORT:-5432}/app\nliteral: $${NOT_A_VAR}\n');
      const ok = await runChild({ options: { files: [file] } }, { DB_HOST: 'db.internal' });
      assert.deepEqual(ok.raw, { db: { host: 'db.internal', port: 5432, url: 'postgres://db.internal:5432/app' }, literal: '${NOT_A_VAR}' });
      const missing = await runChild({ options: { files: [file] } }, {});
      assert.equal(missing.ok, false);
      assert.match(missing.message!, /environment variables not set: \$\{DB_HOST\} at .*config\.yaml:2 \(db\.host\), \$\{DB_HOST\} at .*config\.yaml:4 \(db\.url\)/);
    });
  });

  describe('precedence across the layers', { concurrency: true }, () => {
    let etcd: RunningServer | undefined;
    before(async () => {
      if (haveBinary('etcd')) etcd = await startEtcd();
    });
    after(() => etcd?.stop());

    test('defaults < file < env < secret volume < argv < remote (etcd): each key is won by its highest setter', async (t) => {
      if (!etcd) return t.skip('etcd not installed');
      const client = testEtcdClient(etcd.url);
      try {
        await client.put('/app/config').value(JSON.stringify({ p6: 'remote' }));
      } finally {
        client.close();
      }
      const all = (from: number) => Object.fromEntries(['p1', 'p2', 'p3', 'p4', 'p5', 'p6'].slice(from - 1).map((k) => [k, 'x']));
      const file = await dir.write('prec/config.json', JSON.stringify({ ...all(2), p2: 'file' }, null, 2));
      const secrets = dir.path('prec/secrets');
      for (const k of ['p4', 'p5', 'p6']) await dir.write(`prec/secrets/${k}`, k === 'p4' ? 'secret\n' : 'x');
      const r = await runChild(
        { options: { defaults: { ...all(1), p1: 'defaults' }, files: [file], env, secrets: { dir: secrets }, argv: true }, remote: { url: etcd.url, key: '/app/config' } },
        { APP_P3: 'env', APP_P4: 'x', APP_P5: 'x', APP_P6: 'x' },
        ['--p5=argv', '--p6=x'],
      );
      assert.equal(r.readError, undefined);
      assert.deepEqual(r.raw, { p1: 'defaults', p2: 'file', p3: 'env', p4: 'secret', p5: 'argv', p6: 'remote' });
      assert.deepEqual(r.provenance, {
        p1: 'defaults',
        p2: `${file}:2`,
        p3: 'env APP_P3',
        p4: `secret ${secrets}/p4`,
        p5: 'argv --p5',
        p6: 'etcd key /app/config',
      });
    });
  });
});
