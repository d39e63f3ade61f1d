/**
 * `signalTrigger(sig)`: reload when the process receives a signal (SIGHUP by default, the Unix
 * convention for "re-read your configuration").
 *
 * @module
 */
import { constants } from 'node:os';
import type { Hint, Trigger } from '../types.js';
import { describeValue } from '../support/describe-value.js';

/** Signals a process can never catch: listening to them would silently do nothing. */
const UNCATCHABLE = new Set(['SIGKILL', 'SIGSTOP']);

/** A trigger bound to one signal. `stop()` removes exactly the listener `start()` added. */
export interface SignalTrigger extends Trigger {
  /** The signal listened to, e.g. `SIGHUP`. */
  readonly signal: NodeJS.Signals;
  /** True between `start()` and `stop()`. */
  readonly active: boolean;
}

/**
 * Fires `{ kind: 'signal', detail: sig }` each time the process receives `sig`.
 *
 * While started, the listener replaces Node's default action for the signal (for SIGHUP:
 * terminate), which is what a service that reloads on SIGHUP wants. `stop()` removes the listener,
 * so `process.listenerCount(sig)` returns to its previous value. Starting an already started
 * trigger replaces its `fire` callback (one trigger, one consumer).
 *
 * @param sig a catchable signal name; default `'SIGHUP'`.
 * @throws {TypeError} for an unknown or uncatchable signal.
 * @example
 * ```ts
 * import { reloadable, signalTrigger } from 'reloadkit';
 * const config = reloadable({ name: 'config', load, triggers: [signalTrigger()] });
 * await config.start();
 * // kill -HUP <pid>  → config reloads
 * ```
 */
export function signalTrigger(sig: NodeJS.Signals = 'SIGHUP'): SignalTrigger {
  if (typeof sig !== 'string' || !Object.hasOwn(constants.signals, sig)) {
    throw new TypeError(`signalTrigger: expected a signal name such as 'SIGHUP', got ${describeValue(sig)}`);
  }
  if (UNCATCHABLE.has(sig)) {
    throw new TypeError(`signalTrigger: ${sig} cannot be caught by a process, choose another signal (e.g. 'SIGHUP' or 'SIGUSR2')`);
  }
  let listener: (() => void) | undefined;

  const stop = (): void => {
    if (listener) process.off(sig, listener);
    listener = undefined;
  };

  return {
    signal: sig,
    get active() {
      return listener !== undefined;
    },
    start(fire: (hint: Hint) => void) {
      if (typeof fire !== 'function') throw new TypeError(`signalTrigger(${sig}).start: expected a function, got ${describeValue(fire)}`);
      stop();
      listener = () => deliver(fire, { kind: 'signal', detail: sig }, `signalTrigger(${sig})`);
      process.on(sig, listener);
    },
    stop,
  };
}


/**
 * Calls a trigger's consumer from a timer or signal handler. A consumer that throws must not
 * crash the process from there (failure is contained): the error becomes a process warning instead.
 *
 * @example
 * ```ts
 * setTimeout(() => deliver(fire, { kind: 'interval' }, 'intervalTrigger(1000)'), 1000);
 * ```
 */
export function deliver(fire: (hint: Hint) => void, hint: Hint, who: string): void {
  try {
    fire(hint);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.emitWarning(`${who}: the trigger's consumer threw: ${message}`, { code: 'RELOADKIT_TRIGGER_CONSUMER' });
  }
}
