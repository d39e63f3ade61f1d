/**
 * Dry runs and prepared candidates: every stage up to the commit with the unit's real create and
 * healthCheck, then the candidate is disposed (dry run) or kept warm until commit(), discard(),
 * its timeout or close(). A dry run changes no generation, emits no outcome event, leaves
 * degraded and lastAttempt alone, and is audited as `dry-run`. The source is a real file.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { derive, group, reloadable, type AuditRecord, type Source } from '../../src/index.js';
import { fileSource } from '../../src/file/index.js';
import { FakeClock } from '../../src/testing/clock.js';
import { waitFor } from '../helpers/wait.js';
import { ResourceTracker } from './helpers.js';

const Cfg = z.object({ version: z.number().int(), greeting: z.string() });

async function configFile(t: TestContext, value: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rk-dry-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'config.json');
  await writeFile(path, JSON.stringify(value));
  return path;
}

function unwatched<Raw>(source: Source<Raw>): Source<Raw> {
  return { describe: () => source.describe(), read: (ctx) => source.read(ctx) };
}

async function setup(t: TestContext, extra: { clock?: FakeClock } = {}) {
  const path = await configFile(t, { version: 1, greeting: 'hi' });
  const tracker = new ResourceTracker();
  const records: AuditRecord[] = [];
  const events: string[] = [];
  const unit = reloadable({
    name: 'svc',
    source: unwatched(fileSource(path)),
    schema: Cfg,
    retry: false,
    create: tracker.create,
    dispose: tracker.dispose,
    audit: (r) => void records.push(r),
    ...(extra.clock ? { clock: extra.clock } : {}),
  });
  for (const e of ['committed', 'unchanged', 'rejected', 'reloading'] as const) unit.on(e, () => events.push(e));
  t.after(() => unit.close());
  await unit.start();
  events.length = 0;
  return { path, tracker, records, events, unit };
}

test('a dry run with a candidate creates and disposes exactly one resource and changes no generation', async (t) => {
  const { tracker, records, events, unit } = await setup(t);
  const live = unit.get();
  const lastAttempt = unit.status().lastAttempt;
  const result = await unit.reload({ dryRun: true, candidate: { version: 2, greeting: 'hello' }, actor: 'ops', reason: 'would it work?' });
  assert.equal(result.status, 'would-commit');
  assert.equal(result.ok, true);
  assert.equal(result.dryRun, true);
  assert.deepEqual(result.changedPaths, ['greeting', 'version']);
  assert.match(String(result.hash), /^sha256:/);
  assert.equal(result.generation, 1);
  assert.equal(tracker.created.length, 2, 'exactly one resource created by the dry run');
  assert.equal(tracker.created[1]!.version, 2);
  assert.equal(tracker.created[1]!.disposed, 1, 'and disposed exactly once, before reload() resolved');
  assert.equal(live.disposed, 0);
  assert.equal(unit.current!.id, 1);
  assert.equal(unit.get(), live);
  assert.deepEqual(events, [], 'no committed (or any outcome) event');
  assert.deepEqual(unit.status().lastAttempt, lastAttempt, 'a dry run is not the last attempt');
  const record = records.at(-1)!;
  assert.equal(record.action, 'dry-run');
  assert.equal(record.outcome, 'would-commit');
  assert.deepEqual(record.changedPaths, ['greeting', 'version']);
  assert.equal(record.actor, 'ops');
  assert.equal(JSON.stringify(records).includes('hello'), false, 'never a value in the audit');
});

test('dry runs: from the source, invalid, unchanged, refused; none changes the state; candidate without dryRun is a precise TypeError', async (t) => {
  const { path, tracker, records, events, unit } = await setup(t);
  await writeFile(path, JSON.stringify({ version: 2, greeting: 'hi' }));
  const fromSource = await unit.reload({ dryRun: true });
  assert.equal(fromSource.status, 'would-commit');
  assert.deepEqual(fromSource.changedPaths, ['version']);
  assert.equal(unit.current!.id, 1);

  const invalid = await unit.reload({ dryRun: true, candidate: { version: 'two' } });
  assert.equal(invalid.status, 'rejected');
  assert.equal(invalid.stage, 'validate');
  assert.equal(invalid.dryRun, true);
  assert.equal(unit.status().state, 'ready', 'an operator candidate that fails does not degrade the unit');
  assert.equal(tracker.created.length, 2, 'nothing created for an invalid candidate');

  const same = await unit.reload({ dryRun: true, candidate: { version: 1, greeting: 'hi' } });
  assert.equal(same.status, 'unchanged');
  assert.equal(tracker.created.length, 2);

  assert.equal((await unit.reload()).status, 'committed');
  await unit.rollback();
  const refused = await unit.reload({ dryRun: true });
  assert.equal(refused.status, 'refused');
  assert.equal(refused.stage, 'refused');
  assert.equal(refused.error?.code, 'RELOADKIT_REFUSED');
  const forced = await unit.reload({ dryRun: true, force: true });
  assert.equal(forced.status, 'would-commit', 'force overrides the refusal in a dry run too');
  assert.equal(unit.current!.id, 3);
  assert.deepEqual(records.filter((r) => r.action === 'dry-run').map((r) => r.outcome), ['would-commit', 'rejected', 'unchanged', 'refused', 'would-commit']);
  assert.equal(records.filter((r) => r.action === 'dry-run' && r.forced).length, 1);
  assert.equal(events.filter((e) => e === 'rejected').length, 0, 'a dry run never emits rejected');
  assert.equal(tracker.undisposed.length, 1, 'only the live resource is left');

  await assert.rejects(unit.reload({ candidate: { version: 3 } }), {
    name: 'TypeError',
    message: 'Expected `dryRun: true` with `candidate`: a candidate the caller supplies is only ever dry-run (use prepare() to commit one).',
  });
  await assert.rejects(unit.reload({ dryRun: 'yes' as never }), { name: 'TypeError', message: 'Expected `dryRun` to be a boolean, got \'yes\'.' });
});

test('prepare → commit swaps the warm resource in without a second create', async (t) => {
  const { tracker, records, events, unit } = await setup(t);
  const old = unit.get();
  const prepared = await unit.prepare({ candidate: { version: 2, greeting: 'hey' }, actor: 'fleet' });
  assert.equal(prepared.result.status, 'would-commit');
  assert.equal(prepared.result.dryRun, true);
  assert.equal(tracker.created.length, 2);
  const warm = prepared.resource!;
  assert.equal(warm.version, 2);
  assert.equal(warm.disposed, 0, 'kept warm');
  assert.equal(unit.current!.id, 1);

  const committed = await prepared.commit({ actor: 'fleet', reason: 'step 1' });
  assert.equal(committed.status, 'committed');
  assert.deepEqual(committed.changedPaths, ['greeting', 'version']);
  assert.equal(tracker.created.length, 2, 'no rebuild');
  assert.equal(unit.get(), warm, 'the warm resource is the live one');
  assert.equal(unit.current!.id, 2);
  assert.deepEqual(events, ['committed']);
  assert.equal(prepared.resource, undefined);
  assert.equal(await prepared.commit(), committed, 'commit is idempotent');
  await prepared.discard();
  assert.equal(warm.disposed, 0, 'a discard after the commit disposes nothing');
  await waitFor(() => old.disposed === 1, { message: 'the old resource retired' });
  const record = records.find((r) => r.action === 'reload' && r.outcome === 'committed')!;
  assert.equal(record.trigger.kind, 'prepared');
  assert.equal(record.actor, 'fleet');
});

test('prepare: the timeout disposes the warm resource on the injected clock; a late commit is PREPARE_EXPIRED; discard is exactly once; close disposes', async (t) => {
  const clock = new FakeClock();
  const { tracker, unit } = await setup(t, { clock });
  const prepared = await unit.prepare({ candidate: { version: 2, greeting: 'x' }, timeoutMs: 1_000 });
  const warm = prepared.resource!;
  clock.advance(999);
  assert.equal(warm.disposed, 0);
  clock.advance(1);
  await new Promise((r) => setImmediate(r));
  assert.equal(warm.disposed, 1, 'disposed when its timeout passed');
  const late = await prepared.commit();
  assert.equal(late.status, 'rejected');
  assert.equal(late.error?.code, 'RELOADKIT_PREPARE_EXPIRED');
  assert.match(late.error!.message, /its timeoutMs passed/);
  assert.equal(unit.current!.id, 1);

  const second = await unit.prepare({ candidate: { version: 3, greeting: 'x' } });
  await Promise.all([second.discard(), second.discard()]);
  await second.discard();
  assert.equal(tracker.created[2]!.disposed, 1, 'discarded exactly once');
  assert.equal((await second.commit()).error?.code, 'RELOADKIT_PREPARE_EXPIRED');

  const third = await unit.prepare({ candidate: { version: 4, greeting: 'x' } });
  await unit.close();
  assert.equal(tracker.created[3]!.disposed, 1, 'close() disposes a warm candidate');
  assert.equal((await third.commit()).error?.code, 'RELOADKIT_PREPARE_EXPIRED');
  assert.equal(tracker.undisposed.length, 0);
  assert.equal(clock.pending, 0, 'no timer left');
  await assert.rejects(unit.prepare(), /closed/);
});

test('prepare honours pause and refusals at prepare and at commit; a prepared candidate commits even if another generation went live meanwhile', async (t) => {
  const { path, tracker, unit } = await setup(t);
  unit.pause();
  const whilePaused = await unit.prepare({ candidate: { version: 2, greeting: 'x' } });
  assert.equal(whilePaused.result.status, 'paused');
  assert.equal(whilePaused.resource, undefined);
  assert.equal((await whilePaused.commit()).status, 'paused');
  await unit.resume();

  const a = await unit.prepare({ candidate: { version: 2, greeting: 'x' } });
  await writeFile(path, JSON.stringify({ version: 3, greeting: 'y' }));
  assert.equal((await unit.reload()).status, 'committed');
  const committed = await a.commit();
  assert.equal(committed.status, 'committed', 'commits over the generation that went live meanwhile');
  assert.equal(unit.current!.value.version, 2);

  // Rolled back from version 2: a candidate prepared with that hash is refused at commit.
  const b = await unit.prepare({ candidate: { version: 3, greeting: 'y' } });
  await unit.rollback({ to: 2 }); // version 3 again; version 2 is refused, and b holds version 3
  const c = await unit.prepare({ candidate: { version: 2, greeting: 'x' } });
  assert.equal(c.result.status, 'refused');
  assert.equal(tracker.created.filter((r) => r.version === 2).length, 1, 'a refused candidate is never created (the one version 2 is the committed one)');
  assert.equal((await b.commit()).status, 'unchanged', 'its hash is live already: unchanged, and its resource disposed');
  assert.equal(tracker.undisposed.length, 1);
  unit.pause();
  const d = await unit.prepare({ candidate: { version: 5, greeting: 'z' }, force: true });
  assert.equal(d.result.status, 'would-commit', 'force prepares while paused');
  assert.equal((await d.commit()).status, 'committed');
});

test('a derived unit and a group have no dry runs: precise TypeErrors saying why', async (t) => {
  const { unit } = await setup(t);
  const slice = derive(unit, (v) => ({ greeting: v.greeting }), { name: 'greeting' });
  t.after(() => slice.close());
  await slice.start();
  await assert.rejects(slice.reload({ dryRun: true }), {
    name: 'TypeError',
    message: 'reload({ dryRun: true }) is not available on the derived unit "greeting": its candidate is a slice of its parent "svc"; dry-run or prepare the parent instead.',
  });
  await assert.rejects(slice.prepare(), { name: 'TypeError', message: /prepare\(\) is not available on the derived unit "greeting"/ });
  await assert.rejects(group([unit]).reload({ dryRun: true }), { name: 'TypeError', message: /group: `dryRun` and `candidate` are not group options/ });
  await assert.rejects(unit.prepare({ timeoutMs: 0 }), { name: 'TypeError', message: 'Expected `timeoutMs` to be a positive number of milliseconds, got 0.' });
});
