/**
 * The scheduler: the only owner of a unit's reload lock, of reload coalescing, of the
 * `minIntervalMs` throttle and of aborting the work in flight.
 *
 * Policy, in one place:
 * - **Coalescing.** Every `reload()` that arrives before a load begins joins that run; one that
 *   arrives after starts (or joins) the single follow-up. A storm costs at most two loads.
 * - **Throttle before the lock.** A run waits out `minIntervalMs` *before* it queues for the lock,
 *   so work that never loads (a rollback, a verify rollback, `close()`) is never held back by it.
 *   A load that began while a run waited for the lock sends it back to wait.
 * - **Groups go through it too.** `Scheduler.holdAll()` waits for every member's throttle, then
 *   takes the members' locks in one global order (no deadlock between groups sharing units).
 * - **Abort.** A run is aborted once every one of its callers' signals aborted; `close()` aborts
 *   the run in flight and the pending one, and ends every throttle wait at once.
 *
 * @module
 * @internal
 */
import * as diagnostics from './diagnostics.js';
import { StageAbort } from './timeout.js';
import type { Clock, ReloadOptions, ReloadResult } from '../types.js';

/**
 * FIFO async mutex. `release()` hands the lock to the next waiter in the same tick, so no third
 * party can slip in between.
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

/** The lock, held: its abort source (aborted by `close()`) and its release (idempotent). */
export interface Hold {
  readonly abort: StageAbort;
  release(): void;
}

/** A coalesced reload as its executor sees it: the merged options of every caller so far. */
export interface Run {
  /** Names the run in diagnostics messages (its callers and its attempt). */
  readonly id: number;
  readonly trigger: ReloadOptions['trigger'];
  readonly reason: string | undefined;
  readonly actor: string | undefined;
  /** True if any caller passed `force`. */
  readonly force: boolean;
  readonly abort: StageAbort;
}

interface PendingRun extends Run {
  force: boolean;
  callers: number;
  abortedCallers: number;
  cleanups: Array<() => void> | undefined;
  promise: Promise<ReloadResult>;
  resolve: (result: ReloadResult) => void;
}

let nextOrder = 0;

/**
 * One unit's scheduling.
 *
 * @example
 * ```ts
 * const scheduler = new Scheduler({ clock, minIntervalMs: 500 });
 * const result = await scheduler.reload(opts, (run, hold) => runAttempt(run, hold), (error) => failed(error));
 * await scheduler.exclusive((hold) => rollback(hold)); // never waits for the throttle
 * ```
 */
export class Scheduler {
  /** Global lock order for `holdAll`. */
  readonly order = nextOrder++;
  readonly #clock: Clock;
  readonly #minIntervalMs: number;
  readonly #unit: string;
  #runs = 0;
  readonly #lock = new Mutex();
  #next: PendingRun | undefined;
  #active: StageAbort | undefined;
  #lastLoadStart = Number.NEGATIVE_INFINITY;
  readonly #waits = new Set<{ handle: unknown; resolve: () => void }>();
  #closed = false;

  constructor({ clock, minIntervalMs, name = '' }: { clock: Clock; minIntervalMs: number; name?: string }) {
    this.#clock = clock;
    this.#unit = name;
    this.#minIntervalMs = minIntervalMs;
  }

