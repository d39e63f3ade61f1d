/**
 * The reloadkit way to hold a swappable pool: a unit whose value is the settings (user, password,
 * size) and whose resource is the pool. `create` opens the new pool, `healthCheck` PINGs each of
 * its connections, commit is one reference swap, and `dispose` QUITs the old pool only after every
 * request that leased it (`unit.use`) has finished.
 *
 * @module
 */
import { z } from 'zod';
import { reloadable } from '../../src/index.js';
import type { Reloadable } from '../../src/types.js';
import type { PoolSettings } from './credentials.js';
import type { HolderOptions, PoolHolder } from './holder.js';
import { RedisPool } from './pool.js';

/** What the unit validates before it opens a single connection. */
export const PoolSettingsSchema = z.object({
  username: z.string().min(1),
  password: z.string().min(1),
  size: z.number().int().min(1).max(64),
});

/**
 * The reloadkit way: a unit whose value is the settings and whose resource is the pool.
 *
 * @example
 * ```ts
 * const holder = reloadablePoolHolder({ server, nextSettings: rotation(users, [2, 3, 4]), ledger });
 * await holder.start();
 * await holder.use((pool) => pool.checkout().incr('ps:hits'));
 * await holder.rotate(); // new credentials and size, old pool QUIT after drain
 * await holder.close();
 * ```
 */
export function reloadablePoolHolder(options: HolderOptions): PoolHolder & { unit: Reloadable<PoolSettings, RedisPool> } {
  const { server, nextSettings, ledger } = options;
  let committed = 0;
  let rejected = 0;
  const unit = reloadable<PoolSettings, RedisPool>({
    name: 'redis-pool',
    load: () => nextSettings(),
    schema: PoolSettingsSchema,
    create: (settings) => RedisPool.open(server, settings, ledger),
    healthCheck: (pool) => pool.pingAll(),
    dispose: (pool) => pool.close(),
    // A rotation is cheap and the next one comes soon: no retries, short stage budgets.
    retry: false,
    history: 2,
    timeouts: { create: 5_000, healthCheck: 2_000, dispose: 5_000, drain: 30_000 },
  });
  return {
    kind: 'reloadkit',
    unit,
    async start() {
      await unit.start();
    },
    use: (fn) => unit.use((pool) => fn(pool)),
    async rotate() {
      const result = await unit.reload({ reason: 'rotate credentials and pool size', actor: 'pool-swap' });
      if (result.status === 'committed') committed++;
      else if (result.status === 'rejected') rejected++;
      return result.status === 'committed';
    },
    counts: () => ({ committed, rejected, generation: unit.current?.id ?? 0 }),
    close: () => unit.close(),
  };
}

