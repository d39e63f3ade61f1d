import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { hashValue } from '../../src/support/hash.js';
import { createMcpClient } from '../../src/mcp/client.js';
import { McpError } from '../../src/mcp/errors.js';
import { startMcpServer } from '../../src/mcp/serve.js';
import { wordModel } from './fixtures.js';

const TOKEN = 'test-token-123456';

async function setup() {
  const model = wordModel();
  const service = await startMcpServer({ models: [model], token: TOKEN });
  await service.handler.ready();
  const client = createMcpClient({ baseUrl: service.url, token: TOKEN, timeoutMs: 3000, retries: 1 });
  return { model, service, client };
}

function expectMcp(status: number, serverCode?: string) {
  return (error: unknown) => {
    assert.ok(error instanceof McpError, `expected McpError, got ${String(error)}`);
    assert.equal(error.status, status);
    if (serverCode) assert.equal(error.serverCode, serverCode);
    return true;
  };
}

test('happy paths: health, models, model info with ETag, ready, infer', async () => {
  const { service, client } = await setup();
  try {
    const health = await client.health();
    assert.equal(health.status, 'ok');
    const models = await client.listModels();
    assert.deepEqual(models.map((m) => m.name), ['words']);
    const info = await client.getModel('words');
    assert.equal(info.state, 'READY');
    assert.equal(info.contextHash, hashValue({ threshold: 0 }));
    assert.equal(info.versions.find((v) => v.version === 'v1')?.state, 'READY');
    assert.equal(info.versions.find((v) => v.version === 'v2')?.state, 'UNAVAILABLE');
    const etag = await new Promise<string | undefined>((resolve, reject) => {
      request(`${service.url}/mcp/v1/models/words`, { headers: { authorization: `Bearer ${TOKEN}` } }, (res) => { res.resume(); resolve(res.headers.etag); }).on('error', reject).end();
    });
    assert.equal(etag, `"${info.contextHash}"`);
    const ready = await client.ready('words');
    assert.deepEqual([ready.ready, ready.readyVersions], [true, ['v1']]);
    const out = await client.infer('words', 'v1', { text: 'good good bad' });
    assert.deepEqual(out.output, { score: 1, positive: true });
    assert.equal(out.version, 'v1');
  } finally {
    await service.close();
  }
});

test('version lifecycle: 202 operation → RELOAD_SUCCESS → READY; unload is idempotent; failed load → RELOAD_FAILED', async () => {
  const { service, client, model } = await setup();
  try {
    const op = await client.loadVersion('words', 'slowload');
    assert.equal(op.status, 'RELOAD_INITIATED');
    assert.equal((await client.getModel('words')).versions.find((v) => v.version === 'slowload')?.state, 'LOADING');
    const done = await client.waitForOperation(op.id, { timeoutMs: 10_000 });
    assert.equal(done.status, 'RELOAD_SUCCESS');
    assert.ok(done.finishedAt !== null && done.finishedAt >= done.startedAt);
    assert.equal((await client.getModel('words')).versions.find((v) => v.version === 'slowload')?.state, 'READY');
    assert.equal((await client.unloadVersion('words', 'slowload')).state, 'UNAVAILABLE');
    assert.equal((await client.unloadVersion('words', 'slowload')).state, 'UNAVAILABLE');
    assert.deepEqual(model.unloads, ['slowload']);
    await assert.rejects(client.infer('words', 'slowload', { text: 'good' }), expectMcp(503, 'VERSION_NOT_READY'));

    // An unload requested while the version loads waits for the load, then unloads.
    const again = await client.loadVersion('words', 'slowload');
    assert.equal((await client.unloadVersion('words', 'slowload')).state, 'UNAVAILABLE');
    assert.equal((await client.getOperation(again.id)).status, 'RELOAD_SUCCESS');
    assert.deepEqual(model.unloads, ['slowload', 'slowload']);

    const bad = await client.loadVersion('words', 'badload');
    await assert.rejects(client.waitForOperation(bad.id), (e: unknown) => e instanceof McpError && /weights file is corrupt/.test(e.message));
    const failed = await client.getOperation(bad.id);
    assert.equal(failed.status, 'RELOAD_FAILED');
    assert.equal((await client.getModel('words')).versions.find((v) => v.version === 'badload')?.state, 'FAILED');
  } finally {
    await service.close();
  }
});

