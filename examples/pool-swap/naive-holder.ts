/**
 * The naive way to hold a swappable pool, for comparison: the same build and health check as the
 * unit, then a plain variable swap and the old pool closed at once. Requests still running on the
 * old pool fail: that is the bug drain prevents.
 *
 * @module
 */
import type { HolderOptions, PoolHolder } from './holder.js';
import { RedisPool } from './pool.js';

/**
 * The naive way: build and health-check the new pool, swap a variable, close the old pool at
 * once. No lease, no drain.
 *
 * @example
 * ```ts
 * const holder = naivePoolHolder({ server, nextSettings, ledger });
 * await holder.start();
 * await holder.rotate(); // requests in flight on the old pool now fail
 * ```
 */
export function naivePoolHolder(options: HolderOptions): PoolHolder {
  const { server, nextSettings, ledger } = options;
  let live: RedisPool | undefined;
  let committed = 0;
  let rejected = 0;
  let generation = 0;
  const build = async () => {
    const pool = await RedisPool.open(server, nextSettings(), ledger);
    try {
      await pool.pingAll();
    } catch (error) {
      pool.destroy();
      throw error;
    }
    return pool;
  };
  return {
    kind: 'naive',
    async start() {
      live ??= await build();
      generation = 1;
    },
    use(fn) {
      if (!live) return Promise.reject(new Error('naive pool holder not started'));
      return fn(live);
    },
    async rotate() {
      let next: RedisPool;
      try {
        next = await build();
      } catch {
        rejected++;
        return false;
      }
      const old = live;
      live = next;
      generation++;
      committed++;
      old?.destroy();
      return true;
    },
    counts: () => ({ committed, rejected, generation }),
    async close() {
      live?.destroy();
      live = undefined;
    },
  };
}
