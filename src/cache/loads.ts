/**
 * Per-key loads: the core's pipeline subset (`loadCandidate` → `validateCandidate` →
 * `hashCandidate`) for one key, then dedupe by hash and a commit into the store, or a rejection
 * that keeps the valid entry. Every load ends through the core's `Reporter` (one result, one
 * outcome event); only failed loads are audited.
 *
 * Readers that must wait share one promise per flight. A reader that holds a stale value waits
 * only for the load's first attempt: if it fails, the reader gets the stale value at once and the
 * retries go on in the background.
 *
 * @module
 * @internal
 */
import { ReloadkitError } from '../errors.js';
import { cacheLooked } from '../core/diagnostics.js';
import { hashCandidate, loadCandidate, validateCandidate } from '../core/pipeline.js';
import type { Attempt, AttemptEnd } from '../core/report.js';
import type { StageAbort } from '../core/timeout.js';
import type { Stage, TriggerInfo } from '../types.js';
import type { CacheContext } from './context.js';
import { CacheEntry } from './entry.js';
import type { Flight } from './single-flight.js';
import type { CacheEntryInfo, CacheLoadContext } from './types.js';

/** What one load ended with. `superseded`: an invalidation overtook it; its readers ask again. */
export type Outcome<V> =
  | { status: 'committed' | 'unchanged'; entry: CacheEntry<V> }
  | { status: 'rejected'; stage: Stage; error: Error & { code?: string }; entry: CacheEntry<V> | undefined }
  | { status: 'superseded' };

/** Per-status counts of a batch of refreshes, and the first failure. */
export interface RefreshCounts {
  committed: number;
  unchanged: number;
  rejected: number;
  first?: { stage: Stage; error: Error & { code?: string } };
}

/** How many times a reader re-asks after its flight was superseded before giving up. */
const MAX_ROUNDS = 8;
const SUPERSEDED = { status: 'superseded' } as const;
/** Successful per-key loads are counted (events, metrics), not audited: one record per miss would drown the trail. */
const QUIET = { audit: false } satisfies Partial<AttemptEnd>;

/** The `load` context: `signal` and `previous` are built only if the loader reads them. */
class KeyLoadContext<V> implements CacheLoadContext {
  readonly #abort: StageAbort;
  readonly #ctx: CacheContext<V>;
  readonly #key: string;
  readonly trigger: TriggerInfo;

  constructor(abort: StageAbort, ctx: CacheContext<V>, key: string, trigger: TriggerInfo) {
    this.#abort = abort;
    this.#ctx = ctx;
    this.#key = key;
    this.trigger = trigger;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get previous(): CacheEntryInfo | undefined {
    const entry = this.#ctx.lru.peek(this.#key);
    return entry && this.#ctx.info(entry);
  }
}

/**
 * Loads, commits and rejects entries of one cache; serves the readers that wait for them.
 *
 * @example
 * ```ts
 * const loads = new EntryLoads(ctx);
 * const user = await loads.read('user:42'); // joins or starts the key's load
 * ```
 */
export class EntryLoads<V> {
  constructor(private readonly c: CacheContext<V>) {}

  /**
   * The slow path of `get`: a stale, expired or missing entry (the hit path already answered
   * fresh ones). `round` > 0 when a superseded flight's readers ask again (not counted twice).
   */
  read(key: string, round = 0): Promise<V> {
    const c = this.c;
    if (c.closed) return Promise.reject(c.closedError('get'));
    const entry = c.lru.peek(key);
    if (entry !== undefined) {
      const now = c.clock.now();
      const loadedAt = c.lru.stampOf(key) as number;
      if (entry.failure === undefined && now < loadedAt + c.o.ttlMs) {
        if (round === 0) c.hits += 1;
        if (round === 0) cacheLooked(c.name, true, key, c);
        return Promise.resolve(entry.value);
      }
      if (this.servableStale(entry, loadedAt, now)) {
        if (round === 0) c.staleServes += 1;
        if (round === 0) cacheLooked(c.name, true, key, c);
        this.refreshInBackground(entry, now);
        return Promise.resolve(entry.value);
      }
      // Expired, and a failed refresh on record inside its backoff (stale serving is off): fail fast.
      if (entry.failure !== undefined && now < entry.failure.at + c.o.errorBackoffMs) return Promise.reject(entry.failure.error);
    }
    if (round === 0) c.misses += 1;
    if (round === 0) cacheLooked(c.name, false, key, c);
    return this.wait(this.join(key, { kind: entry !== undefined ? 'expired' : 'miss' }), round);
  }

