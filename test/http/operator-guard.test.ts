// The operator routes (dry run with a candidate, pause, resume, clear-refused, history) behind the
// same defences as every admin route, over a real socket: a hostile body (too big, too deep, not
// JSON, a candidate without dryRun) is refused before the unit is touched (no load, no audit
// record, no generation), the candidate is never echoed, and the guard (Host, Origin,
// Content-Type), auth and scopes apply to each new route.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAdminServer, type AdminServer } from '../../src/http/index.js';
import { AUTH, TOKENS, call, makeFixture, type Fixture } from './fixtures.js';

/** Appears in every hostile candidate: it must never come back in an answer. */
const MARKER = 'candidate-marker-7f3a';

function nested(depth: number): unknown {
  let value: unknown = MARKER;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

describe('operator routes: hostile bodies and the guard', () => {
  let fx: Fixture;
  let admin: AdminServer;

  before(async () => {
    fx = await makeFixture(['config']);
    admin = await startAdminServer({ registry: fx.registry, auth: AUTH, port: 0, bodyLimit: 2048, rateLimit: false });
  });
  after(async () => {
    await admin.close();
    await fx.registry.close();
  });

  /** Nothing happened to the unit: no load, no audit record, the same generation. */
  function untouched(before: { loads: number; audit: number; generation: number }): void {
    assert.equal(fx.totalLoads(), before.loads, 'no load was attempted');
    assert.equal(fx.audit.length, before.audit, 'nothing was audited');
    assert.equal(fx.units.get('config')!.current!.id, before.generation, 'the live generation stayed');
  }
  const snapshot = () => ({ loads: fx.totalLoads(), audit: fx.audit.length, generation: fx.units.get('config')!.current!.id });

  it('a hostile dry-run body is refused before the unit is touched, and the candidate is never echoed', async () => {
    const was = snapshot();
    const path = '/units/config/reload';
    const token = TOKENS.admin;
    const big = { dryRun: true, candidate: { password: MARKER.repeat(200), port: 1 } };
    const [tooBig, tooBigChunked, tooDeep, notJson, textPlain, noType, withoutDryRun, dryRunFalse, dryRunString, unknownField] = await Promise.all([
      call(admin.url, 'POST', path, { token, body: big }),
      call(admin.url, 'POST', path, { token, body: JSON.stringify(big), headers: { 'transfer-encoding': 'chunked' } }),
      call(admin.url, 'POST', path, { token, body: { dryRun: true, candidate: nested(80) } }),
      call(admin.url, 'POST', path, { token, body: `{"dryRun": true, "candidate": {"password": "${MARKER}",` }),
      call(admin.url, 'POST', path, { token, body: { dryRun: true, candidate: { password: MARKER } }, contentType: 'text/plain' }),
      call(admin.url, 'POST', path, { token, body: { dryRun: true, candidate: { password: MARKER } }, contentType: null }),
      call(admin.url, 'POST', path, { token, body: { candidate: { password: MARKER, port: 1 } } }),
      call(admin.url, 'POST', path, { token, body: { dryRun: false, candidate: { password: MARKER, port: 1 } } }),
      call(admin.url, 'POST', path, { token, body: { dryRun: 'yes', candidate: { password: MARKER, port: 1 } } }),
      call(admin.url, 'POST', path, { token, body: { dryRun: true, candidat: { password: MARKER, port: 1 } } }),
    ]);
    assert.equal(tooBig.status, 413);
    assert.equal(tooBig.body.error.code, 'RELOADKIT_HTTP_BODY_TOO_LARGE');
    assert.equal(tooBigChunked.status, 413, 'a body with no Content-Length is cut while it is read');
    assert.equal(tooDeep.status, 400);
    assert.equal(tooDeep.body.error.code, 'RELOADKIT_HTTP_BODY_TOO_DEEP');
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.error.code, 'RELOADKIT_HTTP_BAD_JSON');
    for (const r of [textPlain, noType]) {
      assert.equal(r.status, 415);
      assert.equal(r.body.error.code, 'RELOADKIT_HTTP_UNSUPPORTED_MEDIA_TYPE');
    }
    for (const r of [withoutDryRun, dryRunFalse]) {
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.error.code, 'RELOADKIT_HTTP_BAD_REQUEST');
      assert.match(r.body.error.message, /'candidate' is only allowed with 'dryRun: true'/);
    }
    assert.equal(dryRunString.status, 400);
    assert.match(dryRunString.body.error.message, /'dryRun' must be a boolean/);
    assert.equal(unknownField.status, 400);
    assert.match(unknownField.body.error.message, /unknown field 'candidat' \(allowed: reason, force, dryRun, candidate\)/);
    for (const r of [tooBig, tooBigChunked, tooDeep, notJson, textPlain, noType, withoutDryRun, dryRunFalse, dryRunString, unknownField]) {
      assert.ok(!r.text.includes(MARKER), `the candidate came back: ${r.text}`);
    }
    untouched(was);
  });

  it('each new route needs a token with its scope, and sits behind the Host / Origin / Content-Type guard', async () => {
    const was = snapshot();
    const routes: [string, string][] = [
      ['POST', '/units/config/pause'],
      ['POST', '/units/config/resume'],
      ['POST', '/units/config/clear-refused'],
      ['GET', '/units/config/history'],
    ];
    for (const [method, path] of routes) {
      const mutating = method === 'POST';
      const [anonymous, wrongScope, rebinding, crossSite, plain, wrongMethod] = await Promise.all([
        call(admin.url, method, path),
        call(admin.url, method, path, { token: mutating ? TOKENS.reader : TOKENS.reloader }),
        call(admin.url, method, path, { token: TOKENS.admin, headers: { host: `evil.example:${new URL(admin.url).port}` } }),
        call(admin.url, method, path, { token: TOKENS.admin, headers: { origin: 'https://evil.example' } }),
        call(admin.url, 'POST', path, { token: TOKENS.admin, body: '{}', contentType: 'text/plain' }),
        call(admin.url, mutating ? 'GET' : 'POST', path, { token: TOKENS.admin }),
      ]);
      assert.equal(anonymous.status, 401, `${path} anonymous`);
      assert.equal(wrongScope.status, 403, `${path} scope`);
      assert.equal(wrongScope.body.error.code, 'RELOADKIT_HTTP_FORBIDDEN');
      assert.equal(rebinding.status, 421, `${path} Host`);
      assert.equal(crossSite.status, 403, `${path} Origin`);
      assert.equal(crossSite.body.error.code, 'RELOADKIT_HTTP_CROSS_SITE');
      assert.equal(plain.status, 415, `${path} text/plain`);
      assert.equal(wrongMethod.status, 405, `${path} method`);
      assert.equal(wrongMethod.headers.allow, mutating ? 'POST' : 'GET, HEAD');
    }
    const badReason = await call(admin.url, 'POST', '/units/config/pause', { token: TOKENS.admin, body: { reason: 'line\nbreak' } });
    assert.equal(badReason.status, 400);
    const extra = await call(admin.url, 'POST', '/units/config/pause', { token: TOKENS.admin, body: { actor: 'someone-else' } });
    assert.equal(extra.status, 400, 'a caller cannot set its own actor');
    for (const path of ['/units/config/resume', '/units/config/clear-refused']) {
      const withReason = await call(admin.url, 'POST', path, { token: TOKENS.admin, body: { reason: 'x' } });
      assert.equal(withReason.status, 400, `${path}: ${withReason.text}`);
      assert.match(withReason.body.error.message, /unknown field 'reason' \(allowed: none\)/);
    }
    assert.equal(fx.units.get('config')!.status().paused, undefined, 'no refused call paused the unit');
    untouched(was);
  });
});
