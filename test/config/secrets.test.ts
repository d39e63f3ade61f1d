/**
 * Dotenv under the real environment and `_FILE` secrets, each in a fresh child process whose
 * environment holds exactly the variables the test gives it.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { configDir, runChild, watchChild } from './helpers.js';
import { atomicWrite } from '../file/helpers.js';

let dir: Awaited<ReturnType<typeof configDir>>;
before(async () => {
  dir = await configDir();
});
after(() => dir.cleanup());

const env = { prefix: 'APP_', separator: '__' };
const defaults = { name: 'app', flag: false, tags: [], db: { host: 'localhost', port: 5432 } };

// One child process per test, all at once: each waits mostly on its own start-up.
describe('dotenv and secrets, in child processes', { concurrency: true }, () => {
  describe('dotenv below the real environment', { concurrency: true }, () => {
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

  describe('secrets: the _FILE convention', { concurrency: true }, () => {
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
        await atomicWrite(secret, 'second\n');
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
        await atomicWrite(dotenv, 'APP_DB__HOST=two\n');
        const committed = await child.next((e) => e.event === 'committed', start);
        assert.deepEqual(committed.changedPaths, ['db.host']);
        await new Promise((r) => setTimeout(r, 800));
        assert.equal(child.events.slice(start).filter((e) => e.event === 'reloading').length, 1, JSON.stringify(child.events));
      } finally {
        await child.close();
      }
    });
  });
});
