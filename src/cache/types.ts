/**
 * Public types of `reloadkit/cache`: options, load context, events, status and stats of a
 * reloadable cache. Keys are strings (prefix invalidation and the HTTP admin routes need them);
 * everything that leaves the process (events' payloads meant for logs, status, audit) names a key
 * by its `keyHash` (`sha256:<hex>` of the key), never by the key itself and never by its value.
 *
 * @module
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { Options as PRetryOptions } from 'p-retry';
import type { AuditSink, Clock, Hint, ReloadResult, Source, Stage, Trigger, TriggerInfo, UnitStatus } from '../types.js';

/** What `load(key, ctx)` receives besides the key. */
export interface CacheLoadContext {
  /** Aborted when the load times out, is superseded by an invalidation, or the cache closes. */
  signal: AbortSignal;
  /** The entry being refreshed (hash and times, never its value); undefined on a miss. */
  previous: CacheEntryInfo | undefined;
  /** Why this load runs: `miss`, `stale`, `expired`, `invalidate`, `reload`, or a hint's kind. */
  trigger: TriggerInfo;
}

/** The serializable description of one entry: hashes and times only. */
export interface CacheEntryInfo {
  /** `sha256:<hex>` of the key. */
  keyHash: string;
  /** Content hash of the value (default `sha256:<hex>` of canonical JSON). */
  hash: string;
  /** Cache-wide commit counter at the time this entry was committed. */
  generation: number;
  loadedAt: number;
  /** After this instant the entry is stale: served, but refreshed in the background. */
  staleAt: number;
  /** After this instant a `get` waits for a refresh (and falls back to the stale value on error). */
  expiresAt: number;
  /** True when the entry's last refresh failed: it is served stale. */
  failing: boolean;
  leases: number;
}

/** Drop the entry (the next `get` loads again) or refresh it in place (readers keep the old value until the new one commits). */
export type InvalidationMode = 'drop' | 'refresh';

/** Options of `invalidate()` and `invalidateAll()`. */
export interface InvalidateOptions {
  /**
   * Drop the entries (the next read loads) or refresh them in place.
   *
   * @default 'drop'
   * @example
   * ```ts
   * await users.invalidate('user:42', { mode: 'refresh' });
   * ```
   */
  mode?: InvalidationMode;
  /**
   * Who asked, for the audit record.
   *
   * @default none
   * @example
   * ```ts
   * await users.invalidate({ prefix: 'user:' }, { actor: 'alice' });
   * ```
   */
  actor?: string;
  /**
   * Why, for the audit record.
   *
   * @default none
   * @example
   * ```ts
   * await users.invalidateAll({ reason: 'schema migration' });
   * ```
   */
  reason?: string;
  /**
   * What caused it, recorded in the audit record.
   *
   * @default `{ kind: 'invalidate' }`
   * @example
   * ```ts
   * await users.invalidate('user:42', { trigger: { kind: 'webhook' } });
   * ```
   */
  trigger?: TriggerInfo;
}

/**
 * What `invalidate(target)` accepts: one key, every key starting with `prefix`, or every entry
 * whose last successful load (committed or unchanged) happened before `loadedBefore` (epoch ms on
 * the cache's clock; a key whose load is running counts by the time that load started).
 */
export type InvalidationTarget = string | { prefix: string } | { loadedBefore: number };

/** What a hint's `gap` says: messages may have been lost since `since` (epoch ms). */
export type HintGap = NonNullable<Hint['gap']>;

/**
 * What a cache does when a hint says messages may have been lost (`hint.gap`):
 * - `'refresh-stale'`: refresh in place every entry loaded before `gap.since` (readers keep the old
 *   value until the new one commits; entries loaded after it are provably fresh and untouched);
 * - `'refresh-all'`: refresh every entry in place;
 * - `'drop-all'`: drop every entry (the next reads load);
 * - a function: called with the gap; the cache does nothing else (a throw is an `error` event).
 */
export type GapPolicy = 'refresh-stale' | 'refresh-all' | 'drop-all' | ((gap: HintGap) => void | Promise<void>);

