/**
 * File sources driving real units: real files in os.tmpdir(), the real chokidar watcher, the real
 * `reloadable()`. Every test asserts the committed value AND the exact number of commits (counted
 * from `committed` events after `start()`), waiting a settle period after the last expected commit
 * so a late duplicate would be caught.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { reloadable } from '../../src/index.js';
import { directorySource, fileSource } from '../../src/file/index.js';
import type { Reloadable, Source, UnitStatus } from '../../src/types.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { atomicWrite, kubeletWrite, tempDir, vimSave } from './helpers.js';

const DEBOUNCE_MS = 50;
/** After the last expected commit, wait this long before asserting nothing else committed. */
const SETTLE_MS = 2 * DEBOUNCE_MS + 300;
const Versioned = z.object({ v: z.number() });

interface Tracked<T> {
  unit: Reloadable<T, T>;
  /** Values committed after start(), in order. */
  commits: T[];
  rejections: (Error & { code?: string })[];
}

let unitSeq = 0;

/** Starts a unit on `source` and records what it commits and rejects after start(). */
async function startUnit<T>(source: Source<unknown>, schema: z.ZodType<T>, t: { after(fn: () => unknown): void }): Promise<Tracked<T>> {
  const unit = reloadable<T, T>({ name: `file-${++unitSeq}`, source, schema });
  t.after(() => unit.close());
  await unit.start();
  const tracked: Tracked<T> = { unit, commits: [], rejections: [] };
  unit.on('committed', ({ current }) => tracked.commits.push(current.value));
  unit.on('rejected', ({ error }) => tracked.rejections.push(error));
  return tracked;
}

/**
 * The unit keeps serving its live generation and its status names the failed load (its state
 * reads `degraded`: see the last test of this file).
 */
function assertServingLiveAfterFailedLoad(unit: { status(): UnitStatus }): void {
  const status = unit.status();
  assert.notEqual(status.state, 'failed');
  assert.ok(status.generation > 0);
  assert.equal(status.lastAttempt?.outcome, 'rejected');
  assert.equal(status.lastAttempt?.stage, 'load');
  assert.equal(status.lastAttempt?.error?.code, 'RELOADKIT_LOAD');
}

/** Waits until the live value satisfies `check`, then the settle period. */
async function settleOn<T>(tracked: Tracked<T>, check: (value: T) => boolean, what: string): Promise<void> {
  await waitFor(() => check(tracked.unit.get()), { message: what });
  await sleep(SETTLE_MS);
}

async function versionedFile(t: { after(fn: () => unknown): void }, initial = 1): Promise<{ dir: string; file: string }> {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const file = join(dir, 'config.json');
  await writeFile(file, JSON.stringify({ v: initial }));
  return { dir, file };
}

test('in-place write: one commit with the new value', async (t) => {
  const { file } = await versionedFile(t);
  const u = await startUnit(fileSource(file, { debounceMs: DEBOUNCE_MS }), Versioned, t);
  assert.equal(u.unit.get().v, 1);
  await writeFile(file, JSON.stringify({ v: 2 }));
  await settleOn(u, (c) => c.v === 2, 'v2');
  assert.deepEqual(u.commits, [{ v: 2 }]);
});

test('temp file + rename over the target: one commit', async (t) => {
  const { file } = await versionedFile(t);
  const u = await startUnit(fileSource(file, { debounceMs: DEBOUNCE_MS }), Versioned, t);
  await atomicWrite(file, JSON.stringify({ v: 2 }));
  await settleOn(u, (c) => c.v === 2, 'v2');
  assert.deepEqual(u.commits, [{ v: 2 }]);
  await atomicWrite(file, JSON.stringify({ v: 3 }));
  await settleOn(u, (c) => c.v === 3, 'v3');
  assert.deepEqual(u.commits, [{ v: 2 }, { v: 3 }]);
});

