/**
 * The small modules shared by the store sources and the servers: `abortable`, the store read and
 * parse wrappers, the option checks, and `listen` (on a real loopback socket).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, get } from 'node:http';
import { abortable } from '../../src/support/abortable.js';
import { expectNonEmptyString, expectObject, expectOptionalFunction } from '../../src/support/check-option.js';
import { AbortedError, LoadError } from '../../src/errors.js';
import { hostForUrl, listen } from '../../src/support/listen.js';
import { parseStoreValue, readStoreValue } from '../../src/support/store-value.js';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

test('abortable: resolves with the promise, rejects at once on abort, and removes its listener', async () => {
  const live = new AbortController();
  let listeners = 0;
  const counting = new Proxy(live.signal, {
    get(target, prop) {
      if (prop === 'addEventListener') return (...args: Parameters<AbortSignal['addEventListener']>) => (listeners++, target.addEventListener(...args));
      if (prop === 'removeEventListener') return (...args: Parameters<AbortSignal['removeEventListener']>) => (listeners--, target.removeEventListener(...args));
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  assert.equal(await abortable(Promise.resolve(7), counting, 'redis key k'), 7);
  await assert.rejects(abortable(Promise.reject(new Error('down')), counting, 'redis key k'), /down/);
  assert.equal(listeners, 0);

  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(abortable(Promise.resolve(1), aborted.signal, 'etcd key /a'), (error: unknown) => {
    assert.ok(error instanceof AbortedError);
    assert.equal(error.message, 'read aborted (etcd key /a)');
    assert.equal(error.source, 'etcd key /a');
    return true;
  });

  const later = new AbortController();
  const never = new Promise<number>(() => {});
  const pending = abortable(never, later.signal, 'nats kv b/k');
  later.abort();
  await assert.rejects(pending, AbortedError);
});

test('readStoreValue: a failed or throwing request is a LoadError naming the source; an abort stays an abort', async () => {
  const signal = new AbortController().signal;
  assert.equal(await readStoreValue(() => Promise.resolve('v'), signal, 'redis key k'), 'v');
  const cause = new Error('Connection is closed.');
  await assert.rejects(readStoreValue(() => Promise.reject(cause), signal, 'redis key k'), (error: unknown) => {
    assert.ok(error instanceof LoadError);
    assert.equal(error.message, 'could not read redis key k: Connection is closed.');
    assert.equal(error.source, 'redis key k');
    assert.equal(error.cause, cause);
    return true;
  });
  await assert.rejects(
    readStoreValue(() => {
      throw new Error('sync');
    }, signal, 'redis key k'),
    /could not read redis key k: sync/,
  );
  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(readStoreValue(() => Promise.resolve(1), aborted.signal, 'redis key k'), AbortedError);
});

test('parseStoreValue: a parse failure names the key and the error type, never the value', () => {
  assert.deepEqual(parseStoreValue(() => JSON.parse('{"a":1}') as unknown, 'etcd key /a', 'etcd key /a'), { a: 1 });
  assert.throws(
    () => parseStoreValue(() => JSON.parse('{"password": hunter2}') as unknown, 'etcd key /p/x', 'etcd prefix /p/'),
    (error: unknown) => {
      assert.ok(error instanceof LoadError);
      assert.equal(error.message, 'could not parse the value of etcd key /p/x (SyntaxError)');
      assert.equal(error.source, 'etcd prefix /p/');
      assert.doesNotMatch(error.message, /hunter2/);
      assert.equal(error.cause, undefined);
      return true;
    },
  );
});

test('option checks: precise TypeErrors that name the caller and the type only', () => {
  assert.throws(() => expectNonEmptyString('redisSource', 'key', ''), { name: 'TypeError', message: 'redisSource: expected `key` to be a non-empty string, got `string`' });
  assert.throws(() => expectNonEmptyString('etcdSource', 'prefix', 3), { message: 'etcdSource: expected `prefix` to be a non-empty string, got `number`' });
  assert.throws(() => expectObject('natsKvSource', 'options', null), { name: 'TypeError', message: 'natsKvSource: expected `options` to be an object' });
  assert.throws(() => expectOptionalFunction('etcdSource', 'parse', 'secret-ish'), { message: 'etcdSource: expected `parse` to be a function, got `string`' });
  expectNonEmptyString('x', 'key', 'k');
  expectObject('x', 'options', {});
  expectOptionalFunction('x', 'parse', undefined);
  expectOptionalFunction('x', 'parse', () => 1);
});

test('listen: binds a real loopback port, rejects a taken one, and close() is idempotent', async () => {
  const server = createServer((_req, res) => res.end('ok'));
  const { address, close } = await listen(server, 0, '127.0.0.1');
  assert.equal(address.address, '127.0.0.1');
  assert.ok(address.port > 0);
  const body = await new Promise<string>((resolve, reject) => {
    get(`http://${hostForUrl(address.address)}:${address.port}/`, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve(text));
    }).on('error', reject);
  });
  assert.equal(body, 'ok');

  const second = createServer();
  await assert.rejects(listen(second, address.port, '127.0.0.1'), { code: 'EADDRINUSE' });
  assert.equal(second.listening, false);

  const first = close();
  assert.equal(close(), first);
  await first;
  assert.equal(server.listening, false);
  assert.equal(hostForUrl('::1'), '[::1]');
  assert.equal(hostForUrl('[::1]'), '[::1]');
  assert.equal(hostForUrl('localhost'), 'localhost');
});

test('a store test whose server binary is missing fails under CI=true and skips elsewhere', async (t) => {
  // The same shape as test/etcd, test/redis and test/nats: haveBinary() at module load, then a
  // describe skipped when it is false. Run for real with node --test, with and without CI=true.
  const dir = await mkdtemp(join(tmpdir(), 'reloadkit-ci-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const servers = pathToFileURL(join(import.meta.dirname, '..', 'helpers', 'servers.ts')).href;
  const file = join(dir, 'store.test.ts');
  await writeFile(
    file,
    `import { describe, it } from 'node:test';\n` +
      `import { haveBinary } from ${JSON.stringify(servers)};\n` +
      `const available = haveBinary('reloadkit-no-such-server');\n` +
      `describe('store', { skip: available ? false : 'not installed' }, () => { it('runs', () => {}); });\n`,
  );
  const run = (ci: string | undefined) =>
    new Promise<{ code: number; out: string }>((resolve) => {
      const env = { ...process.env };
      delete env.CI;
      delete env.NODE_TEST_CONTEXT; // else the child thinks it runs inside this test and skips
      if (ci !== undefined) env.CI = ci;
      execFile(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', file], { env, cwd: process.cwd() }, (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, out: stdout + stderr });
      });
    });
  const [ci, local] = await Promise.all([run('true'), run(undefined)]);
  assert.notEqual(ci.code, 0, `under CI=true the run must fail:\n${ci.out}`);
  assert.match(ci.out, /reloadkit-no-such-server is required under CI=true/);
  assert.equal(local.code, 0, local.out);
  // TAP on every Node version (Node 24 defaults to the spec reporter): the suite is skipped.
  assert.match(local.out, /# SKIP not installed/);
});