/** What a hint maps to: keys, prefixes, `'all'`, or nothing (`null`/`undefined`/empty). */
export type KeySelection = string | { prefix: string } | 'all' | ReadonlyArray<string | { prefix: string }> | null | undefined;

/** Maps a hint from a trigger or source to the keys it affects. */
export type HintsToKeys = (hint: Hint) => KeySelection | Promise<KeySelection>;

/** Invalidation driven by a trigger or a source's watch (see `invalidationTrigger`). */
export interface InvalidationSpec {
  /**
   * Where hints come from: a `Trigger`, or a `Source` with `watch()`.
   *
   * @example
   * ```ts
   * invalidationTrigger({ from: redisChannelTrigger(sub, 'users-changed') });
   * ```
   */
  from: Trigger | Source<unknown>;
  /**
   * Maps a hint to the keys it affects. Without it, the hint's own `keys`, `prefix` and `all`
   * fields are used (what `publishInvalidation()` sends); a hint with none of them invalidates
   * nothing. A hint's `gap` is handled by the cache's `onGap` either way.
   *
   * @default the hint's `keys` / `prefix` / `all`
   * @example
   * ```ts
   * invalidationTrigger({ from: bus, hintsToKeys: (hint) => hint.detail?.split(',') ?? null });
   * ```
   */
  hintsToKeys?: HintsToKeys;
  /**
   * Drop the named entries or refresh them in place.
   *
   * @default 'drop'
   * @example
   * ```ts
   * invalidationTrigger({ from: bus, mode: 'refresh' });
   * ```
   */
  mode?: InvalidationMode;
  /**
   * Actor recorded in audit.
   *
   * @default `trigger:<hint kind>`
   * @example
   * ```ts
   * invalidationTrigger({ from: bus, actor: 'catalog-bus' });
   * ```
   */
  actor?: string;
}

