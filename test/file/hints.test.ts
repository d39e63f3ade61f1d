/**
 * One hint per settled change: after each burst of watcher events the source's fingerprint is
 * compared with the one of its last hint. A burst that changes nothing the source reads (the late
 * half of a rename reported as `unlink` then `add`, an attribute touched) is no hint; every real
 * change is one, including a same-size rewrite inside one timestamp tick (content digest).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { createSettler, watchForHints } from '../../src/file/hints.js';
import { fileHintSource } from '../../src/file/file-source.js';
import { pathState, sameFingerprint, type Fingerprint } from '../../src/file/fingerprint.js';
import { resolveWatchOptions } from '../../src/file/options.js';
import { atomicWrite, tempDir } from './helpers.js';
import { sleep, waitFor } from '../helpers/wait.js';

/** A fingerprint of one path whose key is `state`. */
const fp = (state: number): Fingerprint => [{ path: 'p', key: String(state), racy: false }];

test('a settler hints once per distinct state, and always on a forced settle', async () => {
  let state = 1;
  let hints = 0;
  const settler = createSettler(async () => fp(state), () => hints++);
  await settler.settle();
  assert.equal(hints, 1, 'nothing hinted yet: the first settle hints');
  await settler.settle();
  assert.equal(hints, 1, 'the second burst of the same change is quiet');
  state = 2;
  await settler.settle();
  assert.equal(hints, 2);
  settler.force();
  await settler.settle();
  assert.equal(hints, 3, 'a watcher error hints even when nothing changed');
  settler.stop();
  state = 3;
  await settler.settle();
  assert.equal(hints, 3, 'stopped: no more hints');
});

test('a settler whose fingerprint fails hints (it cannot prove nothing changed)', async () => {
  let hints = 0;
  let fail = false;
  const settler = createSettler(async () => {
    if (fail) throw new Error('EMFILE');
    return fp(1);
  }, () => hints++);
  await settler.settle();
  fail = true;
  await settler.settle();
  fail = false;
  await settler.settle();
  assert.equal(hints, 3);
});

test('property: no change is lost, and no hint repeats the state of the previous one', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.oneof(fc.constant('settle' as const), fc.integer({ min: 0, max: 3 })), { maxLength: 40 }), async (ops) => {
      let state = 0;
      const hinted: number[] = [];
      // The fingerprint is taken when the settle runs; the hint records that state.
      let seen = 0;
      const settler = createSettler(async () => {
        seen = state;
        return fp(state);
      }, () => hinted.push(seen));
      const settles: Promise<void>[] = [];
      for (const op of ops) {
        if (op === 'settle') settles.push(settler.settle());
        else {
          await Promise.all(settles.splice(0));
          state = op;
        }
      }
      await Promise.all(settles);
      await settler.settle(); // the burst after the last change
      assert.equal(hinted.at(-1), state, 'the last hint is of the current state');
      for (let i = 1; i < hinted.length; i++) assert.notEqual(hinted[i], hinted[i - 1], 'a hint repeated the previous state');
    }),
    { numRuns: 200 },
  );
});

test('a same-size rewrite in the same timestamp tick differs by content digest', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const file = join(dir, 'config.json');
    // Both writes get the same (millisecond-exact) timestamps, as two rewrites within one kernel tick.
    const atime = new Date(1_700_000_000_000);
    const mtime = new Date(1_700_000_000_123);
    await writeFile(file, '{"a":1}');
    await utimes(file, atime, mtime);
    // Looked at just after the write: racy, so the content digest is kept.
    const before = await pathState(file, undefined, mtime.getTime() + 10);
    assert.equal(before.racy, true);
    assert.ok(before.digest);
    await writeFile(file, '{"a":2}');
    await utimes(file, atime, mtime);
    const after = await pathState(file, before, mtime.getTime() + 20);
    assert.equal(after.key, before.key, 'metadata alone cannot tell');
    assert.equal(sameFingerprint([before], [after]), false);
    // Looked at long after: the same metadata proves it, no digest needed.
    const settled = await pathState(file, undefined, mtime.getTime() + 60_000);
    assert.equal(settled.racy, false);
    assert.equal(settled.digest, undefined);
    assert.equal(sameFingerprint([settled], [await pathState(file, settled, mtime.getTime() + 60_000)]), true);
  } finally {
    await cleanup();
  }
});

test('a real watcher: a burst that changes nothing the file source reads is no hint; a change is one', async () => {
  const { dir, cleanup } = await tempDir();
  const file = join(dir, 'config.json');
  await writeFile(file, '{"port":1}');
  // Older than the watch's catch-up window, so the first hint is the change below, not a catch-up.
  await sleep(300);
  const settled: boolean[] = [];
  let hints = 0;
  const stop = watchForHints(fileHintSource(file), resolveWatchOptions({ debounceMs: 50 }, 'test'), () => hints++, { onSettled: (hinted) => settled.push(hinted) });
  try {
    // A real change first, so there is a hint to compare with.
    await atomicWrite(file, '{"port":2}');
    await waitFor(() => settled.includes(true), { message: 'the change settled as a hint' });
    const afterChange = hints;
    const mark = settled.length;

    // Attributes touched (chmod to the mode it has): an event, but the same state.
    await chmod(file, (await stat(file)).mode & 0o777);
    await waitFor(() => settled.length > mark, { message: 'the attribute burst settled' });
    assert.deepEqual(settled.slice(mark), settled.slice(mark).map(() => false), 'no hint for a burst that changed nothing');
    assert.equal(hints, afterChange);

    // And the next real change is a hint again.
    const mark2 = settled.length;
    await atomicWrite(file, '{"port":3}');
    await waitFor(() => settled.slice(mark2).includes(true), { message: 'the next change hinted' });
    assert.equal(hints, afterChange + 1);
  } finally {
    await stop();
    await cleanup();
  }
});
