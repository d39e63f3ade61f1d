/**
 * A fake clock for virtual-time tests: implements the `Clock` a unit takes (`options.clock`), so
 * throttles, stage timeouts, drain timeouts and verify windows fire only when the test says so.
 *
 * @module
 */
import type { Clock } from '../types.js';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/** Yields to the event loop once: every pending promise continuation runs first. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A manually driven `Clock`. Timers fire in due-time order (ties in creation order) when the
 * test advances time; nothing runs on its own.
 *
 * @example
 * ```ts
 * const clock = new FakeClock();
 * const unit = reloadable({ name: 'c', load, clock, timeouts: { load: 1_000 } });
 * const pending = unit.reload();
 * await clock.advanceAsync(1_000); // the hanging load times out
 * (await pending).stage; // 'load'
 * ```
 */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<number, Timer>();

  /** `start`: the initial epoch milliseconds (default 2025-01-01T00:00:00Z). */
  constructor(start = Date.UTC(2025, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#nextId++;
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    this.#timers.set(id, { id, at: this.#now + delay, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    if (typeof handle === 'number') this.#timers.delete(handle);
  }

  /** How many timers are scheduled. */
  get pending(): number {
    return this.#timers.size;
  }

  #due(limit: number): Timer | undefined {
    let best: Timer | undefined;
    for (const timer of this.#timers.values()) {
      if (timer.at <= limit && (best === undefined || timer.at < best.at || (timer.at === best.at && timer.id < best.id))) best = timer;
    }
    return best;
  }

  #fire(timer: Timer): void {
    this.#timers.delete(timer.id);
    if (timer.at > this.#now) this.#now = timer.at;
    timer.fn();
  }

  /**
   * Moves time forward by `ms`, synchronously firing every timer that falls due (including
   * timers scheduled by those timers within the window). Returns how many fired.
   */
  advance(ms: number): number {
    const target = this.#now + Math.max(0, ms);
    let fired = 0;
    for (let timer = this.#due(target); timer; timer = this.#due(target)) {
      this.#fire(timer);
      fired++;
    }
    this.#now = target;
    return fired;
  }

  /**
   * Like `advance`, but yields to the event loop before and after each timer, so promise chains
   * that wait on these timers (a throttled reload, a timed-out stage) progress in between.
   */
  async advanceAsync(ms: number): Promise<number> {
    const target = this.#now + Math.max(0, ms);
    let fired = 0;
    await yieldToEventLoop();
    for (let timer = this.#due(target); timer; timer = this.#due(target)) {
      this.#fire(timer);
      fired++;
      await yieldToEventLoop();
    }
    this.#now = target;
    await yieldToEventLoop();
    return fired;
  }

  /** Fires every timer, jumping time forward to each; throws after `limit` (a timer loop). */
  runAll(limit = 100_000): number {
    let fired = 0;
    for (let timer = this.#due(Number.POSITIVE_INFINITY); timer; timer = this.#due(Number.POSITIVE_INFINITY)) {
      if (++fired > limit) throw new Error(`FakeClock.runAll: more than ${limit} timers fired (a timer that re-arms itself?)`);
      this.#fire(timer);
    }
    return fired;
  }

  /** `runAll`, yielding to the event loop between timers (and until no timer is left). */
  async runAllAsync(limit = 100_000): Promise<number> {
    let fired = 0;
    await yieldToEventLoop();
    for (let timer = this.#due(Number.POSITIVE_INFINITY); timer; timer = this.#due(Number.POSITIVE_INFINITY)) {
      if (++fired > limit) throw new Error(`FakeClock.runAllAsync: more than ${limit} timers fired (a timer that re-arms itself?)`);
      this.#fire(timer);
      await yieldToEventLoop();
    }
    return fired;
  }
}

/**
 * Creates a `FakeClock`.
 *
 * @example
 * ```ts
 * const clock = createFakeClock();
 * clock.advance(500);
 * ```
 */
export function createFakeClock(start?: number): FakeClock {
  return new FakeClock(start);
}