/** Options of `reloadableCache()`. `V` is the validated value of one entry. */
export interface ReloadableCacheOptions<V> {
  /**
   * Unique member name (events, metrics, audit, HTTP).
   *
   * @example
   * ```ts
   * reloadableCache({ name: 'users', load });
   * ```
   */
  name: string;
  /**
   * Reads the raw value of one key. `ctx.signal` aborts it (timeout, invalidation, close);
   * `ctx.previous` describes the entry being refreshed (hashes and times); `ctx.trigger` says why.
   *
   * @example
   * ```ts
   * reloadableCache({ name: 'users', load: async (key, { signal }) => (await fetch(`${api}/${key}`, { signal })).json() });
   * ```
   */
  load: (key: string, ctx: CacheLoadContext) => unknown | Promise<unknown>;
  /**
   * Standard Schema v1 (zod, valibot, arktype); its output type is `V`. A value that fails it never
   * replaces a valid entry.
   *
   * @default none (the loaded value is the entry)
   * @example
   * ```ts
   * reloadableCache({ name: 'users', load, schema: z.object({ id: z.string() }) });
   * ```
   */
  schema?: StandardSchemaV1<unknown, V>;
  /**
   * Extra semantic checks on a validated value; throw to reject.
   *
   * @default none
   * @example
   * ```ts
   * reloadableCache({ name: 'users', load, validate: (user, key) => assert(key.endsWith(user.id)) });
   * ```
   */
  validate?: (value: V, key: string) => void | Promise<void>;
  /**
   * Freshness of an entry (ms) after its last successful load.
   *
   * @default Infinity (entries never go stale by age)
   * @example
   * ```ts
   * reloadableCache({ name: 'users', load, ttlMs: 60_000 });
   * ```
   */
  ttlMs?: number;
  /**
   * After `ttlMs`, how long a stale entry is served at once while it refreshes in the background (ms).
   * Past it the entry is expired: a read waits for the refresh (or, when the refresh's first attempt
   * fails and `serveStaleOnError` is on, gets the stale value at once).
   *
   * @default 0
   * @example
   * ```ts
   * reloadableCache({ name: 'users', load, ttlMs: 60_000, staleWhileRevalidateMs: 30_000 });
   * ```
   */
  staleWhileRevalidateMs?: number;
  /**
   * Maximum number of entries; the least recently used is evicted (drained, then disposed) beyond it.
   *
   * @default 1000 (`DEFAULT_MAX`)
   * @example
   * ```ts
   * reloadableCache({ name: 'users', load, max: 10_000 });
   * ```
   */
  max?: number;
  /**
   * Content identity for dedupe: a refresh whose value hashes like the entry's keeps the entry (no
   * dispose). Must be deterministic; it is also derived again when an entry's hash is asked for
   * (events, `inspect`, a refresh), since entries do not store it.
   *
   * @default `sha256:<hex>` of RFC 8785 canonical JSON
   * @example
   * ```ts
   * reloadableCache({ name: 'users', load, hash: (user) => user.etag });
   * ```
   */
  hash?: (value: V) => string;
  /**
   * Retries of `load`: p-retry options, a retry count, or `false` for one attempt.
   *
   * @default 2 retries, exponential backoff from 100 ms
   * @example
   * ```ts
   * reloadableCache({ name: 'users', load, retry: { retries: 4, minTimeout: 50 } });
   * ```
   */
  retry?: number | false | PRetryOptions;
  /**
   * Per-attempt load timeout, per-dispose timeout, drain timeout (ms).
   *
   * @default `{ load: 30_000, dispose: 10_000, drain: 30_000 }`
   * @example
   * ```ts
   * reloadableCache({ name: 'users', load, timeouts: { load: 2_000 } });
   * ```
   */
  timeouts?: { load?: number; dispose?: number; drain?: number };
  /**
   * How long a retired entry waits for its leases before it is disposed anyway (ms).
   *
   * @default `timeouts.drain`, else 30 000
   * @example
   * ```ts
   * reloadableCache({ name: 'clients', load, dispose: (c) => c.close(), drainTimeoutMs: 5_000 });
   * ```
   */
  drainTimeoutMs?: number;
  /**
   * Called once per committed entry after it is evicted, replaced, dropped or closed, and drained.
   *
   * @default none
   * @example
   * ```ts
   * reloadableCache({ name: 'clients', load: (tenant) => connect(tenant), dispose: (client) => client.close() });
   * ```
   */
  dispose?: (value: V, key: string) => unknown | Promise<unknown>;
  /**
   * When a refresh of an expired entry fails, serve the last valid value instead of rejecting (and
   * do not make readers wait for the retries).
   *
   * @default true
   * @example
   * ```ts
   * reloadableCache({ name: 'prices', load, ttlMs: 5_000, serveStaleOnError: false });
   * ```
   */
  serveStaleOnError?: boolean;
  /**
   * After a failed refresh, wait this long before refreshing that key again (ms).
   *
   * @default 1000 (`DEFAULT_ERROR_BACKOFF_MS`)
   * @example
   * ```ts
   * reloadableCache({ name: 'users', load, errorBackoffMs: 5_000 });
   * ```
   */
  errorBackoffMs?: number;
  /**
   * Parallel loads during `reload()` and refresh invalidations.
   *
   * @default 8 (`DEFAULT_REFRESH_CONCURRENCY`)
   * @example
   * ```ts
   * reloadableCache({ name: 'users', load, refreshConcurrency: 32 });
   * ```
   */
  refreshConcurrency?: number;
  /**
   * Triggers and sources whose hints invalidate keys; started by `start()`, stopped by `close()`.
   *
   * @default []
   * @example
   * ```ts
   * reloadableCache({ name: 'users', load, invalidateOn: [invalidationTrigger({ from: usersChannel, mode: 'refresh' })] });
   * ```
   */
  invalidateOn?: InvalidationSpec[];
  /**
   * What to do when a hint says messages may have been lost (`hint.gap`: a skipped sequence
   * number, a reconnect, a publisher restart): see `GapPolicy`.
   *
   * @default 'refresh-stale' (`DEFAULT_ON_GAP`)
   * @example
   * ```ts
   * reloadableCache({ name: 'users', load, invalidateOn: [invalidationTrigger({ from: bus })], onGap: 'drop-all' });
   * ```
   */
  onGap?: GapPolicy;
  /**
   * How keys appear in in-process events: `'hash'` gives only `keyHash`; `'plain'` adds the key
   * itself (`key`) to event payloads, for keys that are not secret. Every external surface (status,
   * errors, audit, HTTP, metrics) names keys by hash either way.
   *
   * @default 'hash'
   * @example
   * ```ts
   * reloadableCache({ name: 'flags', load, keys: 'plain' }).on('committed', (e) => log(`refreshed ${e.key}`));
   * ```
   */
  keys?: 'hash' | 'plain';
  /**
   * Audit sink (a function, or `jsonlAudit()`): invalidations, reloads and failed loads.
   *
   * @default none (a registry's sink is attached by `registry.add`)
   * @example
   * ```ts
   * reloadableCache({ name: 'users', load, audit: jsonlAudit('audit.jsonl') });
   * ```
   */
  audit?: AuditSink;
  /**
   * The clock for TTLs, retries, timeouts and drains (inject `FakeClock` for virtual-time tests).
   *
   * @default the real clock
   * @example
   * ```ts
   * reloadableCache({ name: 'users', load, clock: new FakeClock() });
   * ```
   */
  clock?: Clock;
}