  /**
   * For a key with no entry: the shared promise of its running load, if a reader already waits on
   * it (counted as a miss), else undefined. The stampede path: two map lookups per reader.
   */
  joinMissing(key: string): Promise<V> | undefined {
    const flight = this.c.flights.get(key);
    if (flight === undefined || flight.reading === undefined || this.c.closed) return undefined;
    this.c.misses += 1;
    return this.wait(flight, 0);
  }

  /** Inside the SWR window, or kept after a failed refresh (when serving stale on error). */
  servableStale(entry: CacheEntry<V>, loadedAt: number, now: number): boolean {
    return now < loadedAt + this.c.o.ttlMs + this.c.o.swrMs || (entry.failure !== undefined && this.c.o.serveStaleOnError);
  }

  /** Starts a refresh of a stale entry unless one runs or its error backoff holds it back. */
  refreshInBackground(entry: CacheEntry<V>, now: number): void {
    if (this.c.closed) return;
    if (entry.failure !== undefined && now < entry.failure.at + this.c.o.errorBackoffMs) return;
    this.join(entry.key, { kind: 'stale' });
  }

  /** Joins the key's running load, or starts one. */
  join(key: string, trigger: TriggerInfo): Flight<Outcome<V>> {
    return this.c.flights.join(key, (flight) => this.run(flight, trigger, false));
  }

  /** Reloads `keys` in place with bounded parallelism; loads that began earlier are superseded. */
  async refreshKeys(keys: readonly string[], trigger: TriggerInfo, force: boolean): Promise<RefreshCounts> {
    const c = this.c;
    const counts: RefreshCounts = { committed: 0, unchanged: 0, rejected: 0 };
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < keys.length) {
        const key = keys[next++] as string;
        if (c.closed) return;
        const outcome = await c.flights.replace(key, (flight) => this.run(flight, trigger, force)).outcome;
        if (outcome.status === 'committed') counts.committed += 1;
        else if (outcome.status === 'unchanged') counts.unchanged += 1;
        else if (outcome.status === 'rejected') {
          counts.rejected += 1;
          counts.first ??= { stage: outcome.stage, error: outcome.error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(c.o.refreshConcurrency, keys.length) }, worker));
    return counts;
  }

  /** The promise every reader of `flight` shares. */
  private wait(flight: Flight<Outcome<V>>, round: number): Promise<V> {
    flight.readers += 1;
    if (flight.servedStale) this.c.staleServes += 1;
    if (flight.reading === undefined) flight.reading = this.settle(flight, round);
    return flight.reading as Promise<V>;
  }

  private settle(flight: Flight<Outcome<V>>, round: number): Promise<V> {
    const c = this.c;
    const key = flight.key;
    return new Promise<V>((resolve, reject) => {
      let done = false;
      const serveStale = (): boolean => {
        const kept = c.o.serveStaleOnError ? c.lru.peek(key) : undefined;
        if (kept === undefined || done) return false;
        done = true;
        flight.servedStale = true;
        c.staleServes += flight.readers;
        resolve(kept.value);
        return true;
      };
      if (c.o.serveStaleOnError) {
        if (flight.attemptFailed) {
          if (serveStale()) return;
        } else {
          flight.onFirstFailure = serveStale;
        }
      }
      void flight.outcome.then((outcome) => {
        if (done) return;
        if (outcome.status === 'rejected' && serveStale()) return;
        done = true;
        if (outcome.status === 'superseded') resolve(this.reread(key, round + 1));
        else if (outcome.status === 'rejected') reject(outcome.error);
        else resolve(outcome.entry.value);
      });
    });
  }

  private reread(key: string, round: number): Promise<V> {
    if (round < MAX_ROUNDS) return this.read(key, round);
    const c = this.c;
    return Promise.reject(new ReloadkitError('RELOADKIT_CACHE_CHURN', `[${c.name}] key ${c.keyHash(key)} was invalidated ${MAX_ROUNDS} times while loading`, { unit: c.name }));
  }

