/**
 * `ReloadableCache`: per-key generations with the unit's guarantees, built on the core's seams:
 * the pipeline stages for each key's load (loads.ts), the lease tracker for drain-then-dispose of
 * entries (each entry is a cell), the reporter for results and audit, and the lifecycle's
 * `Watches` for invalidation triggers. What the cache keeps to itself is what differs from a unit:
 * its per-key store (a bounded LRU), single flight per key, and freshness.
 *
 * Hit path: `get(key)` on a fresh entry is one map lookup, an LRU bump, one clock read (skipped
 * when there is no TTL) and `Promise.resolve(value)`; `getSync(key)` is the same without the promise.
 *
 * @module
 */
import { AbortedError, ReloadkitError } from '../errors.js';
import { cacheLooked } from '../core/diagnostics.js';
import { defineMember } from '../core/member.js';
import { StartOnce } from '../core/lifecycle.js';
import { realClock } from '../support/clock.js';
import type { Hint, RegistryMember, ReloadOptions } from '../types.js';
import { CacheContext } from './context.js';
import { bindInvalidation, gapOfHint, keysOfHint, normalizeSelection, parseInvalidateOptions, parseTarget, type InvalidationBinding, type KeyTargets } from './invalidation.js';
import { Invalidator, type ResolvedInvalidate } from './invalidator.js';
import { EntryLease } from './entry-lease.js';
import { EntryLoads } from './loads.js';
import type { ResolvedCacheOptions } from './options.js';
import type {
  CacheEntryInfo,
  CacheEventName,
  CacheEvents,
  CacheLease,
  CacheReloadResult,
  CacheStats,
  CacheStatus,
  HintGap,
  InvalidateOptions,
  InvalidationTarget,
} from './types.js';

/** How many times `acquire` retries when the entry it got was retired before it could lease it. */
const MAX_LEASE_ROUNDS = 8;

/**
 * A reloadable cache (see `reloadableCache()` for options and an example). A `RegistryMember`.
 */
