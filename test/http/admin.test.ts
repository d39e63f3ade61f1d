// The admin endpoint over real sockets, with a real registry of real units: every documented
// status code from a real request, the Allow / WWW-Authenticate / Retry-After headers, the audit
// trail of mutating calls, and that no response ever carries a value.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startAdminServer, type AdminServer } from '../../src/http/index.js';
import { createAdminHandler } from '../../src/http/handler.js';
import { reloadableCache } from '../../src/cache/index.js';
import { prometheusMetrics } from '../../src/metrics/prometheus.js';
import { Registry as PromRegistry } from 'prom-client';
import { AUTH, SECRET, TOKENS, call, makeFixture, type Fixture } from './fixtures.js';
import { waitFor } from '../helpers/wait.js';

const assertNoSecret = (text: string) => assert.ok(!text.includes(SECRET), `response leaked a value: ${text}`);

describe('admin endpoint over a real socket', () => {
  let fx: Fixture;
  let admin: AdminServer;
  const errors: unknown[] = [];
  let metricsFail = false;

  before(async () => {
    fx = await makeFixture(['config', 'db', 'a/b']);
    admin = await startAdminServer({
      registry: fx.registry,
      auth: AUTH,
      port: 0,
      bodyLimit: 1024,
      requestTimeoutMs: 500,
      rateLimit: { burst: 1000, refillPerSecond: 1 },
      onError: (e) => errors.push(e),
      metrics: {
        contentType: 'text/plain; version=0.0.4',
        metrics: async () => {
          if (metricsFail) throw new Error(`exporter broke, password=${SECRET}`);
          return 'reloadkit_units 3\n';
        },
      },
    });
  });
  after(async () => {
    await admin.close();
    await fx.registry.close();
  });

  it('binds to 127.0.0.1 and reports its base URL', () => {
    assert.match(admin.url, /^http:\/\/127\.0\.0\.1:\d+\/reloadkit$/);
  });

  it('GET /units lists every unit status (200), hashes only', async () => {
    const r = await call(admin.url, 'GET', '/units', { token: TOKENS.reader });
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.deepEqual(r.body.units.map((u: { name: string }) => u.name), ['config', 'db', 'a/b']);
    assert.equal(r.body.units[0].generation, 1);
    assert.match(r.body.units[0].hash, /^sha256:[0-9a-f]{64}$/);
    assertNoSecret(r.text);
  });

  it('GET /units/:name answers one status (200), decoding the name; HEAD has no body', async () => {
    const r = await call(admin.url, 'GET', '/units/config', { token: TOKENS.admin });
    assert.equal(r.status, 200);
    assert.equal(r.body.name, 'config');
    assert.equal(r.body.state, 'ready');
    const slash = await call(admin.url, 'GET', '/units/a%2Fb', { token: TOKENS.admin });
    assert.equal(slash.body.name, 'a/b');
    const head = await call(admin.url, 'HEAD', '/units/config', { token: TOKENS.admin });
    assert.equal(head.status, 200);
    assert.equal(head.text, '');
  });

  it('401 with WWW-Authenticate, identical for real, unknown and nonsense paths', async () => {
    const answers = [];
    for (const [method, path] of [['GET', '/units'], ['GET', '/units/config'], ['GET', '/units/nope'], ['POST', '/units/config/reload'], ['GET', '/nonsense'], ['DELETE', '/units']]) {
      for (const token of [undefined, 'wrong-token-0123456789abcdef', TOKENS.admin.slice(0, -1)]) {
        const r = await call(admin.url, method!, path!, { token });
        assert.equal(r.status, 401, `${method} ${path}`);
        assert.equal(r.headers['www-authenticate'], 'Bearer realm="reloadkit"');
        answers.push(r.text);
      }
    }
    assert.equal(new Set(answers).size, 1, 'an anonymous caller cannot tell routes or units apart');
    assert.doesNotMatch(answers[0]!, /config|db/);
    assert.equal(fx.totalLoads(), 3, 'no reload was attempted');
  });

  it('403 for a token without the needed scope, before looking at the unit', async () => {
    const before = fx.totalLoads();
    const r = await call(admin.url, 'POST', '/units/config/reload', { token: TOKENS.reader, body: {} });
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, 'RELOADKIT_HTTP_FORBIDDEN');
    assert.match(r.body.error.message, /'reload' scope/);
    const unknown = await call(admin.url, 'POST', '/units/nope/reload', { token: TOKENS.reader, body: {} });
    assert.equal(unknown.status, 403);
    const read = await call(admin.url, 'GET', '/units', { token: TOKENS.reloader });
    assert.equal(read.status, 403, 'reload does not imply read');
    assert.equal(fx.totalLoads(), before);
  });

  it('404 for an unknown unit or route (authenticated)', async () => {
    for (const path of ['/units/nope', '/units/nope/reload', '/units/..%2F..%2Fetc', '/nonsense', '/units/config/explode']) {
      const method = path.endsWith('reload') ? 'POST' : 'GET';
      const r = await call(admin.url, method, path, { token: TOKENS.admin, body: method === 'POST' ? {} : undefined });
      assert.equal(r.status, 404, path);
    }
    const r = await call(admin.url, 'GET', '/units/nope', { token: TOKENS.admin });
    assert.deepEqual(r.body, { error: { code: 'RELOADKIT_HTTP_UNKNOWN_UNIT', message: "no unit named 'nope'" } });
  });

  it('405 with Allow for a wrong method', async () => {
    const get = await call(admin.url, 'GET', '/units/config/reload', { token: TOKENS.admin });
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
    const del = await call(admin.url, 'DELETE', '/units', { token: TOKENS.admin });
    assert.equal(del.status, 405);
    assert.equal(del.headers.allow, 'GET, HEAD');
    const probe = await call(admin.url, 'POST', '/health');
    assert.equal(probe.status, 405);
    assert.equal(probe.headers.allow, 'GET, HEAD');
  });

  it('400 for bad JSON, a non-object body, unknown fields and bad percent-encoding', async () => {
    const before = fx.totalLoads();
    for (const body of ['{"reason":', '[1,2]', '"text"', '{"force":"yes"}', '{"actor":"root"}']) {
      const r = await call(admin.url, 'POST', '/units/config/reload', { token: TOKENS.admin, body });
      assert.equal(r.status, 400, body);
    }
    const bad = await call(admin.url, 'POST', '/units/config/reload', { token: TOKENS.admin, body: '{nope' });
    assert.equal(bad.body.error.code, 'RELOADKIT_HTTP_BAD_JSON');
    const enc = await call(admin.url, 'GET', '/units/%E0%A4%A', { token: TOKENS.admin });
    assert.equal(enc.status, 400);
    assert.equal(fx.totalLoads(), before);
  });

  it('413 for a body over the limit, announced or streamed; the connection is closed', async () => {
    const big = JSON.stringify({ reason: 'x'.repeat(2000) });
    const announced = await call(admin.url, 'POST', '/units/config/reload', { token: TOKENS.admin, body: big });
    assert.equal(announced.status, 413);
    assert.equal(announced.headers.connection, 'close');
    const chunked = await call(admin.url, 'POST', '/units/config/reload', { token: TOKENS.admin, body: big, headers: { 'transfer-encoding': 'chunked' } });
    assert.equal(chunked.status, 413);
  });

  it('408 for a body that does not arrive in time', async () => {
    const socket = connect(Number(new URL(admin.url).port), '127.0.0.1');
    let received = '';
    socket.on('data', (d) => (received += d.toString()));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.write(`POST /reloadkit/units/config/reload HTTP/1.1\r\nHost: 127.0.0.1:${new URL(admin.url).port}\r\nAuthorization: Bearer ${TOKENS.admin}\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"rea`);
    await closed;
    assert.match(received, /^HTTP\/1\.1 408 /);
    assert.match(received, /RELOADKIT_HTTP_BODY_TIMEOUT/);
  });

  it('200 committed reload, audited with actor and reason; 200 unchanged when the hash is equal', async () => {
    fx.sources.set('config', { password: SECRET, port: 6000 });
    const r = await call(admin.url, 'POST', '/units/config/reload', { token: TOKENS.admin, body: { reason: 'deploy 42' } });
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'committed');
    assert.equal(r.body.ok, true);
    assert.equal(r.body.generation, 2);
    assert.equal(r.body.previous, 1);
    assertNoSecret(r.text);
    const record = await waitFor(() => fx.audit.find((a) => a.unit === 'config' && a.action === 'reload' && a.outcome === 'committed'), { message: 'audit record' });
    assert.equal(record.actor, 'ops');
    assert.equal(record.reason, 'deploy 42');
    assert.deepEqual(record.trigger, { kind: 'http', detail: 'POST /units/:name/reload' });
    const again = await call(admin.url, 'POST', '/units/config/reload', { token: TOKENS.reloader });
    assert.equal(again.status, 200);
    assert.equal(again.body.status, 'unchanged');
    const forced = await call(admin.url, 'POST', '/units/config/reload', { token: TOKENS.reloader, body: { force: true } });
    assert.equal(forced.body.status, 'committed');
    assert.equal(forced.body.generation, 3);
    await waitFor(() => fx.audit.some((a) => a.unit === 'config' && a.actor === 'deploy-bot'), { message: 'deploy-bot audit' });
  });

  it('422 for a rejected reload: the ReloadResult with stage and { code, message }, no value', async () => {
    const live = fx.units.get('db')!.current!.id;
    fx.sources.set('db', { password: SECRET, port: 'not-a-number' });
    const r = await call(admin.url, 'POST', '/units/db/reload', { token: TOKENS.admin, body: { reason: 'bad push' } });
    assert.equal(r.status, 422);
    assert.equal(r.body.status, 'rejected');
    assert.equal(r.body.ok, false);
    assert.equal(r.body.stage, 'validate');
    assert.equal(r.body.error.code, 'RELOADKIT_VALIDATION');
    assert.equal(typeof r.body.error.message, 'string');
    assert.deepEqual(Object.keys(r.body.error).sort(), ['code', 'message']);
    assert.equal(r.body.generation, live, 'the live generation is untouched');
    assertNoSecret(r.text);
    fx.sources.set('db', { password: SECRET, port: 5001 });
  });

  it('rollback: 200 to the previous generation, 422 for a generation no longer retained', async () => {
    const from = fx.units.get('config')!.current!.id;
    const r = await call(admin.url, 'POST', '/units/config/rollback', { token: TOKENS.admin, body: { reason: 'oops' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.status, 'committed');
    assert.equal(r.body.generation, from + 1);
    await waitFor(() => fx.audit.find((a) => a.unit === 'config' && a.action === 'rollback' && a.actor === 'ops' && a.reason === 'oops'), { message: 'rollback audit' });
    const missing = await call(admin.url, 'POST', '/units/config/rollback', { token: TOKENS.admin, body: { to: 999 } });
    assert.equal(missing.status, 422);
    assert.equal(missing.body.status, 'rejected');
    assert.equal(typeof missing.body.error.code, 'string');
    const bad = await call(admin.url, 'POST', '/units/config/rollback', { token: TOKENS.admin, body: { to: 'x' } });
    assert.equal(bad.status, 400);
  });

  it('POST /reload reloads every unit: 200 when all ok, 422 with every result when one is rejected', async () => {
    const ok = await call(admin.url, 'POST', '/reload', { token: TOKENS.admin, body: { reason: 'all' } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.ok, true);
    assert.deepEqual(ok.body.results.map((x: { unit: string }) => x.unit), ['config', 'db', 'a/b']);
    // Audited per unit with the token's actor and the reason.
    for (const unit of ['config', 'db', 'a/b']) {
      await waitFor(() => fx.audit.find((a) => a.unit === unit && a.action === 'reload' && a.actor === 'ops' && a.reason === 'all'), { message: `reload-all audit of ${unit}` });
    }
    fx.sources.set('a/b', { port: 1 });
    const bad = await call(admin.url, 'POST', '/reload', { token: TOKENS.admin });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.ok, false);
    assert.equal(bad.body.results.find((x: { unit: string }) => x.unit === 'a/b').status, 'rejected');
    assertNoSecret(bad.text);
    fx.sources.set('a/b', { password: SECRET, port: 5002 });
  });

  it('invalidate on a member that is not a cache is 404 not_a_cache', async () => {
    const r = await call(admin.url, 'POST', '/units/config/invalidate', { token: TOKENS.admin, body: { all: true } });
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'RELOADKIT_HTTP_NOT_A_CACHE');
  });

  it('/health and /ready answer without auth and name no unit', async () => {
    const health = await call(admin.url, 'GET', '/health');
    assert.equal(health.status, 200);
    assert.deepEqual(health.body, { status: 'ok' });
    const ready = await call(admin.url, 'GET', '/ready');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, { ready: true, units: 3, pending: 0 });
  });

  it('/metrics needs the read scope and serves the provider; a provider error is a 500 without internals', async () => {
    assert.equal((await call(admin.url, 'GET', '/metrics')).status, 401);
    const r = await call(admin.url, 'GET', '/metrics', { token: TOKENS.reader });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4');
    assert.equal(r.text, 'reloadkit_units 3\n');
    metricsFail = true;
    const broken = await call(admin.url, 'GET', '/metrics', { token: TOKENS.reader });
    metricsFail = false;
    assert.equal(broken.status, 500);
    assert.deepEqual(broken.body, { error: { code: 'RELOADKIT_HTTP_INTERNAL', message: 'internal error' } });
    assert.ok(errors.some((e) => e instanceof Error && /exporter broke/.test(e.message)), 'onError was told');
    const alive = await call(admin.url, 'GET', '/health');
    assert.equal(alive.status, 200, 'the server survived');
  });

  it('paths outside the base path are not the handler’s: the server answers 404', async () => {
    const r = await call(admin.url.replace('/reloadkit', ''), 'GET', '/other', { token: TOKENS.admin });
    assert.equal(r.status, 404);
  });
});

