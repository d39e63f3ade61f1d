/**
 * Single flight per key: concurrent requests for the same key share one running load. An
 * invalidation *supersedes* a flight that began before it: the flight aborts, its result is never
 * committed, and its readers ask again (so they get data loaded after the invalidation).
 *
 * A flight also carries the one promise its readers share (`reading`): 10,000 readers of a cold
 * key cost one promise and one continuation, not 10,000 async frames.
 *
 * @module
 * @internal
 */
import { StageAbort } from '../core/timeout.js';

/** One running load. `O` is what the load ends with. */
export class Flight<O> {
  /** Aborts every attempt of the load (its `signal` is created only if the loader reads it). */
  readonly abort = new StageAbort();
  /** Set when an invalidation overtook this flight: its result must not be committed. */
  superseded = false;
  /** The load's outcome (never rejects). */
  outcome!: Promise<O>;
  /** The promise every reader of this flight shares, created by the first reader. */
  reading: Promise<unknown> | undefined = undefined;
  /** Readers that waited on this flight (for the stale-serve count). */
  readers = 0;
  /** Its readers were answered with the stale value (later readers are counted as stale serves at once). */
  servedStale = false;
  /** Called once when the load's first attempt fails and more attempts will follow. */
  onFirstFailure: (() => void) | undefined = undefined;
  #attemptFailed = false;

  constructor(
    readonly key: string,
    /** When the load started (the cache's clock): `invalidate({ loadedBefore })` compares it. */
    readonly startedAt: number,
  ) {}

  /** True once an attempt has failed (the load may still be retrying). */
  get attemptFailed(): boolean {
    return this.#attemptFailed;
  }

  /** One attempt failed (an error, a timeout): readers holding a stale value need not wait for the retries. */
  failedAttempt(): void {
    if (this.#attemptFailed || this.superseded) return;
    this.#attemptFailed = true;
    const notify = this.onFirstFailure;
    this.onFirstFailure = undefined;
    notify?.();
  }
}

/**
 * In-flight loads by key.
 *
 * @example
 * ```ts
 * const flights = new SingleFlight<Outcome>(() => Date.now());
 * const a = flights.join('k', (f) => load(f.abort));
 * const b = flights.join('k', (f) => load(f.abort)); // same flight as a
 * ```
 */
export class SingleFlight<O> {
  private readonly flights = new Map<string, Flight<O>>();

  constructor(private readonly now: () => number) {}

  get size(): number {
    return this.flights.size;
  }

  keys(): IterableIterator<string> {
    return this.flights.keys();
  }

  values(): IterableIterator<Flight<O>> {
    return this.flights.values();
  }

  get(key: string): Flight<O> | undefined {
    return this.flights.get(key);
  }

  /** Joins the running flight for `key`, or starts one with `run`. */
  join(key: string, run: (flight: Flight<O>) => Promise<O>): Flight<O> {
    return this.flights.get(key) ?? this.start(key, run);
  }

  /** Supersedes any running flight for `key` and starts a new one. */
  replace(key: string, run: (flight: Flight<O>) => Promise<O>): Flight<O> {
    this.supersede(key);
    return this.start(key, run);
  }

  /** Marks the running flight for `key` superseded and aborts it. Returns true if there was one. */
  supersede(key: string): boolean {
    const flight = this.flights.get(key);
    if (!flight) return false;
    this.flights.delete(key);
    flight.superseded = true;
    flight.abort.abort(new Error('superseded by an invalidation'));
    return true;
  }

  private start(key: string, run: (flight: Flight<O>) => Promise<O>): Flight<O> {
    const flight = new Flight<O>(key, this.now());
    this.flights.set(key, flight);
    flight.outcome = run(flight).finally(() => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    });
    return flight;
  }
}
