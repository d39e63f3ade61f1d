import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createMcpClient } from '../../src/mcp/client.js';
import { McpError } from '../../src/mcp/errors.js';
import { startMcpServer } from '../../src/mcp/serve.js';
import { rawServer, wordModel } from './fixtures.js';

function isMcp(kind: string, pattern?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof McpError, `expected McpError, got ${String(error)}`);
    assert.equal(error.kind, kind);
    assert.equal(error.code, 'RELOADKIT_PROTOCOL');
    if (pattern) assert.match(error.message, pattern);
    return true;
  };
}

test('hostile responses become clear McpErrors: malformed JSON, wrong types, huge and slow bodies', async () => {
  let hits = 0;
  const server = await rawServer((req, res) => {
    hits++;
    const path = req.url ?? '';
    if (path.endsWith('/health')) { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"status": "ok", "uptimeMs": '); return; }
    if (path.endsWith('/models')) { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ models: [{ name: 42, state: 'HAPPY' }] })); return; }
    if (path.endsWith('/models/huge')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 'a');
      let sent = 0;
      const pump = () => { while (sent < 64 && res.write(chunk)) sent++; if (sent < 64) res.once('drain', pump); else res.end(); };
      pump();
      return;
    }
    if (path.endsWith('/models/slow')) { res.writeHead(200, { 'content-type': 'application/json' }); res.write('{"name":'); return; /* never ends */ }
    if (path.endsWith('/models/html')) { res.writeHead(500, { 'content-type': 'text/html' }); res.end('<h1>oops</h1>'); return; }
    if (path.endsWith('/models/proto')) { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"__proto__":{"polluted":true},"name":"x"}'); return; }
    res.writeHead(503); res.end();
  });
  const client = createMcpClient({ baseUrl: server.url, timeoutMs: 500, retries: 2, retryDelayMs: 1, maxResponseBytes: 256 * 1024 });
  try {
    await assert.rejects(client.health(), isMcp('malformed', /malformed JSON/));
    await assert.rejects(client.listModels(), isMcp('malformed', /models\.0\.name/));
    await assert.rejects(client.getModel('huge'), isMcp('too-large', /exceeds 262144 bytes/));
    await assert.rejects(client.getModel('slow'), (e: unknown) => e instanceof McpError && (e.kind === 'timeout') && /timed out/.test(e.message));
    await assert.rejects(client.getModel('html'), (e: unknown) => e instanceof McpError && e.kind === 'status' && e.status === 500);
    await assert.rejects(client.getModel('proto'), isMcp('malformed'));
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
    // Retries: a GET hitting 503 is retried (1 + 2 attempts); a POST never is.
    hits = 0;
    await assert.rejects(client.getOperation('x'), (e: unknown) => e instanceof McpError && e.status === 503);
    assert.equal(hits, 3);
    hits = 0;
    await assert.rejects(client.infer('m', 'v', {}), (e: unknown) => e instanceof McpError && e.status === 503);
    assert.equal(hits, 1);
    hits = 0;
    await assert.rejects(client.putContext('m', {}, 'sha256:00'), (e: unknown) => e instanceof McpError && e.status === 503);
    assert.equal(hits, 1, 'a conditional PUT is not retried');
  } finally {
    await server.close();
  }
  // A refused connection is a network error, not a crash.
  const dead = createMcpClient({ baseUrl: server.url, retries: 0 });
  await assert.rejects(dead.health(), isMcp('network', /GET \/health failed: (ECONNREFUSED|UND_ERR_SOCKET)/));
});

/** Sends raw bytes and returns the status line's code (or 0 when the socket closed without one). */
function raw(port: number, payload: string | Buffer[], { holdOpenMs = 0 } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (d) => { data += d.toString(); });
    socket.on('error', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(data)?.[1] ?? 0)));
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(data)?.[1] ?? 0)));
    socket.on('connect', () => {
      if (typeof payload === 'string') socket.write(payload);
      else for (const p of payload) socket.write(p);
      if (holdOpenMs === 0) socket.end();
    });
    setTimeout(() => reject(new Error('raw request timed out')), 20_000).unref();
  });
}

