/**
 * The stages one cache entry goes through before it may replace the previous one, built on the
 * core's stage helpers (the same ones a unit uses): `load` (`withRetry`, each attempt under
 * `runWithTimeout`) → `validate` (`validateWithSchema`, then `validate()`) → hash (content
 * identity for dedupe). A failure throws a `ReloadkitError` whose `stage` names where it failed;
 * messages name the key by its hash only: `[users] load timed out after 50 ms (key sha256:…)`.
 *
 * @module
 * @internal
 */
import type { Options as PRetryOptions } from 'p-retry';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { formatMessage, LoadError, ReloadkitError, ValidationError } from '../errors.js';
import { withRetry } from '../core/retry.js';
import { validateWithSchema } from '../core/schema.js';
import { runWithTimeout } from '../core/timeout.js';
import type { Clock, TriggerInfo } from '../types.js';
import type { CacheEntryInfo, CacheLoadContext } from './types.js';

/** What the pipeline needs from the cache's options (already validated). */
export interface PipelineConfig<V> {
  unit: string;
  load: (key: string, ctx: CacheLoadContext) => unknown | Promise<unknown>;
  schema: StandardSchemaV1<unknown, V> | undefined;
  validate: ((value: V, key: string) => void | Promise<void>) | undefined;
  hash: (value: V) => string;
  /** Normalized by `normalizeRetry` (`undefined`: one attempt). */
  retry: PRetryOptions | undefined;
  loadTimeoutMs: number;
  clock: Clock;
}

/** A candidate that passed every stage. */
export interface Candidate<V> {
  value: V;
  hash: string;
}

/**
 * Runs load → validate → hash for one key. `signal` aborts the load (superseded or closed).
 *
 * @example
 * ```ts
 * const { value, hash } = await runEntryPipeline(config, 'user:1', { signal, previous: undefined, trigger: { kind: 'miss' } }, keyHash);
 * ```
 */
export async function runEntryPipeline<V>(
  config: PipelineConfig<V>,
  key: string,
  ctx: { signal: AbortSignal; previous: CacheEntryInfo | undefined; trigger: TriggerInfo },
  keyHash: string,
): Promise<Candidate<V>> {
  const where = { unit: config.unit, source: `key ${keyHash}` };
  let raw: unknown;
  try {
    raw = await withRetry(
      () =>
        runWithTimeout('load', config.loadTimeoutMs, ctx.signal, (signal) => config.load(key, { signal, previous: ctx.previous, trigger: ctx.trigger }), {
          clock: config.clock,
          ...where,
        }),
      config.retry ?? false,
      { signal: ctx.signal, clock: config.clock },
    );
  } catch (error) {
    if (error instanceof ReloadkitError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new LoadError(formatMessage('load failed', where, message), { ...where, stage: 'load', cause: error });
  }

  let value = raw as V;
  if (config.schema) value = (await validateWithSchema(config.schema, raw, where)) as V;
  if (config.validate) {
    try {
      await config.validate(value, key);
    } catch (error) {
      if (error instanceof ValidationError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new ValidationError(formatMessage('validation failed', where, message), [{ path: '', message }], { ...where, cause: error });
    }
  }

  let hash: string;
  try {
    hash = config.hash(value);
    if (typeof hash !== 'string' || hash === '') throw new TypeError(`hash() returned ${typeof hash}, expected a non-empty string`);
  } catch (error) {
    const message = `could not hash the value: ${(error as Error).message} (pass a \`hash\` option for values without a JSON form)`;
    throw new ValidationError(formatMessage('validation failed', where, message), [{ path: '', message }], { ...where, cause: error });
  }
  return { value, hash };
}
