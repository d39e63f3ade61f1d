/**
 * The environment mapping and coercion, and argv, each in a fresh child process whose environment
 * holds exactly the variables the test gives it. (Dotenv, secrets, NODE_ENV and the precedence of
 * every layer: secrets.test.ts.)
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { configDir, runChild } from './helpers.js';

let dir: Awaited<ReturnType<typeof configDir>>;
before(async () => {
  dir = await configDir();
});
after(() => dir.cleanup());

const env = { prefix: 'APP_', separator: '__' };
const defaults = { name: 'app', flag: false, tags: [], db: { host: 'localhost', port: 5432 } };

// One child process per test, all at once: each waits mostly on its own start-up.
describe('the environment, in child processes', { concurrency: true }, () => {
  describe('environment mapping and coercion', { concurrency: true }, () => {
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
});
