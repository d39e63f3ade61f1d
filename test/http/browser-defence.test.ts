// The admin endpoint against what a web page can make a browser send. Every request here goes
// over a raw TCP socket so that the exact headers a browser would put on the wire are sent:
// the two "simple" POSTs a page can send cross-origin without a CORS preflight (text/plain with
// `{}`, and no content type with no body), a DNS-rebinding `Host`, a foreign `Origin` and
// `Sec-Fetch-Site: cross-site`. Each is refused before auth with the documented status, and
// nothing happens: no load, no generation change, no audit record. Controls prove the server
// does mutate when the request is legitimate, so the refusals are the defence at work.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startAdminServer, type AdminServer } from '../../src/http/index.js';
import { AUTH, TOKENS, makeFixture, type Fixture } from './fixtures.js';

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: any;
}

/** Sends `head` (+ `body`) on a fresh socket and parses the one answer. */
function raw(port: number, head: string[], body = ''): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (received += d));
    socket.on('error', reject);
    socket.on('close', () => {
      const [top = '', text = ''] = received.split('\r\n\r\n', 2);
      const [statusLine = '', ...lines] = top.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      let parsed: unknown;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        parsed = text;
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, body: parsed });
    });
    const lengthHeader = body === '' ? [] : [`Content-Length: ${Buffer.byteLength(body)}`];
    socket.end(`${[...head, ...lengthHeader, 'Connection: close'].join('\r\n')}\r\n\r\n${body}`);
  });
}

