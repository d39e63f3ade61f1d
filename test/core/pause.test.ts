/**
 * pause() / resume() over a real file and its watcher: while paused, hints (file events, a
 * trigger) and plain reload() calls run nothing and coalesce into ONE pending reload that resume()
 * runs; force and dry runs pass the gate; every transition is audited.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { PausedError, reloadable, type AuditRecord, type Source } from '../../src/index.js';
import { fileSource } from '../../src/file/index.js';
import { manualTrigger } from '../../src/triggers/index.js';
import { waitFor } from '../helpers/wait.js';

const Cfg = z.object({ n: z.number().int() });

async function configFile(t: TestContext, value: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rk-pause-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'config.json');
  await writeFile(path, JSON.stringify(value));
  return path;
}

/** The real file source, counting its reads. */
function counted<Raw>(source: Source<Raw>): Source<Raw> & { reads: number } {
  const out = {
    reads: 0,
    describe: () => source.describe(),
    read: (ctx: { signal: AbortSignal }) => {
      out.reads++;
      return source.read(ctx);
    },
    watch: (hint: Parameters<NonNullable<Source<Raw>['watch']>>[0]) => source.watch!(hint),
  };
  return out;
}

test('pause coalesces N hints (file events and a trigger) into one reload at resume', async (t) => {
  const path = await configFile(t, { n: 0 });
  const source = counted(fileSource(path));
  const trigger = manualTrigger();
  const records: AuditRecord[] = [];
  const unit = reloadable({ name: 'cfg', source, schema: Cfg, triggers: [trigger], retry: false, audit: (r) => void records.push(r) });
  t.after(() => unit.close());
  await unit.start();
  let commits = 0;
  unit.on('committed', () => commits++);

  unit.pause({ reason: 'incident 42', actor: 'alice' });
  const readsAtPause = source.reads;
  for (let n = 1; n <= 5; n++) {
    await writeFile(path, JSON.stringify({ n }));
    trigger.fire('refresh');
  }
  await waitFor(() => unit.status().paused?.pending, { message: 'a hint is pending' });
  // Give the watcher time to deliver every event it will: none of them may read the file.
  await sleep(300);
  assert.equal(source.reads, readsAtPause, 'no hint read the source while paused');
  assert.equal(unit.current!.value.n, 0);
  const paused = unit.status().paused!;
  assert.equal(paused.reason, 'incident 42');
  assert.equal(paused.actor, 'alice');
  assert.equal(paused.pending, true);
  assert.equal(typeof paused.since, 'number');

  const result = await unit.resume({ actor: 'alice' });
  assert.equal(result?.status, 'committed');
  assert.equal(unit.current!.value.n, 5);
  assert.equal(source.reads, readsAtPause + 1, 'one reload for every hint held');
  assert.equal(commits, 1);
  assert.equal(unit.status().paused, undefined);
  assert.deepEqual(
    records.filter((r) => r.action === 'pause' || r.action === 'resume').map((r) => [r.action, r.actor, r.reason, r.detail]),
    [
      ['pause', 'alice', 'incident 42', undefined],
      ['resume', 'alice', undefined, { pending: true }],
    ],
  );
});

test('while paused: reload() resolves paused (not audited, not the last attempt) unless forced; dry runs still run; pause is idempotent', async (t) => {
  const path = await configFile(t, { n: 1 });
  const source = counted(fileSource(path));
  const records: AuditRecord[] = [];
  const unit = reloadable({ name: 'cfg', source, schema: Cfg, retry: false, audit: (r) => void records.push(r) });
  t.after(() => unit.close());
  await unit.start();
  unit.pause({ reason: 'freeze' });
  const since = unit.status().paused!.since;
  unit.pause({ reason: 'another' });
  assert.equal(unit.status().paused!.reason, 'freeze', 'a second pause changes nothing');
  assert.equal(unit.status().paused!.since, since);
  assert.equal(records.filter((r) => r.action === 'pause').length, 1);
  assert.equal(unit.status().paused!.pending, false);

  await writeFile(path, JSON.stringify({ n: 2 }));
  const reads = source.reads;
  const held = await unit.reload({ actor: 'bob' });
  assert.equal(held.status, 'paused');
  assert.equal(held.ok, false);
  assert.ok(held.error instanceof PausedError);
  assert.equal(held.error.code, 'RELOADKIT_PAUSED');
  assert.match(held.error.message, /^\[cfg\] paused: reload\(\) held \(freeze\)/);
  assert.equal(source.reads, reads);
  assert.equal(unit.status().lastAttempt?.outcome, 'committed', 'a held reload is not an attempt');
  assert.equal(records.filter((r) => r.outcome === 'paused' && r.action === 'reload').length, 0);
  assert.equal(unit.status().paused!.pending, true, 'the held reload is the pending one');

  const dry = await unit.reload({ dryRun: true });
  assert.equal(dry.status, 'would-commit', 'a dry run passes the gate');
  assert.equal(unit.current!.value.n, 1);

  const forced = await unit.reload({ force: true, actor: 'bob' });
  assert.equal(forced.status, 'committed');
  assert.equal(unit.current!.value.n, 2);
  assert.ok(records.some((r) => r.action === 'reload' && r.forced === true && r.actor === 'bob'));

  const resumed = await unit.resume();
  assert.equal(resumed?.status, 'unchanged', 'the pending reload runs once at resume');
  assert.equal(await unit.resume(), undefined, 'resume() when not paused does nothing');
  assert.equal(records.filter((r) => r.action === 'resume').length, 1);
  assert.throws(() => unit.pause({ reason: 7 as unknown as string }), /Expected `reason` to be a string, got 7\./);
  assert.throws(() => unit.pause({ reson: 'x' } as never), /pause\(\): unknown option `reson`; did you mean `reason`\?/);
});

test('resume() with nothing pending runs nothing; close() while paused drops the pending reload', async (t) => {
  const path = await configFile(t, { n: 1 });
  const source = counted(fileSource(path));
  const unit = reloadable({ name: 'cfg', source, schema: Cfg, retry: false });
  await unit.start();
  unit.pause();
  const reads = source.reads;
  assert.equal(await unit.resume(), undefined);
  assert.equal(source.reads, reads);
  unit.pause();
  await unit.reload();
  await unit.close();
  await assert.rejects(unit.resume(), /closed/);
  assert.throws(() => unit.pause(), /closed/);
  assert.equal(source.reads, reads);
  void t;
});
