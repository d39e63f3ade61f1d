import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { hashValue } from '../../src/support/hash.js';
import { modelServiceClient } from '../../src/mcp/model-client.js';
import { startMcpServer } from '../../src/mcp/serve.js';
import { waitFor } from '../helpers/wait.js';
import { wordModel } from './fixtures.js';

const TOKEN = 'test-token-123456';

async function setup() {
  const model = wordModel();
  const service = await startMcpServer({ models: [model], token: TOKEN });
  await service.handler.ready();
  const client = modelServiceClient({ url: service.url, token: TOKEN, timeoutMs: 3000 });
  return { model, service, client };
}

test('a plain SDK client sees the model service: its tools, its resources, a subscription notified on change', async () => {
  const { service } = await setup();
  const sdk = new Client({ name: 'plain', version: '1' });
  await sdk.connect(new StreamableHTTPClientTransport(new URL(service.url), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } } }));
  try {
    const tools = (await sdk.listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(tools, ['infer', 'load_version', 'set_weights', 'unload_version', 'update_context']);
    const resources = (await sdk.listResources()).resources.map((r) => r.uri).sort();
    assert.deepEqual(resources, ['model://words', 'model://words/context']);
    assert.equal(sdk.getServerCapabilities()?.resources?.subscribe, true);
    const info = JSON.parse(((await sdk.readResource({ uri: 'model://words' })).contents[0] as { text: string }).text);
    assert.equal(info.versions.find((v: { version: string }) => v.version === 'v1').state, 'READY');
    const updated: string[] = [];
    sdk.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => { updated.push(n.params.uri); });
    await sdk.subscribeResource({ uri: 'model://words/context' });
    const ctx = JSON.parse(((await sdk.readResource({ uri: 'model://words/context' })).contents[0] as { text: string }).text);
    assert.equal(ctx.contextHash, hashValue({ threshold: 0 }));
    const r = await sdk.callTool({ name: 'update_context', arguments: { model: 'words', context: { threshold: 2 }, expectedHash: ctx.contextHash } });
    assert.equal(r.isError, undefined);
    assert.equal((r.structuredContent as { contextHash: string }).contextHash, hashValue({ threshold: 2 }));
    await waitFor(() => updated.includes('model://words/context'), { message: 'the context update notified' });
    const conflict = await sdk.callTool({ name: 'update_context', arguments: { model: 'words', context: { threshold: 3 }, expectedHash: ctx.contextHash } });
    assert.equal(conflict.isError, true);
    assert.deepEqual(conflict.structuredContent, { model: 'words', ok: false, conflict: true, contextHash: hashValue({ threshold: 2 }) });
  } finally {
    await sdk.close();
    await service.close();
  }
});

test('version lifecycle learnt by notification: LOADING → READY without polling; a failed load is FAILED with its reason; unload', async () => {
  const { service, client } = await setup();
  try {
    const started = await client.loadVersion('words', 'slowload');
    assert.equal(started.state, 'LOADING');
    const readsBefore = service.handler.stats().reads['model://words'] ?? 0;
    const ready = await client.waitForVersion('words', 'slowload');
    assert.equal(ready.state, 'READY');
    // One read when the wait begins, one per notification (LOADING is already set): a 300 ms load polled at any useful rate would read far more.
    const reads = (service.handler.stats().reads['model://words'] ?? 0) - readsBefore;
    assert.ok(reads >= 1 && reads <= 3, `reads during the wait: ${reads}`);
    await client.loadVersion('words', 'badload');
    await assert.rejects(client.waitForVersion('words', 'badload'), /loading words@badload failed: weights file is corrupt/);
    assert.equal((await client.getModel('words')).versions.find((v) => v.version === 'badload')?.state, 'FAILED');
    const unloaded = await client.unloadVersion('words', 'slowload');
    assert.equal(unloaded.state, 'UNAVAILABLE');
    assert.equal((await client.unloadVersion('words', 'slowload')).state, 'UNAVAILABLE', 'unload is idempotent');
    await client.setWeights('words', { v1: 100 });
    assert.equal((await client.getModel('words')).versions.find((v) => v.version === 'v1')?.weight, 100);
    // A watcher hears of every change to model://words.
    let heard = 0;
    const stop = client.watchModel('words', () => { heard++; });
    await waitFor(() => service.handler.sessions() === 1, { message: 'one session' });
    await new Promise((r) => setTimeout(r, 100));
    await client.loadVersion('words', 'v2');
    await waitFor(() => heard > 0, { message: 'a notification for the load' });
    stop();
  } finally {
    await client.connection.close();
    await service.close();
  }
});
