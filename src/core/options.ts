/**
 * Checks and normalizes `reloadable()` options once, with precise `TypeError`s, so the pipeline
 * itself never re-checks anything on the hot path.
 *
 * @module
 * @internal
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { Options as PRetryOptions } from 'p-retry';
import { assertAuditSink } from './audit.js';
import { assertClock, realClock } from '../support/clock.js';
import { describeValue } from '../support/describe-value.js';
import { hashValue } from '../support/hash.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { normalizeExpose } from './expose.js';
import { normalizeRetry } from './retry.js';
import { isStandardSchema } from './schema.js';
import type { AuditSink, Clock, Generation, LoadContext, ReloadableOptions, StageContext, Trigger, Source } from '../types.js';

/** Default per-stage timeouts (ms). Generous: they exist so nothing can hang a unit forever. */
export const DEFAULT_TIMEOUTS = Object.freeze({ load: 30_000, create: 30_000, healthCheck: 10_000, dispose: 10_000, drain: 30_000 });

/** Default number of earlier generations retained for rollback. */
export const DEFAULT_HISTORY = 5;

/** Default `minIntervalMs`: no throttle between loads. */
export const DEFAULT_MIN_INTERVAL_MS = 0;

/** Default `keepPrevious`: the previous generation is retired (drained, disposed) at commit. */
export const DEFAULT_KEEP_PREVIOUS = false;

/** Default `hash`: `sha256:` of the RFC 8785 canonical JSON of the validated value. */
export const DEFAULT_HASH = (value: unknown): string => hashValue(value);

/** Default `expose`: nothing, hashes only. */
export const DEFAULT_EXPOSE: readonly string[] = Object.freeze([]);

/** Default `prepare({ timeoutMs })`: how long a prepared candidate stays warm before it is disposed. */
export const DEFAULT_PREPARE_TIMEOUT_MS = 60_000;

/** Every option `reloadable()` knows; any other key is a `TypeError` naming the closest one. */
const KNOWN = [
  'name',
  'load',
  'source',
  'schema',
  'validate',
  'create',
  'healthCheck',
  'dispose',
  'hash',
  'retry',
  'timeouts',
  'minIntervalMs',
  'history',
  'keepPrevious',
  'verify',
  'triggers',
  'lastKnownGood',
  'audit',
  'clock',
  'expose',
] as const satisfies ReadonlyArray<keyof ReloadableOptions<unknown>>;
/** A new option of `ReloadableOptions` that is missing from KNOWN fails the typecheck here. */
type MissingKey = Exclude<keyof ReloadableOptions<unknown>, (typeof KNOWN)[number]>;
const _everyOptionKnown: [MissingKey] extends [never] ? true : MissingKey = true;
void _everyOptionKnown;
export const RELOADABLE_KEYS: readonly string[] = Object.freeze([...KNOWN]);

export interface NormalizedOptions<T, R> {
  name: string;
  load: (ctx: LoadContext<T, R>) => unknown;
  source: Source<unknown> | undefined;
  sourceLabel: string | undefined;
  schema: StandardSchemaV1<unknown, T> | undefined;
  validate: ((next: T, ctx: StageContext<T, R>) => void | Promise<void>) | undefined;
  create: ((value: T, ctx: StageContext<T, R>) => R | Promise<R>) | undefined;
  healthCheck: ((resource: R, ctx: StageContext<T, R>) => unknown) | undefined;
  dispose: ((resource: R, ctx: StageContext<T, R>) => unknown) | undefined;
  hash: (value: T) => string;
  retry: PRetryOptions | undefined;
  timeouts: { load: number; create: number; healthCheck: number; dispose: number; drain: number };
  minIntervalMs: number;
  history: number;
  keepPrevious: boolean;
  verify: { windowMs: number; check: (generation: Generation<T, R>) => boolean | Promise<boolean> } | undefined;
  triggers: Trigger[];
  lastKnownGood: string | undefined;
  audit: AuditSink | undefined;
  clock: Clock;
  expose: readonly string[];
}

function optionalFunction(options: Record<string, unknown>, key: string): void {
  const value = options[key];
  if (value !== undefined && typeof value !== 'function') throw new TypeError(`Expected \`${key}\` to be a function, got ${describeValue(value)}.`);
}

