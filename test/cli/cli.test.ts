// The `reloadkit` command against a real admin server over a real registry; the calls that prove the
// real process (exit codes, stdout, stderr of `node --import tsx src/cli/main.ts`) spawn it, the rest
// run the same code in this process (runCli): each subcommand, each exit code, the table and the
// JSON output, the token from the environment and from a file, and one-line reasons on stderr.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAdminServer, type AdminServer } from '../../src/http/index.js';
import { AUTH, SECRET, TOKENS, makeFixture, type Fixture } from '../http/fixtures.js';
import { freePort, waitFor } from '../helpers/wait.js';
import { assertOneLineReason, reloadkit, reloadkitHere as inProcess, type Run } from './run.js';

describe('reloadkit CLI', () => {
  let fx: Fixture;
  let admin: AdminServer;
  let dir: string;
  let url: string;
  let admin_: Record<string, string>;

  before(async () => {
    fx = await makeFixture(['config', 'db']);
    admin = await startAdminServer({ registry: fx.registry, auth: AUTH, port: 0 });
    url = admin.url;
    admin_ = { RELOADKIT_URL: url, RELOADKIT_TOKEN: TOKENS.admin };
    dir = await mkdtemp(join(tmpdir(), 'reloadkit-cli-'));
  });
  after(async () => {
    await admin.close();
    await fx.registry.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('usage: --help exits 0; bad command lines exit 2 with a one-line reason (spawned, and in process for the rest)', async () => {
    const runs = await Promise.all([
      reloadkit(['--help']),
      reloadkit([]),
      inProcess(['explode'], admin_),
      inProcess(['reload'], admin_),
      inProcess(['reload', 'config', '--all'], admin_),
      inProcess(['rollback', 'config', '--to', 'abc'], admin_),
      inProcess(['status', '--nope'], admin_),
      inProcess(['status', '--url', 'ftp://x'], admin_),
      inProcess(['status', '--to', '3'], admin_),
      inProcess(['relaod', 'config'], admin_),
      inProcess(['invalidate', 'users'], admin_),
      inProcess(['invalidate', 'users', '--key', 'a', '--all'], admin_),
      inProcess(['invalidate', 'users', '--prefix', ''], admin_),
      inProcess(['invalidate', '--all'], admin_),
      inProcess(['reload', 'config', '--key', 'a'], admin_),
    ]);
    const [help, none, unknown, noUnit, both, badTo, badFlag, badUrl, misplaced, typo, noTarget, twoTargets, emptyPrefix, noCache, keyOnReload] = runs as Run[] as [
      Run, Run, Run, Run, Run, Run, Run, Run, Run, Run, Run, Run, Run, Run, Run,
    ];
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage:[\s\S]*reloadkit rollback <unit> \[--to N\]/);
    assert.match(help.stdout, /Exit codes: 0 done, 1 rejected or refused, 2/);
    for (const [run, pattern] of [
      [none, /missing command/],
      [unknown, /unknown command 'explode'/],
      [noUnit, /unit name or --all/],
      [both, /not both/],
      [badTo, /--to must be a positive generation id/],
      [badFlag, /Unknown option '--nope'/],
      [badUrl, /http or https/],
      [misplaced, /--to does not apply to 'status'/],
      [typo, /unknown command 'relaod' \(did you mean 'reload'\?\)/],
      [noTarget, /invalidate needs exactly one of --key K, --prefix P or --all \(/],
      [twoTargets, /exactly one of .*, got --key and --all/],
      [emptyPrefix, /--prefix must not be empty/],
      [noCache, /invalidate needs a unit name/],
      [keyOnReload, /--key does not apply to 'reload'/],
    ] as const) {
      assert.equal(run.code, 2, run.stderr);
      assertOneLineReason(run, pattern);
      assert.equal(run.stdout, '');
    }
    assert.equal(fx.totalLoads(), 2, 'nothing was reloaded');
  });

  it('status prints a table, or JSON with --json; one unit by name', async () => {
    const [table, json, one] = await Promise.all([
      reloadkit(['status'], admin_),
      inProcess(['status', '--json'], admin_),
      inProcess(['status', 'db', '--url', url], { RELOADKIT_TOKEN: TOKENS.reader }),
    ]);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^UNIT\s+STATE\s+GEN\s+HASH\s+COMMITTED\s+LAST\s+LEASES\s+REASON$/);
    assert.match(lines[1]!, /^config\s+ready\s+1\s+sha256:[0-9a-f]{12}\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+committed\s+0$/);
    assert.match(lines[2]!, /^db\s+ready\s+1\s/);
    assert.ok(!table.stdout.includes(SECRET));
    assert.equal(json.code, 0);
    const parsed = JSON.parse(json.stdout);
    assert.deepEqual(parsed.units.map((u: { name: string }) => u.name), ['config', 'db']);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(one.stdout.trimEnd().split('\n').length, 2);
    assert.match(one.stdout, /^db\s+ready/m);
  });

  it('reload <unit> commits (exit 0), audited with the token actor and --reason', async () => {
    fx.sources.set('config', { password: SECRET, port: 6001 });
    const run = await reloadkit(['reload', 'config', '--reason', 'cli deploy'], admin_);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^UNIT\s+RESULT\s+GENERATION\s+TIME/);
    assert.match(run.stdout, /^config\s+committed\s+1 -> 2\s+[\d.]+ ms$/m);
    assert.equal(run.stderr, '');
    await waitFor(() => fx.audit.find((a) => a.unit === 'config' && a.action === 'reload' && a.actor === 'ops' && a.reason === 'cli deploy'), { message: 'audit' });
    const json = await inProcess(['reload', 'config', '--json', '--force'], admin_);
    assert.equal(json.code, 0);
    const result = JSON.parse(json.stdout);
    assert.equal(result.status, 'committed');
    assert.equal(result.generation, 3);
  });

  it('a rejected reload exits 1 with the result and a one-line reason', async () => {
    fx.sources.set('db', { password: SECRET, port: 'nope' });
    const [table, json] = await Promise.all([reloadkit(['reload', 'db'], admin_), inProcess(['reload', 'db', '--json'], admin_)]);
    assert.equal(table.code, 1);
    assert.match(table.stdout, /^db\s+rejected\s+1\s+[\d.]+ ms\s+validate: /m);
    assertOneLineReason(table, /db rejected at validate: .*\(RELOADKIT_VALIDATION\)/);
    assert.equal(json.code, 1);
    assert.equal(JSON.parse(json.stdout).stage, 'validate');
    assert.ok(!table.stdout.includes(SECRET) && !table.stderr.includes(SECRET));
    fx.sources.set('db', { password: SECRET, port: 5001 });
  });

  it('reload --all reloads every unit; exit 1 when one is rejected', async () => {
    const ok = await inProcess(['reload', '--all'], admin_);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^config\s+unchanged/m);
    assert.match(ok.stdout, /^db\s+unchanged/m);
    fx.sources.set('config', { port: 1 });
    const bad = await inProcess(['reload', '--all', '--json'], admin_);
    assert.equal(bad.code, 1);
    assert.equal(JSON.parse(bad.stdout).ok, false);
    assertOneLineReason(bad, /config rejected at validate/);
    fx.sources.set('config', { password: SECRET, port: 6001 });
  });

  it('rollback <unit> [--to N]: exit 0, or 1 for a generation not retained', async () => {
    const live = fx.units.get('config')!.current!.id;
    const [back, missing] = [await inProcess(['rollback', 'config', '--to', '1', '--reason', 'revert'], admin_), await inProcess(['rollback', 'config', '--to', '999'], admin_)];
    assert.equal(back.code, 0, back.stderr);
    assert.match(back.stdout, new RegExp(`^config\\s+committed\\s+${live} -> ${live + 1}`, 'm'));
    await waitFor(() => fx.audit.find((a) => a.action === 'rollback' && a.actor === 'ops' && a.reason === 'revert'), { message: 'rollback audit' });
    assert.equal(missing.code, 1);
    assertOneLineReason(missing, /config rejected/);
  });

  it('auth and lookup errors exit 2 with the HTTP reason', async () => {
    const [none, wrong, scope, unknown] = await Promise.all([
      reloadkit(['status'], { RELOADKIT_URL: url }),
      inProcess(['status'], { RELOADKIT_URL: url, RELOADKIT_TOKEN: 'wrong-token-0123456789abcdef' }),
      inProcess(['reload', 'config'], { RELOADKIT_URL: url, RELOADKIT_TOKEN: TOKENS.reader }),
      inProcess(['status', 'nope'], admin_),
    ]);
    for (const run of [none, wrong]) {
      assert.equal(run.code, 2);
      assertOneLineReason(run, /HTTP 401 RELOADKIT_HTTP_UNAUTHORIZED: missing or invalid bearer token/);
    }
    assert.equal(scope.code, 2);
    assertOneLineReason(scope, /HTTP 403 RELOADKIT_HTTP_FORBIDDEN: .*'reload' scope/);
    assert.equal(unknown.code, 2);
    assertOneLineReason(unknown, /HTTP 404 RELOADKIT_HTTP_UNKNOWN_UNIT: no unit named 'nope'/);
  });

  it('--token-file wins over RELOADKIT_TOKEN; a missing file is a usage error', async () => {
    const file = join(dir, 'token');
    await writeFile(file, `${TOKENS.reader}\n`, { mode: 0o600 });
    const [fromFile, missing] = await Promise.all([
      inProcess(['status', '--token-file', file], { RELOADKIT_URL: url, RELOADKIT_TOKEN: 'wrong-token-0123456789abcdef' }),
      inProcess(['status', '--token-file', join(dir, 'absent')], { RELOADKIT_URL: url }),
    ]);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.equal(missing.code, 2);
    assertOneLineReason(missing, /cannot read --token-file .*ENOENT/);
  });

  it('a connection error exits 2 with a one-line reason', async () => {
    const port = await freePort();
    const run = await reloadkit(['status', '--url', `http://127.0.0.1:${port}/reloadkit`], { RELOADKIT_TOKEN: TOKENS.admin });
    assert.equal(run.code, 2);
    assertOneLineReason(run, new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}/reloadkit/units: ECONNREFUSED`));
  });
});
