import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDebouncer, MAX_KEPT_EVENTS, type DebounceTimers } from '../../src/file/debounce.js';

/** A virtual clock: timers fire only when `advance` moves time past them. */
function fakeTimers(): DebounceTimers & { advance(ms: number): void; pending(): number } {
  let now = 0;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = ++seq;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const next = [...timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!next) break;
        timers.delete(next[0]);
        now = next[1].at;
        next[1].fn();
      }
      now = end;
    },
    pending: () => timers.size,
  };
}

test('a burst flushes once, after the quiet period following the last event', () => {
  const timers = fakeTimers();
  const flushes: { at: number; events: string[] }[] = [];
  const d = createDebouncer<string>({ debounceMs: 100, maxWaitMs: 1000, timers }, (events) => flushes.push({ at: timers.now(), events }));
  for (let i = 0; i < 10; i++) {
    d.push(`e${i}`);
    timers.advance(10);
  }
  assert.equal(flushes.length, 0);
  timers.advance(89);
  assert.equal(flushes.length, 0);
  timers.advance(1);
  assert.equal(flushes.length, 1);
  assert.equal(flushes[0]?.at, 190);
  assert.equal(flushes[0]?.events.length, 10);
  assert.equal(timers.pending(), 0);
});

test('continuous events are capped by maxWaitMs', () => {
  const timers = fakeTimers();
  const at: number[] = [];
  const d = createDebouncer<number>({ debounceMs: 100, maxWaitMs: 300, timers }, () => at.push(timers.now()));
  for (let t = 0; t < 1000; t += 50) {
    d.push(t);
    timers.advance(50);
  }
  timers.advance(1000);
  // Each flush comes maxWaitMs after the first event of its batch: 300, 600, 900, then the quiet tail.
  assert.deepEqual(at.slice(0, 3), [300, 600, 900]);
  assert.ok(at.length <= 4);
});

test('debounceMs 0 flushes on the next tick; flush() and cancel()', () => {
  const timers = fakeTimers();
  let count = 0;
  const d = createDebouncer<number>({ debounceMs: 0, maxWaitMs: 0, timers }, () => count++);
  d.push(1);
  assert.equal(d.pending, true);
  timers.advance(0);
  assert.equal(count, 1);
  d.push(2);
  d.flush();
  assert.equal(count, 2);
  d.flush();
  assert.equal(count, 2, 'nothing pending: no flush');
  d.push(3);
  d.cancel();
  timers.advance(10);
  d.push(4);
  timers.advance(10);
  assert.equal(count, 2);
  assert.equal(timers.pending(), 0);
});

test('a storm keeps only the most recent events', () => {
  const timers = fakeTimers();
  let last: number[] = [];
  const d = createDebouncer<number>({ debounceMs: 5, maxWaitMs: 5000, timers }, (events) => (last = events));
  for (let i = 0; i < 10_000; i++) d.push(i);
  timers.advance(5);
  assert.equal(last.length, MAX_KEPT_EVENTS);
  assert.equal(last.at(-1), 9999);
});