test('vim-style save (rename away, write new, delete backup): one commit per save', async (t) => {
  const { file } = await versionedFile(t);
  const u = await startUnit(fileSource(file, { debounceMs: DEBOUNCE_MS }), Versioned, t);
  await vimSave(file, JSON.stringify({ v: 2 }));
  await settleOn(u, (c) => c.v === 2, 'v2');
  await vimSave(file, JSON.stringify({ v: 3 }));
  await settleOn(u, (c) => c.v === 3, 'v3');
  assert.deepEqual(u.commits, [{ v: 2 }, { v: 3 }]);
});

test('delete then recreate: a clear load error while missing, live value kept, one commit on return', async (t) => {
  const { file } = await versionedFile(t);
  const u = await startUnit(fileSource(file, { debounceMs: DEBOUNCE_MS }), Versioned, t);
  await unlink(file);
  const error = await waitFor(() => u.rejections[0], { message: 'a rejection' });
  assert.equal(error.code, 'RELOADKIT_LOAD');
  assert.match(error.message, /no such file or directory/);
  assert.ok(error.message.includes(file), 'the message names the path');
  assertServingLiveAfterFailedLoad(u.unit);
  assert.equal(u.unit.get().v, 1, 'the live generation stays');
  await writeFile(file, JSON.stringify({ v: 2 }));
  await settleOn(u, (c) => c.v === 2, 'v2 after re-creation');
  assert.deepEqual(u.commits, [{ v: 2 }]);
  assert.equal(u.unit.status().state, 'ready');
});

test('a symlinked file whose target is switched, then written in place', async (t) => {
  const { dir } = await versionedFile(t);
  const a = join(dir, 'a.json');
  const b = join(dir, 'b.json');
  await writeFile(a, JSON.stringify({ v: 1 }));
  await writeFile(b, JSON.stringify({ v: 2 }));
  const link = join(dir, 'current.json');
  await symlink('a.json', link);
  const u = await startUnit(fileSource(link, { debounceMs: DEBOUNCE_MS }), Versioned, t);
  assert.equal(u.unit.get().v, 1);
  // Switch atomically, the way deploy tools do: a new link renamed over the old one.
  await symlink('b.json', `${link}.new`);
  await rename(`${link}.new`, link);
  await settleOn(u, (c) => c.v === 2, 'v2 via the switched link');
  await writeFile(b, JSON.stringify({ v: 3 }));
  await settleOn(u, (c) => c.v === 3, 'v3 written to the new target');
  assert.deepEqual(u.commits, [{ v: 2 }, { v: 3 }]);
});

test('Kubernetes ..data swap, single key mounted as a file: one commit per swap', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  await kubeletWrite(dir, { 'config.json': JSON.stringify({ v: 1 }) });
  const u = await startUnit(fileSource(join(dir, 'config.json'), { debounceMs: DEBOUNCE_MS }), Versioned, t);
  assert.equal(u.unit.get().v, 1);
  await kubeletWrite(dir, { 'config.json': JSON.stringify({ v: 2 }) });
  await settleOn(u, (c) => c.v === 2, 'v2');
  await kubeletWrite(dir, { 'config.json': JSON.stringify({ v: 3 }) });
  await settleOn(u, (c) => c.v === 3, 'v3');
  assert.deepEqual(u.commits, [{ v: 2 }, { v: 3 }]);
});

test('Kubernetes ..data swap with directorySource: several keys change together, never mixed', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const payload = (v: number) => ({ 'db.json': JSON.stringify({ v }), 'cache.json': JSON.stringify({ v }), MODE: `m${v}` });
  await kubeletWrite(dir, payload(1));
  const Volume = z.object({ 'db.json': Versioned, 'cache.json': Versioned, MODE: z.string() });
  const u = await startUnit(directorySource(dir, { debounceMs: DEBOUNCE_MS }), Volume, t);
  assert.deepEqual(u.unit.get(), { 'cache.json': { v: 1 }, 'db.json': { v: 1 }, MODE: 'm1' });
  for (let v = 2; v <= 4; v++) {
    await kubeletWrite(dir, payload(v));
    await settleOn(u, (c) => c.MODE === `m${v}`, `m${v}`);
  }
  assert.deepEqual(
    u.commits,
    [2, 3, 4].map((v) => ({ 'cache.json': { v }, 'db.json': { v }, MODE: `m${v}` })),
  );
  // Every commit is one version across every key.
  for (const c of u.commits) assert.equal(new Set([c['db.json'].v, c['cache.json'].v, Number(c.MODE.slice(1))]).size, 1);
});

