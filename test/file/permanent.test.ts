/**
 * Errors that cannot fix themselves are not retried; transient ones are. A file or directory
 * missing at start and one that cannot be read (EACCES, as a non-root process) fail after one
 * read; a file that goes missing after it was read (an editor mid-save) is retried. Unknown
 * option keys are a TypeError naming the closest one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { reloadable } from '../../src/index.js';
import { directorySource, fileSource, FileReadError } from '../../src/file/index.js';
import { tempDir } from './helpers.js';
import { countReads } from '../helpers/count-reads.js';

const retry = { retries: 3, minTimeout: 5 };

test('a file or a directory missing at start: one read, a permanent error, no retry', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const file = countReads(fileSource(join(dir, 'missing.json')));
    const unit = reloadable({ name: 'missing', source: file.source, retry });
    // The unit's LoadError says what failed; its cause is the source's error.
    const error = await unit.start().then(() => undefined, (e: unknown) => (e as Error).cause);
    await unit.close();
    assert.ok(error instanceof FileReadError, String(error));
    assert.equal(error.errno, 'ENOENT');
    assert.equal(error.permanent, true);
    assert.equal(file.reads, 1);

    const volume = countReads(directorySource(join(dir, 'no-volume')));
    const dirUnit = reloadable({ name: 'no-volume', source: volume.source, retry });
    const dirError = await dirUnit.start().then(() => undefined, (e: unknown) => (e as Error).cause);
    await dirUnit.close();
    assert.equal((dirError as FileReadError).permanent, true, String(dirError));
    assert.equal(volume.reads, 1);
  } finally {
    await cleanup();
  }
});

test('a file gone after it was read (mid-save) is transient: the reload is retried', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, 'config.json');
    await writeFile(path, JSON.stringify({ v: 1 }));
    const file = countReads(fileSource(path));
    const unit = reloadable({ name: 'mid-save', source: file.source, retry });
    try {
      await unit.start();
      await rm(path);
      const result = await unit.reload();
      assert.equal(result.status, 'rejected');
      assert.equal(file.reads - 1, 4, 'the reload: a first attempt and 3 retries');
      assert.deepEqual(unit.get(), { v: 1 }, 'the live generation stays');
    } finally {
      await unit.close();
    }
  } finally {
    await cleanup();
  }
});

test('permission denied (as a non-root process): one read each for a file and a directory, permanent', async () => {
  const args = ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'permanent-child.ts')];
  const [cmd, argv] = process.getuid?.() === 0 ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...args]] : [process.execPath, args];
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(cmd as string, argv as string[], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (exit) => resolve({ code: exit, stdout: out, stderr: err }));
  });
  assert.equal(code, 0, stderr);
  const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, any>;
  assert.notEqual(result.uid, 0, 'the scenario must run without root privileges');
  assert.deepEqual(result.fileError, { errno: 'EACCES', permanent: true });
  assert.equal(result.fileReads, 1);
  assert.deepEqual(result.dirError, { errno: 'EACCES', permanent: true });
  assert.equal(result.dirReads, 1);
});

test('unknown options are a TypeError naming the closest one', () => {
  assert.throws(() => fileSource('c.json', { debounce: 5 } as never), /fileSource: unknown option `debounce`; did you mean `debounceMs`\?/);
  assert.throws(() => directorySource('/etc/config', { poling: true } as never), /directorySource: unknown option `poling`; did you mean `polling`\?/);
});
