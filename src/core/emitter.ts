/**
 * A typed eventemitter3 wrapper in which a listener can never break the emitter: a listener
 * that throws (or returns a rejected promise) is reported through `onListenerError` (the unit
 * turns it into an `error` event) and the remaining listeners still run.
 *
 * @module
 */
import { EventEmitter } from 'eventemitter3';

type Listener = (...args: any[]) => unknown;

/**
 * Typed, failure-contained event emitter.
 *
 * @example
 * ```ts
 * const events = new SafeEmitter<{ ping: [number] }>((error, event) => console.error(event, error));
 * events.on('ping', (n) => { throw new Error(`bad ${n}`); }); // reported, not thrown
 * events.emit('ping', 1);
 * ```
 */
export class SafeEmitter<Events extends { [K in keyof Events]: unknown[] }> {
  readonly #ee = new EventEmitter();
  /** Original listener → its wrappers, per event (a listener may be added more than once). */
  readonly #wrappers = new Map<keyof Events, Map<Listener, Listener[]>>();
  readonly #onListenerError: (error: unknown, event: keyof Events) => void;

  constructor(onListenerError: (error: unknown, event: keyof Events) => void) {
    this.#onListenerError = onListenerError;
  }

  #wrap(event: keyof Events, fn: Listener, once: boolean): Listener {
    const wrapper: Listener = (...args: unknown[]) => {
      if (once) this.#forget(event, fn, wrapper);
      try {
        const out = fn(...args);
        if (out !== null && typeof out === 'object' && typeof (out as { then?: unknown }).then === 'function') {
          (out as PromiseLike<unknown>).then(undefined, (error: unknown) => this.#report(error, event));
        }
      } catch (error) {
        this.#report(error, event);
      }
    };
    let byFn = this.#wrappers.get(event);
    if (!byFn) this.#wrappers.set(event, (byFn = new Map()));
    const list = byFn.get(fn);
    if (list) list.push(wrapper);
    else byFn.set(fn, [wrapper]);
    return wrapper;
  }

  #forget(event: keyof Events, fn: Listener, wrapper: Listener): void {
    const byFn = this.#wrappers.get(event);
    const list = byFn?.get(fn);
    if (!byFn || !list) return;
    const i = list.indexOf(wrapper);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) byFn.delete(fn);
  }

  #report(error: unknown, event: keyof Events): void {
    try {
      this.#onListenerError(error, event);
    } catch {
      // The error reporter itself failed (an `error` listener threw): nothing safe is left to tell.
    }
  }

  on<E extends keyof Events>(event: E, fn: (...args: Events[E]) => void): this {
    this.#ee.on(event as string, this.#wrap(event, fn as Listener, false));
    return this;
  }

  once<E extends keyof Events>(event: E, fn: (...args: Events[E]) => void): this {
    this.#ee.once(event as string, this.#wrap(event, fn as Listener, true));
    return this;
  }

  off<E extends keyof Events>(event: E, fn?: (...args: Events[E]) => void): this {
    if (!fn) {
      this.#ee.removeAllListeners(event as string);
      this.#wrappers.delete(event);
      return this;
    }
    const list = this.#wrappers.get(event)?.get(fn as Listener);
    const wrapper = list?.pop();
    if (wrapper) {
      if (list!.length === 0) this.#wrappers.get(event)!.delete(fn as Listener);
      this.#ee.removeListener(event as string, wrapper);
    }
    return this;
  }

  /** Calls every listener of `event`; true when there was at least one. Never throws. */
  emit<E extends keyof Events>(event: E, ...args: Events[E]): boolean {
    return this.#ee.emit(event as string, ...args);
  }

  /** True when `event` has listeners: lets hot paths skip building a payload nobody reads. */
  has(event: keyof Events): boolean {
    return this.#ee.listenerCount(event as string) > 0;
  }

  listenerCount(event: keyof Events): number {
    return this.#ee.listenerCount(event as string);
  }
}
