import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { reloadable } from '../../src/core/unit.js';
import { ToolCatalogSchema } from '../../src/mcp/catalog-schema.js';
import { mcpConnection } from '../../src/mcp/connection.js';
import { McpError } from '../../src/mcp/errors.js';
import { modelServiceClient } from '../../src/mcp/model-client.js';
import { startMcpServer } from '../../src/mcp/serve.js';
import { mcpToolsSource } from '../../src/mcp/sources.js';
import { rawServer, wordModel } from './fixtures.js';

/** The McpError behind a rejected result (the core wraps it in its stage error). */
function mcpCause(error: unknown): McpError | undefined {
  for (let e = error; e; e = (e as { cause?: unknown }).cause) if (e instanceof McpError) return e;
  return undefined;
}

test('a server that answers garbage, oversized or wrong-typed lists, hangs, or drops the connection never corrupts the live catalog', async () => {
  let mode: 'ok' | 'garbage' | 'wrong' | 'huge' | 'hang' | 'drop' | 'more' = 'ok';
  // A hand-written JSON-RPC peer: valid MCP framing for initialize, then whatever `mode` says.
  const server = await rawServer((req, res) => {
    if (req.method !== 'POST') { res.writeHead(405).end(); return; }
    let text = '';
    req.on('data', (c) => { text += c; });
    req.on('end', () => {
      const msg = JSON.parse(text) as { id?: number; method: string };
      const reply = (result: unknown): void => {
        res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'hostile-session' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result }));
      };
      if (msg.id === undefined) { res.writeHead(202).end(); return; }
      if (msg.method === 'initialize') return reply({ protocolVersion: '2025-06-18', capabilities: { tools: { listChanged: true } }, serverInfo: { name: 'hostile', version: '0' } });
      if (msg.method !== 'tools/list') return reply({});
      const tool = (name: string) => ({ name, inputSchema: { type: 'object' } });
      if (mode === 'ok') return reply({ tools: [tool('a')] });
      if (mode === 'more') return reply({ tools: [tool('a'), tool('b')] });
      if (mode === 'wrong') return reply({ tools: [{ name: 42, inputSchema: 'no' }] });
      if (mode === 'garbage') { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"jsonrpc": "2.0", "id": '); return; }
      if (mode === 'drop') { req.socket.destroy(); return; }
      if (mode === 'hang') { res.writeHead(200, { 'content-type': 'application/json' }); res.write('{'); return; }
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const pump = (): void => { while (sent < 64 && res.write(chunk)) sent++; if (sent < 64) res.once('drain', pump); else res.end('{}'); };
      pump();
    });
  });
  // A request that hangs fails after timeoutMs; the initialize may take its time on a loaded machine.
  const connection = mcpConnection({ url: `${server.url}/mcp`, timeoutMs: 2000, maxResponseBytes: 16 * 1024 });
  const unit = reloadable({ name: 'tools', source: mcpToolsSource(connection), schema: ToolCatalogSchema, retry: false });
  try {
    await connection.connect({ timeoutMs: 60_000 });
    await unit.start();
    const kinds: Record<string, string | undefined> = {};
    for (const m of ['garbage', 'wrong', 'huge', 'hang', 'drop'] as const) {
      mode = m;
      const r = await unit.reload({ reason: m });
      assert.equal(r.status, 'rejected', m);
      kinds[m] = mcpCause(r.error)?.kind;
      assert.deepEqual(unit.get().map((t) => t.name), ['a'], `${m}: the live catalog is kept`);
    }
    assert.deepEqual(kinds, { garbage: 'malformed', wrong: 'malformed', huge: 'too-large', hang: 'timeout', drop: 'network' });
    assert.equal(unit.status().generation, 1);
    mode = 'more';
    const healed = await unit.reload();
    assert.equal(healed.status, 'committed', healed.error?.message);
    assert.deepEqual(unit.get().map((t) => t.name), ['a', 'b']);
  } finally {
    await unit.close();
    await connection.close();
    await server.close();
  }
});

/** Sends raw bytes and returns the status line's code (0 when the socket closed without one). */
function raw(port: number, payload: string, { holdOpen = false } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const done = (): void => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(data)?.[1] ?? 0));
    socket.on('data', (d) => {
      data += d.toString();
      if (holdOpen && /^HTTP\/1\.1 \d+/.test(data)) socket.destroy();
    });
    socket.on('error', done);
    socket.on('close', done);
    socket.on('connect', () => {
      socket.write(payload);
      if (!holdOpen) socket.end();
    });
    setTimeout(() => reject(new Error('raw request timed out')), 20_000).unref();
  });
}

const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } });

