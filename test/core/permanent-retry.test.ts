/**
 * Errors that cannot fix themselves are not retried: an error with `permanent === true` is
 * attempted once; a transient one spends the configured retries. Pure: a fake clock drives the
 * backoff waits, attempts are counted, no wall time is involved.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoadError, reloadable } from '../../src/index.js';
import { withRetry } from '../../src/core/retry.js';
import { FakeClock } from '../../src/testing/clock.js';

/** Runs `p` to completion on the fake clock, firing backoff timers as they come due. */
async function settleOn<T>(clock: FakeClock, p: Promise<T>): Promise<PromiseSettledResult<T>> {
  let done: PromiseSettledResult<T> | undefined;
  void p.then(
    (value) => (done = { status: 'fulfilled', value }),
    (reason: unknown) => (done = { status: 'rejected', reason }),
  );
  for (let i = 0; i < 1_000 && done === undefined; i++) await clock.runAllAsync();
  assert.ok(done, 'settled');
  return done;
}

test('withRetry: a permanent error is attempted once; a transient one is retried the configured number of times', async () => {
  for (const retries of [1, 3, 5]) {
    const clock = new FakeClock();
    let permanentAttempts = 0;
    const permanent = await settleOn(clock, withRetry(() => {
      permanentAttempts++;
      throw new LoadError('permission denied', { permanent: true });
    }, retries, { clock }));
    assert.equal(permanent.status, 'rejected');
    assert.equal(permanentAttempts, 1, `retries: ${retries}: a permanent error is never retried`);
    assert.equal(clock.now(), new FakeClock().now(), 'and no backoff was waited for');

    let transientAttempts = 0;
    const transient = await settleOn(clock, withRetry(() => {
      transientAttempts++;
      throw new LoadError('connection reset');
    }, retries, { clock }));
    assert.equal(transient.status, 'rejected');
    assert.equal(transientAttempts, retries + 1, `retries: ${retries}: a transient error gets every retry`);
  }
});

test('withRetry: an error that turns permanent mid-way stops the retries at that attempt', async () => {
  const clock = new FakeClock();
  let attempts = 0;
  const result = await settleOn(clock, withRetry((n) => {
    attempts++;
    throw new LoadError(n < 2 ? 'timeout' : 'auth failed', { permanent: n >= 2 });
  }, 5, { clock }));
  assert.equal(result.status, 'rejected');
  assert.equal(attempts, 2);
  assert.match(String((result as PromiseRejectedResult).reason), /auth failed/);
});

test('reloadable: a permanent load error is one attempt, reported once; a transient one is retried and then commits', async (t) => {
  const clock = new FakeClock();
  let attempts = 0;
  let failure: 'permanent' | 'transient' | undefined;
  let transientLeft = 0;
  const unit = reloadable({
    name: 'config',
    clock,
    retry: 3,
    load: () => {
      attempts++;
      if (failure === 'permanent') throw new LoadError('permission denied', { source: 'store config', permanent: true });
      if (failure === 'transient' && transientLeft-- > 0) throw new LoadError('connection reset', { source: 'store config' });
      return { n: attempts };
    },
  });
  t.after(() => unit.close());
  await settleOn(clock, unit.start());
  attempts = 0;

  failure = 'permanent';
  const rejected = await settleOn(clock, unit.reload());
  assert.equal(rejected.status, 'fulfilled');
  const r = (rejected as PromiseFulfilledResult<Awaited<ReturnType<typeof unit.reload>>>).value;
  assert.equal(r.status, 'rejected');
  assert.equal(r.stage, 'load');
  assert.equal(attempts, 1, 'permanent: attempted once out of a budget of 4');

  attempts = 0;
  failure = 'transient';
  transientLeft = 2;
  const recovered = await settleOn(clock, unit.reload());
  assert.equal((recovered as PromiseFulfilledResult<Awaited<ReturnType<typeof unit.reload>>>).value.status, 'committed');
  assert.equal(attempts, 3, 'transient: two failures retried, the third attempt commits');
});