describe('rate limit over a real socket', () => {
  it('429 with Retry-After once the bucket is empty; reads are not limited', async () => {
    const fx = await makeFixture(['config']);
    const now = 1_000;
    const admin = await startAdminServer({ registry: fx.registry, auth: AUTH, port: 0, rateLimit: { burst: 2, refillPerSecond: 0.5, clock: { now: () => now } } });
    try {
      assert.equal((await call(admin.url, 'POST', '/units/config/reload', { token: TOKENS.admin })).status, 200);
      assert.equal((await call(admin.url, 'POST', '/units/config/reload', { token: TOKENS.admin })).status, 200);
      const loads = fx.totalLoads();
      const limited = await call(admin.url, 'POST', '/units/config/reload', { token: TOKENS.admin });
      assert.equal(limited.status, 429);
      assert.equal(limited.headers['retry-after'], '2');
      assert.equal(limited.body.error.code, 'RELOADKIT_HTTP_RATE_LIMITED');
      assert.equal(fx.totalLoads(), loads, 'a limited call attempts nothing');
      assert.equal((await call(admin.url, 'POST', '/units/config/reload', { token: TOKENS.reloader })).status, 200, 'per actor');
      assert.equal((await call(admin.url, 'GET', '/units', { token: TOKENS.admin })).status, 200);
    } finally {
      await admin.close();
      await fx.registry.close();
    }
  });
});

