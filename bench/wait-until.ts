/**
 * Waiting on what benchmark workers report, without polling: every report calls `wake()`, which
 * re-runs the pending checks, so a wait ends in the turn its condition became true.
 */

const waiters = new Set<() => void>();

/** Re-runs every pending `waitUntil` check (call it on each worker line, watch event, ...). */
export function wake(): void {
  for (const waiter of [...waiters]) waiter();
}

/** Resolves true once `check()` holds (re-checked at each `wake()`), false after `timeoutMs`. */
export function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  if (check()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      waiters.delete(waiter);
      resolve(ok);
    };
    const waiter = () => {
      if (check()) done(true);
    };
    const timer = setTimeout(() => done(check()), timeoutMs);
    waiters.add(waiter);
  });
}
