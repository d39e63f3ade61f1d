/**
 * The sources on their own, real files and the real watcher: what `read()` returns and which
 * hints `watch()` sends. Unit-level behaviour (commits, degraded, recovery) is in unit.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LoadError } from '../../src/errors.js';
import { directorySource, fileSource, FileReadError, JsonSyntaxError } from '../../src/file/index.js';
import type { Hint } from '../../src/types.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { atomicWrite, kubeletWrite, tempDir } from './helpers.js';

const signal = new AbortController().signal;

test('options are checked with precise TypeErrors', () => {
  assert.throws(() => fileSource(''), { name: 'TypeError', message: /non-empty string/ });
  assert.throws(() => fileSource('x.json', { debounceMs: -5 }), { name: 'TypeError', message: /`debounceMs`.*got -5/ });
  assert.throws(() => fileSource('x.json', { debounceMs: 500, maxWaitMs: 100 }), { name: 'TypeError', message: /`maxWaitMs` \(100\) to be at least `debounceMs` \(500\)/ });
  assert.throws(() => fileSource('x.json', { polling: 'yes' as never }), { name: 'TypeError', message: /`polling`/ });
  assert.throws(() => fileSource('x.json', { polling: { intervalMs: 0 } }), { name: 'TypeError', message: /polling.intervalMs/ });
  assert.throws(() => directorySource('/etc', { parse: 'xml' as never }), { name: 'TypeError', message: /`parse`/ });
  assert.equal(fileSource('config.json').describe(), 'file config.json');
  assert.equal(directorySource('/etc/config').describe(), 'directory /etc/config');
});

test('read(): JSON by extension, text otherwise, clear errors for missing files and bad JSON', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  await writeFile(join(dir, 'a.json'), '{"port": 1}');
  await writeFile(join(dir, 'LEVEL'), 'info');
  await writeFile(join(dir, 'bad.json'), '{"port": ');
  assert.deepEqual(await fileSource(join(dir, 'a.json')).read({ signal }), { port: 1 });
  assert.equal(await fileSource(join(dir, 'LEVEL')).read({ signal }), 'info');
  const missing = join(dir, 'missing.json');
  await assert.rejects(fileSource(missing).read({ signal }), (error: unknown) => {
    assert.ok(error instanceof FileReadError);
    assert.ok(error instanceof LoadError, 'a file read error is a load error');
    assert.equal(error.code, 'RELOADKIT_FILE_READ');
    assert.equal(error.errno, 'ENOENT');
    assert.equal(error.syscall, 'open');
    assert.equal(error.path, missing);
    assert.equal(error.message, `cannot read ${missing}: no such file or directory (missing, deleted or not yet created) (ENOENT)`);
    return true;
  });
  await assert.rejects(fileSource(dir).read({ signal }), { code: 'RELOADKIT_FILE_READ', errno: 'EISDIR' });
  await assert.rejects(fileSource(join(dir, 'bad.json')).read({ signal }), (error: unknown) => {
    assert.ok(error instanceof JsonSyntaxError);
    assert.ok(error instanceof LoadError, 'a JSON syntax error is a load error');
    assert.deepEqual({ code: error.code, line: error.line, column: error.column }, { code: 'RELOADKIT_JSON_SYNTAX', line: 1, column: 10 });
    assert.equal(error.message, `invalid JSON in ${join(dir, 'bad.json')} at line 1, column 10: unexpected end of input`);
    return true;
  });
  const aborted = AbortSignal.abort();
  await assert.rejects(fileSource(join(dir, 'a.json')).read({ signal: aborted }), { name: 'AbortError' });
});

test('watch(): a hint after an in-place write, none for unrelated files, and stop() is final', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const file = join(dir, 'config.json');
  await writeFile(file, '{"v":1}');
  const hints: Hint[] = [];
  // 100 ms: an in-place write is truncate + write; a loaded machine may pause between the two.
  const source = fileSource(file, { debounceMs: 100 });
  await sleep(300); // older than the ready check's margin: nothing changed since watch()
  const stop = source.watch((h) => hints.push(h));
  await sleep(400);
  assert.equal(hints.length, 0, 'nothing changed: no hint');
  await writeFile(join(dir, 'unrelated.log'), 'x');
  await sleep(300);
  assert.equal(hints.length, 0, 'unrelated file: no hint');
  await writeFile(file, '{"v":2}');
  await waitFor(() => hints.length === 1, { message: 'hint after write' });
  assert.deepEqual(hints[0], { kind: 'file', detail: file });
  await sleep(200);
  assert.equal(hints.length, 1, 'one write: one hint');
  await stop();
  await writeFile(file, '{"v":3}');
  await sleep(300);
  assert.equal(hints.length, 1, 'no hint after stop');
});

test('watch(): a change made before the watcher is ready still gives a hint', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const file = join(dir, 'config.json');
  await writeFile(file, '{"v":1}');
  await sleep(300);
  const hints: Hint[] = [];
  const stop = fileSource(file, { debounceMs: 20 }).watch((h) => hints.push(h));
  t.after(stop);
  // Synchronously after watch(): chokidar has not scanned the directory yet.
  await atomicWrite(file, '{"v":2}');
  await waitFor(() => hints.length >= 1, { message: 'a hint for the early change' });
});

test('directorySource reads a ConfigMap volume through ..data and never mixes two versions', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const keys = ['a.json', 'b.json', 'c.json', 'LEVEL'];
  const payload = (v: number) => Object.fromEntries(keys.map((k) => [k, k === 'LEVEL' ? `v${v}` : JSON.stringify({ v })]));
  await kubeletWrite(dir, payload(0));
  await writeFile(join(dir, '.hidden'), 'ignored');
  const source = directorySource(dir);
  assert.deepEqual(await source.read({ signal }), { LEVEL: 'v0', 'a.json': { v: 0 }, 'b.json': { v: 0 }, 'c.json': { v: 0 } });

  // Readers race 40 kubelet swaps: every read must show one version across all keys.
  let done = false;
  let reads = 0;
  const mixed: unknown[] = [];
  const reader = (async () => {
    while (!done) {
      const value = (await source.read({ signal })) as Record<string, unknown>;
      reads++;
      const versions = new Set(keys.map((k) => (k === 'LEVEL' ? value[k] : `v${(value[k] as { v: number }).v}`)));
      if (versions.size !== 1 || Object.keys(value).length !== keys.length) mixed.push(value);
      await new Promise((r) => setImmediate(r));
    }
  })();
  for (let v = 1; v <= 40; v++) await kubeletWrite(dir, payload(v));
  done = true;
  await reader;
  assert.deepEqual(mixed, []);
  assert.ok(reads > 0);
  assert.deepEqual(await source.read({ signal }), { LEVEL: 'v40', 'a.json': { v: 40 }, 'b.json': { v: 40 }, 'c.json': { v: 40 } });
});

test('directorySource: a plain directory, a missing directory, and a hint per swap', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const plain = join(dir, 'plain');
  await mkdir(plain);
  await writeFile(join(plain, 'HOST'), 'db');
  await mkdir(join(plain, 'nested'));
  assert.deepEqual(await directorySource(plain).read({ signal }), { HOST: 'db' });
  await assert.rejects(directorySource(join(dir, 'nope')).read({ signal }), { code: 'RELOADKIT_FILE_READ', errno: 'ENOENT', message: /cannot read .*nope: no such file/ });

  const volume = join(dir, 'volume');
  await mkdir(volume);
  await kubeletWrite(volume, { HOST: 'a' });
  const hints: Hint[] = [];
  // 100 ms: the swap's rename and the new key's link are separate steps of the writer.
  const stop = directorySource(volume, { debounceMs: 100 }).watch((h) => hints.push(h));
  t.after(stop);
  await sleep(400);
  const before = hints.length;
  await kubeletWrite(volume, { HOST: 'b', PORT: '5432' });
  await waitFor(() => hints.length === before + 1, { message: 'hint after swap' });
  await sleep(250);
  assert.equal(hints.length, before + 1, 'one swap: one hint');
  assert.deepEqual(await directorySource(volume).read({ signal }), { HOST: 'b', PORT: '5432' });
});

test('polling mode hints after in-place writes and renames', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const file = join(dir, 'config.json');
  await writeFile(file, '{"v":1}');
  const hints: Hint[] = [];
  const source = fileSource(file, { debounceMs: 20, polling: { intervalMs: 50 } });
  const stop = source.watch((h) => hints.push(h));
  t.after(stop);
  await sleep(400);
  const start = hints.length;
  await writeFile(file, '{"v":22}');
  await waitFor(() => hints.length > start, { message: 'hint after in-place write' });
  const before = hints.length;
  await atomicWrite(file, '{"v":3}');
  await waitFor(() => hints.length > before, { message: 'hint after rename' });
  assert.deepEqual(await source.read({ signal }), { v: 3 });
});

test('a symlink into another directory: in-place writes to its target are seen', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  await mkdir(join(dir, 'app'));
  await mkdir(join(dir, 'shared'));
  const target = join(dir, 'shared', 'real.json');
  await writeFile(target, '{"v":1}');
  const link = join(dir, 'app', 'config.json');
  await symlink(target, link);
  const hints: Hint[] = [];
  const stop = fileSource(link, { debounceMs: 30 }).watch((h) => hints.push(h));
  t.after(stop);
  await sleep(400);
  const start = hints.length;
  await writeFile(target, '{"v":2}');
  await waitFor(() => hints.length > start, { message: 'hint after writing the link target' });
  await sleep(200);
  const afterWrite = hints.length;
  // Retarget the link atomically to a file elsewhere, then write that one in place.
  const other = join(dir, 'shared', 'other.json');
  await writeFile(other, '{"v":3}');
  await symlink(other, `${link}.new`);
  await rename(`${link}.new`, link);
  await waitFor(() => hints.length > afterWrite, { message: 'hint after retarget' });
  // The re-plan moves the second watcher to the new target (and hints once it is ready).
  await sleep(400);
  const settled = hints.length;
  await writeFile(other, '{"v":4}');
  await waitFor(() => hints.length > settled, { message: 'hint after writing the new target' });
  await rm(join(dir, 'shared'), { recursive: true });
});

test('a ..data swap under a single mounted key gives exactly one hint (the old directory removal is not an event)', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  await kubeletWrite(dir, { 'config.json': '{"v":1}' });
  const hints: Hint[] = [];
  // The old directory is removed 100 ms after the rename, well after the 20 ms quiet period:
  // were its removal an event, it would show up as a second hint.
  const stop = fileSource(join(dir, 'config.json'), { debounceMs: 20 }).watch((h) => hints.push(h));
  t.after(stop);
  await sleep(400);
  const before = hints.length;
  for (let v = 2; v <= 4; v++) {
    await kubeletWrite(dir, { 'config.json': JSON.stringify({ v }) }, { removeOldAfterMs: 100 });
    await waitFor(() => hints.length === before + v - 1, { message: `hint for swap ${v}` });
    await sleep(250);
    assert.equal(hints.length, before + v - 1, `swap ${v}: one hint`);
  }
  assert.deepEqual(await fileSource(join(dir, 'config.json')).read({ signal }), { v: 4 });
});

test('a file whose directory does not exist yet: the ancestor is watched until it appears', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const file = join(dir, 'a', 'b', 'config.json');
  const hints: Hint[] = [];
  const stop = fileSource(file, { debounceMs: 30 }).watch((h) => hints.push(h));
  t.after(stop);
  await sleep(300);
  await writeFile(join(dir, 'noise.txt'), 'x');
  await sleep(200);
  assert.equal(hints.length, 0, 'unrelated entries in the ancestor: no hint');
  await mkdir(join(dir, 'a', 'b'), { recursive: true });
  await writeFile(file, '{"v":1}');
  await waitFor(() => hints.length >= 1, { message: 'a hint once the file exists' });
  // Back on the real parent: a later in-place write is seen.
  await sleep(1500);
  const settled = hints.length;
  await writeFile(file, '{"v":2}');
  await waitFor(() => hints.length > settled, { message: 'a hint for the in-place write' });
});

test('maxWaitMs: a file rewritten continuously still produces hints while the writes go on', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const file = join(dir, 'config.json');
  await writeFile(file, '{"v":0}');
  await sleep(300);
  const hints: number[] = [];
  const stop = fileSource(file, { debounceMs: 100, maxWaitMs: 250 }).watch(() => hints.push(performance.now()));
  t.after(stop);
  await sleep(300);
  const started = performance.now();
  // A write every 20 ms for 1.2 s: the quiet period never comes, the cap does.
  for (let i = 1; performance.now() - started < 1200; i++) {
    await writeFile(file, JSON.stringify({ v: i }));
    await sleep(20);
  }
  const during = hints.filter((at) => at < started + 1200).length;
  assert.ok(during >= 2, `expected hints during the writes, got ${during}`);
});

test('polling mode: unrelated files cause no hint; a ..data swap causes exactly one', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  await kubeletWrite(dir, { 'config.json': '{"v":1}' });
  await sleep(300);
  const hints: Hint[] = [];
  const source = fileSource(join(dir, 'config.json'), { debounceMs: 100, polling: { intervalMs: 50 } });
  const stop = source.watch((h) => hints.push(h));
  t.after(stop);
  await sleep(500);
  const before = hints.length;
  await writeFile(join(dir, 'unrelated.log'), 'x');
  await writeFile(join(dir, 'unrelated.log'), 'xy');
  await sleep(500);
  assert.equal(hints.length, before, 'unrelated file: no hint');
  await kubeletWrite(dir, { 'config.json': '{"v":2}' }, { removeOldAfterMs: 300 });
  await waitFor(() => hints.length === before + 1, { message: 'hint after swap' });
  await sleep(500);
  assert.equal(hints.length, before + 1, 'one swap: one hint');
  assert.deepEqual(await source.read({ signal }), { v: 2 });
});
