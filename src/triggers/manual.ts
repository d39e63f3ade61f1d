/**
 * `manualTrigger()`: reload when your own code says so (an admin button, a webhook, a test).
 *
 * @module
 */
import type { Hint, Trigger } from '../types.js';
import { describeValue } from '../support/describe-value.js';

/** A trigger you fire by hand. */
export interface ManualTrigger extends Trigger {
  /**
   * Fires a hint (default `{ kind: 'manual' }`; a string becomes its `detail`).
   * Returns false when the trigger is not started (nothing listens; the hint is dropped).
   */
  fire(hint?: Partial<Hint> | string): boolean;
  /** True between `start()` and `stop()`. */
  readonly active: boolean;
}

/**
 * A trigger with a `fire(hint?)` method. Starting it again replaces its consumer.
 *
 * @example
 * ```ts
 * import { reloadable, manualTrigger } from 'reloadkit';
 * const refresh = manualTrigger();
 * const flags = reloadable({ name: 'flags', load, triggers: [refresh] });
 * await flags.start();
 * app.post('/flags/refresh', (_req, res) => { refresh.fire('admin'); res.sendStatus(202); });
 * ```
 */
export function manualTrigger(): ManualTrigger {
  let consumer: ((hint: Hint) => void) | undefined;
  return {
    get active() {
      return consumer !== undefined;
    },
    start(fire: (hint: Hint) => void) {
      if (typeof fire !== 'function') throw new TypeError(`manualTrigger.start: expected a function, got ${describeValue(fire)}`);
      consumer = fire;
    },
    stop() {
      consumer = undefined;
    },
    fire(hint?: Partial<Hint> | string) {
      if (hint !== undefined && typeof hint !== 'string' && (typeof hint !== 'object' || hint === null)) {
        throw new TypeError(`manualTrigger.fire: expected a hint object or a string, got ${describeValue(hint)}`);
      }
      if (!consumer) return false;
      consumer(toHint(hint));
      return true;
    },
  };
}

function toHint(hint: Partial<Hint> | string | undefined): Hint {
  if (hint === undefined) return { kind: 'manual' };
  if (typeof hint === 'string') return { kind: 'manual', detail: hint };
  const out: Hint = { kind: typeof hint.kind === 'string' && hint.kind !== '' ? hint.kind : 'manual' };
  if (typeof hint.detail === 'string') out.detail = hint.detail;
  return out;
}
