/**
 * `intervalTrigger(ms, { jitter })`: reload on a timer, for sources that cannot push changes.
 *
 * @module
 */
import { realClock } from '../support/clock.js';
import type { Clock, Hint, Trigger } from '../types.js';
import { deliver } from './signal.js';
import { describeValue } from '../support/describe-value.js';
import { rejectUnknownKeys } from '../support/known-keys.js';

/** The largest delay `setTimeout` honours (2^31 - 1 ms); longer ones fire at once. */
const MAX_DELAY_MS = 2_147_483_647;

/** Options of `intervalTrigger`. */
export interface IntervalTriggerOptions {
  /**
   * Spread, as a fraction of `ms` in [0, 1): each delay is drawn uniformly from
   * `[ms × (1 − jitter), ms × (1 + jitter)]`, so a fleet started together does not poll in lockstep.
   * @default 0
   * @example
   * ```ts
   * intervalTrigger(30_000, { jitter: 0.1 }); // every 27–33 s
   * ```
   */
  jitter?: number;
  /**
   * Scheduler, for virtual-time tests (`createFakeClock()` of `reloadkit/testing`).
   * @default the real timers (`setTimeout`, unref'd)
   * @example
   * ```ts
   * const clock = createFakeClock();
   * intervalTrigger(1_000, { clock }); // clock.advance(1_000) fires it
   * ```
   */
  clock?: Clock;
  /**
   * Random source in [0, 1) for the jitter, for deterministic tests.
   * @default Math.random
   * @example
   * ```ts
   * intervalTrigger(1_000, { jitter: 0.5, random: () => 0.5 }); // always exactly 1 000 ms
   * ```
   */
  random?: () => number;
}

/** The options `intervalTrigger` reads; any other key is a typo and throws. */
const KNOWN_KEYS = ['jitter', 'clock', 'random'] as const;

/** A trigger that fires every `ms` (± jitter). */
export interface IntervalTrigger extends Trigger {
  readonly intervalMs: number;
  readonly active: boolean;
}


/**
 * Fires `{ kind: 'interval', detail: '<ms>ms' }` every `ms` milliseconds (± `jitter`). The timers
 * are unref'd: an interval trigger alone never keeps the process alive.
 *
 * @throws {TypeError} when `ms` is not a positive finite number up to 2^31 − 1, or `jitter` is not in [0, 1).
 * @example
 * ```ts
 * import { reloadable, intervalTrigger } from 'reloadkit';
 * const prices = reloadable({
 *   name: 'prices',
 *   load: () => fetch('http://127.0.0.1:8080/prices').then((r) => r.json()),
 *   triggers: [intervalTrigger(30_000, { jitter: 0.1 })], // every 27–33 s
 * });
 * ```
 */
export function intervalTrigger(ms: number, options: IntervalTriggerOptions = {}): IntervalTrigger {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0 || ms > MAX_DELAY_MS) {
    throw new TypeError(`intervalTrigger: expected \`ms\` to be a positive finite number up to ${MAX_DELAY_MS}, got ${describeValue(ms)}`);
  }
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`intervalTrigger: expected \`options\` to be an object, got ${describeValue(options)}`);
  }
  rejectUnknownKeys('intervalTrigger', options, KNOWN_KEYS);
  const { jitter = 0, clock = realClock, random = Math.random } = options;
  if (typeof jitter !== 'number' || !Number.isFinite(jitter) || jitter < 0 || jitter >= 1) {
    throw new TypeError(`intervalTrigger: expected \`jitter\` to be a number in [0, 1), got ${describeValue(jitter)}`);
  }
  if (!clock || typeof clock.setTimeout !== 'function' || typeof clock.clearTimeout !== 'function') {
    throw new TypeError('intervalTrigger: expected `clock` to have setTimeout and clearTimeout functions');
  }
  if (typeof random !== 'function') {
    throw new TypeError(`intervalTrigger: expected \`random\` to be a function, got ${describeValue(random)}`);
  }

  let handle: unknown;
  let running = false;
  const hint: Hint = { kind: 'interval', detail: `${ms}ms` };

  const nextDelay = (): number => {
    if (jitter === 0) return ms;
    const spread = ms * jitter * (random() * 2 - 1);
    return Math.min(MAX_DELAY_MS, Math.max(1, Math.round(ms + spread)));
  };

  const schedule = (fire: (hint: Hint) => void): void => {
    handle = clock.setTimeout(() => {
      if (!running) return;
      schedule(fire);
      deliver(fire, { ...hint }, `intervalTrigger(${ms})`);
    }, nextDelay());
    (handle as { unref?: () => void } | null)?.unref?.();
  };

  const stop = (): void => {
    running = false;
    if (handle !== undefined) clock.clearTimeout(handle);
    handle = undefined;
  };

  return {
    intervalMs: ms,
    get active() {
      return running;
    },
    start(fire: (hint: Hint) => void) {
      if (typeof fire !== 'function') throw new TypeError(`intervalTrigger.start: expected a function, got ${describeValue(fire)}`);
      stop();
      running = true;
      schedule(fire);
    },
    stop,
  };
}