test('a burst of 100 writes in ~50 ms gives one or two commits (one more per maxWaitMs a slow burst takes), the last content winning', async (t) => {
  const { file } = await versionedFile(t, 0);
  const u = await startUnit(fileSource(file, { debounceMs: 100 }), Versioned, t);
  const started = performance.now();
  for (let i = 1; i <= 100; i++) {
    await writeFile(file, JSON.stringify({ v: i }));
    // Spread the writes over ~50 ms.
    if (i % 10 === 0) await sleep(Math.max(0, started + i / 2 - performance.now()));
  }
  // On a loaded machine the burst takes longer than planned; maxWaitMs (1000 ms by default) then
  // flushes once per started second of it, as it must, plus the catch-up hint of a watcher that
  // became ready late. The count is bounded by what the burst really took.
  const burstMs = performance.now() - started;
  const bound = burstMs < 1000 ? 2 : 2 + Math.ceil(burstMs / 1000);
  await waitFor(() => u.unit.get().v === 100, { message: 'v100' });
  await sleep(2 * 100 + 300);
  assert.ok(u.commits.length >= 1 && u.commits.length <= bound, `1 to ${bound} commits for a ${Math.round(burstMs)} ms burst, got ${u.commits.length}`);
  assert.deepEqual(u.commits.at(-1), { v: 100 });
  assert.equal(u.unit.get().v, 100);
});

test('truncated JSON is rejected with file, line and column; the previous generation stays; the next valid write commits', async (t) => {
  const { file } = await versionedFile(t);
  const u = await startUnit(fileSource(file, { debounceMs: DEBOUNCE_MS }), Versioned, t);
  const generation = u.unit.current?.id;
  await writeFile(file, '{\n  "v": 2,\n  "name": "half');
  const error = await waitFor(() => u.rejections[0], { message: 'a rejection' });
  assert.equal(error.code, 'RELOADKIT_LOAD');
  assert.ok(error.message.includes(`invalid JSON in ${file} at line 3, column 16: unexpected end of input`), error.message);
  assert.doesNotMatch(error.message, /half/, 'no content in the message');
  assert.equal(u.unit.get().v, 1);
  assert.equal(u.unit.current?.id, generation);
  await writeFile(file, JSON.stringify({ v: 2 }));
  await settleOn(u, (c) => c.v === 2, 'v2');
  assert.deepEqual(u.commits, [{ v: 2 }]);
});

test('the parent directory disappears and comes back: load error, then recovery and later writes seen', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const sub = join(dir, 'conf');
  await mkdir(sub);
  const file = join(sub, 'config.json');
  await writeFile(file, JSON.stringify({ v: 1 }));
  const u = await startUnit(fileSource(file, { debounceMs: DEBOUNCE_MS }), Versioned, t);
  await rm(sub, { recursive: true });
  const error = await waitFor(() => u.rejections[0], { message: 'a rejection' });
  assert.match(error.message, /ENOENT/);
  assertServingLiveAfterFailedLoad(u.unit);
  assert.equal(u.unit.get().v, 1);
  await mkdir(sub);
  await writeFile(file, JSON.stringify({ v: 2 }));
  await settleOn(u, (c) => c.v === 2, 'v2 after the directory came back');
  // The watcher is back on the directory itself: an in-place write is seen.
  await writeFile(file, JSON.stringify({ v: 3 }));
  await settleOn(u, (c) => c.v === 3, 'v3');
  assert.deepEqual(u.commits, [{ v: 2 }, { v: 3 }]);
  assert.equal(u.unit.status().state, 'ready');
});

