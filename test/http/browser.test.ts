// A real browser against the admin endpoint: headless Chromium opens a page served from another
// loopback origin that tries what any web page open on an operator's machine could try: `fetch`
// with `mode: 'no-cors'` (the simple POSTs that need no preflight), a form POST into a hidden
// frame, an image GET, and reading status with a plain `fetch`. Against a server with
// `auth: 'none'` (the riskiest configuration the docs allow) no generation changes, nothing is
// loaded or audited, and the page reads nothing. The same page served from an origin listed in
// `allowedOrigins`, with a token, reloads and reads: the defence, not a broken server.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'puppeteer-core';
import { startAdminServer, type AdminServer } from '../../src/http/index.js';
import { launchChromium, runPage, servePage, type ServedPage } from '../helpers/browser.js';
import { AUTH, TOKENS, makeFixture, type Fixture } from './fixtures.js';

/** The page: every attempt, each recorded as what the page could observe. */
function page(admin: string, token?: string): string {
  return `<!doctype html><html><body>
<iframe name="sink" id="sink"></iframe>
<form id="form" method="POST" action="${admin}/units/cfg/reload" enctype="text/plain" target="sink"><input name='{"reason":"' value='form"}'></form>
<script>
const admin = ${JSON.stringify(admin)};
const token = ${JSON.stringify(token ?? null)};
const results = {};
async function attempt(name, fn) {
  try { results[name] = await fn(); } catch (e) { results[name] = 'threw ' + e.name; }
}
const opaque = async (r) => ({ type: r.type, status: r.status, text: await r.text() });
(async () => {
  await attempt('noCorsTextPlain', async () => opaque(await fetch(admin + '/units/cfg/reload', { method: 'POST', mode: 'no-cors', body: '{}' })));
  await attempt('noCorsNoBody', async () => opaque(await fetch(admin + '/units/cfg/reload', { method: 'POST', mode: 'no-cors' })));
  await attempt('noCorsRollback', async () => opaque(await fetch(admin + '/units/cfg/rollback', { method: 'POST', mode: 'no-cors', body: '{}' })));
  await attempt('noCorsReloadAll', async () => opaque(await fetch(admin + '/reload', { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: '{"force":true}' })));
  await attempt('readUnits', async () => { const r = await fetch(admin + '/units'); return { status: r.status, text: await r.text() }; });
  await attempt('readReady', async () => { const r = await fetch(admin + '/ready'); return { status: r.status, text: await r.text() }; });
  await attempt('image', () => new Promise((resolve) => {
    const img = new Image();
    img.onload = () => resolve('load:' + img.naturalWidth);
    img.onerror = () => resolve('error');
    img.src = admin + '/units?as=image';
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
    await attempt('authorizedReload', async () => {
      const r = await fetch(admin + '/units/cfg/reload', { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + token }, body: JSON.stringify({ reason: 'dashboard' }) });
      return { status: r.status, body: await r.json() };
    });
    await attempt('authorizedRead', async () => {
      const r = await fetch(admin + '/units/cfg', { headers: { Authorization: 'Bearer ' + token } });
      return { status: r.status, body: await r.json() };
    });
  }
  window.__results = results;
  window.__done = true;
})();
</script></body></html>`;
}

interface Opaque {
  type: string;
  status: number;
  text: string;
}

/** Every request an admin server answered: method, path, status, the browser's own account of its site. */
function recordAnswers(admin: AdminServer): { method: string; url: string; status: number; site: string | undefined }[] {
  const seen: { method: string; url: string; status: number; site: string | undefined }[] = [];
  admin.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    res.on('finish', () => seen.push({ method: req.method ?? '', url: req.url ?? '', status: res.statusCode, site: req.headers['sec-fetch-site'] as string | undefined }));
  });
  return seen;
}

