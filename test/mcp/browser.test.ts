// A real browser against the model service's MCP server: headless Chromium opens a page served
// from another loopback origin that tries what any web page open on the machine could: `fetch`
// with `mode: 'no-cors'` (simple POSTs, no preflight) of an `initialize` and of a `load_version`
// call, a CORS `fetch` of a JSON-RPC request, a form POST into a hidden frame and an image GET.
// No session opens, no version loads, and the page reads nothing. The same kind of page served
// from an origin in `allowedOrigins`, with the token, opens a session, calls `load_version` and
// reads `model://words`: the defence, not a broken server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'puppeteer-core';
import { modelServiceClient } from '../../src/mcp/model-client.js';
import { startMcpServer } from '../../src/mcp/serve.js';
import type { RunningMcpServer } from '../../src/mcp/serve.js';
import { launchChromium, runPage, servePage } from '../helpers/browser.js';
import type { ServedPage } from '../helpers/browser.js';
import { waitFor } from '../helpers/wait.js';
import { wordModel } from './fixtures.js';

const TOKEN = 'browser-mcp-token-1';

function page(mcp: string, token: string | null): string {
  return `<!doctype html><html><body>
<iframe name="sink" id="sink"></iframe>
<form id="form" method="POST" action="${mcp}" enctype="text/plain" target="sink"><input name='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"evil","version":"1"},"x":"' value='"}}'></form>
<script>
const mcp = ${JSON.stringify(mcp)};
const token = ${JSON.stringify(token)};
const results = {};
async function attempt(name, fn) {
  try { results[name] = await fn(); } catch (e) { results[name] = 'threw ' + e.name; }
}
const init = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'page', version: '1' } } });
const load = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'load_version', arguments: { model: 'words', version: 'v2' } } });
const opaque = async (r) => ({ type: r.type, status: r.status, text: await r.text() });
(async () => {
  await attempt('noCorsInitialize', async () => opaque(await fetch(mcp, { method: 'POST', mode: 'no-cors', body: init })));
  await attempt('noCorsLoad', async () => opaque(await fetch(mcp, { method: 'POST', mode: 'no-cors', headers: { 'Mcp-Session-Id': 'guessed' }, body: load })));
  await attempt('corsInitialize', async () => { const r = await fetch(mcp, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' }, body: init }); return { status: r.status, text: await r.text() }; });
  await attempt('image', () => new Promise((resolve) => {
    const img = new Image();
    img.onload = () => resolve('load');
    img.onerror = () => resolve('error');
    img.src = mcp + '?as=image';
  }));
  await attempt('form', () => new Promise((resolve) => {
    const frame = document.getElementById('sink');
    frame.onload = () => {
      let seen = 'blocked';
      try { if (frame.contentDocument) seen = frame.contentDocument.body.innerText; } catch (e) { seen = 'blocked'; }
      resolve(seen);
    };
    document.getElementById('form').submit();
  }));
  if (token !== null) {
    await attempt('authorized', async () => {
      const headers = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', Authorization: 'Bearer ' + token };
      const r = await fetch(mcp, { method: 'POST', headers, body: init });
      const session = r.headers.get('Mcp-Session-Id');
      await r.text();
      const h = { ...headers, 'Mcp-Session-Id': session, 'Mcp-Protocol-Version': '2025-06-18' };
      await fetch(mcp, { method: 'POST', headers: h, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
      const called = await (await fetch(mcp, { method: 'POST', headers: h, body: load })).json();
      const read = await (await fetch(mcp, { method: 'POST', headers: h, body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'resources/read', params: { uri: 'model://words' } }) })).json();
      return { session: typeof session === 'string' && session.length > 0, called: called.result.structuredContent, read: JSON.parse(read.result.contents[0].text).name };
    });
  }
  window.__results = results;
  window.__done = true;
})();
</script></body></html>`;
}

interface Opaque { type: string; status: number; text: string }

describe('the model service MCP server against a real browser', () => {
  let browser: Browser | undefined;
  let service: RunningMcpServer;
  let allowed: ServedPage;
  let foreign: ServedPage;

  before(async () => {
    browser = await launchChromium();
    let mcpUrl = '';
    allowed = await servePage(() => page(mcpUrl, TOKEN));
    foreign = await servePage(() => page(mcpUrl, null), { host: 'localhost' });
    service = await startMcpServer({ models: [wordModel()], token: TOKEN, allowedOrigins: [allowed.origin] });
    await service.handler.ready();
    mcpUrl = service.url;
  });

  after(async () => {
    await browser?.close();
    await service?.close();
    await allowed?.close();
    await foreign?.close();
  });

  it('a page from a foreign loopback origin opens no session, loads nothing and reads nothing', async (t) => {
    if (!browser) return t.skip('chromium not installed');
    const results = await runPage<Record<string, unknown>>(browser, foreign.url);
    for (const name of ['noCorsInitialize', 'noCorsLoad'] as const) {
      const r = results[name] as Opaque;
      assert.equal(r.type, 'opaque', name);
      assert.equal(r.text, '', `${name}: nothing readable`);
    }
    assert.equal(results.corsInitialize, 'threw TypeError', 'a CORS request is refused and unreadable');
    assert.equal(results.image, 'error');
    assert.equal(results.form, 'blocked');
    assert.equal(service.handler.sessions(), 0, 'no session was opened');
    const models = modelServiceClient({ url: service.url, token: TOKEN });
    assert.equal((await models.getModel('words')).versions.find((v) => v.version === 'v2')?.state, 'UNAVAILABLE', 'nothing was loaded');
    await models.connection.close();
  });

  it('the same page from an allowed origin with the token opens a session, calls load_version and reads model://words', async (t) => {
    if (!browser) return t.skip('chromium not installed');
    const results = await runPage<Record<string, any>>(browser, allowed.url);
    assert.deepEqual({ session: results.authorized.session, read: results.authorized.read }, { session: true, read: 'words' }, JSON.stringify(results));
    assert.equal(results.authorized.called.version, 'v2');
    const models = modelServiceClient({ url: service.url, token: TOKEN });
    await waitFor(async () => (await models.getModel('words')).versions.find((v) => v.version === 'v2')?.state === 'READY', { message: 'v2 loaded by the allowed page' });
    await models.connection.close();
  });
});
