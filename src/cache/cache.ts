/**
 * `ReloadableCache`: per-key generations with the unit's guarantees. Each entry goes through
 * load (retry, timeout) → validate → dedupe by hash before it replaces the previous one; one load
 * per key at a time (single flight); stale-while-revalidate and serve-stale-on-error; targeted
 * invalidation (drop or refresh in place); bounded LRU with drain-then-dispose.
 *
 * Hit path: `get(key)` on a fresh entry is one map lookup, an LRU bump, one clock read (skipped
 * when there is no TTL) and `Promise.resolve(value)`; `getSync(key)` is the same without the promise.
 *
 * @module
 */
import { AbortedError, ClosedError, errorInfo, ReloadkitError } from '../errors.js';
import { keyHash as hashKey } from './key-hash.js';
import { ATTACH_AUDIT, type AuditAttachable } from '../core/internal.js';
import type { AuditSink, Clock, Hint, LastAttempt, RegistryMember, ReloadOptions, ReloadResult, Stage, TriggerInfo } from '../types.js';
import { realClock } from '../support/clock.js';
import { SafeEmitter } from '../core/emitter.js';
import { CacheEntry } from './entry.js';
import { runEntryPipeline, type Candidate, type PipelineConfig } from './entry-pipeline.js';
import { covers, gapOfHint, keysOfHint, normalizeSelection, parseInvalidateOptions, parseTarget, startInvalidation, type KeyTargets } from './invalidation.js';
import { Lru } from './lru.js';
import { CacheAudit } from './audit-fanout.js';
import type { ResolvedCacheOptions } from './options.js';
import { Retirer } from './retire.js';
import { SingleFlight, type Flight } from './single-flight.js';
import type {
  CacheEntryInfo,
  CacheEventName,
  CacheEvents,
  CacheLease,
  CacheReloadResult,
  CacheStats,
  CacheStatus,
  InvalidateOptions,
  HintGap,
  InvalidationMode,
  InvalidationScope,
  InvalidationTarget,
} from './types.js';

/** What one load ended with. `superseded`: an invalidation overtook it; its waiters ask again. */
type Outcome<V> =
  | { status: 'committed' | 'unchanged'; entry: CacheEntry<V> }
  | { status: 'rejected'; stage: Stage; error: Error & { code?: string }; entry: CacheEntry<V> | undefined }
  | { status: 'superseded' };

interface RefreshCounts {
  committed: number;
  unchanged: number;
  rejected: number;
  first?: { stage: Stage; error: Error & { code?: string } };
}

/** How many times a waiter re-asks after its flight was superseded before giving up. */
const MAX_ROUNDS = 8;

const valueOf = <V>(entry: CacheEntry<V>): V => entry.value;

/**
 * A reloadable cache (see `reloadableCache()` for options and an example). A `RegistryMember`.
 */
export class ReloadableCache<V> implements RegistryMember, AuditAttachable {
  readonly name: string;
  private readonly events: SafeEmitter<CacheEvents>;
  private readonly o: ResolvedCacheOptions<V>;
  private readonly clock: Clock;
  private readonly noTtl: boolean;
  /** With the real clock, the hit path reuses one clock reading for up to 1 ms (see `hitNow`). */
  private readonly coarseClock: boolean;
  private cachedNow = 0;
  private readonly forgetNow = (): void => {
    this.cachedNow = 0;
  };
  private readonly lru: Lru<CacheEntry<V>>;
  private readonly flights: SingleFlight<Outcome<V>>;
  private readonly retirer: Retirer<V>;
  private readonly pipeline: PipelineConfig<V>;
  private readonly auditTrail: CacheAudit;
  private state: 'initializing' | 'ready' | 'closed' = 'initializing';
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private stopInvalidations: Array<() => Promise<void>> = [];
  private generation = 0;
  private lastCommitAt: number | null = null;
  private lastAttempt: LastAttempt | null = null;
  private attempts = 0;
  private drainWaiters: Array<() => void> = [];
  // Hit-path counters are plain fields (one store, no nested object); the rest live in `counters`.
  private hits = 0;
  private misses = 0;
  private staleServes = 0;
  private readonly counters = {
    committed: 0,
    unchanged: 0,
    rejected: 0,
    drop: 0,
    refresh: 0,
    evictions: 0,
    disposals: 0,
  };

