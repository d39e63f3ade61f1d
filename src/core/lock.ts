/**
 * A FIFO mutex: a unit's reload lock. Reloads, rollbacks and staged candidates (groups) hold it
 * one at a time, in arrival order, so commits never interleave.
 *
 * @module
 * @internal
 */

/**
 * FIFO async mutex. `acquire()` resolves when the caller holds the lock; `release()` hands it to
 * the next waiter in the same tick, so no third party can slip in between.
 *
 * @example
 * ```ts
 * const lock = new Mutex();
 * await lock.acquire();
 * try { await work(); } finally { lock.release(); }
 * ```
 */
export class Mutex {
  #locked = false;
  readonly #waiters: Array<() => void> = [];

  get locked(): boolean {
    return this.#locked;
  }

  acquire(): Promise<void> {
    if (!this.#locked) {
      this.#locked = true;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#locked = false;
  }
}
