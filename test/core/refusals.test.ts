/**
 * Refusals over real files, the real file watcher and a real SIGHUP: a rollback holds against the
 * next hint while the source still holds the bad content; a verify failure quarantines its hash,
 * across a restart with lastKnownGood; `force` and `clearRefused()` override, audited; a new hash
 * goes through and clears the set.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { RefusedError, reloadable, type AuditRecord, type Reloadable, type Source, type UnitEvents } from '../../src/index.js';
import { CHANNELS, type AttemptEndMessage } from '../../src/core/diagnostics.js';
import { fileSource } from '../../src/file/index.js';
import { signalTrigger } from '../../src/triggers/index.js';
import { waitFor } from '../helpers/wait.js';

const Db = z.object({ size: z.number().int() });

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rk-refused-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Every attempt the unit `name` ends (quiet ones included), from the diagnostics channel. */
function attemptEnds(t: TestContext, name: string): AttemptEndMessage[] {
  const ends: AttemptEndMessage[] = [];
  const on = (m: unknown): void => {
    if ((m as AttemptEndMessage).unit === name) ends.push(m as AttemptEndMessage);
  };
  subscribe(CHANNELS.attemptEnd, on);
  t.after(() => unsubscribe(CHANNELS.attemptEnd, on));
  return ends;
}

/** The file source without its watch: reloads happen only when the test calls them. */
function unwatched<Raw>(source: Source<Raw>): Source<Raw> {
  return { describe: () => source.describe(), read: (ctx) => source.read(ctx) };
}

function committedCount(unit: Reloadable<any, any>): { n: number } {
  const count = { n: 0 };
  unit.on('committed', () => count.n++);
  return count;
}

test('a rollback holds: SIGHUP and file events after rollback() commit nothing while the file still holds the bad content; one audit record for the refused hash', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'db.json');
  await writeFile(path, JSON.stringify({ size: 5 }));
  const records: AuditRecord[] = [];
  const ends = attemptEnds(t, 'db');
  const unit = reloadable({ name: 'db', source: fileSource(path), schema: Db, triggers: [signalTrigger('SIGHUP')], retry: false, audit: (r) => void records.push(r) });
  t.after(() => unit.close());
  await unit.start();

  await writeFile(path, JSON.stringify({ size: 50 }));
  await waitFor(() => unit.current?.value.size === 50, { message: 'the watcher commits the bad content' });
  const bad = unit.current!.hash;
  const rolled = await unit.rollback({ reason: 'pool exhausted', actor: 'ops' });
  assert.equal(rolled.status, 'committed');
  assert.equal(unit.current!.value.size, 5);
  assert.deepEqual(rolled.changedPaths, ['size'], 'a rollback says what changed too');
  assert.deepEqual(unit.status().refused, [bad]);
  const generation = unit.current!.id;
  const commits = committedCount(unit);
  const endsBefore = ends.length;

  // Three real SIGHUPs, one at a time, each a full attempt over the file that still holds size 50.
  for (let i = 0; i < 3; i++) {
    assert.ok(process.listenerCount('SIGHUP') >= 1, 'the signal trigger listens (a SIGHUP cannot kill the test process)');
    const before = ends.length;
    process.kill(process.pid, 'SIGHUP');
    await waitFor(() => ends.length > before, { message: `attempt after SIGHUP #${i + 1}` });
  }
  // A real file event: the bad content written again.
  const beforeWrite = ends.length;
  await writeFile(path, JSON.stringify({ size: 50 }));
  await waitFor(() => ends.length > beforeWrite, { message: 'attempt after the file event' });
  const direct = await unit.reload({ actor: 'ops' });

  assert.equal(direct.status, 'refused');
  assert.equal(direct.ok, false);
  assert.equal(direct.stage, 'refused');
  assert.equal(direct.hash, bad);
  assert.ok(direct.error instanceof RefusedError);
  assert.equal(direct.error.code, 'RELOADKIT_REFUSED');
  assert.equal((direct.error as RefusedError).hash, bad);
  assert.equal(direct.generation, generation);
  assert.equal(unit.current!.id, generation, 'nothing committed');
  assert.equal(unit.current!.value.size, 5);
  assert.equal(commits.n, 0);
  const after = ends.slice(endsBefore);
  assert.ok(after.length >= 5, `every hint was an attempt (${after.length})`);
  assert.ok(after.every((m) => m.outcome === 'refused'), `every attempt was refused: ${after.map((m) => m.outcome).join(',')}`);
  const refusedRecords = records.filter((r) => r.outcome === 'refused');
  assert.equal(refusedRecords.length, 1, 'reported once per distinct hash, not once per hint');
  assert.equal(refusedRecords[0]!.hash, bad);
  assert.equal(refusedRecords[0]!.stage, 'refused');
  assert.equal(refusedRecords[0]!.error?.code, 'RELOADKIT_REFUSED');
  assert.equal(unit.status().lastAttempt?.outcome, 'refused');

  // A new hash goes through the pipeline normally, and its commit clears the set.
  await writeFile(path, JSON.stringify({ size: 7 }));
  await waitFor(() => unit.current?.value.size === 7, { message: 'a new hash commits' });
  assert.equal(unit.status().refused, undefined);
});