describe('a real browser against the admin endpoint', () => {
  let browser: Browser | undefined;
  let fx: Fixture;
  let open: AdminServer;
  let guarded: AdminServer;
  let allowedPage: ServedPage;
  const pages: ServedPage[] = [];

  before(async () => {
    browser = await launchChromium();
    fx = await makeFixture(['cfg']);
    open = await startAdminServer({ registry: fx.registry, auth: 'none', port: 0 });
    // The dashboard's origin must be known before the server that allows it starts.
    allowedPage = await servePage(() => page(guarded.url, TOKENS.admin), { host: 'localhost' });
    guarded = await startAdminServer({ registry: fx.registry, auth: AUTH, port: 0, allowedOrigins: [allowedPage.origin] });
  });
  after(async () => {
    await browser?.close();
    for (const p of [...pages, allowedPage]) await p?.close();
    await open?.close();
    await guarded?.close();
    await fx?.registry.close();
  });

  for (const host of ['localhost', '127.0.0.1'] as const) {
    it(`a page on http://${host}:<other port> can neither mutate nor read a server with auth: 'none'`, async (t) => {
      if (browser === undefined) return t.skip('chromium is not installed');
      const unit = fx.units.get('cfg')!;
      const generation = unit.current!.id;
      const loads = fx.totalLoads();
      const audits = fx.audit.length;
      fx.sources.set('cfg', { password: 'p', port: 8100 + loads }); // a reload that got through would commit this
      const answers = recordAnswers(open);
      const attacker = await servePage(page(open.url), { host });
      pages.push(attacker);

      const results = await runPage<Record<string, unknown>>(browser, attacker.url);

      assert.equal(unit.current!.id, generation, 'no generation change');
      assert.equal(fx.totalLoads(), loads, 'no load');
      assert.equal(fx.audit.length, audits, 'no audit record');
      for (const name of ['noCorsTextPlain', 'noCorsNoBody', 'noCorsRollback', 'noCorsReloadAll']) {
        const r = results[name] as Opaque;
        assert.deepEqual({ type: r.type, status: r.status, text: r.text }, { type: 'opaque', status: 0, text: '' }, `${name}: the page learns nothing`);
      }
      assert.equal(results.readUnits, 'threw TypeError', 'no status can be read');
      assert.equal(results.readReady, 'threw TypeError', 'not even readiness');
      assert.equal(results.image, 'error');
      assert.equal(results.form, 'blocked');
      // The browser did send them, and the server refused each one (so the defence is what held).
      const posts = answers.filter((a) => a.method === 'POST');
      assert.ok(posts.length >= 5, `the mutating attempts reached the server: ${JSON.stringify(answers)}`);
      assert.deepEqual([...new Set(posts.map((a) => a.status))].sort(), [403], JSON.stringify(posts));
      const gets = answers.filter((a) => a.method === 'GET');
      assert.ok(gets.length >= 3, JSON.stringify(answers));
      assert.ok(gets.every((a) => a.status === 403), JSON.stringify(gets));
      assert.ok(answers.every((a) => a.site === (host === 'localhost' ? 'cross-site' : 'same-site')), JSON.stringify(answers));
    });
  }

  it('the same page from an allowed origin, with a token, reloads and reads; its simple requests are still refused', async (t) => {
    if (browser === undefined) return t.skip('chromium is not installed');
    const unit = fx.units.get('cfg')!;
    const generation = unit.current!.id;
    fx.sources.set('cfg', { password: 'p', port: 8999 });
    const answers = recordAnswers(guarded);

    const results = await runPage<Record<string, any>>(browser, allowedPage.url);

    assert.equal(results.authorizedReload.status, 200, JSON.stringify(results.authorizedReload));
    assert.equal(results.authorizedReload.body.status, 'committed');
    assert.equal(results.authorizedRead.status, 200);
    assert.equal(results.authorizedRead.body.name, 'cfg');
    assert.equal(unit.current!.id, generation + 1, 'exactly one commit: the authorized reload');
    assert.ok(fx.audit.some((a) => a.action === 'reload' && a.actor === 'ops' && a.reason === 'dashboard'));
    // The simple requests of the same page were answered 415 (JSON only) and the form 403/415:
    // an allowed origin still cannot mutate without JSON and a token.
    const simple = answers.filter((a) => a.method === 'POST' && !a.url.endsWith('/units/cfg/reload'));
    assert.ok(simple.length >= 2 && simple.every((a) => a.status === 415), JSON.stringify(answers));
    assert.ok(answers.some((a) => a.method === 'OPTIONS' && a.status === 204), 'the preflight was answered');
  });
});
