// Pure-logic tests of the admin endpoint's building blocks: authentication, rate limiting, route
// matching and body validation. Everything over sockets is in admin.test.ts.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { bearerToken, createAuthenticator, isLoopbackHost } from '../../src/http/auth.js';
import { HttpError } from '../../src/errors.js';
import { parseInvalidateBody, parseReloadBody, parseRollbackBody } from '../../src/http/params.js';
import { createRateLimiter } from '../../src/http/rate-limit.js';
import { matchRoute, normalizeBasePath, pathBelow, requestPath } from '../../src/http/routes.js';
import { invalidationJson, resultJson } from '../../src/http/serialize.js';
import { ValidationError } from '../../src/errors.js';

const TOKEN = 'read-and-reload-token-0123456789';

function fakeRequest(headers: Record<string, string>, remoteAddress = '127.0.0.1'): IncomingMessage {
  return { headers, socket: { remoteAddress } } as unknown as IncomingMessage;
}

describe('auth', () => {
  it('recognizes loopback hosts only', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) assert.equal(isLoopbackHost(host), true, host);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', '', undefined, '::ffff:10.0.0.1']) assert.equal(isLoopbackHost(host), false, String(host));
  });

  it("refuses auth 'none' unless the host is loopback, naming the host", () => {
    assert.throws(() => createAuthenticator('none', { host: '0.0.0.0' }), { name: 'TypeError', message: /only allowed on a loopback host.*got host '0\.0\.0\.0'/ });
    assert.throws(() => createAuthenticator('none'), { name: 'TypeError', message: /no `host` option/ });
    assert.doesNotThrow(() => createAuthenticator('none', { host: '127.0.0.1' }));
  });

  it("with auth 'none' still refuses a non-loopback peer", async () => {
    const auth = createAuthenticator('none', { host: '::1' });
    assert.deepEqual(await auth.authenticate(fakeRequest({}, '127.0.0.1')), { name: 'local', scopes: ['read', 'reload'] });
    assert.equal(await auth.authenticate(fakeRequest({}, '192.168.1.20')), null);
  });

  it('validates token specs with precise TypeErrors that never echo the token', () => {
    assert.throws(() => createAuthenticator({ tokens: [] }), /non-empty array/);
    assert.throws(() => createAuthenticator({ tokens: [{ token: 'short-secret', scopes: ['read'], actor: 'a' }] }), (e: Error) => {
      assert.match(e.message, /at least 16 characters, got a string of 12 characters/);
      assert.doesNotMatch(e.message, /short-secret/);
      return e instanceof TypeError;
    });
    assert.throws(() => createAuthenticator({ tokens: [{ token: TOKEN, scopes: ['write' as 'read'], actor: 'a' }] }), /'read' or 'reload'/);
    assert.throws(() => createAuthenticator({ tokens: [{ token: TOKEN, scopes: ['read'], actor: '' }] }), /actor` to be a non-empty string/);
    assert.throws(() => createAuthenticator({} as never), /`tokens` \(an array\) or `verify`/);
    assert.throws(() => createAuthenticator(undefined as never), /Expected `auth`/);
    // A token given in the wrong shape (`auth: process.env.TOKEN`, `tokens: ['…']`) is not echoed.
    for (const wrong of [TOKEN as never, { tokens: [TOKEN] } as never]) {
      assert.throws(() => createAuthenticator(wrong), (e: Error) => {
        assert.match(e.message, new RegExp(`a string of ${TOKEN.length} characters`));
        assert.ok(!e.message.includes(TOKEN.slice(0, 8)), e.message);
        return e instanceof TypeError;
      });
    }
  });

  it('maps bearer tokens to actors and rejects others', async () => {
    const auth = createAuthenticator({
      tokens: [
        { token: TOKEN, scopes: ['read', 'reload'], actor: 'ops' },
        { token: 'read-only-token-abcdefghijklmnop', scopes: ['read'], actor: 'dashboard' },
      ],
    });
    assert.deepEqual(await auth.authenticate(fakeRequest({ authorization: `Bearer ${TOKEN}` })), { name: 'ops', scopes: ['read', 'reload'] });
    assert.deepEqual(await auth.authenticate(fakeRequest({ authorization: 'bearer read-only-token-abcdefghijklmnop' })), { name: 'dashboard', scopes: ['read'] });
    for (const header of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, TOKEN, 'Bearer', '', `Bearer ${TOKEN} extra`]) {
      assert.equal(await auth.authenticate(fakeRequest({ authorization: header })), null, header);
    }
    assert.equal(await auth.authenticate(fakeRequest({})), null);
    assert.equal(bearerToken(fakeRequest({ authorization: 'Bearer   abc  ' })), 'abc');
  });

  it('uses verify(req); a throwing or malformed verifier fails closed and is reported', async () => {
    const reported: unknown[] = [];
    const auth = createAuthenticator(
      {
        verify(req) {
          const h = req.headers['x-user'];
          if (h === 'boom') throw new Error('verifier down');
          if (h === 'weird') return { nope: true } as never;
          return h === 'alice' ? { name: 'alice', scopes: ['read', 'bogus' as 'read'] } : null;
        },
      },
      { onError: (e) => reported.push(e) },
    );
    assert.deepEqual(await auth.authenticate(fakeRequest({ 'x-user': 'alice' })), { name: 'alice', scopes: ['read'] });
    assert.equal(await auth.authenticate(fakeRequest({ 'x-user': 'mallory' })), null);
    assert.equal(await auth.authenticate(fakeRequest({ 'x-user': 'boom' })), null);
    assert.equal(await auth.authenticate(fakeRequest({ 'x-user': 'weird' })), null);
    assert.equal(reported.length, 2);
  });
});

describe('rate limit', () => {
  it('allows a burst, then refills at the configured rate, per actor', () => {
    let now = 1_000_000;
    assert.throws(() => createRateLimiter({ brust: 3 } as never), /rateLimit: unknown option `brust`; did you mean `burst`\?/);
    const limiter = createRateLimiter({ burst: 3, refillPerSecond: 2, clock: { now: () => now } });
    for (let i = 0; i < 3; i++) assert.deepEqual(limiter.take('a'), { ok: true });
    assert.deepEqual(limiter.take('a'), { ok: false, retryAfterSeconds: 1 });
    assert.deepEqual(limiter.take('b'), { ok: true }, 'another actor has its own bucket');
    now += 500; // one token back
    assert.deepEqual(limiter.take('a'), { ok: true });
    assert.equal(limiter.take('a').ok, false);
    now += 10_000; // refills to the burst, never beyond
    for (let i = 0; i < 3; i++) assert.equal(limiter.take('a').ok, true);
    assert.equal(limiter.take('a').ok, false);
  });

  it('computes Retry-After in whole seconds for slow refill', () => {
    const now = 0;
    const limiter = createRateLimiter({ burst: 1, refillPerSecond: 0.1, clock: { now: () => now } });
    assert.equal(limiter.take('a').ok, true);
    assert.deepEqual(limiter.take('a'), { ok: false, retryAfterSeconds: 10 });
  });

  it('defaults to burst 20 and bounds the number of buckets', () => {
    const now = 0;
    const limiter = createRateLimiter({ clock: { now: () => now }, maxActors: 5 });
    let ok = 0;
    for (let i = 0; i < 25; i++) if (limiter.take('x').ok) ok++;
    assert.equal(ok, 20);
    for (let i = 0; i < 100; i++) assert.equal(limiter.take(`actor-${i}`).ok, true);
  });

  it('rejects invalid options with TypeErrors', () => {
    assert.throws(() => createRateLimiter({ burst: 0 }), /`rateLimit.burst` to be a positive finite number, got 0/);
    assert.throws(() => createRateLimiter({ refillPerSecond: Number.NaN }), /refillPerSecond/);
    assert.throws(() => createRateLimiter({ clock: {} as never }), /clock/);
  });
});

describe('routes', () => {
  it('normalizes and validates the base path', () => {
    assert.equal(normalizeBasePath('/reloadkit/'), '/reloadkit');
    assert.equal(normalizeBasePath('/'), '');
    for (const bad of ['reloadkit', '/a?b', '/a b', '//x', '/%2e', 7]) assert.throws(() => normalizeBasePath(bad), TypeError, String(bad));
  });

  it('extracts the path of origin-form and absolute-form targets', () => {
    assert.equal(requestPath('/reloadkit/units?x=1#y'), '/reloadkit/units');
    assert.equal(requestPath('http://host:1/reloadkit/units?x'), '/reloadkit/units');
    assert.equal(requestPath('http://host'), '/');
    assert.equal(requestPath('*'), undefined);
    assert.equal(requestPath('reloadkit'), undefined);
    assert.equal(requestPath(undefined), undefined);
  });

  it('only claims paths under the base path', () => {
    assert.equal(pathBelow('/reloadkit', '/reloadkit'), '');
    assert.equal(pathBelow('/reloadkit/units', '/reloadkit'), '/units');
    assert.equal(pathBelow('/reloadkitx/units', '/reloadkit'), undefined);
    assert.equal(pathBelow('/other', '/reloadkit'), undefined);
    assert.equal(pathBelow('/units', ''), '/units');
  });

  it('matches every route and decodes unit names once, after splitting', () => {
    assert.equal(matchRoute('/units', false).route?.name, 'units');
    assert.equal(matchRoute('/units/', false).route?.name, 'units');
    assert.deepEqual(matchRoute('/units/a%2Fb', false), { route: matchRoute('/units/x', false).route, unit: 'a/b' });
    assert.equal((matchRoute('/units/db/reload', false) as { unit: string }).unit, 'db');
    assert.equal(matchRoute('/units/db/rollback', false).route?.name, 'rollbackUnit');
    assert.equal(matchRoute('/units/db/invalidate', false).route?.name, 'invalidateUnit');
    assert.equal(matchRoute('/reload', false).route?.name, 'reloadAll');
    assert.equal(matchRoute('/metrics', true).route?.name, 'metrics');
    assert.equal(matchRoute('/metrics', false).route, null, 'no metrics route without a provider');
    assert.equal((matchRoute('/units/..', false) as { unit: string }).unit, '..');
    for (const path of ['', '/', '/nope', '/units/db/reload/x', '/units//reload', '/units/db/delete', '/Units']) {
      assert.equal(matchRoute(path, true).route, null, path);
    }
    const bad = matchRoute('/units/%E0%A4%A', false);
    assert.ok(bad.route === null && bad.error.status === 400);
  });
});

describe('bodies', () => {
  const isBad = (fn: () => unknown, pattern: RegExp) =>
    assert.throws(fn, (e: unknown) => e instanceof HttpError && e.status === 400 && pattern.test(e.message));

  it('validates reload bodies', () => {
    assert.deepEqual(parseReloadBody({}), {});
    assert.deepEqual(parseReloadBody({ reason: 'deploy 42', force: true }), { reason: 'deploy 42', force: true });
    isBad(() => parseReloadBody({ force: 'yes' }), /'force' must be a boolean/);
    isBad(() => parseReloadBody({ reason: 'x\nforged audit line' }), /control characters/);
    isBad(() => parseReloadBody({ reason: 'x'.repeat(501) }), /at most 500/);
    isBad(() => parseReloadBody({ actor: 'root' }), /unknown field 'actor'/);
  });

  it('validates rollback bodies', () => {
    assert.deepEqual(parseRollbackBody({ to: 3, reason: 'bad' }), { to: 3, reason: 'bad' });
    for (const to of [0, -1, 1.5, '3', null]) isBad(() => parseRollbackBody({ to }), /positive integer/);
  });

  it('validates invalidate bodies: exactly one target', () => {
    assert.deepEqual(parseInvalidateBody({ key: 'user:1' }), { key: 'user:1' });
    assert.deepEqual(parseInvalidateBody({ prefix: 'user:', mode: 'refresh', reason: 'r' }), { prefix: 'user:', mode: 'refresh', reason: 'r' });
    assert.deepEqual(parseInvalidateBody({ all: true, mode: 'drop' }), { all: true, mode: 'drop' });
    isBad(() => parseInvalidateBody({}), /exactly one/);
    isBad(() => parseInvalidateBody({ key: 'a', prefix: 'b' }), /exactly one/);
    isBad(() => parseInvalidateBody({ all: false }), /'all' must be true/);
    isBad(() => parseInvalidateBody({ key: 3 }), /'key' must be a string/);
    isBad(() => parseInvalidateBody({ prefix: '' }), /'all: true'/);
    isBad(() => parseInvalidateBody({ key: 'a', mode: 'nuke' }), /'mode'/);
  });
});

describe('serialization', () => {
  it('keeps only whitelisted result fields; errors become { code, message }', () => {
    const error = Object.assign(new ValidationError('[c] validation failed: db.port: expected number', [{ path: 'db.port', message: 'expected number' }]), {
      secret: 'hunter2',
    });
    const json = resultJson({ id: 4, unit: 'c', status: 'rejected', ok: false, generation: 2, previous: 2, stage: 'validate', error, durationMs: 3, value: 'hunter2' } as never);
    assert.deepEqual(json, {
      id: 4, unit: 'c', status: 'rejected', ok: false, generation: 2, previous: 2, stage: 'validate',
      error: { code: 'RELOADKIT_VALIDATION', message: '[c] validation failed: db.port: expected number' }, durationMs: 3,
    });
    assert.doesNotMatch(JSON.stringify(json), /hunter2/);
  });

  it('reduces invalidation outcomes to counts and flags', () => {
    assert.deepEqual(invalidationJson(3), { invalidated: 3 });
    assert.deepEqual(invalidationJson({ invalidated: 2, keys: ['secret'], value: 'x', refreshed: true }), { invalidated: 2, refreshed: true });
    assert.deepEqual(invalidationJson(undefined), {});
  });
});
