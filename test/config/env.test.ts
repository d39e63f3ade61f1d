/**
 * The environment, dotenv, `_FILE` secrets, argv and NODE_ENV, each in a fresh child process
 * whose environment holds exactly the variables the test gives it.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { writeFile } from 'node:fs/promises';
import { configDir, runChild, watchChild } from './helpers.js';
import { haveBinary } from '../helpers/servers.js';
import { testEtcdClient } from '../etcd/support.js';
import { startEtcd, type RunningServer } from '../helpers/servers.js';

let dir: Awaited<ReturnType<typeof configDir>>;
before(async () => {
  dir = await configDir();
});
after(() => dir.cleanup());

const env = { prefix: 'APP_', separator: '__' };
const defaults = { name: 'app', flag: false, tags: [], db: { host: 'localhost', port: 5432 } };

describe('environment mapping and coercion', () => {
  test('APP_DB__PORT=6543 is a number, APP_FLAG=true a boolean, APP_TAGS an array, APP_NAME=007 a string', async () => {
    const r = await runChild(
      { options: { defaults, env }, schema: 'app', explain: ['db.port', 'name', 'flag', 'tags', 'db.host'] },
      { APP_DB__PORT: '6543', APP_FLAG: 'true', APP_TAGS: '["a","b"]', APP_NAME: '007', UNRELATED: '1' },
    );
    assert.equal(r.ok, true, r.message);
    assert.deepEqual(r.value, { name: '007', flag: true, tags: ['a', 'b'], db: { host: 'localhost', port: 6543 } });
    assert.deepEqual(r.provenance, { name: 'env APP_NAME', flag: 'env APP_FLAG', tags: 'env APP_TAGS', 'db.host': 'defaults', 'db.port': 'env APP_DB__PORT' });
    assert.equal(r.raw.unrelated, undefined, 'a variable without the prefix is not configuration');
  });

  test('where the schema says string, a JSON-looking value stays the string it was', async () => {
    const options = { defaults: { name: 'x', code: 'y', port: 1 }, env };
    const vars = { APP_NAME: '42', APP_CODE: 'true', APP_PORT: '8080' };
    const r = await runChild({ options, schema: 'strings' }, vars);
    assert.equal(r.ok, true, r.message);
    assert.deepEqual(r.value, { name: '42', code: 'true', port: 8080 });
    // Without the schema given to the source, the parsed number meets a string schema and fails:
    // the option is what lets the schema have the last word.
    const unit = await runChild({ options: { ...options, schema: undefined }, schema: undefined }, vars);
    assert.deepEqual(unit.raw, { name: 42, code: true, port: 8080 });
  });

  test('a near miss is never coerced: 5432x stays a string and fails a number schema, without the value', async () => {
    const r = await runChild({ options: { defaults, env }, schema: 'app' }, { APP_DB__PORT: '5432x' });
    assert.equal(r.ok, false);
    assert.equal(r.code, 'RELOADKIT_VALIDATION');
    assert.equal(r.raw.db.port, '5432x');
    assert.match(r.message!, /db\.port: expected number, received string/);
    assert.ok(!r.message!.includes('5432x'), r.message);
  });

  test('"no" is not a boolean: it stays a string and fails a boolean schema', async () => {
    const r = await runChild({ options: { defaults: { db: { ssl: false } }, env }, schema: 'ssl' }, { APP_DB__SSL: 'no' });
    assert.equal(r.ok, false);
    assert.equal(r.raw.db.ssl, 'no');
    assert.match(r.message!, /db\.ssl: expected boolean, received string/);
  });

  test('an explicit map places names that follow no convention; keys find their spelling', async () => {
    const r = await runChild(
      { options: { defaults: { db: { maxConnections: 10 } }, env: { ...env, map: { DATABASE_URL: 'db.url' } } } },
      { DATABASE_URL: 'postgres://db/app', APP_DB__MAX_CONNECTIONS: '20' },
    );
    assert.deepEqual(r.raw, { db: { maxConnections: 20, url: 'postgres://db/app' } });
    assert.equal(r.provenance!['db.url'], 'env DATABASE_URL');
    assert.equal(r.provenance!['db.maxConnections'], 'env APP_DB__MAX_CONNECTIONS');
  });

  test('argv sits above the environment: --db.port=7777', async () => {
    const r = await runChild({ options: { defaults, env, argv: true }, schema: 'app' }, { APP_DB__PORT: '6543' }, ['--db.port=7777', '--flag']);
    assert.equal(r.ok, true, r.message);
    assert.equal(r.value.db.port, 7777);
    assert.equal(r.value.flag, true);
    assert.equal(r.provenance!['db.port'], 'argv --db.port');
  });
});

describe('dotenv below the real environment', () => {
  test('a variable in both takes the real value; one only in .env is used, credited to its line', async () => {
    const dotenv = await dir.write('dotenv/.env', '# local settings\nAPP_DB__HOST=from-dotenv\nexport APP_DB__PORT=1111\nAPP_NAME="quoted # not a comment"\n');
    const r = await runChild({ options: { defaults, env, dotenv }, schema: 'app' }, { APP_DB__PORT: '2222' });
    assert.equal(r.ok, true, r.message);
    assert.equal(r.value.db.host, 'from-dotenv');
    assert.equal(r.value.db.port, 2222);
    assert.equal(r.value.name, 'quoted # not a comment');
    assert.equal(r.provenance!['db.host'], `${dotenv}:2 (APP_DB__HOST)`);
    assert.equal(r.provenance!['db.port'], 'env APP_DB__PORT');
  });

  test('a missing dotenv file is no layer at all, not an error', async () => {
    const r = await runChild({ options: { defaults, env, dotenv: dir.path('absent/.env') }, schema: 'app' }, {});
    assert.equal(r.ok, true, r.message);
  });
});

describe('secrets: the _FILE convention', () => {
  test('APP_DB__PASSWORD_FILE sets db.password to the file content, trailing newline dropped', async () => {
    const secret = await dir.write('run/secrets/db', 's3cret-value\n');
    const r = await runChild(
      { options: { defaults, env, secrets: true }, schema: 'app', explain: ['db.password'] },
      { APP_DB__PASSWORD_FILE: secret },
    );
    assert.equal(r.ok, true, r.message);
    assert.equal(r.value.db.password, 's3cret-value');
    assert.equal(r.provenance!['db.password'], `secret file ${secret} (APP_DB__PASSWORD_FILE)`);
    assert.equal(r.raw.db.password_file, undefined, 'the _FILE variable itself is not configuration');
  });

  test('DB_PASSWORD_FILE lands where map puts DB_PASSWORD', async () => {
    const secret = await dir.write('run/secrets/db2', 'other');
    const r = await runChild({ options: { env: { map: { DB_PASSWORD: 'db.password' } }, secrets: true } }, { DB_PASSWORD_FILE: secret });
    assert.deepEqual(r.raw, { db: { password: 'other' } });
  });

  test('a _FILE variable naming a missing file fails the load, naming the variable and the path', async () => {
    const r = await runChild({ options: { defaults, env, secrets: true }, schema: 'app' }, { APP_DB__PASSWORD_FILE: dir.path('nope') });
    assert.equal(r.ok, false);
    assert.equal(r.code, 'RELOADKIT_LOAD');
    assert.match(r.message!, /APP_DB__PASSWORD_FILE/);
    assert.ok(r.message!.includes(dir.path('nope')));
  });

  test('a rotated secret file reloads the unit exactly once', async () => {
    const secret = await dir.write('rotate/db', 'first');
    const child = await watchChild({ options: { defaults, env, secrets: true, watch: { debounceMs: 50 } }, schema: 'app' }, { APP_DB__PASSWORD_FILE: secret });
    try {
      await child.quiet();
      const start = child.events.length;
      await writeFile(secret, 'second\n');
      const committed = await child.next((e) => e.event === 'committed', start);
      assert.deepEqual(committed.changedPaths, ['db.password']);
      assert.equal(committed.value.db.password, 'second');
      // Quiet for a while after: the one write was one reload.
      await new Promise((r) => setTimeout(r, 800));
      assert.equal(child.events.slice(start).filter((e) => e.event === 'reloading').length, 1, JSON.stringify(child.events));
    } finally {
      await child.close();
    }
  });

  test('a changed .env reloads the unit exactly once', async () => {
    const dotenv = await dir.write('reload/.env', 'APP_DB__HOST=one\n');
    const child = await watchChild({ options: { defaults, env, dotenv, watch: { debounceMs: 50 } }, schema: 'app' });
    try {
      await child.quiet();
      const start = child.events.length;
      await writeFile(dotenv, 'APP_DB__HOST=two\n');
      const committed = await child.next((e) => e.event === 'committed', start);
      assert.deepEqual(committed.changedPaths, ['db.host']);
      await new Promise((r) => setTimeout(r, 800));
      assert.equal(child.events.slice(start).filter((e) => e.event === 'reloading').length, 1, JSON.stringify(child.events));
    } finally {
      await child.close();
    }
  });
});

describe('NODE_ENV and interpolation from the real environment', () => {
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

describe('precedence across the layers', () => {
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