export class ReloadableCache<V> implements RegistryMember {
  readonly name: string;
  readonly #c: CacheContext<V>;
  readonly #loads: EntryLoads<V>;
  readonly #invalidator: Invalidator<V>;
  readonly #bindings: InvalidationBinding[];
  readonly #starting: StartOnce<void>;
  readonly #noTtl: boolean;
  readonly #ttlMs: number;
  /** With the real clock, the hit path reuses one clock reading for up to 1 ms (see `#hitNow`). */
  readonly #coarseClock: boolean;
  #cachedNow = 0;
  readonly #forgetNow = (): void => {
    this.#cachedNow = 0;
  };
  #closing: Promise<void> | undefined;
  #startCalled = false;

  constructor(options: ResolvedCacheOptions<V>) {
    const c = new CacheContext<V>(options);
    this.#c = c;
    this.name = options.name;
    this.#noTtl = options.ttlMs === Infinity;
    this.#ttlMs = options.ttlMs;
    this.#coarseClock = options.clock === realClock;
    this.#loads = new EntryLoads(c);
    this.#invalidator = new Invalidator(c, this.#loads);
    const target = { applyTargets: (targets: KeyTargets | 'all', gap: HintGap | undefined, o: ResolvedInvalidate) => this.#invalidator.targets(targets, gap, o) };
    this.#bindings = options.invalidateOn.map((spec) => bindInvalidation(spec, target, (error, where) => c.reportError(error, where)));
    this.#starting = new StartOnce(() => this.#start());
    defineMember(this, { attachAudit: (sink) => c.report.attachAudit(sink) });
  }

  // ─── events ──────────────────────────────────────────────────────────────────────────────

  /** Subscribes to a typed event (listeners that throw are reported as `error` events). */
  on<E extends CacheEventName>(event: E, fn: (...args: CacheEvents[E]) => void): this {
    this.#c.events.on(event, fn);
    return this;
  }

  once<E extends CacheEventName>(event: E, fn: (...args: CacheEvents[E]) => void): this {
    this.#c.events.once(event, fn);
    return this;
  }

  off<E extends CacheEventName>(event: E, fn?: (...args: CacheEvents[E]) => void): this {
    this.#c.events.off(event, fn);
    return this;
  }

  // ─── reads ───────────────────────────────────────────────────────────────────────────────

  /**
   * The value for `key`: fresh entries at once; stale ones at once while they refresh in the
   * background; missing or expired ones after one shared load (an expired entry whose refresh's
   * first attempt fails is answered with its stale value at once, the retries go on in the
   * background). Rejects with the load's `ReloadkitError` when nothing valid can be served.
   *
   * @example
   * ```ts
   * const user = await users.get('user:42');
   * ```
   */
  get(key: string): Promise<V> {
    const lru = this.#c.lru;
    const slot = lru.touch(key);
    if (slot >= 0) {
      const entry = lru.nodeAt(slot);
      if (entry.failure === undefined && (this.#noTtl || this.#hitNow() < lru.stampAt(slot) + this.#ttlMs)) {
        this.#c.hits += 1;
        cacheLooked(this.name, true, key, this.#c);
        return Promise.resolve(entry.value);
      }
    } else {
      if (typeof key !== 'string') return Promise.reject(new TypeError(`Expected the cache key to be a string, got ${key === null ? 'null' : typeof key}.`));
      // A stampede on a missing key: join the running load's shared promise straight away.
      const joined = this.#loads.joinMissing(key);
      if (joined !== undefined) return joined;
    }
    return this.#loads.read(key);
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
    const c = this.#c;
    const slot = c.lru.touch(key);
    if (slot < 0) {
      c.misses += 1;
      return undefined;
    }
    const entry = c.lru.nodeAt(slot);
    if (entry.failure === undefined && (this.#noTtl || this.#hitNow() < c.lru.stampAt(slot) + this.#ttlMs)) {
      c.hits += 1;
      return entry.value;
    }
    const now = c.clock.now();
    if (!c.closed && this.#loads.servableStale(entry, c.lru.stampAt(slot), now)) {
      c.staleServes += 1;
      this.#loads.refreshInBackground(entry, now);
      return entry.value;
    }
    c.misses += 1;
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
    const c = this.#c;
    for (let round = 0; round < MAX_LEASE_ROUNDS; round++) {
      const value = await this.get(key);
      // Lease the entry that holds this value now; it may have been replaced since the read.
      const entry = c.lru.peek(key);
      if (entry !== undefined && entry.value === value && !entry.retired) return new EntryLease(c, entry);
    }
    throw new ReloadkitError('RELOADKIT_CACHE_CHURN', `[${this.name}] could not lease key ${c.keyHash(key)}: it was replaced ${MAX_LEASE_ROUNDS} times in a row`, { unit: this.name });
  }

  /** True when `key` has an entry (fresh or stale); does not count as a hit or touch recency. */
  has(key: string): boolean {
    return this.#c.lru.has(key);
  }

  /** Number of entries. */
  get size(): number {
    return this.#c.lru.size;
  }

  /** The entry's hashes and times (never its value), without touching recency. */
  inspect(key: string): CacheEntryInfo | undefined {
    const entry = this.#c.lru.peek(key);
    return entry && this.#c.info(entry);
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
    const c = this.#c;
    const k = c.counters;
    return {
      hits: c.hits,
      misses: c.misses,
      staleServes: c.staleServes,
      loads: { committed: k.committed, unchanged: k.unchanged, rejected: k.rejected },
      invalidations: { drop: k.drop, refresh: k.refresh },
      evictions: k.evictions,
      disposals: k.disposals,
      size: c.lru.size,
      stale: this.#c.scan().stale,
      inflight: c.flights.size,
    };
  }

  // ─── invalidation and reload ─────────────────────────────────────────────────────────────

  /**
   * Invalidates one key, every key with a prefix, or every entry loaded before a time: `drop`
   * removes the entries (the next `get` loads), `refresh` reloads them in place (readers keep the
   * old value until the new one commits; a failed refresh keeps the old entry, marked stale).
   * In-flight loads that began before the call are superseded. Resolves when done (for
   * `refresh`: when reloaded).
   *
   * @throws {TypeError} for an invalid target or options; rejects with `ClosedError` after `close()`.
   * @example
   * ```ts
   * await users.invalidate('user:42', { mode: 'refresh', actor: 'alice', reason: 'profile edit' });
   * await users.invalidate({ prefix: 'user:' }, { mode: 'drop' });
   * await users.invalidate({ loadedBefore: outageStartedAt }, { mode: 'refresh' });
   * ```
   */
  async invalidate(target: InvalidationTarget, opts?: InvalidateOptions): Promise<{ invalidated: number }> {
    const parsed = parseTarget(target);
    const o = parseInvalidateOptions(opts);
    const c = this.#c;
    c.assertOpen('invalidate');
    const inv = this.#invalidator;
    if (parsed.scope === 'key') return inv.keys([parsed.key], o, 'key', { keyHash: c.keyHash(parsed.key) });
    if (parsed.scope === 'loaded-before') return inv.keys(inv.loadedBefore(parsed.loadedBefore), o, 'loaded-before', { loadedBefore: parsed.loadedBefore });
    const prefix = parsed.prefix;
    return inv.keys(inv.present((k) => k.startsWith(prefix)), o, 'prefix', { prefixHash: c.keyHash(prefix) });
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
    this.#c.assertOpen('invalidateAll');
    return this.#invalidator.keys(this.#invalidator.present(() => true), o, 'all', {});
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
    this.#c.assertOpen('applyHint');
    const kind = typeof hint.kind === 'string' ? hint.kind : 'hint';
    await this.#invalidator.targets(normalizeSelection(keysOfHint(hint)), gapOfHint(hint), { trigger: { kind }, ...o });
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
    const c = this.#c;
    c.assertOpen('reload');
    if (opts.signal?.aborted) throw new AbortedError(`[${this.name}] reload aborted before it started`, { unit: this.name });
    const attempt = c.report.begin('reload', opts.trigger ?? { kind: 'manual' }, { actor: opts.actor, reason: opts.reason });
    const previous = c.generation;
    const keys = [...c.lru.keys()];
    const counts = await this.#loads.refreshKeys(keys, attempt.trigger, opts.force === true);
    const status = counts.rejected > 0 ? 'rejected' : counts.committed > 0 ? 'committed' : 'unchanged';
    const tally = { total: keys.length, committed: counts.committed, unchanged: counts.unchanged, rejected: counts.rejected };
    const result = c.report.end(attempt, {
      status,
      generation: c.generation,
      previous: previous > 0 ? previous : undefined,
      stage: counts.first?.stage,
      error: counts.first?.error,
      detail: { keys: keys.length, committed: counts.committed, unchanged: counts.unchanged, rejected: counts.rejected },
    });
    return { ...result, keys: tally };
  }

  // ─── lifecycle ───────────────────────────────────────────────────────────────────────────

  /**
   * Starts the `invalidateOn` triggers and sources (watch before read). Idempotent; reads work
   * before it too (entries load lazily). A trigger that fails to start is an `error` event.
   *
   * @example
   * ```ts
   * await users.start(); // or registry.start()
   * ```
   */
  start(): Promise<void> {
    if (this.#c.closed) return Promise.reject(this.#c.closedError('start'));
    this.#startCalled = true;
    return this.#starting.run();
  }

  async #start(): Promise<void> {
    for (const binding of this.#bindings) await binding.start();
    if (this.#c.closed) {
      await Promise.all(this.#bindings.map((b) => b.stop()));
      throw this.#c.closedError('start');
    }
    this.#c.started = true;
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
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const c = this.#c;
    // Synchronously first: from here on no read is served and no load commits.
    c.closed = true;
    for (const key of [...c.flights.keys()]) c.flights.supersede(key);
    for (const entry of c.lru.clear()) c.retire(entry, 'closed');
    if (this.#startCalled) await this.#starting.run().catch(() => undefined);
    await Promise.all(this.#bindings.map((b) => b.stop()));
    // Leased entries dispose when released or when their drain timeout fires.
    await c.leases.settle();
  }

  /**
   * JSON-safe status: sizes, counters and hashes; never keys or values.
   *
   * @example
   * ```ts
   * users.status(); // { name: 'users', kind: 'cache', state: 'ready', ready: true, size: 812, stale: 3, failing: 0, hits: 90211, ... }
   * ```
   */
  status(): CacheStatus {
    const c = this.#c;
    const { stale, failing } = this.#c.scan();
    const state = c.closed ? 'closed' : !c.started ? 'initializing' : failing > 0 ? 'degraded' : 'ready';
    const out: CacheStatus = {
      name: this.name,
      kind: 'cache',
      state,
      ready: state === 'ready' || state === 'degraded',
      generation: c.generation,
      hash: null,
      committedAt: c.lastCommitAt,
      lastAttempt: c.report.lastAttempt,
      leases: c.leases.leases,
      draining: c.leases.draining,
      size: c.lru.size,
      max: c.o.max,
      stale,
      failing,
      hits: c.hits,
      misses: c.misses,
      staleServes: c.staleServes,
      inflight: c.flights.size,
    };
    if (state === 'degraded') out.reason = `${failing} ${failing === 1 ? 'entry is' : 'entries are'} served stale after a failed refresh`;
    return out;
  }

  // ─── internals ───────────────────────────────────────────────────────────────────────────

  /**
   * The time the hit path checks freshness against. A clock reading costs more than the rest of a
   * hit on some machines (80–130 ns here), so with the real clock one reading is reused for up to
   * 1 ms, as lru-cache's `ttlResolution` does; an injected clock is read every time.
   */
  #hitNow(): number {
    if (!this.#coarseClock) return this.#c.clock.now();
    let now = this.#cachedNow;
    if (now === 0) {
      now = this.#cachedNow = Date.now();
      setTimeout(this.#forgetNow, 1).unref();
    }
    return now;
  }

}
