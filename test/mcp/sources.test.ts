import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { reloadable } from '../../src/core/unit.js';
import { ToolCatalogSchema } from '../../src/mcp/catalog-schema.js';
import { mcpConnection } from '../../src/mcp/connection.js';
import { mcpPromptSource, mcpResourceSource, mcpToolsSource } from '../../src/mcp/sources.js';
import type { McpTool } from '../../src/mcp/sources.js';
import type { ReloadResult } from '../../src/types.js';
import { waitFor } from '../helpers/wait.js';
import { RESOURCE_URI, startToolServer, tool } from './tool-server.js';

const names = (tools: McpTool[]): string[] => tools.map((t) => t.name);

test('a tool added on the server reaches the catalog with one notification and exactly one reload', async () => {
  const server = await startToolServer([tool('search')]);
  const connection = mcpConnection({ url: server.url, name: 'search-server' });
  const unit = reloadable({ name: 'tools', source: mcpToolsSource(connection), schema: ToolCatalogSchema, retry: false });
  const results: ReloadResult[] = [];
  try {
    await unit.start();
    unit.on('committed', (e) => results.push(e.result));
    unit.on('unchanged', (e) => results.push(e.result));
    unit.on('rejected', (e) => results.push(e.result));
    assert.deepEqual(names(unit.get()), ['search']);
    const listsBefore = server.calls['tools/list'] ?? 0;
    await server.setTools([tool('search'), tool('fetch')]);
    await waitFor(() => unit.get().length === 2, { message: 'the new tool in the catalog' });
    assert.deepEqual(names(unit.get()), ['search', 'fetch']);
    // Let any stray extra hint land before counting.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(results.length, 1, `exactly one reload: ${JSON.stringify(results)} ${JSON.stringify(unit.history())}`);
    assert.equal(results[0]?.status, 'committed');
    assert.equal((server.calls['tools/list'] ?? 0) - listsBefore, 1, 'one tools/list round trip');
    assert.equal(unit.status().generation, 2);
  } finally {
    await unit.close();
    await connection.close();
    await server.close();
  }
});

test('a server restarted (new session, the old id answered 404) is re-read: the change made while it was down is picked up', async () => {
  const server = await startToolServer([tool('a')]);
  const connection = mcpConnection({ url: server.url, name: 'restarting', reconnectDelayMs: 20, maxReconnectDelayMs: 200 });
  const unit = reloadable({ name: 'tools', source: mcpToolsSource(connection), schema: ToolCatalogSchema, retry: false });
  try {
    await unit.start();
    const firstSession = connection.sessionId;
    assert.ok(firstSession);
    // The restarted process serves another list and never announces it: only the re-read can find it.
    server.tools = [tool('a'), tool('b')];
    await server.restart();
    await waitFor(() => connection.session === 2, { message: 'a new session', timeoutMs: 20_000 });
    assert.notEqual(connection.sessionId, firstSession);
    await waitFor(() => unit.get().length === 2, { message: 'the list re-read after the new session' });
    assert.deepEqual(names(unit.get()), ['a', 'b']);
    // And notifications flow on the new session.
    await server.setTools([tool('a'), tool('b'), tool('c')]);
    await waitFor(() => unit.get().length === 3, { message: 'a notification on the new session' });
  } finally {
    await unit.close();
    await connection.close();
    await server.close();
  }
});

