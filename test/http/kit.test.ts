// Pure-logic tests of the HTTP kit (src/support/http): the JSON depth limit, the content-type
// rule, the guard's Host / Origin / Sec-Fetch-Site decisions on hand-made requests, single-token
// matching and the secret-safe description. The same parts over sockets and in a real browser
// are in browser-defence.test.ts and browser.test.ts.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HttpError, ReloadkitError } from '../../src/errors.js';
import { describeSecret } from '../../src/support/describe-value.js';
import { createServer } from 'node:http';
import { createBearerAuth, createRequestGuard, isJsonContentType, jsonDepth, listen, parseJsonObject, sendError, tokenDigest, tokenMatches } from '../../src/support/http/index.js';

function request(method: string, headers: Record<string, string>, { localAddress = '127.0.0.1', localPort = 9464 } = {}): IncomingMessage {
  return { method, headers, socket: { localAddress, localPort } } as unknown as IncomingMessage;
}

function refusal(fn: () => unknown): { status: number; code: string } | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    assert.ok(error instanceof HttpError && error instanceof ReloadkitError, String(error));
    return { status: error.status, code: error.code };
  }
}

describe('kit: JSON bodies', () => {
  it('counts nesting outside strings and stops past the limit', () => {
    assert.equal(jsonDepth('{}', 64), 1);
    assert.equal(jsonDepth('{"a":[1,{"b":"[[[["}]}', 64), 3);
    assert.equal(jsonDepth('"\\"[[["', 64), 0);
    assert.equal(jsonDepth('['.repeat(100_000), 64), 65);
  });

  it('agrees with JSON.parse on the depth of any JSON value', () => {
    const depthOf = (v: unknown): number => (v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v).map(depthOf)) : 0);
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 8 }), (value) => jsonDepth(JSON.stringify(value), 1000) === depthOf(value)));
  });

  it('refuses a body deeper than the limit with 400 BODY_TOO_DEEP, before parsing', () => {
    assert.deepEqual(refusal(() => parseJsonObject(`${'{"a":'.repeat(65)}1${'}'.repeat(65)}`, 64)), { status: 400, code: 'RELOADKIT_HTTP_BODY_TOO_DEEP' });
    assert.deepEqual(parseJsonObject(`${'{"a":'.repeat(63)}1${'}'.repeat(63)}`, 64).a !== undefined, true);
    assert.deepEqual(refusal(() => parseJsonObject('[1]')), { status: 400, code: 'RELOADKIT_HTTP_BAD_JSON' });
    assert.deepEqual(refusal(() => parseJsonObject('{')), { status: 400, code: 'RELOADKIT_HTTP_BAD_JSON' });
    assert.deepEqual(parseJsonObject('  '), {});
  });

  it('knows application/json with parameters, and nothing else', () => {
    for (const yes of ['application/json', 'Application/JSON', 'application/json; charset=utf-8', ' application/json ;x=1']) assert.equal(isJsonContentType(yes), true, yes);
    for (const no of [undefined, '', 'text/plain', 'application/jsonp', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/json', 'application/json-seq']) {
      assert.equal(isJsonContentType(no), false, String(no));
    }
  });
});