test('the MCP server refuses forged Host, foreign Origin, cross-site, non-JSON and unauthenticated requests, hostile bodies too; no 5xx, no state change', async () => {
  const token = 'secret-token-1';
  const service = await startMcpServer({ models: [wordModel()], token, maxBodyBytes: 1024 });
  await service.handler.ready();
  const good = { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const loadV2 = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'load_version', arguments: { model: 'words', version: 'v2' } } });
  try {
    const cases: [string, RequestInit, number][] = [
      ['initialize with text/plain', { method: 'POST', headers: { ...good, 'content-type': 'text/plain' }, body: initialize }, 415],
      ['initialize with no content type', { method: 'POST', headers: { authorization: good.authorization, accept: good.accept }, body: initialize }, 415],
      ['no body, no content type', { method: 'POST', headers: { authorization: good.authorization } }, 415],
      ['a foreign Origin', { method: 'POST', headers: { ...good, origin: 'http://evil.example' }, body: initialize }, 403],
      ['Sec-Fetch-Site: cross-site', { method: 'POST', headers: { ...good, 'sec-fetch-site': 'cross-site' }, body: initialize }, 403],
      ['no token', { method: 'POST', headers: { ...good, authorization: '' }, body: initialize }, 401],
      ['a wrong token', { method: 'POST', headers: { ...good, authorization: `Bearer ${token}x` }, body: initialize }, 401],
      ['an unknown session', { method: 'POST', headers: { ...good, 'mcp-session-id': 'no-such-session' }, body: loadV2 }, 404],
      ['a tool call without a session', { method: 'POST', headers: good, body: loadV2 }, 400],
      ['malformed JSON', { method: 'POST', headers: good, body: '{"jsonrpc": ' }, 400],
      ['a body over maxBodyBytes', { method: 'POST', headers: good, body: JSON.stringify({ pad: 'x'.repeat(5000) }) }, 413],
      ['nesting deeper than the limit', { method: 'POST', headers: good, body: `{"a":${'['.repeat(200)}${']'.repeat(200)}}` }, 400],
      ['another path', { method: 'POST', headers: good, body: initialize }, 404],
    ];
    for (const [what, init, status] of cases) {
      const res = await fetch(what === 'another path' ? service.url.replace('/mcp', '/admin') : service.url, init);
      assert.equal(res.status, status, what);
      await res.body?.cancel();
    }
    // A forged Host (DNS rebinding) is answered 421 before anything else, on raw sockets.
    const forged = await raw(service.port, `POST /mcp HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${initialize.length}\r\n\r\n${initialize}`);
    assert.equal(forged, 421);
    const garbage = await raw(service.port, 'NOT HTTP AT ALL\r\n\r\n');
    assert.ok(garbage === 400 || garbage === 0);
    const slow = await raw(service.port, `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${service.port}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 99999999\r\n\r\n{`, { holdOpen: true });
    assert.equal(slow, 413);
    assert.equal(service.handler.sessions(), 0, 'no refused request opened a session');
    // Still serving, unchanged: v2 was never loaded by any refused request.
    const client = modelServiceClient({ url: service.url, token });
    const info = await client.getModel('words');
    assert.equal(info.versions.find((v) => v.version === 'v2')?.state, 'UNAVAILABLE');
    assert.equal((await client.infer('words', 'v1', { text: 'good' })).version, 'v1');
    await client.connection.close();
  } finally {
    await service.close();
  }
  await assert.rejects(startMcpServer({ models: [wordModel()], host: '0.0.0.0' }), /needs a `token`/);
  await assert.rejects(startMcpServer({ models: [wordModel()], tokn: 'x' } as never), /tokn/);
});

test('a refused connection and a tool error are clear McpErrors', async () => {
  const service = await startMcpServer({ models: [wordModel()] });
  await service.handler.ready();
  const client = modelServiceClient({ url: service.url });
  try {
    await assert.rejects(client.infer('words', 'v1', { text: 42 }), (e: unknown) => e instanceof McpError && e.kind === 'tool' && e.serverCode === 'INVALID_INPUT' && /text/.test(e.message));
    await assert.rejects(client.infer('nope', 'v1', {}), (e: unknown) => e instanceof McpError && e.serverCode === 'UNKNOWN_MODEL');
    await assert.rejects(client.infer('words', 'v2', { text: 'x' }), (e: unknown) => e instanceof McpError && e.serverCode === 'VERSION_NOT_READY');
    const stale = await client.putContext('words', { threshold: 1 }, `sha256:${'0'.repeat(64)}`).catch((e: unknown) => e);
    assert.ok(stale instanceof McpError && stale.kind === 'conflict' && stale.code === 'RELOADKIT_STALE_CONTEXT');
    assert.equal(stale.contextHash, (await client.getContext('words')).contextHash, 'the conflict carries the current hash');
    await assert.rejects(client.putContext('words', { threshold: 'high' }, stale.contextHash as string), (e: unknown) => e instanceof McpError && e.serverCode === 'INVALID_CONTEXT');
  } finally {
    await client.connection.close();
    await service.close();
  }
  const dead = modelServiceClient({ url: service.url });
  await assert.rejects(dead.getModel('words'), (e: unknown) => e instanceof McpError && e.kind === 'network' && /initialize failed/.test(e.message));
});

test('sessions are capped: beyond maxSessions the least recently used session ends, and its client opens a new one', async () => {
  const service = await startMcpServer({ models: [wordModel()], maxSessions: 2 });
  await service.handler.ready();
  const clients = [0, 1, 2].map(() => modelServiceClient({ url: service.url, reconnectDelayMs: 20, maxReconnectDelayMs: 200 }));
  try {
    await clients[0]!.getModel('words');
    await clients[1]!.getModel('words');
    await clients[1]!.getModel('words');
    assert.equal(service.handler.sessions(), 2);
    await clients[2]!.getModel('words'); // evicts client 0's session, the least recently used
    assert.equal(service.handler.sessions(), 2);
    const first = clients[0]!.connection.session;
    // Client 0's next call meets a 404, opens a new session and is sent again there.
    assert.equal((await clients[0]!.getModel('words')).name, 'words');
    assert.equal(clients[0]!.connection.session, first + 1);
    assert.equal(service.handler.sessions(), 2);
  } finally {
    await Promise.all(clients.map((c) => c.connection.close()));
    await service.close();
  }
});