function nonNegative(value: unknown, key: string, { integer = false, positive = false } = {}): void {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (positive && value === 0) || (integer && !Number.isInteger(value))) {
    const what = `${positive ? 'a positive' : 'a non-negative'} ${integer ? 'integer' : 'number'}`;
    throw new TypeError(`Expected \`${key}\` to be ${what}, got ${describeValue(value)}.`);
  }
}

/**
 * Validates `options` and fills in defaults.
 *
 * @example
 * ```ts
 * const o = normalizeOptions({ name: 'config', load: () => ({}) });
 * o.timeouts.load; // 30000
 * ```
 */
export function normalizeOptions<T, R>(options: ReloadableOptions<T, R>): NormalizedOptions<T, R> {
  if (typeof options !== 'object' || options === null) throw new TypeError(`Expected options to be an object, got ${describeValue(options)}.`);
  const o = options as unknown as Record<string, unknown>;
  // Plain JavaScript has no excess-property check: a misspelt `trigger:` would silently turn reloading off.
  rejectUnknownKeys('reloadable', options, RELOADABLE_KEYS);
  if (typeof options.name !== 'string' || options.name.trim() === '') throw new TypeError(`Expected \`name\` to be a non-empty string, got ${describeValue(options.name)}.`);
  if ((options.load === undefined) === (options.source === undefined)) throw new TypeError('Expected exactly one of `load` or `source`.');
  optionalFunction(o, 'load');
  const source = options.source;
  if (source !== undefined && (typeof source !== 'object' || source === null || typeof source.read !== 'function' || typeof source.describe !== 'function')) {
    throw new TypeError('Expected `source` to be a Source with describe() and read().');
  }
  if (options.schema !== undefined && !isStandardSchema(options.schema)) throw new TypeError('Expected `schema` to be a Standard Schema v1 (zod, valibot, arktype...).');
  for (const key of ['validate', 'create', 'healthCheck', 'dispose', 'hash']) optionalFunction(o, key);

  const timeouts: Record<keyof typeof DEFAULT_TIMEOUTS, number> = { ...DEFAULT_TIMEOUTS };
  if (options.timeouts !== undefined) {
    if (typeof options.timeouts !== 'object' || options.timeouts === null) throw new TypeError(`Expected \`timeouts\` to be an object, got ${describeValue(options.timeouts)}.`);
    for (const key of Object.keys(DEFAULT_TIMEOUTS) as Array<keyof typeof DEFAULT_TIMEOUTS>) {
      const value = options.timeouts[key];
      if (value === undefined) continue;
      nonNegative(value, `timeouts.${key}`, { positive: true });
      timeouts[key] = value;
    }
  }
  const minIntervalMs = options.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS;
  nonNegative(minIntervalMs, 'minIntervalMs');
  const history = options.history ?? DEFAULT_HISTORY;
  nonNegative(history, 'history', { integer: true });
  if (options.keepPrevious !== undefined && typeof options.keepPrevious !== 'boolean') throw new TypeError(`Expected \`keepPrevious\` to be a boolean, got ${describeValue(options.keepPrevious)}.`);
  const verify = options.verify;
  if (verify !== undefined) {
    if (typeof verify !== 'object' || verify === null || typeof verify.check !== 'function') throw new TypeError('Expected `verify` to be { windowMs, check(generation) }.');
    nonNegative(verify.windowMs, 'verify.windowMs');
  }
  const triggers = options.triggers ?? [];
  if (!Array.isArray(triggers)) throw new TypeError(`Expected \`triggers\` to be an array, got ${describeValue(triggers)}.`);
  triggers.forEach((t: Trigger, i) => {
    if (typeof t !== 'object' || t === null || typeof t.start !== 'function' || typeof t.stop !== 'function') throw new TypeError(`Expected \`triggers[${i}]\` to be a Trigger with start() and stop().`);
  });
  if (options.lastKnownGood !== undefined && (typeof options.lastKnownGood !== 'string' || options.lastKnownGood === '')) {
    throw new TypeError(`Expected \`lastKnownGood\` to be a file path, got ${describeValue(options.lastKnownGood)}.`);
  }
  if (options.audit !== undefined) assertAuditSink(options.audit, 'audit');
  const clock = options.clock ?? realClock;
  assertClock(clock, 'clock');
  const expose = options.expose === undefined ? DEFAULT_EXPOSE : normalizeExpose(options.expose);

  // The context goes to the source as it is: its `signal` getter creates an AbortController only
  // if the source reads it, so a healthy load through a source that never needs one creates none.
  const load = source !== undefined ? (ctx: LoadContext<T, R>) => source.read(ctx) : options.load!;
  let sourceLabel: string | undefined;
  if (source !== undefined) {
    try {
      sourceLabel = String(source.describe());
    } catch {
      sourceLabel = 'source';
    }
  }
  return {
    name: options.name,
    load,
    source,
    sourceLabel,
    schema: options.schema,
    validate: options.validate,
    create: options.create,
    healthCheck: options.healthCheck,
    dispose: options.dispose,
    hash: options.hash ?? DEFAULT_HASH,
    retry: normalizeRetry(options.retry),
    timeouts,
    minIntervalMs,
    history,
    keepPrevious: options.keepPrevious ?? DEFAULT_KEEP_PREVIOUS,
    verify,
    triggers: [...triggers],
    lastKnownGood: options.lastKnownGood,
    audit: options.audit,
    clock,
    expose,
  };
}