describe('kit: request guard', () => {
  const guard = createRequestGuard({ allowedHosts: ['admin.example.com', 'proxy.example:8443'], allowedOrigins: ['https://ops.example.com'] });

  it('accepts the loopback names and the local address with the local port only', () => {
    for (const host of ['127.0.0.1:9464', 'localhost:9464', 'LOCALHOST.:9464', '[::1]:9464']) assert.equal(refusal(() => guard.check(request('GET', { host }))), undefined, host);
    assert.equal(refusal(() => guard.check(request('GET', { host: '10.1.2.3:9464' }, { localAddress: '10.1.2.3' }))), undefined, 'the bound address');
    assert.equal(refusal(() => guard.check(request('GET', { host: '127.0.0.1:9464' }, { localAddress: '::ffff:127.0.0.1' }))), undefined);
    assert.equal(refusal(() => guard.check(request('GET', { host: 'localhost' }, { localPort: 80 }))), undefined, 'no port means 80');
    for (const host of ['127.0.0.1', 'localhost:9465', 'evil.example:9464', '10.1.2.3:9464', 'a b', '127.0.0.1:9464:1', 'user@127.0.0.1:9464', '[::1', '']) {
      assert.deepEqual(refusal(() => guard.check(request('GET', { host }))), { status: 421, code: 'RELOADKIT_HTTP_MISDIRECTED' }, host);
    }
    assert.deepEqual(refusal(() => guard.check(request('GET', {}))), { status: 421, code: 'RELOADKIT_HTTP_MISDIRECTED' }, 'no Host');
  });

  it('accepts allowedHosts entries (any port, or the one given) and "any"', () => {
    assert.equal(refusal(() => guard.check(request('GET', { host: 'admin.example.com' }))), undefined);
    assert.equal(refusal(() => guard.check(request('GET', { host: 'ADMIN.example.com:443' }))), undefined);
    assert.equal(refusal(() => guard.check(request('GET', { host: 'proxy.example:8443' }))), undefined);
    assert.equal(refusal(() => guard.check(request('GET', { host: 'proxy.example:80' })))?.status, 421);
    assert.equal(refusal(() => createRequestGuard({ allowedHosts: 'any' }).check(request('GET', { host: 'anything.example' }))), undefined);
  });

  it('refuses foreign origins and cross-site fetches, and grants CORS to allowed origins', () => {
    const host = '127.0.0.1:9464';
    for (const origin of ['http://evil.example', 'null', 'https://ops.example.com.evil.example', 'https://ops.example.com:8443', 'garbage']) {
      assert.deepEqual(refusal(() => guard.check(request('GET', { host, origin }))), { status: 403, code: 'RELOADKIT_HTTP_CROSS_SITE' }, origin);
    }
    for (const site of ['cross-site', 'same-site', 'CROSS-SITE']) {
      assert.deepEqual(refusal(() => guard.check(request('GET', { host, 'sec-fetch-site': site }))), { status: 403, code: 'RELOADKIT_HTTP_CROSS_SITE' }, site);
    }
    for (const site of ['same-origin', 'none']) assert.equal(refusal(() => guard.check(request('GET', { host, 'sec-fetch-site': site }))), undefined, site);
    const allowed = guard.check(request('GET', { host, origin: 'https://OPS.example.com', 'sec-fetch-site': 'cross-site' }));
    assert.deepEqual(allowed, { preflight: false, headers: { 'Access-Control-Allow-Origin': 'https://ops.example.com', Vary: 'Origin' } });
    const preflight = guard.check(request('OPTIONS', { host, origin: 'https://ops.example.com', 'access-control-request-method': 'POST' }));
    assert.equal(preflight.preflight, true);
    assert.equal(preflight.headers['Access-Control-Allow-Headers'], 'Authorization, Content-Type');
  });

  it('checks in order: Host, then Origin, then Sec-Fetch-Site, then the content type', () => {
    const everything = { host: 'evil.example:9464', origin: 'http://evil.example', 'sec-fetch-site': 'cross-site', 'content-type': 'text/plain' };
    assert.equal(refusal(() => guard.check(request('POST', everything)))?.status, 421);
    assert.equal(refusal(() => guard.check(request('POST', { ...everything, host: 'localhost:9464' })))?.status, 403);
    assert.equal(refusal(() => guard.check(request('POST', { ...everything, host: 'localhost:9464', origin: 'https://ops.example.com' })))?.status, 415);
    assert.equal(refusal(() => guard.check(request('POST', { host: 'localhost:9464' })))?.status, 415, 'a POST without a type');
    assert.equal(refusal(() => guard.check(request('DELETE', { host: 'localhost:9464', 'content-type': 'text/plain' })))?.status, 415);
    assert.equal(refusal(() => guard.check(request('POST', { host: 'localhost:9464', 'content-type': 'application/json' }))), undefined);
    assert.equal(refusal(() => guard.check(request('GET', { host: 'localhost:9464' }))), undefined, 'reads need no type');
  });

  it('rejects malformed options with a TypeError naming the entry', () => {
    assert.throws(() => createRequestGuard({ allowedHosts: ['https://admin.example.com'] }), /allowedHosts\[0\]/);
    assert.throws(() => createRequestGuard({ allowedHosts: 'admin.example.com' as never }), /array of host names or 'any'/);
    assert.throws(() => createRequestGuard({ allowedOrigins: ['https://ops.example.com/path'] }), /allowedOrigins\[0\]/);
    assert.throws(() => createRequestGuard({ allowedOrigins: ['null'] }), /allowedOrigins\[0\]/);
  });
});

describe('kit: tokens and secrets', () => {
  it('matches one token by digest, and never echoes a badly shaped token', () => {
    const digest = tokenDigest('the-one-token-0123456789');
    assert.equal(tokenMatches('the-one-token-0123456789', digest), true);
    assert.equal(tokenMatches('the-one-token-012345678', digest), false);
    assert.equal(tokenMatches(undefined, digest), false);
    assert.equal(describeSecret('hunter2hunter2'), 'a string of 14 characters');
    assert.throws(() => createBearerAuth(['s3cret-s3cret-s3cret'] as never, { scopes: ['all'] }), (e: Error) => !e.message.includes('s3cret') && /a string of 20 characters/.test(e.message));
    assert.throws(() => createBearerAuth([{ token: 'short', scopes: ['all'], actor: 'x' }], { scopes: ['all'], minLength: 8 }), (e: Error) => !e.message.includes('short') && /at least 8/.test(e.message));
  });
});

describe('kit: error answers', () => {
  it('sends { error: { code, message, issues? }, ...fields } with the defensive headers and its own headers', async (t) => {
    const errors = [
      new HttpError(404, 'RELOADKIT_HTTP_NOT_FOUND', 'no such route'),
      new HttpError(412, 'RELOADKIT_STALE_CONTEXT', 'context changed', { ETag: '"sha256:ab"' }, { fields: { contextHash: 'sha256:ab' }, issues: [{ path: 'a', message: 'b' }] }),
    ];
    let next = 0;
    const server = createServer((_req, res) => sendError(res, errors[next++]!));
    const { address, close } = await listen(server, 0, '127.0.0.1');
    t.after(close);
    const base = `http://127.0.0.1:${address.port}/`;
    const plain = await fetch(base);
    assert.equal(plain.status, 404);
    assert.equal(plain.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(plain.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await plain.json(), { error: { code: 'RELOADKIT_HTTP_NOT_FOUND', message: 'no such route' } });
    const rich = await fetch(base);
    assert.equal(rich.status, 412);
    assert.equal(rich.headers.get('etag'), '"sha256:ab"');
    assert.deepEqual(await rich.json(), { contextHash: 'sha256:ab', error: { code: 'RELOADKIT_STALE_CONTEXT', message: 'context changed', issues: [{ path: 'a', message: 'b' }] } });
  });
});