/** Counters since the cache was created (monotonic), plus current sizes. */
export interface CacheStats {
  hits: number;
  misses: number;
  /** Stale entries served (inside the SWR window, or after a failed refresh). */
  staleServes: number;
  /** Load attempts by outcome (a load with retries counts once). */
  loads: { committed: number; unchanged: number; rejected: number };
  invalidations: { drop: number; refresh: number };
  evictions: number;
  disposals: number;
  size: number;
  /** Entries past `staleAt`, or whose last refresh failed. */
  stale: number;
  inflight: number;
}

/** `status()` of a cache: a `UnitStatus` plus cache detail. Never keys' values or entries' values. */
export interface CacheStatus extends UnitStatus {
  kind: 'cache';
  size: number;
  max: number;
  stale: number;
  /** Entries whose last refresh failed (served stale). */
  failing: number;
  hits: number;
  misses: number;
  staleServes: number;
  inflight: number;
}

/** `reload()` of a cache refreshes every present key; the result counts them. */
export interface CacheReloadResult extends ReloadResult {
  keys: { total: number; committed: number; unchanged: number; rejected: number };
}

/** A hold on one entry: it is not disposed until released (or its drain times out). */
export interface CacheLease<V> {
  readonly value: V;
  readonly key: string;
  readonly hash: string;
  /** Idempotent. */
  release(): void;
  [Symbol.dispose](): void;
}

/**
 * Typed events of a cache. Payloads carry key hashes, never values; the key itself (`key`) only
 * with `keys: 'plain'`. `committed`,
 * `unchanged` and `rejected` also carry a unit-shaped `result`, so consumers written against unit
 * events (metrics) read them unchanged.
 */
export interface CacheEvents {
  /** A new entry replaced the previous one (or filled a miss). */
  committed: [{ unit: string; keyHash: string; key?: string; hash: string; previousHash: string | undefined; generation: number; trigger: TriggerInfo; durationMs: number; result: ReloadResult }];
  /** A refresh loaded the same content: the entry was kept (no dispose). */
  unchanged: [{ unit: string; keyHash: string; key?: string; hash: string; trigger: TriggerInfo; durationMs: number; result: ReloadResult }];
  /** A load failed; `stale` is true when a previous valid entry is kept and served. */
  rejected: [{ unit: string; keyHash: string; key?: string; stage: Stage; error: Error & { code?: string }; stale: boolean; trigger: TriggerInfo; result: ReloadResult }];
  invalidated: [{ unit: string; mode: InvalidationMode; scope: InvalidationScope; invalidated: number; actor?: string; reason?: string }];
  /** An entry left the cache: `lru`, `replaced`, `invalidated` or `closed`. */
  evicted: [{ unit: string; keyHash: string; key?: string; hash: string; reason: 'lru' | 'replaced' | 'invalidated' | 'closed' }];
  disposed: [{ unit: string; keyHash: string; key?: string; hash: string }];
  'drain-timeout': [{ unit: string; keyHash: string; key?: string; hash: string; leases: number }];
  error: [{ unit: string; error: Error; where: string }];
}

export type CacheEventName = keyof CacheEvents;

/** Which entries an invalidation selected. */
export type InvalidationScope = 'key' | 'prefix' | 'all' | 'loaded-before';
