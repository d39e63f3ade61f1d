// The operator commands of `reloadkit` that sit on routes the endpoint already had: `invalidate`
// over a real cache, the REASON column of `status`, the hint for a `--url` without the admin
// base path, and `history` agreeing with the rollback error's list of retained generations.
// The command runs in this process (runCli) against a real admin server over real sockets.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { reloadableCache } from '../../src/cache/index.js';
import { createAdminHandler } from '../../src/http/handler.js';
import { startAdminServer, type AdminServer } from '../../src/http/index.js';
import { listen } from '../../src/support/http/listen.js';
import { AUTH, SECRET, TOKENS, makeFixture, type Fixture } from '../http/fixtures.js';
import { waitFor } from '../helpers/wait.js';
import { assertOneLineReason, reloadkitHere as reloadkit } from './run.js';

describe('reloadkit invalidate, REASON, --url hint, history', () => {
  let fx: Fixture;
  let admin: AdminServer;
  let env: Record<string, string>;
  const loads = new Map<string, number>();

  before(async () => {
    fx = await makeFixture(['config', 'db']);
    const users = reloadableCache({
      name: 'users',
      load: async (key: string) => {
        loads.set(key, (loads.get(key) ?? 0) + 1);
        return { key, secret: SECRET };
      },
    });
    fx.registry.add(users);
    await users.start();
    for (const key of ['user:1', 'user:10', 'team:1']) await users.get(key);
    admin = await startAdminServer({ registry: fx.registry, auth: AUTH, port: 0 });
    env = { RELOADKIT_URL: admin.url, RELOADKIT_TOKEN: TOKENS.admin };
  });
  after(async () => {
    await admin.close();
    await fx.registry.close();
  });

  it('invalidate --key / --prefix / --all drops entries of a real cache, audited; --refresh reloads in place', async () => {
    const cache = fx.registry.get('users') as unknown as { get(key: string): Promise<unknown> };
    const one = await reloadkit(['invalidate', 'users', '--key', 'user:1', '--reason', 'gdpr 12'], env);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(one.stdout.trim(), 'users: invalidated 1 entry');
    const record = await waitFor(() => fx.audit.find((a) => a.unit === 'users' && a.action === 'invalidate' && a.reason === 'gdpr 12'), { message: 'audit' });
    assert.equal(record.actor, 'ops');
    await cache.get('user:1');
    assert.equal(loads.get('user:1'), 2, 'the dropped key was loaded again on the next get');
    await cache.get('user:10');
    assert.equal(loads.get('user:10'), 1, 'a key the given one is a prefix of was left alone: --key is exact');

    const refreshed = await reloadkit(['invalidate', 'users', '--key', 'team:1', '--refresh', '--json'], env);
    assert.equal(refreshed.code, 0, refreshed.stderr);
    assert.deepEqual(JSON.parse(refreshed.stdout), { unit: 'users', ok: true, invalidated: 1 });
    assert.equal(loads.get('team:1'), 2, 'refresh reloaded the key in place');

    const prefix = await reloadkit(['invalidate', 'users', '--prefix', 'user:'], env);
    assert.equal(prefix.stdout.trim(), 'users: invalidated 2 entries');
    const all = await reloadkit(['invalidate', 'users', '--all'], env);
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.stdout.trim(), 'users: invalidated 1 entry');

    const notCache = await reloadkit(['invalidate', 'config', '--all'], env);
    assert.equal(notCache.code, 2);
    assertOneLineReason(notCache, /HTTP 404 RELOADKIT_HTTP_NOT_A_CACHE/);
    for (const run of [one, refreshed, prefix, all, notCache]) assert.ok(!run.stdout.includes(SECRET) && !run.stderr.includes(SECRET));
  });

  it('status shows a REASON column: the code and one-line message of a rejected attempt, never a value', async () => {
    fx.sources.set('db', { password: SECRET, port: 'not-a-port' });
    assert.equal((await fx.units.get('db')!.reload()).status, 'rejected');
    try {
      const run = await reloadkit(['status'], env);
      assert.equal(run.code, 0, run.stderr);
      const [header, ...rows] = run.stdout.trimEnd().split('\n');
      assert.match(header!, /\sREASON$/);
      const column = header!.indexOf('REASON');
      const cell = (name: string) => rows.find((r) => r.startsWith(`${name} `))!.slice(column);
      assert.match(cell('db'), /^RELOADKIT_VALIDATION: \[db\] validation failed.*port/);
      assert.ok(!cell('db').includes('\n'));
      assert.equal(cell('config').trim(), '', 'a unit whose last attempt went through has no reason');
      assert.ok(!run.stdout.includes(SECRET) && !run.stdout.includes('not-a-port'));
    } finally {
      fx.sources.set('db', { password: SECRET, port: 5001 });
      await fx.units.get('db')!.reload();
    }
  });

  it('a --url without the admin base path gets "did you mean …?" (exit code unchanged)', async () => {
    const origin = new URL(admin.url).origin;
    const run = await reloadkit(['status', '--url', origin], { RELOADKIT_TOKEN: TOKENS.admin });
    assert.equal(run.code, 2);
    assertOneLineReason(run, new RegExp(`HTTP 404 RELOADKIT_HTTP_NOT_FOUND: not an admin route \\(did you mean ${origin.replace(/\./g, '\\.')}/reloadkit\\?\\)$`));
    const right = await reloadkit(['status', '--url', `${origin}/reloadkit/`], { RELOADKIT_TOKEN: TOKENS.admin });
    assert.equal(right.code, 0, right.stderr);
  });

  it('the hint also follows a host application\'s own (non-JSON) 404, and stays generic when it cannot guess', async () => {
    const handler = createAdminHandler({ registry: fx.registry, auth: AUTH, basePath: '/reloadkit' });
    const server: Server = createServer(async (req, res) => {
      if (await handler(req, res)) return;
      res.statusCode = 404;
      res.setHeader('content-type', 'text/html');
      res.end('<h1>Not Found</h1>');
    });
    const { address, close } = await listen(server, 0, '127.0.0.1');
    try {
      const origin = `http://127.0.0.1:${address.port}`;
      const mounted = await reloadkit(['status', '--url', `${origin}/app`], { RELOADKIT_TOKEN: TOKENS.admin });
      assert.equal(mounted.code, 2);
      assertOneLineReason(mounted, new RegExp(`HTTP 404 \\(not a reloadkit answer\\) \\(did you mean ${origin.replace(/\./g, '\\.')}/reloadkit\\?\\)$`));
    } finally {
      await close();
    }
    const lonely = createAdminHandler({ registry: fx.registry, auth: AUTH, basePath: '/ops' });
    const server2: Server = createServer(async (req, res) => {
      if (await lonely(req, res)) return;
      res.statusCode = 404;
      res.end('nope');
    });
    const second = await listen(server2, 0, '127.0.0.1');
    try {
      const run = await reloadkit(['status', '--url', `http://127.0.0.1:${second.address.port}`], { RELOADKIT_TOKEN: TOKENS.admin });
      assert.equal(run.code, 2);
      assertOneLineReason(run, /HTTP 404 \(not a reloadkit answer\) \(is the admin base path missing from --url\? it is the handler's basePath, default \/reloadkit\)$/);
    } finally {
      await second.close();
    }
  });

  it("history lists the retained generations, and a rollback with no target names the same list", async () => {
    const config = fx.units.get('config')!;
    for (const port of [7001, 7002, 7003]) {
      fx.sources.set('config', { password: SECRET, port });
      assert.equal((await config.reload()).status, 'committed');
    }
    const [history, historyJson, rollback, rollbackJson] = await Promise.all([
      reloadkit(['history', 'config'], env),
      reloadkit(['history', 'config', '--json'], env),
      reloadkit(['rollback', 'config', '--to', '999'], env),
      reloadkit(['rollback', 'config', '--to', '999', '--json'], env),
    ]);
    assert.equal(history.code, 0, history.stderr);
    const [header, ...rows] = history.stdout.trimEnd().split('\n');
    assert.match(header!, /^GEN\s+HASH\s+COMMITTED\s+TRIGGER$/);
    assert.match(rows[0]!, new RegExp(`^${config.current!.id} \\(live\\)\\s+sha256:[0-9a-f]{12}\\s`));
    const shown = rows.map((r) => Number(/^\d+/.exec(r)![0]));
    const ids = JSON.parse(historyJson.stdout).generations.map((g: { id: number }) => g.id);
    assert.deepEqual(shown, ids);
    assert.deepEqual(ids, config.history().map((g) => g.id));

    assert.equal(rollback.code, 1);
    const listed = /retained: ([\d, ]+)/.exec(rollback.stderr)![1]!.split(', ').map(Number);
    assert.deepEqual(listed, ids, 'the rollback error names exactly what history shows');
    assert.match(rollback.stdout, new RegExp(`^retained: ${ids.map((id: number, i: number) => (i === 0 ? `${id} \\(live\\)` : String(id))).join(', ')}$`, 'm'));
    assert.deepEqual(JSON.parse(rollbackJson.stdout).retained, ids);
    assert.ok(!history.stdout.includes(SECRET) && !historyJson.stdout.includes(SECRET));
  });
});