test('the parent directory is replaced by another one renamed into place: recovery and later writes seen', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const conf = join(dir, 'conf');
  await mkdir(conf);
  const file = join(conf, 'config.json');
  await writeFile(file, JSON.stringify({ v: 1 }));
  const u = await startUnit(fileSource(file, { debounceMs: DEBOUNCE_MS }), Versioned, t);
  // Release-directory style: build the new directory aside, then swap it in by rename.
  await mkdir(join(dir, 'conf.new'));
  await writeFile(join(dir, 'conf.new', 'config.json'), JSON.stringify({ v: 2 }));
  await rename(conf, join(dir, 'conf.old'));
  await rename(join(dir, 'conf.new'), conf);
  await settleOn(u, (c) => c.v === 2, 'v2 from the swapped-in directory');
  // A watch follows an inode: it must have moved from the old directory to the new one.
  await writeFile(file, JSON.stringify({ v: 3 }));
  await settleOn(u, (c) => c.v === 3, 'v3 written in the new directory');
  // Writes to the old directory change nothing.
  await writeFile(join(dir, 'conf.old', 'config.json'), JSON.stringify({ v: 99 }));
  await sleep(SETTLE_MS);
  assert.equal(u.unit.get().v, 3);
  assert.deepEqual(u.commits, [{ v: 2 }, { v: 3 }]);
});

test('the path turns into a directory (EISDIR): clear error, live value kept, recovery', async (t) => {
  const { file } = await versionedFile(t);
  const u = await startUnit(fileSource(file, { debounceMs: DEBOUNCE_MS }), Versioned, t);
  await unlink(file);
  await mkdir(file);
  // A read may first catch the moment the path is missing (ENOENT); we wait for the EISDIR one.
  const error = await waitFor(() => u.rejections.find((e) => /EISDIR/.test(e.message)), { message: 'an EISDIR rejection' });
  assert.match(error.message, /is a directory, expected a file \(EISDIR\)/);
  assert.equal(u.unit.get().v, 1);
  await rm(file, { recursive: true });
  await writeFile(file, JSON.stringify({ v: 2 }));
  await settleOn(u, (c) => c.v === 2, 'v2');
  assert.deepEqual(u.commits, [{ v: 2 }]);
});

test('polling mode: in-place write and rename each commit once', async (t) => {
  const { file } = await versionedFile(t);
  const u = await startUnit(fileSource(file, { debounceMs: DEBOUNCE_MS, polling: { intervalMs: 50 } }), Versioned, t);
  await writeFile(file, JSON.stringify({ v: 22 }));
  await settleOn(u, (c) => c.v === 22, 'v22');
  await atomicWrite(file, JSON.stringify({ v: 3 }));
  await settleOn(u, (c) => c.v === 3, 'v3');
  assert.deepEqual(u.commits, [{ v: 22 }, { v: 3 }]);
});

test('a file missing at start: start() fails with a clear load error naming unit, source and path', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const file = join(dir, 'absent.json');
  const unit = reloadable({ name: 'absent', source: fileSource(file, { debounceMs: DEBOUNCE_MS }), retry: false });
  t.after(() => unit.close());
  await assert.rejects(unit.start(), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'RELOADKIT_LOAD');
    assert.ok(error.message.startsWith('[absent]'), error.message);
    assert.ok(error.message.includes(`file ${file}`), error.message);
    assert.match(error.message, /ENOENT/);
    return true;
  });
  // Created afterwards: a new start() succeeds.
  await writeFile(file, JSON.stringify({ v: 1 }));
  const generation = await unit.start();
  assert.deepEqual(generation.value, { v: 1 });
});