test('a verify-failed hash is refused on the next reload and after a restart with lastKnownGood (new unit, same file)', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'db.json');
  const lkg = join(dir, 'db.lkg.json');
  await writeFile(path, JSON.stringify({ size: 5 }));
  const options = {
    name: 'db',
    schema: Db,
    retry: false as const,
    lastKnownGood: lkg,
    verify: { windowMs: 20, check: (g: { value: { size: number } }) => g.value.size < 100 },
  };
  const first = reloadable({ ...options, source: fileSource(path) });
  t.after(() => first.close());
  await first.start();
  const rolledBack = new Promise<UnitEvents['rolled-back'][0]>((resolve) => first.once('rolled-back', resolve));
  await writeFile(path, JSON.stringify({ size: 500 }));
  const event = await rolledBack;
  assert.equal(event.error?.code, 'RELOADKIT_VERIFY');
  const bad = first.history().find((g) => g.id === event.from)!.hash;
  assert.deepEqual(first.status().refused, [bad]);
  assert.equal(first.current!.value.size, 5);
  const again = await first.reload();
  assert.equal(again.status, 'refused', 'the same bad content is not committed, rolled back and committed again forever');
  assert.equal(first.current!.id, event.to);
  await first.close();

  const stored = JSON.parse(await readFile(lkg, 'utf8')) as { raw: unknown; refused?: string[] };
  assert.deepEqual(stored.raw, { size: 5 }, 'the file holds the last good raw config');
  assert.deepEqual(stored.refused, [bad], 'and the refused hashes');
  assert.equal((await stat(lkg)).mode & 0o777, 0o600);

  const records: AuditRecord[] = [];
  const second = reloadable({ ...options, source: fileSource(path), audit: (r) => void records.push(r) });
  t.after(() => second.close());
  const gen = await second.start();
  assert.equal(gen.value.size, 5, 'the restart serves the last good config, not the refused one the file still holds');
  assert.equal(gen.trigger.kind, 'lastKnownGood');
  assert.equal(second.status().state, 'degraded');
  assert.match(String(second.status().reason), /served from lastKnownGood: .*candidate refused/);
  assert.deepEqual(second.status().refused, [bad]);
  assert.deepEqual(records.map((r) => [r.action, r.outcome, r.trigger.kind]), [['start', 'refused', 'start'], ['start', 'committed', 'lastKnownGood']]);
  assert.equal((await second.reload()).status, 'refused');
  assert.equal(second.current!.id, 1);
});

