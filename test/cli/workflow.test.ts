// The operator workflow from a shell: `reloadkit validate --file` (a dry run of a candidate the
// operator wrote), `reload` printing what changed, `pause` / `resume` around a real file hint, and
// `status <unit>` showing the exposed values and the refused hashes. The command (runCli, in this
// process) against a real unit
// over a real watched file, a real admin server.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { BASE, FILE_SECRET, startFileUnit, type FileUnit } from '../http/file-unit.js';
import { TOKENS } from '../http/fixtures.js';
import { waitFor } from '../helpers/wait.js';
import { assertOneLineReason, reloadkitHere as reloadkit, type Run } from './run.js';

const noValue = (run: Run) => assert.ok(!run.stdout.includes(FILE_SECRET) && !run.stderr.includes(FILE_SECRET), `a value leaked: ${run.stdout}${run.stderr}`);

describe('reloadkit validate, reload changes, pause/resume, status detail', () => {
  let fx: FileUnit;
  let env: Record<string, string>;
  beforeEach(async () => {
    fx = await startFileUnit();
    env = { RELOADKIT_URL: fx.admin.url, RELOADKIT_TOKEN: TOKENS.admin };
  });
  afterEach(async () => {
    await fx.close();
  });

  it('validate --file: would-commit exits 0, a rejected candidate exits 1 with stage, code and message; the live generation is unchanged after both', async () => {
    const live = fx.unit.current!;
    const good = join(fx.dir, 'candidate.json');
    const bad = join(fx.dir, 'bad.json');
    const broken = join(fx.dir, 'broken.json');
    await writeFile(good, JSON.stringify({ ...BASE, db: { ...BASE.db, size: 40 }, greeting: 'bonjour' }));
    await writeFile(bad, JSON.stringify({ ...BASE, db: { ...BASE.db, size: 'huge' } }));
    await writeFile(broken, `{"db": {"password": "${FILE_SECRET}",`);
    const ok = await reloadkit(['validate', 'app', '--file', good], env);
    assert.equal(ok.code, 0, ok.stderr);
    const lines = ok.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^app would-commit sha256:[0-9a-f]{12}$/);
    assert.equal(lines.at(-1), 'changed: db.size, greeting');
    assert.equal(ok.stderr, '');

    const rejected = await reloadkit(['validate', 'app', '--file', bad], env);
    assert.equal(rejected.code, 1, rejected.stderr);
    assert.match(rejected.stdout, /^app rejected/);
    assert.match(rejected.stdout, /^stage: validate$/m);
    assert.match(rejected.stdout, /^code: RELOADKIT_VALIDATION$/m);
    assert.match(rejected.stdout, /^message: .*db\.size/m);
    assertOneLineReason(rejected, /app rejected at validate: .*\(RELOADKIT_VALIDATION\)/);

    const source = await reloadkit(['validate', 'app'], env);
    assert.equal(source.code, 0, source.stderr);
    assert.match(source.stdout, /^app unchanged/);

    const [missing, notJson] = await Promise.all([reloadkit(['validate', 'app', '--file', join(fx.dir, 'absent.json')], env), reloadkit(['validate', 'app', '--file', broken], env)]);
    assert.equal(missing.code, 2);
    assertOneLineReason(missing, /cannot read --file .*absent\.json': ENOENT/);
    assert.equal(notJson.code, 2);
    assertOneLineReason(notJson, /--file '.*broken\.json' is not valid JSON/);
    for (const run of [ok, rejected, source, missing, notJson]) noValue(run);

    assert.equal(fx.unit.current, live, 'no generation changed');
    assert.equal(fx.counts.committed, 1, 'only the start committed');
  });

  it('reload prints `changed: db.size, greeting` on commit', async () => {
    await fx.write({ ...BASE, db: { ...BASE.db, size: 8 }, greeting: 'hi' });
    const run = await reloadkit(['reload', 'app'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^app\s+committed\s+1 -> 2/m);
    assert.equal(run.stdout.trimEnd().split('\n').at(-1), 'changed: db.size, greeting');
    noValue(run);
  });

  it('pause → a file hint → resume: exactly one reload, at resume; a reload while paused exits 1', async () => {
    await fx.close();
    fx = await startFileUnit({ watch: true });
    env = { RELOADKIT_URL: fx.admin.url, RELOADKIT_TOKEN: TOKENS.admin };
    const paused = await reloadkit(['pause', 'app', '--reason', 'incident 7'], env);
    assert.equal(paused.code, 0, paused.stderr);
    assert.equal(paused.stdout.trim(), 'app paused');
    await fx.write({ ...BASE, greeting: 'held' });
    await waitFor(() => fx.unit.status().paused?.pending === true, { message: 'the hint is pending' });
    const status = await reloadkit(['status', 'app'], env);
    assert.match(status.stdout, /^app\s+ready \(paused\)\s/m);
    assert.match(status.stdout, /^paused since \S+ by ops: incident 7 \(a reload is pending\)$/m);
    const blocked = await reloadkit(['reload', 'app'], env);
    assert.equal(blocked.code, 1);
    assertOneLineReason(blocked, /app paused: .*\(RELOADKIT_PAUSED\)/);
    assert.equal(fx.counts.committed, 1, 'nothing committed while paused');

    const resumed = await reloadkit(['resume', 'app'], env);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /^app resumed; the pending reload ran:$/m);
    assert.match(resumed.stdout, /^app\s+committed\s+1 -> 2/m);
    assert.match(resumed.stdout, /^changed: greeting$/m);
    assert.equal(fx.counts.committed, 2, 'exactly one reload, at resume');
    const again = await reloadkit(['resume', 'app'], env);
    assert.equal(again.stdout.trim(), 'app resumed', 'a second resume has nothing pending');
    assert.equal(fx.counts.committed, 2);
  });

  it('status <unit> shows the exposed values and the refused hashes, never another value', async () => {
    await fx.write({ ...BASE, greeting: 'bad' });
    assert.equal((await fx.unit.reload()).status, 'committed');
    const refusedHash = fx.unit.current!.hash;
    assert.equal((await fx.unit.rollback()).status, 'committed');
    const run = await reloadkit(['status', 'app'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^exposed:$/m);
    assert.match(run.stdout, /^ {2}greeting = "hello"$/m);
    assert.match(run.stdout, /^ {2}db\.size = 5$/m);
    assert.match(run.stdout, new RegExp(`^refused: ${refusedHash.slice(0, 'sha256:'.length + 12)}$`, 'm'));
    noValue(run);
  });
});