  constructor(options: ResolvedCacheOptions<V>) {
    // A throwing listener becomes an `error` event; one on `error` itself has nowhere left to go.
    this.events = new SafeEmitter<CacheEvents>((error, event) => {
      if (event !== 'error') this.reportError(asError(error), `listener:${String(event)}`);
    });
    this.o = options;
    this.name = options.name;
    this.clock = options.clock;
    this.noTtl = options.ttlMs === Infinity;
    this.coarseClock = options.clock === realClock;
    this.lru = new Lru(options.max);
    this.flights = new SingleFlight<Outcome<V>>(() => options.clock.now());
    this.auditTrail = new CacheAudit(options.name, () => options.clock.now(), (error) => this.reportError(error, 'audit'));
    if (options.audit) this.auditTrail.attach(options.audit);
    this.pipeline = {
      unit: options.name,
      load: options.load,
      schema: options.schema,
      validate: options.validate,
      hash: options.hash,
      retry: options.retry,
      loadTimeoutMs: options.loadTimeoutMs,
      clock: options.clock,
    };
    this.retirer = new Retirer<V>(options.name, options.clock, options.drainMs, options.disposeTimeoutMs, options.dispose, {
      onDisposed: (entry) => {
        this.counters.disposals += 1;
        this.emit('disposed', { unit: this.name, keyHash: entry.keyHash, hash: entry.hash });
        if (this.retirer.draining.size === 0) this.wakeDrainWaiters();
      },
      onDrainTimeout: (entry, leases) => {
        this.emit('drain-timeout', { unit: this.name, keyHash: entry.keyHash, hash: entry.hash, leases });
      },
      onError: (error, where) => this.reportError(error, where),
    });
  }

  // -------------------------------------------------------------------------------------------
  // Events

  /** Subscribes to a typed event (listeners that throw are reported as `error` events). */
  on<E extends CacheEventName>(event: E, fn: (...args: CacheEvents[E]) => void): this {
    this.events.on(event, fn);
    return this;
  }

  once<E extends CacheEventName>(event: E, fn: (...args: CacheEvents[E]) => void): this {
    this.events.once(event, fn);
    return this;
  }