test('lastKnownGood: a file written before refusals existed (no refused field) still starts the unit, with an empty refused set', async (t) => {
  const dir = await tempDir(t);
  const lkg = join(dir, 'old.lkg.json');
  await writeFile(lkg, JSON.stringify({ format: 'reloadkit.lastKnownGood/1', unit: 'old', hash: 'sha256:x', committedAt: 1, encoding: 'json', raw: { size: 3 } }), { mode: 0o600 });
  const unit = reloadable({ name: 'old', source: fileSource(join(dir, 'missing.json')), schema: Db, retry: false, lastKnownGood: lkg });
  t.after(() => unit.close());
  const gen = await unit.start();
  assert.equal(gen.value.size, 3);
  assert.equal(unit.status().refused, undefined);
});

test('force overrides a refusal (audited forced) and un-refuses that hash only; clearRefused() empties the set, audited and persisted', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'db.json');
  const lkg = join(dir, 'db.lkg.json');
  await writeFile(path, JSON.stringify({ size: 1 }));
  const records: AuditRecord[] = [];
  const unit = reloadable({ name: 'db', source: unwatched(fileSource(path)), schema: Db, retry: false, lastKnownGood: lkg, audit: (r) => void records.push(r) });
  t.after(() => unit.close());
  await unit.start();
  const hashes: string[] = [unit.current!.hash];
  for (const size of [2, 3]) {
    await writeFile(path, JSON.stringify({ size }));
    assert.equal((await unit.reload()).status, 'committed');
    hashes.push(unit.current!.hash);
  }
  await unit.rollback(); // from size 3 to size 2 (generation 4)
  await unit.rollback({ to: 1 }); // from size 2 to size 1 (generation 5)
  assert.deepEqual(unit.status().refused, [hashes[2], hashes[1]]);
  // The file holds size 3: refused; forced, it commits and only its own hash leaves the set.
  assert.equal((await unit.reload()).status, 'refused');
  const forced = await unit.reload({ force: true, actor: 'ops', reason: 'it was fine after all' });
  assert.equal(forced.status, 'committed');
  assert.equal(unit.current!.value.size, 3);
  assert.deepEqual(unit.status().refused, [hashes[1]]);
  const forcedRecord = records.find((r) => r.action === 'reload' && r.outcome === 'committed' && r.forced === true);
  assert.ok(forcedRecord, 'the forced commit is audited as forced');
  assert.equal(forcedRecord.actor, 'ops');

  unit.clearRefused({ actor: 'ops' });
  assert.equal(unit.status().refused, undefined);
  const cleared = records.at(-1)!;
  assert.equal(cleared.action, 'clear-refused');
  assert.equal(cleared.actor, 'ops');
  assert.deepEqual(cleared.detail, { cleared: 1 });
  await unit.close();
  const stored = JSON.parse(await readFile(lkg, 'utf8')) as { refused?: string[] };
  assert.equal(stored.refused, undefined, 'the persisted set is empty too');
  assert.throws(() => unit.clearRefused(), /closed/);
});

test('a rollback that fails commits nothing and refuses nothing; a rollback to the same hash refuses nothing', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'db.json');
  await writeFile(path, JSON.stringify({ size: 1 }));
  let failCreate = false;
  const unit = reloadable({
    name: 'db',
    source: unwatched(fileSource(path)),
    schema: Db,
    retry: false,
    create: (v) => {
      if (failCreate) throw new Error('pool down');
      return { ...v };
    },
  });
  t.after(() => unit.close());
  await unit.start();
  await writeFile(path, JSON.stringify({ size: 2 }));
  await unit.reload();
  failCreate = true;
  const failed = await unit.rollback();
  assert.equal(failed.status, 'rejected');
  assert.equal(unit.status().refused, undefined);
  failCreate = false;
  assert.equal((await unit.reload({ force: true })).status, 'committed', 'same hash, forced: a new generation with the same hash');
  const same = await unit.rollback();
  assert.equal(same.status, 'committed');
  assert.equal(unit.status().refused, undefined, 'rolled back from a hash to the same hash: nothing to refuse');
});
