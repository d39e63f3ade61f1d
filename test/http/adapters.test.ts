// The express middleware and the fastify plugin in real apps on real sockets, next to the apps'
// own routes and body parsers: same status codes and headers as the standalone server.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { expressAdmin, fastifyAdmin } from '../../src/http/index.js';
import { AUTH, SECRET, TOKENS, call, makeFixture, type Fixture } from './fixtures.js';
import { waitFor } from '../helpers/wait.js';

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** The behaviour both adapters must show, given the admin base URL and the app's origin. */
async function conformance(fx: Fixture, base: string, origin: string): Promise<void> {
  const anon = await call(base, 'GET', '/units');
  assert.equal(anon.status, 401);
  assert.equal(anon.headers['www-authenticate'], 'Bearer realm="reloadkit"');
  assert.equal((await call(base, 'POST', '/units/nope/reload', { body: '{bad' })).status, 401, 'auth before body');

  const list = await call(base, 'GET', '/units', { token: TOKENS.reader });
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.units.map((u: { name: string }) => u.name), ['config']);
  assert.ok(!list.text.includes(SECRET));

  assert.equal((await call(base, 'POST', '/units/config/reload', { token: TOKENS.reader })).status, 403);
  assert.equal((await call(base, 'GET', '/units/nope', { token: TOKENS.reader })).status, 404);
  const wrong = await call(base, 'PUT', '/units/config/reload', { token: TOKENS.admin, body: {} });
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.allow, 'POST');
  assert.equal((await call(base, 'POST', '/units/config/reload', { token: TOKENS.admin, body: '{"reason":' })).status, 400);
  assert.equal((await call(base, 'POST', '/units/config/reload', { token: TOKENS.admin, body: { reason: 'x'.repeat(100_000) } })).status, 413);

  fx.sources.set('config', { password: SECRET, port: 7000 + Math.floor(Math.random() * 1000) });
  const reload = await call(base, 'POST', '/units/config/reload', { token: TOKENS.admin, body: { reason: 'adapter' } });
  assert.equal(reload.status, 200, reload.text);
  assert.equal(reload.body.status, 'committed');
  await waitFor(() => fx.audit.find((a) => a.action === 'reload' && a.actor === 'ops' && a.reason === 'adapter'), { message: 'audit with actor' });

  fx.sources.set('config', { port: 'x' });
  const rejected = await call(base, 'POST', '/units/config/reload', { token: TOKENS.admin });
  assert.equal(rejected.status, 422);
  assert.equal(rejected.body.stage, 'validate');
  fx.sources.set('config', { password: SECRET, port: 5000 });

  assert.equal((await call(base, 'GET', '/health')).status, 200);
  const own = await call(origin, 'GET', '/hello');
  assert.deepEqual(own.body, { hello: 'world' }, "the app's own routes still work");

  // The browser defence on the admin routes, and only there (the app owns its other routes).
  const loads = fx.totalLoads();
  const generation = fx.units.get('config')!.current!.id;
  const simple = await call(base, 'POST', '/units/config/reload', { token: TOKENS.admin, body: '{}', contentType: 'text/plain' });
  assert.equal(simple.status, 415, simple.text);
  assert.equal((await call(base, 'POST', '/units/config/reload', { token: TOKENS.admin, contentType: null })).status, 415);
  const rebound = await call(base, 'GET', '/units', { token: TOKENS.reader, headers: { host: 'evil.example' } });
  assert.equal(rebound.status, 421);
  assert.equal((await call(origin, 'GET', '/hello', { headers: { host: 'evil.example' } })).status, 200, "the app's own Host policy is untouched");
  assert.equal((await call(base, 'POST', '/units/config/reload', { token: TOKENS.admin, body: {}, headers: { origin: 'http://evil.example' } })).status, 403);
  assert.equal((await call(base, 'GET', '/units', { token: TOKENS.reader, headers: { 'sec-fetch-site': 'cross-site' } })).status, 403);
  assert.equal(fx.totalLoads(), loads, 'no refused request loaded');
  assert.equal(fx.units.get('config')!.current!.id, generation);
}