test('an invalid input schema or a duplicate tool name is rejected before swap: the catalog stays, the reason names the tool', async () => {
  const server = await startToolServer([tool('ok')]);
  const connection = mcpConnection({ url: server.url });
  const unit = reloadable({ name: 'tools', source: mcpToolsSource(connection), schema: ToolCatalogSchema, retry: false });
  const rejected: ReloadResult[] = [];
  unit.on('rejected', (e) => rejected.push(e.result));
  try {
    await unit.start();
    await server.setTools([tool('ok'), { name: 'bad', inputSchema: { type: 'object', properties: { q: { type: 'strnig' } } } }]);
    await waitFor(() => rejected.length === 1, { message: 'the rejection' });
    assert.equal(rejected[0]?.stage, 'validate');
    assert.match(rejected[0]?.error?.message ?? '', /inputSchema of tool "bad" is not valid JSON Schema/);
    assert.deepEqual(names(unit.get()), ['ok'], 'the live catalog is kept');
    assert.equal(unit.status().lastAttempt?.outcome, 'rejected');
    await server.setTools([tool('ok'), tool('ok')]);
    await waitFor(() => rejected.length === 2, { message: 'the duplicate rejected' });
    assert.match(rejected[1]?.error?.message ?? '', /duplicate tool name "ok"/);
    await server.setTools([tool('ok'), { name: 'array-input', inputSchema: { type: 'array' } }]);
    await waitFor(() => rejected.length === 3, { message: 'a non-object input schema rejected' });
    // The SDK client refuses a non-object input schema itself (a malformed tools/list): rejected at load.
    assert.equal(rejected[2]?.stage, 'load');
    assert.match(rejected[2]?.error?.message ?? '', /tools\/list answered with a malformed message/);
    assert.deepEqual(names(unit.get()), ['ok']);
    assert.equal(unit.status().generation, 1);
  } finally {
    await unit.close();
    await connection.close();
    await server.close();
  }
});

test('a prompt source renders with its arguments; a missing required argument is refused with its name, the live rendering kept', async () => {
  const server = await startToolServer([]);
  server.prompts = [{ name: 'review', arguments: [{ name: 'language', required: true }] }];
  const connection = mcpConnection({ url: server.url });
  let args: Record<string, string> = { language: 'ts' };
  const unit = reloadable({ name: 'prompt', load: (ctx) => mcpPromptSource(connection, 'review', args).read(ctx), retry: false });
  try {
    await unit.start();
    assert.match(JSON.stringify(unit.get().messages), /review .*language.*ts/);
    args = {};
    const r = await unit.reload();
    assert.equal(r.status, 'rejected');
    assert.match(r.error?.message ?? '', /requires the argument language/);
    assert.equal(unit.get().args.language, 'ts');
    assert.equal(server.calls['prompts/get'], 1, 'the server was never asked to render without the argument');
  } finally {
    await unit.close();
    await connection.close();
    await server.close();
  }
});

test('a resource source subscribes, re-reads on resources/updated, and re-subscribes on a new session', async () => {
  const server = await startToolServer([]);
  const connection = mcpConnection({ url: server.url, reconnectDelayMs: 20, maxReconnectDelayMs: 200 });
  const unit = reloadable({ name: 'resource', source: mcpResourceSource(connection, RESOURCE_URI), retry: false });
  const text = (): string => (unit.get().contents[0] as { text: string }).text;
  try {
    await unit.start();
    assert.equal(text(), 'v0');
    await waitFor(() => server.calls['resources/subscribe'] === 1, { message: 'subscribed' });
    await server.setResource('v1');
    await waitFor(() => text() === 'v1', { message: 'updated by notification' });
    await server.restart();
    await waitFor(() => server.calls['resources/subscribe'] === 2, { message: 're-subscribed on the new session', timeoutMs: 20_000 });
    await server.setResource('v2');
    await waitFor(() => text() === 'v2', { message: 'updated on the new session' });
  } finally {
    await unit.close();
    await connection.close();
    await server.close();
  }
});

test('a local server over stdio: its tools as a unit, re-read on its list_changed', async () => {
  const script = fileURLToPath(new URL('./stdio-server.ts', import.meta.url));
  const connection = mcpConnection({ command: process.execPath, args: ['--import', 'tsx', script], env: { PATH: process.env.PATH ?? '' }, timeoutMs: 30_000 });
  const unit = reloadable({ name: 'local-tools', source: mcpToolsSource(connection), schema: ToolCatalogSchema, retry: false });
  try {
    await unit.start();
    assert.deepEqual(names(unit.get()), ['grow', 't0']);
    assert.equal(connection.sessionId, undefined, 'stdio has no session id');
    await connection.request('tools/call grow', (c, o) => c.callTool({ name: 'grow', arguments: {} }, undefined, o));
    await waitFor(() => unit.get().length === 3, { message: 'the new tool over stdio' });
    assert.deepEqual(names(unit.get()), ['grow', 't0', 't1']);
  } finally {
    await unit.close();
    await connection.close();
  }
});
