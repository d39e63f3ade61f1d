/**
 * Single flight per key: concurrent requests for the same key share one running load. An
 * invalidation *supersedes* a flight that began before it: the flight's signal aborts, its result
 * is never committed, and its waiters ask again (so they get data loaded after the invalidation).
 *
 * @module
 * @internal
 */

/** One running load. */
export interface Flight<O> {
  readonly key: string;
  readonly controller: AbortController;
  /** When the load started (the cache's clock): `invalidate({ loadedBefore })` compares it. */
  readonly startedAt: number;
  /** Set when an invalidation overtook this flight: its result must not be committed. */
  superseded: boolean;
  promise: Promise<O>;
}

/**
 * In-flight loads by key.
 *
 * @example
 * ```ts
 * const flights = new SingleFlight<Outcome>(() => Date.now());
 * const a = flights.join('k', (f) => load(f.controller.signal));
 * const b = flights.join('k', (f) => load(f.controller.signal)); // same flight as a
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
    flight.controller.abort(new Error('superseded by an invalidation'));
    return true;
  }

  private start(key: string, run: (flight: Flight<O>) => Promise<O>): Flight<O> {
    const flight: Flight<O> = { key, controller: new AbortController(), startedAt: this.now(), superseded: false, promise: undefined as unknown as Promise<O> };
    this.flights.set(key, flight);
    flight.promise = run(flight).finally(() => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    });
    return flight;
  }
}
