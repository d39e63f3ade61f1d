/**
 * The real scheduler behind every unit timer (throttle, stage timeouts, drain, verify window).
 * Units take a `Clock` so tests can swap in the fake clock of `reloadkit/testing`.
 *
 * @module
 */
import type { Clock } from '../types.js';

/** The part of an AbortSignal that `sleepOn` needs. */
interface Abortable {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * The wall clock: `Date.now()` and the global timers.
 *
 * @example
 * ```ts
 * const handle = realClock.setTimeout(() => console.log('later'), 100);
 * realClock.clearTimeout(handle);
 * ```
 */
export const realClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number): unknown => setTimeout(fn, ms),
  clearTimeout: (handle: unknown): void => clearTimeout(handle as ReturnType<typeof setTimeout>),
});

/**
 * Resolves after `ms` on `clock`; rejects with `signal.reason` if the signal aborts first.
 *
 * @example
 * ```ts
 * await sleepOn(realClock, 100, controller.signal);
 * ```
 */
export function sleepOn(clock: Clock, ms: number, signal?: Abortable): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Checks that `value` implements `Clock`, with a precise `TypeError` otherwise.
 *
 * @example
 * ```ts
 * assertClock(realClock, 'clock'); // ok
 * ```
 */
export function assertClock(value: unknown, name: string): asserts value is Clock {
  const c = value as Partial<Clock> | null;
  if (typeof c !== 'object' || c === null || typeof c.now !== 'function' || typeof c.setTimeout !== 'function' || typeof c.clearTimeout !== 'function') {
    throw new TypeError(`Expected \`${name}\` to be a Clock with now(), setTimeout() and clearTimeout().`);
  }
}