describe('readiness and lifecycle', () => {
  it('/ready is 503 until every unit has committed', async () => {
    const fx = await makeFixture(['config', 'db'], { start: false });
    const admin = await startAdminServer({ registry: fx.registry, auth: AUTH, port: 0 });
    try {
      const before = await call(admin.url, 'GET', '/ready');
      assert.equal(before.status, 503);
      assert.deepEqual(before.body, { ready: false, units: 2, pending: 2 });
      await fx.registry.start();
      assert.equal((await call(admin.url, 'GET', '/ready')).status, 200);
    } finally {
      await admin.close();
      await fx.registry.close();
    }
  });

  it('a reload after the registry closed is 409 with the error code, not a crash', async () => {
    const fx = await makeFixture(['config']);
    const admin = await startAdminServer({ registry: fx.registry, auth: AUTH, port: 0 });
    try {
      await fx.registry.close();
      const r = await call(admin.url, 'POST', '/units/config/reload', { token: TOKENS.admin });
      assert.equal(r.status, 409);
      assert.equal(r.body.error.code, 'RELOADKIT_CLOSED');
      const all = await call(admin.url, 'POST', '/reload', { token: TOKENS.admin });
      assert.equal(all.status, 409);
    } finally {
      await admin.close();
    }
  });

  it("auth 'none' works on loopback and is refused elsewhere with a precise TypeError", async () => {
    const fx = await makeFixture(['config']);
    try {
      await assert.rejects(startAdminServer({ registry: fx.registry, auth: 'none', host: '0.0.0.0', port: 0 }), {
        name: 'TypeError',
        message: /only allowed on a loopback host.*got host '0\.0\.0\.0'/,
      });
      assert.throws(() => createAdminHandler({ registry: fx.registry, auth: 'none' }), TypeError);
      const admin = await startAdminServer({ registry: fx.registry, auth: 'none', port: 0 });
      try {
        const r = await call(admin.url, 'POST', '/units/config/reload', { body: { reason: 'local' } });
        assert.equal(r.status, 200);
        await waitFor(() => fx.audit.find((a) => a.action === 'reload' && a.actor === 'local'), { message: 'local audit' });
      } finally {
        await admin.close();
      }
    } finally {
      await fx.registry.close();
    }
  });

  it('serves the Prometheus exposition of the real prometheus module at /metrics', async () => {
    const fx = await makeFixture(['config']);
    const metrics = prometheusMetrics(fx.registry, { register: new PromRegistry() });
    const admin = await startAdminServer({ registry: fx.registry, auth: AUTH, port: 0, metrics });
    try {
      await call(admin.url, 'POST', '/units/config/reload', { token: TOKENS.admin, body: { force: true } });
      const r = await call(admin.url, 'GET', '/metrics', { token: TOKENS.reader });
      assert.equal(r.status, 200);
      assert.match(String(r.headers['content-type']), /^text\/plain/);
      assert.match(r.text, /reloadkit_\w+\{[^}]*unit="config"/);
      assertNoSecret(r.text);
    } finally {
      await admin.close();
      await fx.registry.close();
    }
  });

  it('rejects invalid options with TypeErrors', async () => {
    const fx = await makeFixture(['config'], { start: false });
    assert.throws(() => createAdminHandler({ registry: fx.registry } as never), /no unauthenticated default/);
    assert.throws(() => createAdminHandler({ registry: {} as never, auth: AUTH }), /Expected `registry`/);
    assert.throws(() => createAdminHandler({ registry: fx.registry, auth: AUTH, bodyLimit: -1 }), /`bodyLimit` to be a positive integer/);
    assert.throws(() => createAdminHandler({ registry: fx.registry, auth: AUTH, basePath: 'admin' }), /`basePath`/);
    assert.throws(() => createAdminHandler({ registry: fx.registry, auth: AUTH, metrics: {} as never }), /`metrics`/);
    await assert.rejects(startAdminServer({ registry: fx.registry, auth: AUTH, port: 70000 }), /`port`/);
    await fx.registry.close();
  });

  it('serves under a custom basePath and nothing else', async () => {
    const fx = await makeFixture(['config'], { start: false });
    const admin = await startAdminServer({ registry: fx.registry, auth: AUTH, port: 0, basePath: '/ops/rk/' });
    try {
      assert.match(admin.url, /:\d+\/ops\/rk$/);
      assert.equal((await call(admin.url, 'GET', '/health')).status, 200);
      assert.equal((await call(admin.url, 'GET', '/units', { token: TOKENS.reader })).status, 200);
      assert.equal((await call(admin.url.replace('/ops/rk', '/reloadkit'), 'GET', '/health')).status, 404);
    } finally {
      await admin.close();
      await fx.registry.close();
    }
  });

  it('close() is idempotent and frees the port', async () => {
    const fx = await makeFixture(['config'], { start: false });
    const admin = await startAdminServer({ registry: fx.registry, auth: AUTH, port: 0 });
    await Promise.all([admin.close(), admin.close()]);
    await assert.rejects(call(admin.url, 'GET', '/health'), { code: 'ECONNREFUSED' });
    await fx.registry.close();
  });
});