  /** True once `close()` ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Joins the pending run, or starts one. `execute` runs holding the lock once the load may
   * begin; `failed` turns an unexpected throw into a result (every caller is always settled).
   */
  reload(opts: ReloadOptions, execute: (run: Run, hold: Hold) => Promise<ReloadResult>, failed: (error: unknown, run: Run) => ReloadResult): Promise<ReloadResult> {
    let run = this.#next;
    if (run === undefined) {
      let resolve!: (result: ReloadResult) => void;
      const promise = new Promise<ReloadResult>((r) => (resolve = r));
      run = { id: ++this.#runs, trigger: opts.trigger, reason: opts.reason, actor: opts.actor, force: opts.force === true, abort: new StageAbort(), callers: 1, abortedCallers: 0, cleanups: undefined, promise, resolve };
      this.#next = run;
      void this.#drive(run, execute, failed);
    } else {
      run.callers++;
      if (opts.force) run.force = true;
    }
    if (opts.signal) this.#watchCallerSignal(run, opts.signal);
    diagnostics.reloadRequested(this.#unit, run.id, opts.trigger);
    return run.promise;
  }

  /**
   * Runs `fn` holding the lock, without the throttle (start, rollback, verify, close). With
   * `load: true` it counts as a load for the throttle (the initial load).
   */
  async exclusive<X>(fn: (hold: Hold) => Promise<X>, { load = false }: { load?: boolean } = {}): Promise<X> {
    await this.#lock.acquire();
    const hold = this.#hold(new StageAbort(), load);
    try {
      return await fn(hold);
    } finally {
      hold.release();
    }
  }

  /** The lock for a load held until `release()` (a group member's staged candidate): throttle first. */
  async hold(): Promise<Hold> {
    const [hold] = await Scheduler.holdAll([this]);
    return hold!;
  }

  /**
   * Holds for a load on every scheduler: waits for every throttle, then takes the locks in global
   * order; if a load began on one of them meanwhile, releases them all and waits again. Resolves
   * with the holds in the order given.
   */
  static async holdAll(schedulers: readonly Scheduler[]): Promise<Hold[]> {
    const sorted = [...schedulers].sort((a, b) => a.order - b.order);
    for (;;) {
      await Promise.all(schedulers.map((s) => s.#throttle()));
      for (const s of sorted) await s.#lock.acquire();
      if (sorted.every((s) => s.#closed || s.#throttleMs() <= 0)) break;
      for (const s of sorted) s.#lock.release();
    }
    return schedulers.map((s) => s.#hold(new StageAbort(), true));
  }

  /** Closes: ends throttle waits, aborts the pending and the active work with `reason`. */
  close(reason: Error): void {
    this.#closed = true;
    for (const wait of this.#waits) {
      this.#clock.clearTimeout(wait.handle);
      wait.resolve();
    }
    this.#waits.clear();
    this.#next?.abort.abort(reason);
    this.#active?.abort(reason);
  }

  async #drive(run: PendingRun, execute: (run: Run, hold: Hold) => Promise<ReloadResult>, failed: (error: unknown, run: Run) => ReloadResult): Promise<void> {
    let result: ReloadResult;
    let hold: Hold | undefined;
    try {
      for (;;) {
        const throttled = this.#throttle();
        if (throttled) await throttled;
        await this.#lock.acquire();
        if (this.#closed || this.#throttleMs() <= 0) break;
        this.#lock.release();
      }
      // From here on the load begins: later callers start a new follow-up run.
      if (this.#next === run) this.#next = undefined;
      hold = this.#hold(run.abort, true);
      result = await execute(run, hold);
    } catch (error) {
      // Defensive: a bug must still settle every caller.
      result = failed(error, run);
    } finally {
      if (this.#next === run) this.#next = undefined;
      hold?.release();
      if (run.cleanups) for (const cleanup of run.cleanups) cleanup();
    }
    run.resolve(result);
  }

  #hold(abort: StageAbort, load: boolean): Hold {
    if (load) this.#lastLoadStart = this.#clock.now();
    this.#active = abort;
    let released = false;
    return {
      abort,
      release: () => {
        if (released) return;
        released = true;
        if (this.#active === abort) this.#active = undefined;
        this.#lock.release();
      },
    };
  }

  /** ms until a load may begin (≤ 0: now). */
  #throttleMs(): number {
    return this.#minIntervalMs <= 0 ? 0 : this.#lastLoadStart + this.#minIntervalMs - this.#clock.now();
  }

  #throttle(): Promise<void> | undefined {
    if (this.#closed) return undefined;
    const wait = this.#throttleMs();
    if (wait <= 0) return undefined;
    return new Promise<void>((resolve) => {
      const entry = { handle: undefined as unknown, resolve };
      entry.handle = this.#clock.setTimeout(() => {
        this.#waits.delete(entry);
        resolve();
      }, wait);
      this.#waits.add(entry);
    });
  }

  /** A shared run is aborted only once every one of its callers has aborted. */
  #watchCallerSignal(run: PendingRun, signal: AbortSignal): void {
    const onAbort = (): void => {
      run.abortedCallers++;
      if (run.abortedCallers >= run.callers) run.abort.abort(signal.reason);
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    (run.cleanups ??= []).push(() => signal.removeEventListener('abort', onAbort));
  }
}