describe('express middleware', () => {
  let fx: Fixture;
  let server: Server;
  let origin: string;
  before(async () => {
    fx = await makeFixture(['config']);
    const app = express();
    app.use(expressAdmin({ registry: fx.registry, auth: AUTH }));
    app.use(express.json());
    app.get('/hello', (_req, res) => void res.json({ hello: 'world' }));
    app.post('/echo', (req, res) => void res.json(req.body));
    // Mounted below a path, and after a body parser: the parsed body is used.
    const parsedFirst = express.Router();
    parsedFirst.use(express.json());
    parsedFirst.use(expressAdmin({ registry: fx.registry, auth: AUTH }));
    app.use('/admin', parsedFirst);
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await close(server);
    await fx.registry.close();
  });

  it('serves every admin status code next to the app', async () => {
    await conformance(fx, `${origin}/reloadkit`, origin);
    const echo = await call(origin, 'POST', '/echo', { body: { a: 1 } });
    assert.deepEqual(echo.body, { a: 1 }, 'the app’s body parser still sees its bodies');
  });

  it("allowedHosts: 'any' leaves Host to the application, the other checks stay", async () => {
    const app = express();
    app.use(expressAdmin({ registry: fx.registry, auth: AUTH, allowedHosts: 'any' }));
    const own = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => own.once('listening', resolve));
    try {
      const base = `http://127.0.0.1:${(own.address() as AddressInfo).port}/reloadkit`;
      assert.equal((await call(base, 'GET', '/units', { token: TOKENS.reader, headers: { host: 'public.example.com' } })).status, 200);
      assert.equal((await call(base, 'GET', '/units', { token: TOKENS.reader, headers: { host: 'public.example.com', origin: 'http://evil.example' } })).status, 403);
      assert.equal((await call(base, 'POST', '/units/config/reload', { token: TOKENS.admin, body: '{}', contentType: 'text/plain' })).status, 415);
    } finally {
      await close(own);
    }
  });

  it('works mounted under a path after a body parser', async () => {
    assert.equal((await call(`${origin}/admin/reloadkit`, 'GET', '/units')).status, 401);
    fx.sources.set('config', { password: SECRET, port: 9999 });
    const r = await call(`${origin}/admin/reloadkit`, 'POST', '/units/config/reload', { token: TOKENS.admin, body: { reason: 'pre-parsed' } });
    assert.equal(r.status, 200, r.text);
    await waitFor(() => fx.audit.find((a) => a.reason === 'pre-parsed'), { message: 'reason from a pre-parsed body' });
    const bad = await call(`${origin}/admin/reloadkit`, 'POST', '/units/config/reload', { token: TOKENS.admin, body: [1] });
    assert.equal(bad.status, 400);
    // express.json() has no depth limit: the handler applies its own to a pre-parsed dry-run candidate.
    let deep: unknown = 'leaf';
    for (let i = 0; i < 80; i++) deep = { a: deep };
    const loads = fx.totalLoads();
    const tooDeep = await call(`${origin}/admin/reloadkit`, 'POST', '/units/config/reload', { token: TOKENS.admin, body: { dryRun: true, candidate: deep } });
    assert.equal(tooDeep.status, 400, tooDeep.text);
    assert.equal(tooDeep.body.error.code, 'RELOADKIT_HTTP_BODY_TOO_DEEP');
    assert.equal(fx.totalLoads(), loads);
    const dry = await call(`${origin}/admin/reloadkit`, 'POST', '/units/config/reload', { token: TOKENS.admin, body: { dryRun: true, candidate: { password: SECRET, port: 7 } } });
    assert.equal(dry.status, 200, dry.text);
    assert.equal(dry.body.status, 'would-commit');
    assert.ok(!dry.text.includes(SECRET));
  });
});

describe('fastify plugin', () => {
  let fx: Fixture;
  let app: FastifyInstance;
  let origin: string;
  before(async () => {
    fx = await makeFixture(['config']);
    app = Fastify();
    await app.register(fastifyAdmin, { registry: fx.registry, auth: AUTH });
    await app.register(fastifyAdmin, { registry: fx.registry, auth: AUTH, prefix: '/admin' } as never);
    app.get('/hello', async () => ({ hello: 'world' }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await app.close();
    await fx.registry.close();
  });

  it('serves every admin status code next to the app', async () => {
    await conformance(fx, `${origin}/reloadkit`, origin);
  });

  it('honours a registration prefix', async () => {
    assert.equal((await call(`${origin}/admin/reloadkit`, 'GET', '/units')).status, 401);
    const r = await call(`${origin}/admin/reloadkit`, 'GET', '/units/config', { token: TOKENS.reader });
    assert.equal(r.status, 200);
    assert.equal(r.body.name, 'config');
  });
});