describe('cache members', () => {
  it('POST /units/:name/invalidate drops or refreshes keys of a real cache, audited with the actor', async () => {
    const fx = await makeFixture(['config']);
    let loads = 0;
    const users = reloadableCache({ name: 'users', load: async (key: string) => ({ key, secret: SECRET, n: ++loads }) });
    fx.registry.add(users);
    await users.start();
    const admin = await startAdminServer({ registry: fx.registry, auth: AUTH, port: 0 });
    try {
      for (const key of ['user:1', 'user:2', 'team:1']) await users.get(key);
      assert.equal(loads, 3);
      const anon = await call(admin.url, 'POST', '/units/users/invalidate', { body: { all: true } });
      assert.equal(anon.status, 401);
      const reader = await call(admin.url, 'POST', '/units/users/invalidate', { token: TOKENS.reader, body: { all: true } });
      assert.equal(reader.status, 403);
      const bad = await call(admin.url, 'POST', '/units/users/invalidate', { token: TOKENS.admin, body: { prefix: '' } });
      assert.equal(bad.status, 400);
      assert.equal(loads, 3, 'refused calls touched nothing');

      const dropped = await call(admin.url, 'POST', '/units/users/invalidate', { token: TOKENS.admin, body: { prefix: 'user:', reason: 'gdpr' } });
      assert.equal(dropped.status, 200, dropped.text);
      assert.deepEqual(dropped.body, { unit: 'users', ok: true, invalidated: 2 });
      const record = await waitFor(() => fx.audit.find((a) => a.unit === 'users' && a.action === 'invalidate'), { message: 'invalidate audit' });
      assert.equal(record.actor, 'ops');
      assert.equal(record.reason, 'gdpr');

      const refreshed = await call(admin.url, 'POST', '/units/users/invalidate', { token: TOKENS.reloader, body: { key: 'team:1', mode: 'refresh' } });
      assert.equal(refreshed.status, 200, refreshed.text);
      assert.equal(refreshed.body.invalidated, 1);
      assert.equal(loads, 4, 'refresh reloaded the key in place');
      const all = await call(admin.url, 'POST', '/units/users/invalidate', { token: TOKENS.admin, body: { all: true } });
      assert.equal(all.body.invalidated, 1);

      const status = await call(admin.url, 'GET', '/units/users', { token: TOKENS.reader });
      assert.equal(status.status, 200);
      const reload = await call(admin.url, 'POST', '/units/users/reload', { token: TOKENS.admin });
      assert.equal(reload.status, 200, reload.text);
      for (const r of [dropped, refreshed, all, status, reload]) assertNoSecret(r.text);
      const rollback = await call(admin.url, 'POST', '/units/users/rollback', { token: TOKENS.admin });
      assert.equal(rollback.status, 404);
      assert.equal(rollback.body.error.code, 'RELOADKIT_HTTP_NOT_ROLLBACKABLE');
    } finally {
      await admin.close();
      await fx.registry.close();
    }
  });
});
