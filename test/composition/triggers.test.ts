import { test } from 'node:test';
import assert from 'node:assert/strict';
import { intervalTrigger, manualTrigger, signalTrigger } from '../../src/index.js';
import { createFakeClock } from '../../src/testing/index.js';
import type { Clock, Hint } from '../../src/types.js';
import { waitFor } from '../helpers/wait.js';

test('signalTrigger: fires on the signal and stop() removes exactly its listener', async () => {
  const before = process.listenerCount('SIGWINCH');
  const trigger = signalTrigger('SIGWINCH');
  const hints: Hint[] = [];
  trigger.start((h) => hints.push(h));
  assert.equal(process.listenerCount('SIGWINCH'), before + 1);
  assert.equal(trigger.active, true);
  process.kill(process.pid, 'SIGWINCH');
  await waitFor(() => hints.length === 1, { message: 'SIGWINCH hint' });
  assert.deepEqual(hints[0], { kind: 'signal', detail: 'SIGWINCH' });
  // Starting again replaces the consumer, it does not add a second listener.
  trigger.start((h) => hints.push(h));
  assert.equal(process.listenerCount('SIGWINCH'), before + 1);
  await trigger.stop();
  await trigger.stop();
  assert.equal(process.listenerCount('SIGWINCH'), before);
  assert.equal(trigger.active, false);
});

test('signalTrigger: defaults to SIGHUP and rejects unknown or uncatchable signals precisely', () => {
  assert.equal(signalTrigger().signal, 'SIGHUP');
  assert.throws(() => signalTrigger('SIGNOPE' as NodeJS.Signals), { name: 'TypeError', message: "signalTrigger: expected a signal name such as 'SIGHUP', got 'SIGNOPE'" });
  assert.throws(() => signalTrigger('SIGKILL'), { name: 'TypeError', message: /SIGKILL cannot be caught/ });
  assert.throws(() => signalTrigger(1 as unknown as NodeJS.Signals), { name: 'TypeError', message: /got 1$/ });
});

test('manualTrigger: fire() delivers hints only while started', () => {
  const trigger = manualTrigger();
  const hints: Hint[] = [];
  assert.equal(trigger.fire(), false);
  trigger.start((h) => hints.push(h));
  assert.equal(trigger.fire(), true);
  trigger.fire('admin');
  trigger.fire({ kind: 'webhook', detail: 'github' });
  trigger.stop();
  assert.equal(trigger.fire(), false);
  assert.deepEqual(hints, [{ kind: 'manual' }, { kind: 'manual', detail: 'admin' }, { kind: 'webhook', detail: 'github' }]);
  assert.throws(() => trigger.fire(42 as unknown as string), { name: 'TypeError', message: 'manualTrigger.fire: expected a hint object or a string, got 42' });
});

test('intervalTrigger: fires every ms on the injected clock, and stop() clears its timer', () => {
  const clock = createFakeClock(0);
  const trigger = intervalTrigger(1000, { clock });
  const hints: Hint[] = [];
  trigger.start((h) => hints.push(h));
  clock.advance(999);
  assert.equal(hints.length, 0);
  clock.advance(1);
  assert.equal(hints.length, 1);
  clock.advance(5000);
  assert.equal(hints.length, 6);
  assert.deepEqual(hints[0], { kind: 'interval', detail: '1000ms' });
  trigger.stop();
  assert.equal(clock.pending, 0);
  clock.advance(10_000);
  assert.equal(hints.length, 6);
});

test('intervalTrigger: jitter spreads delays within ±jitter × ms', () => {
  const clock = createFakeClock(0);
  const randoms = [0, 0.999999, 0.5];
  let i = 0;
  const trigger = intervalTrigger(1000, { clock, jitter: 0.2, random: () => randoms[i++ % randoms.length]! });
  const at: number[] = [];
  trigger.start(() => at.push(clock.now()));
  clock.advance(3000);
  trigger.stop();
  // Delays: 800 (random 0), ~1200 (random ~1), 1000 (random 0.5).
  assert.deepEqual(at, [800, 2000, 3000]);
});

test('intervalTrigger: a throwing consumer becomes a warning and does not stop the schedule', async () => {
  const trigger = intervalTrigger(5);
  let calls = 0;
  trigger.start(() => {
    calls++;
    if (calls === 1) throw new Error('consumer bug');
  });
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(w);
  };
  process.on('warning', onWarning);
  try {
    await waitFor(() => calls >= 3 && warnings.length === 1, { message: 'three interval hints and one warning' });
    assert.match(warnings[0]!.message, /intervalTrigger\(5\): the trigger's consumer threw: consumer bug/);
  } finally {
    trigger.stop();
    process.off('warning', onWarning);
  }
});

test('intervalTrigger: option validation throws precise TypeErrors', () => {
  assert.throws(() => intervalTrigger(0), { name: 'TypeError', message: 'intervalTrigger: expected `ms` to be a positive finite number up to 2147483647, got 0' });
  assert.throws(() => intervalTrigger(Number.NaN), { name: 'TypeError', message: /got NaN/ });
  assert.throws(() => intervalTrigger('5' as unknown as number), { name: 'TypeError', message: /got '5'/ });
  assert.throws(() => intervalTrigger(100, { jitter: 1 }), { name: 'TypeError', message: 'intervalTrigger: expected `jitter` to be a number in [0, 1), got 1' });
  assert.throws(() => intervalTrigger(100, { jitter: -0.1 }), { name: 'TypeError', message: /jitter/ });
  assert.throws(() => intervalTrigger(100, { clock: {} as Clock }), { name: 'TypeError', message: /clock/ });
});

test('intervalTrigger: its timers never keep a process alive (unref)', { timeout: 60_000 }, async () => {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const url = new URL('../../src/index.ts', import.meta.url).href;
  const script = `import { intervalTrigger } from '${url}'; intervalTrigger(60_000).start(() => {}); console.log('started');`;
  // Without unref the child would wait 60 s for its first tick; the 30 s timeout would kill it.
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 30_000 });
  assert.equal(stdout.trim(), 'started');
});