describe('browser defence of the admin endpoint (raw sockets)', () => {
  let fx: Fixture;
  let open: AdminServer; // auth: 'none', as the docs allow on loopback
  let tokened: AdminServer;
  let openPort: number;
  let tokenPort: number;

  before(async () => {
    fx = await makeFixture(['cfg']);
    open = await startAdminServer({ registry: fx.registry, auth: 'none', port: 0 });
    tokened = await startAdminServer({ registry: fx.registry, auth: AUTH, port: 0, allowedHosts: ['admin.proxy.example'], allowedOrigins: ['http://ops.example:8080'] });
    openPort = Number(new URL(open.url).port);
    tokenPort = Number(new URL(tokened.url).port);
  });
  after(async () => {
    await open.close();
    await tokened.close();
    await fx.registry.close();
  });

  /** Runs `attempt` and asserts that it changed nothing at all. */
  async function changesNothing(attempt: () => Promise<RawAnswer>): Promise<RawAnswer> {
    const unit = fx.units.get('cfg')!;
    const generation = unit.current!.id;
    const loads = fx.totalLoads();
    const audits = fx.audit.length;
    // A new value is waiting: a reload that got through would commit it.
    fx.sources.set('cfg', { password: 'p', port: 7000 + loads });
    const answer = await attempt();
    assert.equal(fx.totalLoads(), loads, 'no load was attempted');
    assert.equal(unit.current!.id, generation, 'the generation did not change');
    assert.equal(fx.audit.length, audits, 'nothing was audited');
    assert.equal(answer.headers['access-control-allow-origin'], undefined, 'no CORS grant');
    return answer;
  }

  const hostOf = (port: number) => `Host: 127.0.0.1:${port}`;

  it('POST with Content-Type: text/plain and body {} is 415', async () => {
    const r = await changesNothing(() => raw(openPort, ['POST /reloadkit/units/cfg/reload HTTP/1.1', hostOf(openPort), 'Content-Type: text/plain'], '{}'));
    assert.equal(r.status, 415);
    assert.equal(r.body.error.code, 'RELOADKIT_HTTP_UNSUPPORTED_MEDIA_TYPE');
  });

  it('POST with no content type and no body is 415', async () => {
    const r = await changesNothing(() => raw(openPort, ['POST /reloadkit/units/cfg/reload HTTP/1.1', hostOf(openPort)]));
    assert.equal(r.status, 415);
    const rollback = await changesNothing(() => raw(openPort, ['POST /reloadkit/units/cfg/rollback HTTP/1.1', hostOf(openPort)]));
    assert.equal(rollback.status, 415);
    const all = await changesNothing(() => raw(openPort, ['POST /reloadkit/reload HTTP/1.1', hostOf(openPort), 'Content-Type: application/x-www-form-urlencoded'], 'a=1'));
    assert.equal(all.status, 415);
  });

  it('a forged Host (DNS rebinding) is 421 on every route, probes included, before auth', async () => {
    for (const host of [`evil.example:${openPort}`, 'evil.example', `127.0.0.1:${openPort + 1}`, '127.0.0.1', `localhost.evil.example:${openPort}`]) {
      const list = await changesNothing(() => raw(openPort, ['GET /reloadkit/units HTTP/1.1', `Host: ${host}`]));
      assert.equal(list.status, 421, host);
      assert.equal(list.body.error.code, 'RELOADKIT_HTTP_MISDIRECTED');
      assert.ok(!('units' in list.body), 'no status was read');
    }
    const probe = await changesNothing(() => raw(openPort, ['GET /reloadkit/ready HTTP/1.1', `Host: evil.example:${openPort}`]));
    assert.equal(probe.status, 421);
    const mutate = await changesNothing(() => raw(openPort, ['POST /reloadkit/units/cfg/reload HTTP/1.1', `Host: evil.example:${openPort}`, 'Content-Type: application/json'], '{}'));
    assert.equal(mutate.status, 421);
    const missing = await changesNothing(() => raw(openPort, ['GET /reloadkit/units HTTP/1.0']));
    assert.equal(missing.status, 421, 'no Host at all');
    // Before auth: an anonymous caller with a forged Host learns nothing, not even "401".
    const anonymous = await changesNothing(() => raw(tokenPort, ['GET /reloadkit/units HTTP/1.1', `Host: evil.example:${tokenPort}`]));
    assert.equal(anonymous.status, 421);
  });

  it('a foreign Origin is 403, even with a valid token and JSON', async () => {
    for (const origin of ['http://evil.example', 'null', `http://127.0.0.1:${openPort + 1}`, `http://localhost:${openPort}`]) {
      const r = await changesNothing(() =>
        raw(tokenPort, ['POST /reloadkit/units/cfg/reload HTTP/1.1', hostOf(tokenPort), `Origin: ${origin}`, `Authorization: Bearer ${TOKENS.admin}`, 'Content-Type: application/json'], '{}'),
      );
      assert.equal(r.status, 403, origin);
      assert.equal(r.body.error.code, 'RELOADKIT_HTTP_CROSS_SITE');
    }
    const preflight = await changesNothing(() =>
      raw(tokenPort, ['OPTIONS /reloadkit/units/cfg/reload HTTP/1.1', hostOf(tokenPort), 'Origin: http://evil.example', 'Access-Control-Request-Method: POST']),
    );
    assert.equal(preflight.status, 403, 'no preflight is granted to a foreign origin');
  });

  it('Sec-Fetch-Site: cross-site (and same-site) is 403, for reads too', async () => {
    for (const site of ['cross-site', 'same-site']) {
      const read = await changesNothing(() => raw(openPort, ['GET /reloadkit/units HTTP/1.1', hostOf(openPort), `Sec-Fetch-Site: ${site}`]));
      assert.equal(read.status, 403, site);
      assert.ok(!('units' in read.body));
      const write = await changesNothing(() => raw(openPort, ['POST /reloadkit/units/cfg/reload HTTP/1.1', hostOf(openPort), `Sec-Fetch-Site: ${site}`, 'Content-Type: application/json'], '{}'));
      assert.equal(write.status, 403, site);
    }
  });

  it('controls: the same server mutates for a legitimate request, and lets allowed hosts and origins in', async () => {
    const unit = fx.units.get('cfg')!;
    const before = unit.current!.id;
    fx.sources.set('cfg', { password: 'p', port: 9001 });
    const ok = await raw(openPort, ['POST /reloadkit/units/cfg/reload HTTP/1.1', `Host: localhost:${openPort}`, 'Content-Type: application/json; charset=utf-8', 'Sec-Fetch-Site: none'], '{}');
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(unit.current!.id, before + 1);
    assert.ok(fx.audit.some((a) => a.action === 'reload' && a.actor === 'local'));
    // An empty JSON-typed body is still `{}`.
    fx.sources.set('cfg', { password: 'p', port: 9002 });
    const empty = await raw(openPort, ['POST /reloadkit/units/cfg/reload HTTP/1.1', `Host: [::1]:${openPort}`, 'Content-Type: application/json']);
    assert.equal(empty.status, 200, JSON.stringify(empty.body));

    const viaProxy = await raw(tokenPort, ['GET /reloadkit/units HTTP/1.1', 'Host: admin.proxy.example', `Authorization: Bearer ${TOKENS.reader}`]);
    assert.equal(viaProxy.status, 200, 'an allowedHosts name passes (any port)');

    const preflight = await raw(tokenPort, [
      'OPTIONS /reloadkit/units/cfg/reload HTTP/1.1', hostOf(tokenPort), 'Origin: http://ops.example:8080', 'Access-Control-Request-Method: POST', 'Access-Control-Request-Headers: authorization, content-type',
    ]);
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], 'http://ops.example:8080');
    assert.match(preflight.headers['access-control-allow-headers'] ?? '', /Authorization/);
    fx.sources.set('cfg', { password: 'p', port: 9003 });
    const fromDashboard = await raw(tokenPort, [
      'POST /reloadkit/units/cfg/reload HTTP/1.1', hostOf(tokenPort), 'Origin: http://ops.example:8080', 'Sec-Fetch-Site: cross-site', `Authorization: Bearer ${TOKENS.admin}`, 'Content-Type: application/json',
    ], '{"reason":"dashboard"}');
    assert.equal(fromDashboard.status, 200, JSON.stringify(fromDashboard.body));
    assert.equal(fromDashboard.headers['access-control-allow-origin'], 'http://ops.example:8080');
    // An allowed origin still needs a token: the guard is not authentication.
    const anonymous = await raw(tokenPort, ['GET /reloadkit/units HTTP/1.1', hostOf(tokenPort), 'Origin: http://ops.example:8080']);
    assert.equal(anonymous.status, 401);
  });

  it('rejects malformed allowedHosts and allowedOrigins with a TypeError naming the entry', async () => {
    await assert.rejects(startAdminServer({ registry: fx.registry, auth: 'none', port: 0, allowedHosts: ['http://x/'] }), /allowedHosts\[0\]/);
    await assert.rejects(startAdminServer({ registry: fx.registry, auth: 'none', port: 0, allowedOrigins: ['ops.example'] }), /allowedOrigins\[0\]/);
    await assert.rejects(startAdminServer({ registry: fx.registry, auth: 'none', port: 0, allowedOrigin: [] } as never), /unknown option `allowedOrigin`; did you mean `allowedOrigins`/);
  });
});
