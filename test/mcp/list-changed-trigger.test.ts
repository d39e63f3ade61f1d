import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { reloadable } from '../../src/index.js';
import { mcpListChangedTrigger } from '../../src/mcp/list-changed-trigger.js';
import type { Hint } from '../../src/types.js';
import { waitFor } from '../helpers/wait.js';

/** A real SDK server over Streamable HTTP on loopback, and a real SDK client connected to it. */
async function sdkPair() {
  const server = new McpServer({ name: 'tools-under-test', version: '1.0.0' }, { capabilities: { tools: { listChanged: true }, prompts: { listChanged: true }, resources: { listChanged: true } } });
  server.registerTool('first', { description: 'the first tool' }, async () => ({ content: [{ type: 'text', text: 'one' }] }));
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID() });
  await server.connect(transport);
  const http = createServer((req, res) => { transport.handleRequest(req, res).catch(() => res.destroy()); });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  const client = new Client({ name: 'gateway', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)));
  return {
    server,
    client,
    async close() {
      await client.close();
      await server.close();
      await new Promise<void>((resolve) => { http.close(() => resolve()); http.closeAllConnections(); });
    },
  };
}

test('fires on tools/prompts/resources list_changed from a real SDK server; stop() detaches', async () => {
  const pair = await sdkPair();
  const hints: Hint[] = [];
  const trigger = mcpListChangedTrigger(pair.client, ['tools', 'prompts']);
  try {
    await trigger.start((h) => hints.push(h));
    // The standalone SSE stream (server → client notifications) opens right after initialization.
    await waitFor(async () => {
      pair.server.sendToolListChanged();
      return hints.length > 0;
    }, { intervalMs: 100, message: 'first tools/list_changed' });
    assert.deepEqual(hints[0], { kind: 'mcp', detail: 'notifications/tools/list_changed' });
    hints.length = 0;
    pair.server.registerTool('second', { description: 'added at runtime' }, async () => ({ content: [{ type: 'text', text: 'two' }] }));
    await waitFor(() => hints.some((h) => h.detail === 'notifications/tools/list_changed'), { message: 'list_changed after registerTool' });
    const names = (await pair.client.listTools()).tools.map((t) => t.name);
    assert.deepEqual(names.sort(), ['first', 'second']);
    pair.server.registerPrompt('greet', { description: 'a prompt' }, () => ({ messages: [] }));
    await waitFor(() => hints.some((h) => h.detail === 'notifications/prompts/list_changed'), { message: 'prompts/list_changed' });
    // Resources were not asked for: no hint for them.
    const before = hints.length;
    pair.server.sendResourceListChanged();
    pair.server.sendToolListChanged();
    await waitFor(() => hints.length > before, { message: 'tools/list_changed after resources' });
    assert.ok(hints.every((h) => !h.detail?.includes('resources')));
    await trigger.stop();
    const stopped = hints.length;
    pair.server.sendToolListChanged();
    // A marker notification we still listen to proves delivery continued while the trigger was stopped.
    const probe: Hint[] = [];
    const other = mcpListChangedTrigger(pair.client, ['resources']);
    await other.start((h) => probe.push(h));
    pair.server.sendResourceListChanged();
    await waitFor(() => probe.length > 0, { message: 'probe notification' });
    assert.equal(hints.length, stopped, 'a stopped trigger never fires');
    await other.stop();
    // resources/updated names the resource (its URI, never its content) in the hint's detail.
    const updates: Hint[] = [];
    const updated = mcpListChangedTrigger(pair.client, ['resource-updates']);
    await updated.start((h) => updates.push(h));
    await pair.server.server.sendResourceUpdated({ uri: 'file:///catalog.json' });
    await waitFor(() => updates.length > 0, { message: 'resources/updated' });
    assert.deepEqual(updates[0], { kind: 'mcp', detail: 'notifications/resources/updated file:///catalog.json' });
    await updated.stop();
  } finally {
    await trigger.stop();
    await pair.close();
  }
});

test('a unit caching the tool catalogue reloads when the server adds a tool', async () => {
  const pair = await sdkPair();
  const tools = reloadable({
    name: 'tools',
    load: async () => (await pair.client.listTools()).tools.map((t) => t.name).sort(),
    triggers: [mcpListChangedTrigger(pair.client, ['tools'])],
    retry: false,
  });
  try {
    await tools.start();
    assert.deepEqual(tools.get(), ['first']);
    pair.server.registerTool('added', { description: 'runtime tool' }, async () => ({ content: [] }));
    // The first notification can race the opening of the standalone SSE stream: re-announce until one lands.
    await waitFor(() => {
      if (!tools.get().includes('added')) pair.server.sendToolListChanged();
      return tools.get().includes('added');
    }, { intervalMs: 200, message: 'catalogue reloaded' });
    assert.deepEqual(tools.get(), ['added', 'first']);
    assert.equal(tools.current?.trigger.kind, 'mcp');
  } finally {
    await tools.close();
    await pair.close();
  }
});

test('invalid arguments are TypeErrors', () => {
  assert.throws(() => mcpListChangedTrigger({} as never), TypeError);
  assert.throws(() => mcpListChangedTrigger({ setNotificationHandler() {}, removeNotificationHandler() {} }, ['widgets' as never]), /lists/);
});
