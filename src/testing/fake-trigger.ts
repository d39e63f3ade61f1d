/**
 * `fakeTrigger()`: a `Trigger` you fire by hand, that records its lifecycle and can fail on
 * purpose, for testing how code reacts to triggers (start order, stop, bursts, broken triggers).
 *
 * @module
 */
import type { Hint, Trigger } from '../types.js';
import { describeValue } from '../support/describe-value.js';
import { rejectUnknownKeys } from '../support/known-keys.js';

/** Options of `fakeTrigger`. */
export interface FakeTriggerOptions {
  /**
   * `start()` throws (or rejects, with `async: true`) with this error.
   * @default undefined (start succeeds)
   * @example
   * ```ts
   * fakeTrigger({ startError: new Error('broker down') });
   * ```
   */
  startError?: Error;
  /**
   * `stop()` throws (or rejects) with this error.
   * @default undefined (stop succeeds)
   * @example
   * ```ts
   * fakeTrigger({ stopError: new Error('stuck') });
   * ```
   */
  stopError?: Error;
  /**
   * Make `start()` and `stop()` asynchronous (they resolve on a later tick).
   * @default false
   * @example
   * ```ts
   * fakeTrigger({ async: true });
   * ```
   */
  async?: boolean;
}

/** The options `fakeTrigger` reads; any other key is a typo and throws. */
const KNOWN_KEYS = ['startError', 'stopError', 'async'] as const;

/** A controllable trigger. */
export interface FakeTrigger extends Trigger {
  /** Delivers `hint` (default `{ kind: 'fake' }`) `times` times. Returns false when not started. */
  fire(hint?: Partial<Hint>, times?: number): boolean;
  /** True between a successful `start()` and `stop()`. */
  readonly started: boolean;
  /** How many times `start()` / `stop()` were called, and hints delivered. */
  readonly stats: { starts: number; stops: number; fired: number };
  /** Arms (or, with `undefined`, disarms) a failure of the next `start()` / `stop()` calls. */
  failStart(error: Error | undefined): void;
  failStop(error: Error | undefined): void;
}

/**
 * Creates a fake trigger.
 *
 * @example
 * ```ts
 * import { reloadable } from 'reloadkit';
 * import { fakeTrigger } from 'reloadkit/testing';
 * const trigger = fakeTrigger();
 * const unit = reloadable({ name: 'flags', load, triggers: [trigger] });
 * await unit.start();
 * trigger.started;                   // true: triggers start with the unit, before its first load
 * trigger.fire({ kind: 'test' }, 1000); // a burst: the unit coalesces it into at most 2 loads
 * await unit.close();
 * trigger.started;                   // false
 * ```
 */
export function fakeTrigger(options: FakeTriggerOptions = {}): FakeTrigger {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`fakeTrigger: expected \`options\` to be an object, got ${describeValue(options)}`);
  }
  rejectUnknownKeys('fakeTrigger', options, KNOWN_KEYS);
  let { startError, stopError } = options;
  const isAsync = options.async === true;
  let consumer: ((hint: Hint) => void) | undefined;
  const stats = { starts: 0, stops: 0, fired: 0 };

  const settle = (fn: () => void): void | Promise<void> => {
    if (!isAsync) return fn();
    return new Promise<void>((resolve) => setImmediate(resolve)).then(fn);
  };

  return {
    get started() {
      return consumer !== undefined;
    },
    get stats() {
      return { ...stats };
    },
    start(fire: (hint: Hint) => void) {
      stats.starts++;
      return settle(() => {
        if (startError) throw startError;
        if (typeof fire !== 'function') throw new TypeError(`fakeTrigger.start: expected a function, got ${describeValue(fire)}`);
        consumer = fire;
      });
    },
    stop() {
      stats.stops++;
      return settle(() => {
        consumer = undefined;
        if (stopError) throw stopError;
      });
    },
    fire(hint: Partial<Hint> = {}, times = 1) {
      if (!Number.isInteger(times) || times < 1) throw new TypeError(`fakeTrigger.fire: expected \`times\` to be a positive integer, got ${describeValue(times)}`);
      if (!consumer) return false;
      const full: Hint = { kind: hint.kind ?? 'fake', ...(hint.detail === undefined ? {} : { detail: hint.detail }) };
      for (let i = 0; i < times; i++) {
        // The consumer may stop the trigger while handling a hint.
        if (!consumer) break;
        stats.fired++;
        consumer({ ...full });
      }
      return true;
    },
    failStart(error: Error | undefined) {
      startError = error;
    },
    failStop(error: Error | undefined) {
      stopError = error;
    },
  };
}