  /** One flight: the pipeline stages, then commit, dedupe or reject. Never rejects. */
  private async run(flight: Flight<Outcome<V>>, trigger: TriggerInfo, force: boolean): Promise<Outcome<V>> {
    const c = this.c;
    const key = flight.key;
    const attempt = c.report.begin('reload', trigger, { key: () => c.keyFields(key) });
    const where = { unit: c.name, source: `key ${c.keyHash(key)}` };
    // With retries ahead, readers holding a stale value are told when the first attempt fails.
    const early = c.o.retry !== undefined;
    let raw: unknown;
    try {
      raw = await loadCandidate({ where, retry: c.o.retry, timeoutMs: c.o.loadTimeoutMs, clock: c.clock }, flight.abort, (abort) => this.callLoad(flight, abort, trigger, early));
    } catch (error) {
      return flight.superseded || c.closed ? SUPERSEDED : this.reject(attempt, key, error, 'load');
    }
    if (flight.superseded || c.closed) return SUPERSEDED;
    let value: V;
    let hash: string;
    try {
      const validate = c.o.validate;
      value = await validateCandidate<V>(where, raw, c.o.schema, validate && ((v: V) => validate(v, key)));
      hash = hashCandidate(where, c.o.hash, value);
    } catch (error) {
      return flight.superseded || c.closed ? SUPERSEDED : this.reject(attempt, key, error, 'validate');
    }
    if (flight.superseded || c.closed) return SUPERSEDED;
    return this.commit(attempt, key, value, hash, force);
  }

  private callLoad(flight: Flight<Outcome<V>>, abort: StageAbort, trigger: TriggerInfo, early: boolean): unknown {
    const key = flight.key;
    const ctx = new KeyLoadContext(abort, this.c, key, trigger);
    if (!early) return this.c.o.load(key, ctx);
    // A timeout aborts the attempt; an error rejects it. Either way the first one tells the readers.
    abort.addEventListener('abort', () => flight.failedAttempt());
    let result: unknown;
    try {
      result = this.c.o.load(key, ctx);
    } catch (error) {
      flight.failedAttempt();
      throw error;
    }
    if (result !== null && typeof (result as PromiseLike<unknown>)?.then === 'function') {
      (result as PromiseLike<unknown>).then(undefined, () => flight.failedAttempt());
    }
    return result;
  }

  private commit(attempt: Attempt, key: string, value: V, hash: string, force: boolean): Outcome<V> {
    const c = this.c;
    const now = c.clock.now();
    const current = c.lru.peek(key);
    if (current !== undefined && !force && c.valueHash(current.value) === hash) {
      // Same content: keep the entry (and its leases), restart its freshness; no dispose.
      c.lru.restamp(key, now);
      current.failure = undefined;
      c.counters.unchanged += 1;
      c.report.end(attempt, { status: 'unchanged', generation: c.generation, hash, ...QUIET }, (result) => {
        if (c.events.has('unchanged')) c.events.emit('unchanged', { unit: c.name, ...c.keyFields(key), hash, trigger: attempt.trigger, durationMs: result.durationMs, result });
      });
      return { status: 'unchanged', entry: current };
    }
    const previous = c.generation;
    const entry = new CacheEntry<V>(key, value, ++c.generation);
    const { replaced, evicted } = c.lru.set(entry, now);
    c.counters.committed += 1;
    c.lastCommitAt = now;
    c.report.end(attempt, { status: 'committed', generation: c.generation, previous: previous > 0 ? previous : undefined, hash, ...QUIET }, (result) => {
      if (!c.events.has('committed')) return;
      const previousHash = replaced && c.valueHash(replaced.value);
      c.events.emit('committed', { unit: c.name, ...c.keyFields(key), hash, previousHash, generation: entry.generation, trigger: attempt.trigger, durationMs: result.durationMs, result });
    });
    if (replaced !== undefined) c.retire(replaced, 'replaced');
    for (const old of evicted) {
      c.counters.evictions += 1;
      c.retire(old, 'lru');
    }
    return { status: 'committed', entry };
  }

  private reject(attempt: Attempt, key: string, thrown: unknown, fallback: Stage): Outcome<V> {
    const c = this.c;
    const error = (thrown instanceof Error ? thrown : new Error(String(thrown))) as Error & { code?: string };
    const stage: Stage = (error instanceof ReloadkitError && error.stage) || fallback;
    const kept = c.lru.peek(key);
    // An invalid or failed candidate never replaces a valid entry: keep it, mark it failing.
    if (kept !== undefined) kept.failure = { at: c.clock.now(), stage, error };
    c.counters.rejected += 1;
    const keyHash = c.keyHash(key);
    const hash = kept !== undefined && c.report.audit.active ? c.valueHash(kept.value) : undefined;
    c.report.end(attempt, { status: 'rejected', generation: c.generation, stage, error, hash, detail: { keyHash, servingStale: kept !== undefined } }, (result) => {
      c.events.emit('rejected', { unit: c.name, ...c.keyFields(key), stage, error, stale: kept !== undefined, trigger: attempt.trigger, result });
    });
    return { status: 'rejected', stage, error, entry: kept };
  }
}
