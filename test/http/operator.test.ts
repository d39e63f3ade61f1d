// The operator workflow over the admin endpoint, with a real unit over a real watched JSON file,
// a real JSONL audit file and real sockets: what changed (in the answer and the audit line), dry
// runs with a caller's candidate (one resource built and disposed, no generation), pause → hint →
// resume → exactly one reload, refused hashes after a rollback, and the exposed values.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { BASE, FILE_SECRET, startFileUnit, type FileUnit } from './file-unit.js';
import { TOKENS, call } from './fixtures.js';
import { waitFor } from '../helpers/wait.js';

const token = TOKENS.admin;
const noValue = (text: string) => assert.ok(!text.includes(FILE_SECRET), `a value leaked: ${text}`);

describe('operator workflow over HTTP', () => {
  let fx: FileUnit;
  beforeEach(async () => {
    fx = await startFileUnit();
  });
  afterEach(async () => {
    await fx.close();
  });

  it('a committed reload answers changedPaths and hash, and the audit line carries the same paths', async () => {
    await fx.write({ ...BASE, db: { ...BASE.db, size: 9 }, greeting: 'hi' });
    const r = await call(fx.admin.url, 'POST', '/units/app/reload', { token, body: { reason: 'resize' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.status, 'committed');
    assert.deepEqual(r.body.changedPaths, ['db.size', 'greeting']);
    assert.equal(r.body.hash, fx.unit.current!.hash);
    noValue(r.text);
    const { text, records } = await fx.auditLines();
    const line = records.find((a) => a.action === 'reload' && a.reason === 'resize');
    assert.ok(line, `no reload audit line in ${text}`);
    assert.deepEqual(line.changedPaths, ['db.size', 'greeting']);
    assert.equal(line.actor, 'ops');
    noValue(text);
    assert.ok(!text.includes('"hi"'), 'the audit line names paths, not values');
  });

  it('a dry run with a candidate builds and disposes exactly one resource, changes no generation, and is answered 200 would-commit / 422 rejected', async () => {
    const live = fx.unit.current!;
    const before = { ...fx.counts };
    const candidate = { db: { size: 12, password: 'candidate-only-secret' }, greeting: 'hello' };
    const ok = await call(fx.admin.url, 'POST', '/units/app/reload', { token, body: { dryRun: true, candidate, reason: 'pre-flight' } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.status, 'would-commit');
    assert.equal(ok.body.dryRun, true);
    assert.deepEqual([...ok.body.changedPaths].sort(), ['db.password', 'db.size']);
    assert.match(ok.body.hash, /^sha256:/);
    assert.notEqual(ok.body.hash, live.hash);
    assert.equal(fx.counts.created - before.created, 1, 'one candidate resource was built');
    await waitFor(() => fx.counts.disposed - before.disposed === 1, { message: 'the candidate resource is disposed' });
    assert.equal(fx.counts.committed, before.committed, 'no committed event');

    const bad = await call(fx.admin.url, 'POST', '/units/app/reload', { token, body: { dryRun: true, candidate: { ...candidate, db: { size: -1, password: 'candidate-only-secret' } } } });
    assert.equal(bad.status, 422, bad.text);
    assert.equal(bad.body.status, 'rejected');
    assert.equal(bad.body.stage, 'validate');
    assert.equal(bad.body.dryRun, true);
    assert.equal(bad.body.error.code, 'RELOADKIT_VALIDATION');

    const fromSource = await call(fx.admin.url, 'POST', '/units/app/reload', { token, body: { dryRun: true } });
    assert.equal(fromSource.status, 200, fromSource.text);
    assert.equal(fromSource.body.status, 'unchanged', "the source's own read is the live config");

    assert.equal(fx.unit.current, live, 'the live generation is the same object');
    assert.equal(fx.unit.status().generation, live.id);
    const { text, records } = await fx.auditLines();
    const dry = records.filter((a) => a.action === 'dry-run');
    assert.ok(dry.length >= 2, `dry runs are audited: ${text}`);
    assert.deepEqual(dry.find((a) => a.reason === 'pre-flight')?.changedPaths, ok.body.changedPaths);
    for (const t of [ok.text, bad.text, text]) assert.ok(!t.includes('candidate-only-secret'), `the candidate leaked: ${t}`);
  });

  it('pause → a file hint → resume runs exactly one reload; a reload while paused is 409 paused; GET shows paused', async () => {
    await fx.close();
    fx = await startFileUnit({ watch: true });
    const paused = await call(fx.admin.url, 'POST', '/units/app/pause', { token, body: { reason: 'incident 7' } });
    assert.equal(paused.status, 200, paused.text);
    assert.equal(paused.body.paused.reason, 'incident 7');
    assert.equal(paused.body.paused.actor, 'ops');
    const generation = fx.unit.current!.id;

    await fx.write({ ...BASE, greeting: 'while paused 1' });
    const pending = await waitFor(async () => {
      const s = await call(fx.admin.url, 'GET', '/units/app', { token: TOKENS.reader });
      return s.body.paused?.pending === true ? s : undefined;
    }, { message: 'the hint is held as a pending reload' });
    assert.equal(pending.body.paused.reason, 'incident 7');
    await fx.write({ ...BASE, greeting: 'while paused 2' });

    const refused = await call(fx.admin.url, 'POST', '/units/app/reload', { token });
    assert.equal(refused.status, 409, refused.text);
    assert.equal(refused.body.status, 'paused');
    assert.equal(refused.body.error.code, 'RELOADKIT_PAUSED');
    assert.equal(fx.unit.current!.id, generation, 'nothing committed while paused');
    assert.equal(fx.counts.committed, 1, 'only the start committed');

    const resumed = await call(fx.admin.url, 'POST', '/units/app/resume', { token });
    assert.equal(resumed.status, 200, resumed.text);
    assert.equal(resumed.body.result.status, 'committed');
    assert.deepEqual(resumed.body.result.changedPaths, ['greeting']);
    assert.equal(fx.counts.committed, 2, 'exactly one reload ran at resume');
    assert.equal(fx.unit.current!.value.greeting, 'while paused 2');
    const after = await call(fx.admin.url, 'GET', '/units/app', { token: TOKENS.reader });
    assert.equal(after.body.paused, undefined);
    const { records } = await fx.auditLines();
    assert.ok(records.some((a) => a.action === 'pause' && a.actor === 'ops' && a.reason === 'incident 7'));
    assert.ok(records.some((a) => a.action === 'resume' && a.actor === 'ops'));
  });

  it('after a rollback the rolled-back hash is refused (409), GET shows it, clear-refused empties the set', async () => {
    await fx.write({ ...BASE, greeting: 'bad deploy' });
    const bad = await call(fx.admin.url, 'POST', '/units/app/reload', { token });
    assert.equal(bad.body.status, 'committed');
    const back = await call(fx.admin.url, 'POST', '/units/app/rollback', { token, body: { reason: 'revert' } });
    assert.equal(back.status, 200, back.text);
    assert.deepEqual(back.body.changedPaths, ['greeting']);

    const again = await call(fx.admin.url, 'POST', '/units/app/reload', { token });
    assert.equal(again.status, 409, again.text);
    assert.equal(again.body.status, 'refused');
    assert.equal(again.body.stage, 'refused');
    assert.equal(again.body.error.code, 'RELOADKIT_REFUSED');
    assert.equal(again.body.hash, bad.body.hash);
    const status = await call(fx.admin.url, 'GET', '/units/app', { token: TOKENS.reader });
    assert.deepEqual(status.body.refused, [bad.body.hash]);

    const cleared = await call(fx.admin.url, 'POST', '/units/app/clear-refused', { token });
    assert.equal(cleared.status, 200, cleared.text);
    assert.deepEqual(cleared.body, { unit: 'app', ok: true, cleared: 1 });
    assert.equal((await call(fx.admin.url, 'GET', '/units/app', { token })).body.refused, undefined);
    const now = await call(fx.admin.url, 'POST', '/units/app/reload', { token });
    assert.equal(now.body.status, 'committed', 'the hash goes through once the set is cleared');
  });

  it('GET /units/:name shows the exposed values and nothing else of the config', async () => {
    const r = await call(fx.admin.url, 'GET', '/units/app', { token: TOKENS.reader });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.exposed, { greeting: 'hello', 'db.size': 5 });
    noValue(r.text);
    const all = await call(fx.admin.url, 'GET', '/units', { token: TOKENS.reader });
    noValue(all.text);
  });
});
