/**
 * Start and stop, watch before read. An owner (a unit, a registry, a cache) starts its triggers
 * and source watches *before* its first read, so a change that lands between the two is never
 * lost, and stops every one of them on close or after a failed start. A trigger or watch that
 * fails to start or stop is reported, never thrown: the owner keeps working on the others.
 *
 * @module
 * @internal
 */
import type { Hint, Source, Trigger } from '../types.js';

/** Where lifecycle failures are reported: `source.watch`, `trigger.start`, `trigger.stop`, `source.unwatch`. */
export type LifecycleReport = (error: unknown, where: 'source.watch' | 'source.unwatch' | 'trigger.start' | 'trigger.stop') => void;

/**
 * The triggers and source watches of one owner, all feeding `fire`. Triggers may be added and
 * removed at any time; one added while watching starts at once. A running trigger is never
 * started twice; one whose `start` failed is tried again by the next `start()`. `stop()` stops
 * every trigger whose start was attempted, failed ones included (a failed start may have left a
 * handle behind).
 *
 * @example
 * ```ts
 * const watches = new Watches((hint) => unit.reload({ trigger: hint }), (error, where) => report(error, where));
 * watches.add(signalTrigger('SIGHUP'));
 * await watches.start(source); // watch first…
 * await load();                // …then read
 * await watches.stop();
 * ```
 */
export class Watches {
  readonly #fire: (hint: Hint) => void;
  readonly #report: LifecycleReport;
  readonly #triggers = new Set<Trigger>();
  /** Running triggers. */
  readonly #started = new Set<Trigger>();
  /** Triggers whose start was attempted since the last stop (running or failed). */
  readonly #attempted = new Set<Trigger>();
  #unwatch: (() => void | Promise<void>) | undefined;
  #watching = false;

  constructor(fire: (hint: Hint) => void, report: LifecycleReport) {
    this.#fire = fire;
    this.#report = report;
  }

  /** True between `start()` and `stop()`. */
  get watching(): boolean {
    return this.#watching;
  }

  /** Adds a trigger; started now if watching. Returns false if it was already added. */
  add(trigger: Trigger): boolean {
    if (this.#triggers.has(trigger)) return false;
    this.#triggers.add(trigger);
    if (this.#watching) void this.#startTrigger(trigger);
    return true;
  }

  /** Removes a trigger, stopping it if it was started. */
  async remove(trigger: Trigger): Promise<void> {
    if (!this.#triggers.delete(trigger)) return;
    await this.#stopTrigger(trigger);
  }

  /** Watches `source` (if it can watch, once), then starts every trigger that is not running. */
  async start(source?: Source<unknown>): Promise<void> {
    if (!this.#watching) {
      this.#watching = true;
      if (source?.watch) {
        try {
          this.#unwatch = source.watch(this.#fire);
        } catch (error) {
          this.#report(error, 'source.watch');
        }
      }
    }
    for (const trigger of this.#triggers) await this.#startTrigger(trigger);
  }

  /** Stops the source watch and every started trigger. Idempotent. */
  async stop(): Promise<void> {
    if (!this.#watching) return;
    this.#watching = false;
    const unwatch = this.#unwatch;
    this.#unwatch = undefined;
    if (unwatch) {
      try {
        await unwatch();
      } catch (error) {
        this.#report(error, 'source.unwatch');
      }
    }
    for (const trigger of [...this.#attempted]) await this.#stopTrigger(trigger);
  }

  async #startTrigger(trigger: Trigger): Promise<void> {
    if (this.#started.has(trigger)) return;
    this.#started.add(trigger);
    this.#attempted.add(trigger);
    try {
      await trigger.start(this.#fire);
    } catch (error) {
      this.#started.delete(trigger);
      this.#report(error, 'trigger.start');
    }
  }

  async #stopTrigger(trigger: Trigger): Promise<void> {
    this.#started.delete(trigger);
    if (!this.#attempted.delete(trigger)) return;
    try {
      await trigger.stop();
    } catch (error) {
      this.#report(error, 'trigger.stop');
    }
  }
}

/**
 * A start that runs once and is shared by every caller until it fails; after a failure the next
 * call starts afresh. `before` runs first on every fresh start (a derived unit starts its parent).
 *
 * @example
 * ```ts
 * const starting = new StartOnce(() => doStart());
 * await Promise.all([starting.run(), starting.run()]); // one doStart()
 * ```
 */
export class StartOnce<T> {
  readonly #run: () => Promise<T>;
  #pending: Promise<T> | undefined;
  #before: Array<() => Promise<unknown>> = [];

  constructor(run: () => Promise<T>) {
    this.#run = run;
  }

  /** Adds a step that every fresh start awaits before `run` (in the order added). */
  before(step: () => Promise<unknown>): void {
    this.#before.push(step);
  }

  run(): Promise<T> {
    if (this.#pending) return this.#pending;
    const steps = this.#before;
    const attempt = steps.length === 0 ? this.#run() : (async () => {
      for (const step of steps) await step();
      return this.#run();
    })();
    this.#pending = attempt;
    attempt.catch(() => {
      if (this.#pending === attempt) this.#pending = undefined;
    });
    return attempt;
  }
}