test('hostile requests get 4xx and the service keeps serving', async () => {
  const service = await startMcpServer({ models: [wordModel()], token: 'secret-token-1', maxBodyBytes: 1024, bodyTimeoutMs: 300 });
  await service.handler.ready();
  const auth = { authorization: 'Bearer secret-token-1', 'content-type': 'application/json' };
  const at = (p: string) => `${service.url}/mcp/v1${p}`;
  try {
    const cases: [string, RequestInit, number][] = [
      ['/models/words/context', { method: 'PUT', headers: { ...auth, 'if-match': '*' }, body: '{"context": {"threshold": 1' }, 400],
      ['/models/words/context', { method: 'PUT', headers: { ...auth, 'if-match': '*' }, body: JSON.stringify({ context: [1, 2] }) }, 400],
      ['/models/words/context', { method: 'PUT', headers: { ...auth, 'if-match': '*', 'content-type': 'text/plain' }, body: '{}' }, 415],
      ['/models/words/context', { method: 'PUT', headers: { ...auth, 'if-match': '*' }, body: JSON.stringify({ context: { threshold: 1, pad: 'x'.repeat(5000) } }) }, 413],
      ['/models/words/context', { method: 'PUT', headers: { ...auth, 'if-match': '*' }, body: '['.repeat(1000) + ']'.repeat(0) }, 400],
      ['/models/words/versions', { method: 'POST', headers: auth, body: JSON.stringify({ version: 'v1', __proto__: { x: 1 } }) }, 202],
      ['/models/%E0%A4%A/ready', { headers: auth }, 400],
      ['/models/words', { method: 'PATCH', headers: auth }, 405],
      ['/models/words/versions/v1/infer/extra', { method: 'POST', headers: auth }, 404],
      ['/../../etc/passwd', { headers: auth }, 404],
      ['/models', { headers: { authorization: 'Bearer secret-token-1x' } }, 401],
      ['/models', { headers: { authorization: 'secret-token-1' } }, 401],
      ['/models/words/versions/v1/infer', { method: 'POST', headers: auth, body: JSON.stringify({ input: { text: 42 } }) }, 422],
      ['/models/words/weights', { method: 'PUT', headers: auth, body: JSON.stringify({ weights: { v1: 500 } }) }, 400],
      ['/models/words/weights', { method: 'PUT', headers: auth, body: JSON.stringify({ weights: { nope: 5 } }) }, 404],
      // Nesting deep enough to exhaust the stack of a recursive walk (hash, serialize): refused up front.
      ['/models/words/versions/v1/infer', { method: 'POST', headers: auth, body: `{"input":{"text":"x","deep":${'['.repeat(150)}${']'.repeat(150)}}}` }, 400],
      ['/models/words/context', { method: 'PUT', headers: { ...auth, 'if-match': '*' }, body: `{"context":{"threshold":1,"a":${'{"b":'.repeat(120)}1${'}'.repeat(120)}}}` }, 400],
      // Brackets inside strings do not count as nesting.
      ['/models/words/versions/v1/infer', { method: 'POST', headers: auth, body: JSON.stringify({ input: { text: `good ${'[{'.repeat(300)}` } }) }, 200],
    ];
    for (const [path, init, status] of cases) {
      const res = await fetch(at(path), init);
      assert.equal(res.status, status, `${init.method ?? 'GET'} ${path}`);
      const body = await res.json() as { error?: { code: string } };
      if (status >= 400) assert.equal(typeof body.error?.code, 'string');
    }
    const patch = await fetch(at('/models/words'), { method: 'PATCH', headers: auth });
    assert.equal(patch.headers.get('allow'), 'GET');
    // A body that never finishes: 408 once the body timeout fires; a declared huge body: 413 at once.
    const slow = await raw(service.port, `PUT /mcp/v1/models/words/context HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret-token-1\r\nIf-Match: *\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"context":`, { holdOpenMs: 1 });
    assert.equal(slow, 408);
    const declared = await raw(service.port, `PUT /mcp/v1/models/words/context HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret-token-1\r\nIf-Match: *\r\nContent-Type: application/json\r\nContent-Length: 99999999\r\n\r\n{`, { holdOpenMs: 1 });
    assert.equal(declared, 413);
    const garbage = await raw(service.port, 'NOT HTTP AT ALL\r\n\r\n');
    assert.ok(garbage === 400 || garbage === 0);
    // Still alive and unchanged.
    const client = createMcpClient({ baseUrl: service.url, token: 'secret-token-1' });
    const info = await client.getModel('words');
    assert.deepEqual(info.context, { threshold: 0 });
    assert.equal((await client.infer('words', 'v1', { text: 'good' })).version, 'v1');
  } finally {
    await service.close();
  }
});
