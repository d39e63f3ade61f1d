/**
 * The options of `reloadable()`, each with its default and an example (the longest public type,
 * kept apart from the shapes in types.ts that it names). Re-exported by types.ts: import it from
 * there.
 *
 * @module
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { Options as PRetryOptions } from 'p-retry';
import type { AuditSink, Clock, Generation, LoadContext, Source, StageContext, Timeouts, Trigger } from './types.js';

/** Options of `reloadable()`. `T` is the validated value, `R` the live resource. */
export interface ReloadableOptions<T, R = T> {
  /**
   * The unit's name: in every message, status, audit record and metric label. Unique per registry.
   * @example `name: 'config'`
   */
  name: string;
  /**
   * Reads the raw candidate (exactly one of `load` or `source`). Read `ctx.signal` only if the read
   * can be cancelled: the signal is created on first read.
   * @example `load: async ({ signal }) => JSON.parse(await readFile('config.json', { encoding: 'utf8', signal }))`
   */
  load?: (ctx: LoadContext<T, R>) => unknown | Promise<unknown>;
  /**
   * Where to read from, and (with `watch`) when (exactly one of `load` or `source`).
   * @example `source: fileSource('config.json')`
   */
  source?: Source<unknown>;
  /**
   * Any Standard Schema v1 (zod, valibot, arktype): the validated output is `T`.
   * @default undefined (the raw candidate is the value)
   * @example `schema: z.object({ port: z.number() })`
   */
  schema?: StandardSchemaV1<unknown, T>;
  /**
   * Extra checks after the schema; throw to reject (an error's `path` names the field).
   * @default undefined
   * @example `validate: (cfg) => { if (cfg.min > cfg.max) throw Object.assign(new Error('min > max'), { path: 'min' }); }`
   */
  validate?: (next: T, ctx: StageContext<T, R>) => void | Promise<void>;
  /**
   * Builds the live resource from a validated value (a pool, a client).
   * @default undefined (the value is the resource)
   * @example `create: (cfg) => new Pool(cfg.db)`
   */
  create?: (value: T, ctx: StageContext<T, R>) => R | Promise<R>;
  /**
   * Checks a created resource before it goes live; `false` or a throw rejects it.
   * @default undefined
   * @example `healthCheck: (pool) => pool.query('select 1').then(() => true)`
   */
  healthCheck?: (resource: R, ctx: StageContext<T, R>) => unknown | Promise<unknown>;
  /**
   * Releases a retired resource, once, after its leases drained.
   * @default undefined
   * @example `dispose: (pool) => pool.end()`
   */
  dispose?: (resource: R, ctx: StageContext<T, R>) => unknown | Promise<unknown>;
  /**
   * Content identity of a value (a non-empty string); equal hashes are `unchanged`.
   * @default `sha256:` of the RFC 8785 canonical JSON (`DEFAULT_HASH`)
   * @example `hash: (cfg) => cfg.version`
   */
  hash?: (value: T) => string;
  /**
   * Retries of `load`: a count, `false`, or options of p-retry's shape (waits run on `clock`).
   * @default 2 retries, exponential from 100 ms, factor 2 (`DEFAULT_RETRY`)
   * @example `retry: { retries: 5, minTimeout: 200, maxTimeout: 5_000 }`
   */
  retry?: number | false | PRetryOptions;
  /**
   * Per-stage timeouts in ms.
   * @default load 30 s, create 30 s, healthCheck 10 s, dispose 10 s, drain 30 s (`DEFAULT_TIMEOUTS`)
   * @example `timeouts: { load: 5_000, drain: 60_000 }`
   */
  timeouts?: Timeouts;
  /**
   * Minimum time between the starts of two loads, waited before the reload lock (a rollback never
   * waits for it); `group().reload()` honours it too.
   * @default 0 (`DEFAULT_MIN_INTERVAL_MS`)
   * @example `minIntervalMs: 1_000`
   */
  minIntervalMs?: number;
  /**
   * Earlier generations kept for `rollback()`.
   * @default 5 (`DEFAULT_HISTORY`)
   * @example `history: 10`
   */
  history?: number;
  /**
   * Keep the previous generation's resource undisposed, so a rollback to it is instant.
   * @default false (`DEFAULT_KEEP_PREVIOUS`)
   * @example `keepPrevious: true`
   */
  keepPrevious?: boolean;
  /**
   * After a reload commits, `check` runs once `windowMs` later; a failure rolls back.
   * @default undefined
   * @example `verify: { windowMs: 30_000, check: () => errorRate() < 0.05 }`
   */
  verify?: { windowMs: number; check: (generation: Generation<T, R>) => boolean | Promise<boolean> };
  /**
   * When to reload besides the source's own watch; started before the first load.
   * @default []
   * @example `triggers: [signalTrigger('SIGHUP'), intervalTrigger(60_000)]`
   */
  triggers?: Trigger[];
  /**
   * A file where every commit's raw candidate is persisted; `start()` falls back to it when the
   * source is down.
   * @default undefined
   * @example `lastKnownGood: '/var/lib/app/config.lkg.json'`
   */
  lastKnownGood?: string;
  /**
   * Receives one record per start, reload and rollback (hashes only).
   * @default undefined
   * @example `audit: jsonlAudit('audit.jsonl')`
   */
  audit?: AuditSink;
  /**
   * Injected scheduler for virtual-time tests (see `reloadkit/testing`).
   * @default the real clock
   * @example `clock: createFakeClock()`
   */
  clock?: Clock;
  /**
   * Dotted paths of the validated value declared non-secret: `status().exposed` shows their live
   * values. Everything else stays hashes only.
   * @default [] (nothing exposed)
   * @example `expose: ['logLevel', 'db.size']`
   */
  expose?: readonly string[];
}

/** `reloadable()` options without a schema: the raw candidate is the value. */
export type UnvalidatedOptions<T, R = T> = Omit<ReloadableOptions<T, R>, 'schema' | 'load' | 'source'> & { schema?: undefined } & (
  // `ctx` is typed without T so that `load: async ({ signal }) => …` still infers T from its return.
  | { load: (ctx: LoadContext<unknown, unknown>) => T | Promise<T>; source?: undefined }
  | { source: Source<T>; load?: undefined }
);