test('context: 200 with new and previous hash; 412 stale with current hash; 422 invalid; 428 without If-Match', async () => {
  const { service, client } = await setup();
  try {
    const before = (await client.getModel('words')).contextHash;
    const next = { threshold: 2, label: 'strict' };
    const updated = await client.putContext('words', next, before);
    assert.equal(updated.contextHash, hashValue(next));
    assert.equal(updated.previousHash, before);
    assert.deepEqual((await client.getModel('words')).context, next);
    assert.deepEqual(await client.getContext('words'), { model: 'words', context: next, contextHash: hashValue(next) });
    assert.deepEqual((await client.infer('words', 'v1', { text: 'good' })).output, { score: 1, positive: false });

    await assert.rejects(client.putContext('words', { threshold: 3 }, before), (e: unknown) => {
      assert.ok(e instanceof McpError);
      assert.equal(e.status, 412);
      assert.equal(e.code, 'RELOADKIT_CONFLICT');
      assert.equal(e.contextHash, hashValue(next));
      return true;
    });
    await assert.rejects(client.putContext('words', { threshold: 'high' }, updated.contextHash), (e: unknown) => {
      assert.ok(e instanceof McpError && e.status === 422 && e.serverCode === 'INVALID_CONTEXT');
      assert.match(e.message, /threshold/);
      return true;
    });
    const res = await fetch(`${service.url}/mcp/v1/models/words/context`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{"context":{"threshold":1}}' });
    assert.equal(res.status, 428);
    assert.equal((await client.getModel('words')).contextHash, hashValue(next), 'rejected updates change nothing');
  } finally {
    await service.close();
  }
});

test('status codes: 401 without or with a wrong token, 404 unknown model/version/operation, 422 unknown version, 400 bad body', async () => {
  const { service, client } = await setup();
  try {
    const anonymous = createMcpClient({ baseUrl: service.url, retries: 0 });
    assert.equal((await anonymous.health()).status, 'ok', '/health answers without auth (probes)');
    await assert.rejects(anonymous.listModels(), expectMcp(401, 'UNAUTHORIZED'));
    await assert.rejects(createMcpClient({ baseUrl: service.url, token: 'wrong-token-xx', retries: 0 }).getModel('words'), expectMcp(401));
    await assert.rejects(client.getModel('nope'), expectMcp(404, 'UNKNOWN_MODEL'));
    await assert.rejects(client.unloadVersion('words', 'v9'), expectMcp(404, 'UNKNOWN_VERSION'));
    await assert.rejects(client.getOperation('00000000-0000-0000-0000-000000000000'), expectMcp(404, 'UNKNOWN_OPERATION'));
    await assert.rejects(client.loadVersion('words', 'v9'), expectMcp(422, 'UNKNOWN_VERSION'));
    await assert.rejects(client.infer('words', 'v1', { wrong: true }), expectMcp(422, 'INVALID_INPUT'));
    await assert.rejects(client.loadVersion('words', '../etc'), expectMcp(400, 'BAD_REQUEST'));
    await client.setWeights('words', { v1: 95, v2: 5 });
    const info = await client.getModel('words');
    assert.deepEqual(info.versions.filter((v) => v.weight > 0).map((v) => [v.version, v.weight]), [['v1', 95], ['v2', 5]]);
  } finally {
    await service.close();
  }
});

test('errors are counted per version; a version failing half its recent requests is DEGRADED', async () => {
  const { service, client } = await setup();
  try {
    await client.waitForOperation((await client.loadVersion('words', 'broken')).id);
    let failures = 0;
    for (let i = 0; i < 10; i++) await client.infer('words', 'broken', { text: 'good' }).catch(() => failures++);
    assert.equal(failures, 2, 'every fifth request fails');
    const info = await client.getModel('words');
    const broken = info.versions.find((v) => v.version === 'broken');
    assert.deepEqual([broken?.requests, broken?.errors, broken?.state], [10, 2, 'READY']);
    await client.waitForOperation((await client.loadVersion('words', 'dead')).id);
    for (let i = 0; i < 10; i++) await assert.rejects(client.infer('words', 'dead', { text: 'good' }), expectMcp(500, 'INFERENCE_FAILED'));
    const dead = (await client.getModel('words')).versions.find((v) => v.version === 'dead');
    assert.deepEqual([dead?.errors, dead?.state], [10, 'DEGRADED']);
  } finally {
    await service.close();
  }
});

test('a service on a non-loopback host without a token is refused (fails closed)', async () => {
  await assert.rejects(startMcpServer({ models: [wordModel()], host: '0.0.0.0' }), (e: unknown) => e instanceof TypeError && /needs a `token`/.test(e.message));
  await assert.rejects(startMcpServer({ models: [wordModel()], host: '::' }), TypeError);
  const local = await startMcpServer({ models: [wordModel()], host: 'localhost' });
  await local.close();
});

test('client options are checked with precise TypeErrors', () => {
  assert.throws(() => createMcpClient({ baseUrl: 'not a url' }), TypeError);
  assert.throws(() => createMcpClient({ baseUrl: 'ftp://x' }), /http: or https:/);
  assert.throws(() => createMcpClient({ baseUrl: 'http://127.0.0.1', timeoutMs: 0 }), /timeoutMs/);
  assert.throws(() => createMcpClient({ baseUrl: 'http://127.0.0.1', retries: -1 }), /retries/);
});