  off<E extends CacheEventName>(event: E, fn?: (...args: CacheEvents[E]) => void): this {
    this.events.off(event, fn);
    return this;
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  /**
   * The value for `key`: fresh entries at once; stale ones at once while they refresh in the
   * background; missing or expired ones after one shared load. Rejects with the load's
   * `ReloadkitError` when nothing valid can be served.
   *
   * @example
   * ```ts
   * const user = await users.get('user:42');
   * ```
   */
  get(key: string): Promise<V> {
    const entry = this.lru.get(key);
    if (entry !== undefined && entry.failure === undefined && (this.noTtl || this.hitNow() < entry.staleAt)) {
      this.hits += 1;
      return Promise.resolve(entry.value);
    }
    return this.entryFor(key, entry !== undefined).then(valueOf);
  }

  /**
   * Synchronous hit path: the value of a present entry that may be served now (fresh, inside its
   * stale-while-revalidate window, or kept after a failed refresh), else `undefined`. Never waits
   * and never loads a missing key; a stale entry starts its background refresh as `get` would.
   *
   * @example
   * ```ts
   * const user = users.getSync('user:42') ?? (await users.get('user:42'));
   * ```
   */
  getSync(key: string): V | undefined {
    const entry = this.lru.get(key);
    if (entry === undefined) {
      this.misses += 1;
      return undefined;
    }
    if (entry.failure === undefined && (this.noTtl || this.hitNow() < entry.staleAt)) {
      this.hits += 1;
      return entry.value;
    }
    const now = this.clock.now();
    if (this.servableStale(entry, now)) {
      this.staleServes += 1;
      this.maybeRefreshInBackground(entry, now);
      return entry.value;
    }
    this.misses += 1;
    return undefined;
  }

  /**
   * Runs `fn(value)` holding a lease on the key's entry: the entry is not disposed (even if it is
   * evicted, replaced or invalidated meanwhile) until `fn` settles or the drain timeout fires.
   *
   * @example
   * ```ts
   * const rows = await clients.use('tenant:7', (client) => client.query('select 1'));
   * ```
   */
  async use<X>(key: string, fn: (value: V) => X | Promise<X>): Promise<X> {
    const lease = await this.acquire(key);
    try {
      return await fn(lease.value);
    } finally {
      lease.release();
    }
  }

  /**
   * A lease on the key's entry (loading it if needed). Release it (or `using` it) when done.
   *
   * @example
   * ```ts
   * using lease = await clients.acquire('tenant:7');
   * await lease.value.query('select 1');
   * ```
   */
  async acquire(key: string): Promise<CacheLease<V>> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const entry = await this.entryFor(key, this.lru.has(key));
      // The entry may have been retired and disposed between its load and this continuation.
      if (entry.disposed) continue;
      entry.leases += 1;
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        this.retirer.released(entry);
      };
      return { value: entry.value, key, hash: entry.hash, release, [Symbol.dispose]: release };
    }
    throw new ReloadkitError('RELOADKIT_CONFLICT', `[${this.name}] could not lease key ${hashKey(key)}: it was replaced ${MAX_ROUNDS} times in a row`, { unit: this.name });
  }

  /** True when `key` has an entry (fresh or stale); does not count as a hit or touch recency. */
  has(key: string): boolean {
    return this.lru.has(key);
  }

  /** Number of entries. */
  get size(): number {
    return this.lru.size;
  }

  /** The entry's hashes and times (never its value), without touching recency. */
  inspect(key: string): CacheEntryInfo | undefined {
    return this.lru.peek(key)?.info();
  }

  /**
   * Counters since creation and current sizes (what the Prometheus extension reads).
   *
   * @example
   * ```ts
   * const { hits, misses } = users.stats();
   * ```
   */
  stats(): CacheStats {
    const { stale } = this.scan();
    const c = this.counters;
    return {
      hits: this.hits,
      misses: this.misses,
      staleServes: this.staleServes,
      loads: { committed: c.committed, unchanged: c.unchanged, rejected: c.rejected },
      invalidations: { drop: c.drop, refresh: c.refresh },
      evictions: c.evictions,
      disposals: c.disposals,
      size: this.lru.size,
      stale,
      inflight: this.flights.size,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Invalidation and reload

  /**
   * Invalidates one key or every key with a prefix: `drop` removes the entries (the next `get`
   * loads), `refresh` reloads them in place (readers keep the old value until the new one
   * commits; a failed refresh keeps the old entry, marked stale). In-flight loads that began
   * before the call are superseded. Resolves when done (for `refresh`: when reloaded).
   *
   * @throws {TypeError} for an invalid target or options; rejects with `ClosedError` after `close()`.
   * @example
   * ```ts
   * await users.invalidate('user:42', { mode: 'refresh', actor: 'alice', reason: 'profile edit' });
   * await users.invalidate({ prefix: 'user:' }, { mode: 'drop' });
   * ```
   */
  async invalidate(target: InvalidationTarget, opts?: InvalidateOptions): Promise<{ invalidated: number }> {
    const parsed = parseTarget(target);
    const o = parseInvalidateOptions(opts);
    this.assertOpen();
    if (parsed.scope === 'key') return this.invalidateKeys([parsed.key], o, 'key', { keyHash: hashKey(parsed.key) });
    if (parsed.scope === 'loaded-before') {
      const { loadedBefore } = parsed;
      return this.invalidateKeys(this.keysLoadedBefore(loadedBefore), o, 'loaded-before', { loadedBefore });
    }
    const prefix = parsed.prefix;
    return this.invalidateKeys(this.presentKeys((k) => k.startsWith(prefix)), o, 'prefix', { prefixHash: hashKey(prefix) });
  }

  /**
   * Applies one hint as an invalidation trigger would (see `invalidationTrigger`): the hint's
   * `keys`, `prefix` or `all` are invalidated with `mode`, and a `gap` is repaired by `onGap`.
   * Resolves when done.
   *
   * @example
   * ```ts
   * await users.applyHint({ kind: 'bus', keys: ['user:42'], gap: { since, reason: 'reconnect' } }, { mode: 'refresh' });
   * ```
   */
  async applyHint(hint: Hint, opts?: InvalidateOptions): Promise<void> {
    if (hint === null || typeof hint !== 'object') throw new TypeError(`Expected a hint object, got ${hint === null ? 'null' : typeof hint}.`);
    const o = parseInvalidateOptions(opts);
    this.assertOpen();
    const kind = typeof hint.kind === 'string' ? hint.kind : 'hint';
    await this.applyTargets(normalizeSelection(keysOfHint(hint)), gapOfHint(hint), { trigger: { kind }, ...o });
  }

  /** The invalidation binding's entry point: the hint's own targets first, then the gap repair. */
  async applyTargets(targets: KeyTargets | 'all', gap: HintGap | undefined, o: InvalidateOptions & { mode: InvalidationMode }): Promise<void> {
    if (this.state === 'closed') return;
    const work: Array<Promise<unknown>> = [];
    if (targets === 'all') work.push(this.invalidateKeys(this.presentKeys(() => true), o, 'all', {}));
    else {
      for (const t of targets) {
        if (t.scope === 'key') work.push(this.invalidateKeys([t.key], o, 'key', { keyHash: hashKey(t.key) }));
        else work.push(this.invalidateKeys(this.presentKeys((k) => k.startsWith(t.prefix)), o, 'prefix', { prefixHash: hashKey(t.prefix) }));
      }
    }
    // Keys the hint itself names are already being invalidated: the repair skips them (one load per key).
    if (gap !== undefined) work.push(this.repairGap(gap, (key) => covers(targets, key), o));
    await Promise.all(work);
  }

  /** `onGap`: what might have been missed since `gap.since` is refreshed, dropped, or handed to the user. */
  private async repairGap(gap: HintGap, covered: (key: string) => boolean, o: InvalidateOptions): Promise<void> {
    const policy = this.o.onGap;
    if (typeof policy === 'function') {
      try {
        await policy(gap);
      } catch (error) {
        this.reportError(asError(error), 'onGap');
      }
      return;
    }
    const opts = { ...o, reason: `gap ${gap.reason}` };
    if (policy === 'refresh-stale') {
      const keys = this.keysLoadedBefore(gap.since).filter((key) => !covered(key));
      await this.invalidateKeys(keys, { ...opts, mode: 'refresh' }, 'loaded-before', { loadedBefore: gap.since, gap: gap.reason });
      return;
    }
    const keys = this.presentKeys((key) => !covered(key));
    await this.invalidateKeys(keys, { ...opts, mode: policy === 'drop-all' ? 'drop' : 'refresh' }, 'all', { gap: gap.reason });
  }

  /**
   * Invalidates every key (see `invalidate`).
   *
   * @example
   * ```ts
   * await users.invalidateAll({ mode: 'drop', actor: 'ops', reason: 'schema migration' });
   * ```
   */
  async invalidateAll(opts?: InvalidateOptions): Promise<{ invalidated: number }> {
    const o = parseInvalidateOptions(opts);
    this.assertOpen();
    return this.invalidateKeys(this.presentKeys(() => true), o, 'all', {});
  }

  /**
   * Refreshes every present key in place (a `RegistryMember`'s reload). Never rejects for load or
   * validation failures: they are counted in `keys.rejected`, the keys keep their stale entries.
   * `force: true` commits new entries even when a key's content hash is unchanged.
   *
   * @example
   * ```ts
   * const result = await users.reload({ reason: 'nightly', actor: 'cron' });
   * result.keys; // { total, committed, unchanged, rejected }
   * ```
   */
  async reload(opts: ReloadOptions = {}): Promise<CacheReloadResult> {
    this.assertOpen();
    if (opts.signal?.aborted) throw new AbortedError(`[${this.name}] reload aborted before it started`, { unit: this.name });
    const startedAt = this.clock.now();
    const previous = this.generation;
    const trigger = opts.trigger ?? { kind: 'manual' };
    const keys = [...this.lru.keys()];
    const counts = await this.refreshKeys(keys, trigger, opts.force === true);
    const status: ReloadResult['status'] = counts.rejected > 0 ? 'rejected' : counts.committed > 0 ? 'committed' : 'unchanged';
    const result: CacheReloadResult = {
      id: ++this.attempts,
      unit: this.name,
      status,
      ok: status !== 'rejected',
      generation: this.generation,
      durationMs: this.clock.now() - startedAt,
      keys: { total: keys.length, committed: counts.committed, unchanged: counts.unchanged, rejected: counts.rejected },
    };
    if (previous > 0) result.previous = previous;
    if (counts.first) {
      result.stage = counts.first.stage;
      result.error = counts.first.error;
    }
    this.auditTrail.write({
      action: 'reload',
      trigger,
      actor: opts.actor,
      reason: opts.reason,
      startedAt,
      outcome: status,
      from: previous,
      to: this.generation,
      stage: counts.first?.stage,
      error: counts.first ? errorInfo(counts.first.error) : undefined,
      detail: { keys: keys.length, committed: counts.committed, unchanged: counts.unchanged, rejected: counts.rejected },
    });
    return result;
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle

  /**
   * Starts the `invalidateOn` triggers and sources (watch before read). Idempotent; reads work
   * before it too (entries load lazily).
   *
   * @example
   * ```ts
   * await users.start(); // or registry.start()
   * ```
   */
  start(): Promise<void> {
    if (this.state === 'closed') return Promise.reject(new ClosedError(`[${this.name}] cache is closed`, { unit: this.name }));
    this.startPromise ??= this.doStart().catch((error: unknown) => {
      this.startPromise = undefined;
      throw error;
    });
    return this.startPromise;
  }

  /**
   * Stops triggers, aborts loads, retires every entry, waits for leases (up to the drain timeout)
   * and for every dispose. Idempotent.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => void users.close());
   * ```
   */
  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  /**
   * JSON-safe status: sizes, counters and hashes; never keys or values.
   *
   * @example
   * ```ts
   * users.status(); // { name: 'users', kind: 'cache', state: 'ready', size: 812, stale: 3, failing: 0, hits: 90211, ... }
   * ```
   */
  status(): CacheStatus {
    const { stale, failing, leases } = this.scan();
    let drainingLeases = 0;
    for (const entry of this.retirer.draining) drainingLeases += entry.leases;
    const state = this.state === 'closed' ? 'closed' : this.state === 'initializing' ? 'initializing' : failing > 0 ? 'degraded' : 'ready';
    const out: CacheStatus = {
      name: this.name,
      kind: 'cache',
      state,
      generation: this.generation,
      hash: null,
      committedAt: this.lastCommitAt,
      lastAttempt: this.lastAttempt,
      leases: leases + drainingLeases,
      draining: this.retirer.draining.size,
      size: this.lru.size,
      max: this.o.max,
      stale,
      failing,
      hits: this.hits,
      misses: this.misses,
      staleServes: this.staleServes,
      inflight: this.flights.size,
    };
    if (state === 'degraded') out.reason = `${failing} ${failing === 1 ? 'entry is' : 'entries are'} served stale after a failed refresh`;
    return out;
  }

  /** Adds an audit sink (a registry's); returns the detach function. */
  [ATTACH_AUDIT](sink: AuditSink): () => void {
    return this.auditTrail.attach(sink);
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  /** Slow path of reads: stale, expired and missing entries. */
  private async entryFor(key: string, present: boolean): Promise<CacheEntry<V>> {
    if (typeof key !== 'string') throw new TypeError(`Expected the cache key to be a string, got ${key === null ? 'null' : typeof key}.`);
    let counted = false;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      this.assertOpen();
      const entry = this.lru.get(key);
      const now = this.clock.now();
      if (entry !== undefined) {
        if (!entry.isStale(now)) {
          if (!counted) this.hits += 1;
          return entry;
        }
        if (this.servableStale(entry, now)) {
          if (!counted) this.staleServes += 1;
          this.maybeRefreshInBackground(entry, now);
          return entry;
        }
        // Expired with no failure on record (or stale serving disabled): wait for a refresh.
        if (entry.failure !== undefined && now < entry.failure.at + this.o.errorBackoffMs) throw entry.failure.error;
      }
      if (!counted) this.misses += 1;
      counted = true;
      const trigger: TriggerInfo = { kind: entry !== undefined || present ? 'expired' : 'miss' };
      const outcome = await this.flights.join(key, (flight) => this.runLoad(key, flight, trigger, false)).promise;
      if (outcome.status === 'superseded') continue;
      if (outcome.status !== 'rejected') return outcome.entry;
      const kept = this.lru.peek(key);
      if (kept !== undefined && this.o.serveStaleOnError) {
        this.staleServes += 1;
        return kept;
      }
      throw outcome.error;
    }
    throw new ReloadkitError('RELOADKIT_CONFLICT', `[${this.name}] key ${hashKey(key)} was invalidated ${MAX_ROUNDS} times while loading`, { unit: this.name });
  }

  /**
   * The time the hit path checks freshness against. A clock reading costs more than the rest of a
   * hit on some machines (80–130 ns here), so with the real clock one reading is reused for up to
   * 1 ms, as lru-cache's `ttlResolution` does; an injected clock is read every time.
   */
  private hitNow(): number {
    if (!this.coarseClock) return this.clock.now();
    let now = this.cachedNow;
    if (now === 0) {
      now = this.cachedNow = Date.now();
      setTimeout(this.forgetNow, 1).unref();
    }
    return now;
  }

  /** Inside the SWR window, or kept after a failed refresh (when serving stale on error). */
  private servableStale(entry: CacheEntry<V>, now: number): boolean {
    return now < entry.expiresAt || (entry.failure !== undefined && this.o.serveStaleOnError);
  }

  private maybeRefreshInBackground(entry: CacheEntry<V>, now: number): void {
    if (this.state === 'closed') return;
    if (entry.failure !== undefined && now < entry.failure.at + this.o.errorBackoffMs) return;
    // Outcomes never reject: failures are reported by runLoad (events, audit, status).
    this.flights.join(entry.key, (flight) => this.runLoad(entry.key, flight, { kind: 'stale' }, false));
  }

  /** One flight: the entry pipeline, then commit, dedupe or reject. Never rejects. */
  private async runLoad(key: string, flight: Flight<Outcome<V>>, trigger: TriggerInfo, force: boolean): Promise<Outcome<V>> {
    const startedAt = this.clock.now();
    const keyHash = hashKey(key);
    const previous = this.lru.peek(key);
    let candidate: Candidate<V>;
    try {
      candidate = await runEntryPipeline(this.pipeline, key, { signal: flight.controller.signal, previous: previous?.info(), trigger }, keyHash);
    } catch (error) {
      if (flight.superseded || this.state === 'closed') return { status: 'superseded' };
      return this.reject(key, keyHash, error, trigger, startedAt);
    }
    if (flight.superseded || this.state === 'closed') return { status: 'superseded' };
    return this.commit(key, keyHash, candidate, trigger, startedAt, force);
  }

  private commit(key: string, keyHash: string, candidate: Candidate<V>, trigger: TriggerInfo, startedAt: number, force: boolean): Outcome<V> {
    const now = this.clock.now();
    const current = this.lru.peek(key);
    const durationMs = now - startedAt;
    if (current !== undefined && !force && current.hash === candidate.hash) {
      // Same content: keep the entry (and its leases), restart its freshness; no dispose.
      current.renew(now, this.o.ttlMs, this.o.swrMs);
      this.counters.unchanged += 1;
      this.lastAttempt = { at: now, outcome: 'unchanged' };
      const result = this.resultOf('unchanged', durationMs);
      this.emit('unchanged', { unit: this.name, keyHash, hash: current.hash, trigger, durationMs, result });
      return { status: 'unchanged', entry: current };
    }
    const previousGeneration = this.generation;
    const entry = new CacheEntry<V>(key, keyHash, candidate.value, candidate.hash, ++this.generation, now, this.o.ttlMs, this.o.swrMs);
    const { replaced, evicted } = this.lru.set(entry);
    this.counters.committed += 1;
    this.lastCommitAt = now;
    this.lastAttempt = { at: now, outcome: 'committed' };
    const result = this.resultOf('committed', durationMs, previousGeneration);
    this.emit(
      'committed',
      { unit: this.name, keyHash, hash: entry.hash, previousHash: replaced?.hash, generation: entry.generation, trigger, durationMs, result },
    );
    if (replaced !== undefined) this.retire(replaced, 'replaced');
    for (const old of evicted) {
      this.counters.evictions += 1;
      this.retire(old, 'lru');
    }
    return { status: 'committed', entry };
  }

  private reject(key: string, keyHash: string, thrown: unknown, trigger: TriggerInfo, startedAt: number): Outcome<V> {
    const error = asError(thrown) as Error & { code?: string };
    const stage: Stage = error instanceof ReloadkitError && error.stage !== undefined ? error.stage : 'load';
    const now = this.clock.now();
    const kept = this.lru.peek(key);
    // An invalid or failed candidate never replaces a valid entry: keep it, mark it failing.
    if (kept !== undefined) kept.failure = { at: now, stage, error };
    this.counters.rejected += 1;
    this.lastAttempt = { at: now, outcome: 'rejected', stage, error: errorInfo(error) };
    const result = this.resultOf('rejected', now - startedAt, undefined, stage, error);
    this.emit('rejected', { unit: this.name, keyHash, stage, error, stale: kept !== undefined, trigger, result });
    this.auditTrail.write({
      action: 'reload',
      trigger,
      startedAt,
      outcome: 'rejected',
      hash: kept?.hash,
      stage,
      error: errorInfo(error),
      detail: { keyHash, servingStale: kept !== undefined },
    });
    return { status: 'rejected', stage, error, entry: kept };
  }

  /** A unit-shaped result for event consumers written against unit events (metrics). */
  private resultOf(status: ReloadResult['status'], durationMs: number, previous?: number, stage?: Stage, error?: Error): ReloadResult {
    const result: ReloadResult = { id: ++this.attempts, unit: this.name, status, ok: status !== 'rejected', generation: this.generation, durationMs };
    if (previous !== undefined && previous > 0) result.previous = previous;
    if (stage !== undefined) result.stage = stage;
    if (error !== undefined) result.error = error;
    return result;
  }

  private retire(entry: CacheEntry<V>, reason: CacheEvents['evicted'][0]['reason']): void {
    this.emit('evicted', { unit: this.name, keyHash: entry.keyHash, hash: entry.hash, reason });
    this.retirer.retire(entry);
  }

  private async invalidateKeys(
    keys: string[],
    o: InvalidateOptions & { mode: InvalidationMode },
    scope: InvalidationScope,
    detail: Record<string, string | number>,
  ): Promise<{ invalidated: number }> {
    const startedAt = this.clock.now();
    let invalidated = 0;
    let counts: RefreshCounts = { committed: 0, unchanged: 0, rejected: 0 };
    const trigger = o.trigger ?? { kind: 'invalidate' };
    if (o.mode === 'drop') {
      for (const key of keys) {
        const hadFlight = this.flights.supersede(key);
        const entry = this.lru.delete(key);
        if (entry !== undefined) this.retire(entry, 'invalidated');
        if (hadFlight || entry !== undefined) invalidated += 1;
      }
      this.counters.drop += invalidated;
    } else {
      const present = keys.filter((key) => this.lru.has(key) || this.flights.get(key) !== undefined);
      invalidated = present.length;
      this.counters.refresh += invalidated;
      counts = await this.refreshKeys(present, trigger, false);
    }
    this.emit('invalidated', { unit: this.name, mode: o.mode, scope, invalidated, actor: o.actor, reason: o.reason });
    const outcome: ReloadResult['status'] = counts.rejected > 0 ? 'rejected' : invalidated > 0 ? 'committed' : 'unchanged';
    this.auditTrail.write({
      action: 'invalidate',
      trigger,
      actor: o.actor,
      reason: o.reason,
      startedAt,
      outcome,
      stage: counts.first?.stage,
      error: counts.first ? errorInfo(counts.first.error) : undefined,
      detail: {
        mode: o.mode,
        scope,
        ...detail,
        invalidated,
        ...(o.mode === 'refresh' ? { committed: counts.committed, unchanged: counts.unchanged, rejected: counts.rejected } : {}),
      },
    });
    return { invalidated };
  }

  /** Reloads `keys` in place with bounded parallelism; flights that began earlier are superseded. */
  private async refreshKeys(keys: string[], trigger: TriggerInfo, force: boolean): Promise<RefreshCounts> {
    const counts: RefreshCounts = { committed: 0, unchanged: 0, rejected: 0 };
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < keys.length) {
        const key = keys[next++] as string;
        if (this.state === 'closed') return;
        const outcome = await this.flights.replace(key, (flight) => this.runLoad(key, flight, trigger, force)).promise;
        if (outcome.status === 'committed') counts.committed += 1;
        else if (outcome.status === 'unchanged') counts.unchanged += 1;
        else if (outcome.status === 'rejected') {
          counts.rejected += 1;
          counts.first ??= { stage: outcome.stage, error: outcome.error };
        }
      }
    };
    const workers = Math.min(this.o.refreshConcurrency, keys.length);
    await Promise.all(Array.from({ length: workers }, worker));
    return counts;
  }

  /**
   * Keys whose newest data was loaded before `t`: by the start of their running load if there is
   * one (a load started at or after `t` brings data at least that fresh), else by their entry's
   * last successful load.
   */
  private keysLoadedBefore(t: number): string[] {
    const out: string[] = [];
    for (const entry of this.lru.values()) {
      const flight = this.flights.get(entry.key);
      if ((flight !== undefined ? flight.startedAt : entry.loadedAt) < t) out.push(entry.key);
    }
    for (const flight of this.flights.values()) if (!this.lru.has(flight.key) && flight.startedAt < t) out.push(flight.key);
    return out;
  }

  /** Keys with an entry or an in-flight load, filtered. */
  private presentKeys(match: (key: string) => boolean): string[] {
    const out = new Set<string>();
    for (const key of this.lru.keys()) if (match(key)) out.add(key);
    for (const key of this.flights.keys()) if (match(key)) out.add(key);
    return [...out];
  }

  private scan(): { stale: number; failing: number; leases: number } {
    const now = this.clock.now();
    let stale = 0;
    let failing = 0;
    let leases = 0;
    for (const entry of this.lru.values()) {
      if (entry.isStale(now)) stale += 1;
      if (entry.failure !== undefined) failing += 1;
      leases += entry.leases;
    }
    return { stale, failing, leases };
  }

  private async doStart(): Promise<void> {
    const stops: Array<() => Promise<void>> = [];
    try {
      for (const spec of this.o.invalidateOn) {
        stops.push(await startInvalidation(spec, this, (error, where) => this.reportError(error, where)));
      }
    } catch (error) {
      await Promise.allSettled(stops.map((stop) => stop()));
      throw error;
    }
    if (this.state === 'closed') {
      await Promise.allSettled(stops.map((stop) => stop()));
      throw new ClosedError(`[${this.name}] cache was closed while starting`, { unit: this.name });
    }
    this.stopInvalidations = stops;
    // A started cache serves (its empty state is its first generation): registries count a
    // member as ready once its generation is above 0, and an empty cache must not hold /ready at 503.
    if (this.generation === 0) this.generation = 1;
    this.state = 'ready';
  }

  private async doClose(): Promise<void> {
    // Synchronously first: from here on no read is served and no load commits.
    this.state = 'closed';
    for (const key of [...this.flights.keys()]) this.flights.supersede(key);
    for (const entry of this.lru.clear()) this.retire(entry, 'closed');
    if (this.startPromise) await this.startPromise.catch(() => undefined);
    const stops = this.stopInvalidations;
    this.stopInvalidations = [];
    for (const result of await Promise.allSettled(stops.map((stop) => stop()))) {
      if (result.status === 'rejected') this.reportError(asError(result.reason), 'trigger');
    }
    // Leased entries dispose when released or when their drain timeout fires.
    if (this.retirer.draining.size > 0) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    await this.retirer.settled();
  }

  private wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }

  private assertOpen(): void {
    if (this.state === 'closed') throw new ClosedError(`[${this.name}] cache is closed`, { unit: this.name });
  }

  private reportError(error: Error, where: string): void {
    this.events.emit('error', { unit: this.name, error, where });
  }

  private emit<E extends CacheEventName>(event: E, ...args: CacheEvents[E]): void {
    this.events.emit(event, ...args);
  }
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