/**
 * Checks the options of `reload()` / `rollback()` (and `group().reload()`): the `TypeError` to
 * reject with, or `undefined`. Returned, not thrown, because those methods report misuse as a
 * rejected promise. Never echoes a value (a reason could hold anything).
 *
 * @example
 * ```ts
 * callOptionsError({ reason: 42 }, 'reload'); // TypeError: Expected `reason` to be a string, got 42.
 * callOptionsError({ force: true }, 'reload'); // undefined
 * ```
 */
export function callOptionsError(opts: unknown, method: 'reload' | 'rollback'): TypeError | undefined {
  if (opts === undefined) return undefined;
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) return new TypeError(`Expected ${method}() options to be an object, got ${Array.isArray(opts) ? 'an array' : describeValue(opts)}.`);
  const o = opts as Record<string, unknown>;
  for (const key of ['reason', 'actor']) {
    if (o[key] !== undefined && typeof o[key] !== 'string') return new TypeError(`Expected \`${key}\` to be a string, got ${describeValue(o[key])}.`);
  }
  if (method === 'rollback') {
    const to = o.to;
    return to !== undefined && (typeof to !== 'number' || !Number.isInteger(to)) ? new TypeError(`Expected \`to\` to be a generation id (an integer), got ${typeof to}.`) : undefined;
  }
  if (o.force !== undefined && typeof o.force !== 'boolean') return new TypeError(`Expected \`force\` to be a boolean, got ${describeValue(o.force)}.`);
  if (o.dryRun !== undefined && typeof o.dryRun !== 'boolean') return new TypeError(`Expected \`dryRun\` to be a boolean, got ${describeValue(o.dryRun)}.`);
  if (o.candidate !== undefined && o.dryRun !== true) {
    return new TypeError('Expected `dryRun: true` with `candidate`: a candidate the caller supplies is only ever dry-run (use prepare() to commit one).');
  }
  const signal = o.signal as { aborted?: unknown; addEventListener?: unknown } | null | undefined;
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || typeof signal.aborted !== 'boolean' || typeof signal.addEventListener !== 'function')) {
    return new TypeError(`Expected \`signal\` to be an AbortSignal, got ${describeValue(signal)}.`);
  }
  // Lenient on the hint's fields (they are copied as strings): triggers fire what they fire.
  if (o.trigger !== undefined && (o.trigger === null || typeof o.trigger !== 'object')) {
    return new TypeError(`Expected \`trigger\` to be a hint such as { kind: 'manual' }, got ${describeValue(o.trigger)}.`);
  }
  return undefined;
}

/**
 * Checks the options of `pause()`, `resume()` and `clearRefused()`: an object whose `keys` are
 * strings when present, and no other key. The `TypeError`, or `undefined`.
 *
 * @example
 * ```ts
 * actorOptionsError({ reason: 1 }, 'pause', ['reason', 'actor']); // TypeError: Expected `reason` to be a string, got 1.
 * ```
 */
export function actorOptionsError(opts: unknown, method: string, keys: readonly string[]): TypeError | undefined {
  if (opts === undefined) return undefined;
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) return new TypeError(`Expected ${method}() options to be an object, got ${Array.isArray(opts) ? 'an array' : describeValue(opts)}.`);
  const o = opts as Record<string, unknown>;
  try {
    rejectUnknownKeys(`${method}()`, o, keys);
  } catch (error) {
    return error as TypeError;
  }
  for (const key of keys) {
    if (o[key] !== undefined && typeof o[key] !== 'string') return new TypeError(`Expected \`${key}\` to be a string, got ${describeValue(o[key])}.`);
  }
  return undefined;
}
