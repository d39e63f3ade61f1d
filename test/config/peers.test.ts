/**
 * The peers, each in a fresh process with a clean environment, on the tasks of
 * bench/config-peers.ts: what c12, node-config and convict do with wrong types, near-miss strings
 * and a changed JSON file, and that reloadkit rejects all of it with the file and line, without
 * the value, and never coerces a near miss.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { runWorker } from '../../bench/config-peers/fixture.js';

const reloadkit = (task: Parameters<typeof runWorker>[1]) => runWorker('reloadkit', task, { fromSource: true });

describe('wrong types in the production file', () => {
  test('c12 accepts them silently', async () => {
    const r = await runWorker('c12', 'wrong-type');
    assert.equal(r.ok, true);
    assert.deepEqual([r.value?.db?.host, r.value?.db?.port], [12, 'oops']);
  });

  test('node-config accepts them', async () => {
    const r = await runWorker('node-config', 'wrong-type');
    assert.equal(r.ok, true);
    assert.deepEqual([r.value?.db?.host, r.value?.db?.port], [12, 'oops']);
  });

  test('convict names the key but not the file, and echoes a non-sensitive value', async () => {
    const r = await runWorker('convict', 'wrong-type');
    assert.equal(r.ok, false);
    assert.match(r.error!, /db\.port: ports must be within range/);
    assert.match(r.error!, /db\.host: must be of type String: value was 12/);
    assert.ok(!r.error!.includes('production.json'));
  });

  test('reloadkit rejects them with the file and line of each, and no value', async () => {
    const r = await reloadkit('wrong-type');
    assert.equal(r.ok, false);
    assert.match(r.error!, /db\.host: expected string, received number \(from \S+\/config\/production\.json:3\)/);
    assert.match(r.error!, /db\.port: expected number, received string \(from \S+\/config\/production\.json:4\)/);
    assert.ok(!r.error!.includes('oops'), r.error);
    assert.ok(!/value was/.test(r.error!));
  });
});

describe('near-miss strings from the environment', () => {
  test('convict turns "5432x" into 5432 and "no" into true', async () => {
    const r = await runWorker('convict', 'near-miss');
    assert.equal(r.ok, true);
    assert.equal(r.value?.db?.port, 5432);
    assert.equal(r.value?.db?.ssl, true);
  });

  test('reloadkit coerces neither: both stay strings and are rejected by name, with their variable', async () => {
    const r = await reloadkit('near-miss');
    assert.equal(r.ok, false);
    assert.match(r.error!, /db\.port: expected number, received string \(from env APP_DB__PORT\)/);
    assert.match(r.error!, /db\.ssl: expected boolean, received string \(from env APP_DB__SSL\)/);
    assert.ok(!r.error!.includes('5432x'), r.error);
  });
});

describe('a changed JSON file', () => {
  test('c12 watchConfig keeps serving the old object', async () => {
    const r = await runWorker('c12', 'reload');
    assert.equal(r.ok, true);
    assert.equal(r.answer, 'app');
  });

  test('reloadkit serves the new one', async () => {
    const r = await reloadkit('reload');
    assert.equal(r.ok, true);
    assert.equal(r.answer, 'changed');
  });
});

describe('what only reloadkit does of the same tasks', () => {
  test('provenance, a _FILE secret, interpolation and a NODE_ENV typo', async () => {
    const provenance = await reloadkit('provenance');
    assert.equal(provenance.answer, 'env APP_DB__PORT');
    const secret = await reloadkit('secret-file');
    assert.equal(secret.value?.db?.password, 'hunter2');
    const interpolated = await reloadkit('interpolate');
    assert.equal(interpolated.value?.db?.url, 'postgres://svc@prod.db/app');
    const typo = await reloadkit('env-typo');
    assert.equal(typo.ok, false);
    assert.match(typo.error!, /NODE_ENV is 'prodution' but \S+prodution\.json does not exist \(files exist for: production\)/);
    const c12 = await runWorker('c12', 'env-typo');
    assert.equal(c12.ok, true, 'c12 loads the defaults without a word');
  });
});
