/**
 * `reloadkit/cache`: a cache whose entries are reloaded, validated and swapped one key at a time,
 * with the unit's guarantees (validate before swap, dedupe by hash, drain then dispose) on the same
 * core modules a unit runs on, single flight per key, stale-while-revalidate, serve-stale-on-error,
 * and invalidation as narrow as the change (keys, prefixes, load time, hints with gap repair).
 * See docs/cache.md.
 *
 * @module
 */
import { ReloadableCache } from './cache.js';
import { resolveCacheOptions } from './options.js';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { CacheLoadContext, ReloadableCacheOptions } from './types.js';

export { ReloadableCache } from './cache.js';
export { keyHash } from './key-hash.js';
export { invalidationTrigger } from './invalidation.js';
export type {
  CacheEntryInfo,
  CacheEventName,
  CacheEvents,
  CacheLease,
  CacheLoadContext,
  CacheReloadResult,
  CacheStats,
  CacheStatus,
  GapPolicy,
  HintGap,
  HintsToKeys,
  InvalidateOptions,
  InvalidationMode,
  InvalidationScope,
  InvalidationSpec,
  InvalidationTarget,
  KeySelection,
  ReloadableCacheOptions,
} from './types.js';

/**
 * Creates a reloadable cache. `V` is the schema's output type (or the raw loaded value).
 *
 * @throws {TypeError} naming the first invalid option.
 * @example
 * ```ts
 * import { z } from 'zod';
 * import { createRegistry } from 'reloadkit';
 * import { reloadableCache } from 'reloadkit/cache';
 *
 * const users = reloadableCache({
 *   name: 'users',
 *   load: async (key, { signal }) => (await fetch(`${api}/${key}`, { signal })).json(),
 *   schema: z.object({ id: z.string(), plan: z.enum(['free', 'pro']) }),
 *   ttlMs: 60_000,
 *   staleWhileRevalidateMs: 30_000,
 *   max: 10_000,
 * });
 * createRegistry().add(users); // status, HTTP admin, audit, metrics
 * const user = await users.get('user:42');
 * await users.invalidate({ prefix: 'user:' }, { mode: 'refresh', actor: 'ops' });
 * ```
 */
export function reloadableCache<V>(options: ReloadableCacheOptions<V> & { schema: StandardSchemaV1<unknown, V> }): ReloadableCache<V>;
export function reloadableCache<V>(
  options: Omit<ReloadableCacheOptions<V>, 'load' | 'schema'> & { load: (key: string, ctx: CacheLoadContext) => V | Promise<V>; schema?: undefined },
): ReloadableCache<V>;
export function reloadableCache<V>(options: ReloadableCacheOptions<V>): ReloadableCache<V> {
  return new ReloadableCache<V>(resolveCacheOptions(options));
}
