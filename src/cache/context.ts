/**
 * The state one cache's modules share: options, the per-key store (LRU), in-flight loads, the
 * core's lease tracker (each entry is a cell) and reporter, events and counters. The facade
 * (cache.ts), the loads (loads.ts) and the invalidations (invalidator.ts) all work on one of these.
 *
 * @module
 * @internal
 */
import { ClosedError, formatMessage } from '../errors.js';
import { LeaseTracker } from '../core/leases.js';
import { Reporter } from '../core/report.js';
import { SafeEmitter } from '../core/emitter.js';
import { safeMessage } from '../support/safe-message.js';
import type { Clock } from '../types.js';
import type { CacheEntry } from './entry.js';
import { keyHash } from './key-hash.js';
import { Lru } from './lru.js';
import type { ResolvedCacheOptions } from './options.js';
import { SingleFlight } from './single-flight.js';
import type { Outcome } from './loads.js';
import type { CacheEntryInfo, CacheEvents } from './types.js';

/** Why an entry left the cache. */
export type RetireReason = CacheEvents['evicted'][0]['reason'];

/**
 * Shared state of one cache.
 *
 * @example
 * ```ts
 * const ctx = new CacheContext(resolveCacheOptions({ name: 'users', load }));
 * ctx.lru.size; // 0
 * ```
 */
export class CacheContext<V> {
  readonly name: string;
  readonly o: ResolvedCacheOptions<V>;
  readonly clock: Clock;
  readonly events: SafeEmitter<CacheEvents>;
  readonly lru: Lru<CacheEntry<V>>;
  readonly flights: SingleFlight<Outcome<V>>;
  readonly leases: LeaseTracker<CacheEntry<V>>;
  readonly report: Reporter;
  /** Cache-wide commit counter. */
  generation = 0;
  lastCommitAt: number | null = null;
  started = false;
  closed = false;
  // Hit-path counters are plain fields (one store, no nested object); the rest live in `counters`.
  hits = 0;
  misses = 0;
  staleServes = 0;
  readonly counters = { committed: 0, unchanged: 0, rejected: 0, drop: 0, refresh: 0, evictions: 0, disposals: 0 };
  /** Value hashes of retired entries, kept only while someone listens for `disposed` / `drain-timeout`. */
  private readonly retiredHashes = new Map<CacheEntry<V>, string>();

  constructor(o: ResolvedCacheOptions<V>) {
    this.o = o;
    this.name = o.name;
    this.clock = o.clock;
    // A throwing listener becomes an `error` event; one on `error` itself has nowhere left to go.
    this.events = new SafeEmitter<CacheEvents>((error, event) => {
      if (event !== 'error') this.report.error(error, `listener:${String(event)}`);
    });
    this.report = new Reporter({ unit: o.name, clock: o.clock, emitError: (payload) => this.events.emit('error', payload) });
    if (o.audit) this.report.attachAudit(o.audit);
    this.lru = new Lru(o.max);
    this.flights = new SingleFlight<Outcome<V>>(() => o.clock.now());
    const dispose = o.dispose;
    this.leases = new LeaseTracker<CacheEntry<V>>({
      clock: o.clock,
      unit: o.name,
      drainMs: o.drainMs,
      disposeTimeoutMs: o.disposeTimeoutMs,
      dispose: dispose && ((entry) => dispose(entry.value, entry.key)),
      describe: (entry) => `key ${this.keyHash(entry.key)}`,
      onDisposed: (entry) => {
        this.counters.disposals += 1;
        const hash = this.retiredHashes.get(entry);
        this.retiredHashes.delete(entry);
        if (this.events.has('disposed')) this.events.emit('disposed', { unit: this.name, ...this.keyFields(entry.key), hash: hash ?? this.valueHash(entry.value) });
      },
      onDrainTimeout: (entry, leases) => {
        if (this.events.has('drain-timeout')) {
          this.events.emit('drain-timeout', { unit: this.name, ...this.keyFields(entry.key), hash: this.retiredHashes.get(entry) ?? this.valueHash(entry.value), leases });
        }
      },
      onError: (error, where) => this.report.error(error, where),
    });
  }

  /** How a key appears outside the process. */
  keyHash(key: string): string {
    return keyHash(key);
  }

  /** How an event names a key: its hash, and with `keys: 'plain'` the key too (in-process only). */
  keyFields(key: string): { keyHash: string; key?: string } {
    return this.o.plainKeys ? { keyHash: keyHash(key), key } : { keyHash: keyHash(key) };
  }

  /**
   * The content hash of an entry's value, derived when asked (never stored: two `sha256:` strings
   * per entry were most of a cache's memory). The value passed `hash` when it was loaded; a value
   * that no longer hashes (disposed, mutated into a cycle) reads as `unknown`.
   */
  valueHash(value: V): string {
    try {
      const hash = this.o.hash(value);
      return typeof hash === 'string' && hash !== '' ? hash : 'unknown';
    } catch {
      return 'unknown';
    }
  }

  /** The serializable description of a live entry: hashes and times, never the key or the value. */
  info(entry: CacheEntry<V>): CacheEntryInfo {
    const loadedAt = this.lru.stampOf(entry.key) ?? 0;
    const staleAt = loadedAt + this.o.ttlMs;
    return {
      keyHash: this.keyHash(entry.key),
      hash: this.valueHash(entry.value),
      generation: entry.generation,
      loadedAt,
      staleAt,
      expiresAt: staleAt + this.o.swrMs,
      failing: entry.failure !== undefined,
      leases: entry.leases,
    };
  }

  /** The entry left the cache: reported, then drained and disposed by the lease tracker. */
  retire(entry: CacheEntry<V>, reason: RetireReason): void {
    const listened = this.events.has('evicted') || this.events.has('disposed') || this.events.has('drain-timeout');
    // Hash it while the value is intact: a `dispose` may leave it unhashable.
    const hash = listened ? this.valueHash(entry.value) : '';
    if (this.events.has('evicted')) this.events.emit('evicted', { unit: this.name, ...this.keyFields(entry.key), hash, reason });
    if (listened) this.retiredHashes.set(entry, hash);
    this.leases.retire(entry);
  }

  /** Entries past their TTL or failing, and failing ones (for status and stats). */
  scan(): { stale: number; failing: number } {
    const now = this.clock.now();
    const ttl = this.o.ttlMs;
    let stale = 0;
    let failing = 0;
    this.lru.forEach((entry, loadedAt) => {
      if (entry.failure !== undefined) {
        failing += 1;
        stale += 1;
      } else if (now >= loadedAt + ttl) stale += 1;
    });
    return { stale, failing };
  }

  /** A contained failure: an `error` event, never thrown. */
  reportError(error: unknown, where: string): void {
    this.report.error(error instanceof Error ? error : new Error(safeMessage(error)), where);
  }

  /** The error of any call after `close()`, worded as the unit's. */
  closedError(what: string): ClosedError {
    return new ClosedError(formatMessage('closed', { unit: this.name }, `${what}() after close()`), { unit: this.name });
  }

  assertOpen(what: string): void {
    if (this.closed) throw this.closedError(what);
  }
}