test('a file missing at start with lastKnownGood: served degraded from the saved copy, then the file is picked up when it appears', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const file = join(dir, 'conf', 'config.json');
  const saved = join(dir, 'last-known-good.json');
  await mkdir(join(dir, 'conf'));
  await writeFile(file, JSON.stringify({ v: 1 }));
  // A first run commits v1 and persists it.
  const first = reloadable({ name: 'lkg', source: fileSource(file, { debounceMs: DEBOUNCE_MS }), schema: Versioned, lastKnownGood: saved });
  await first.start();
  await first.close();
  await waitFor(() => readFile(saved).then(() => true, () => false), { message: 'the saved copy' });
  // The next run starts while the whole directory is gone.
  await rm(join(dir, 'conf'), { recursive: true });
  const u = reloadable({ name: 'lkg', source: fileSource(file, { debounceMs: DEBOUNCE_MS }), schema: Versioned, lastKnownGood: saved, retry: false });
  t.after(() => u.close());
  await u.start();
  assert.equal(u.get().v, 1);
  assert.equal(u.status().state, 'degraded');
  const commits: unknown[] = [];
  u.on('committed', ({ current }) => commits.push(current.value));
  // The watcher sits on the nearest existing ancestor and follows the directory's return.
  await mkdir(join(dir, 'conf'));
  await writeFile(file, JSON.stringify({ v: 2 }));
  await waitFor(() => u.get().v === 2, { message: 'v2 once the file appears' });
  await sleep(SETTLE_MS);
  assert.deepEqual(commits, [{ v: 2 }]);
  assert.equal(u.status().state, 'ready');
});

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** Runs a fixture script with tsx (as `nobody` via setpriv when we are root) and parses its last JSON line. */
function runFixture(name: string, { asNobody = false, timeoutMs = 30_000 } = {}): Promise<{ code: number | null; signal: string | null; result: Record<string, unknown> | undefined; stderr: string }> {
  const args = ['--import', 'tsx', join(fixtures, name)];
  const [cmd, argv] =
    asNobody && process.getuid?.() === 0
      ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...args]]
      : [process.execPath, args];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd as string, argv as string[], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').filter(Boolean).at(-1);
      let result: Record<string, unknown> | undefined;
      try {
        result = last ? (JSON.parse(last) as Record<string, unknown>) : undefined;
      } catch {
        result = undefined;
      }
      resolve({ code, signal, result, stderr });
    });
  });
}

test('permission denied: clear error, no crash, recovery when fixed (as a non-root process)', async () => {
  // Root reads mode-000 files anyway, so the scenario runs as `nobody` through setpriv.
  const run = await runFixture('permission-child.ts', { asNobody: true });
  assert.equal(run.code, 0, `child failed: ${run.stderr}`);
  assert.ok(run.result, `no result line: ${run.stderr}`);
  assert.equal(run.result.uid === 0, false, 'the scenario must run without root privileges');
  assert.match(String(run.result.rejectedMessage), /permission denied \(EACCES\)/);
  assert.notEqual(run.result.stateWhileDenied, 'failed');
  assert.equal(run.result.lastOutcomeWhileDenied, 'rejected');
  assert.equal(run.result.valueWhileDenied, 1);
  assert.deepEqual(run.result.commits, [{ v: 2 }]);
  assert.equal(run.result.finalState, 'ready');
});

test('stopping the unit closes every watcher: the process exits on its own', async () => {
  const run = await runFixture('exit-child.ts', { timeoutMs: 20_000 });
  assert.equal(run.signal, null, 'the child had to be killed: a watcher kept it alive');
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.result, { committed: [2, 2], closed: true });
});

test(
  'a unit whose file went missing reports `degraded` until it returns',
  async (t) => {
    const { file } = await versionedFile(t);
    const u = await startUnit(fileSource(file, { debounceMs: DEBOUNCE_MS }), Versioned, t);
    await unlink(file);
    await waitFor(() => u.rejections[0], { message: 'a rejection' });
    assert.equal(u.unit.status().state, 'degraded');
    await writeFile(file, JSON.stringify({ v: 2 }));
    await settleOn(u, (c) => c.v === 2, 'v2');
    assert.equal(u.unit.status().state, 'ready');
    assert.deepEqual(u.commits, [{ v: 2 }]);
  },
);
