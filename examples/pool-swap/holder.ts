/**
 * Two ways to hold a swappable pool, behind one interface so the HTTP service and the benchmark
 * can run either under the same load:
 *
 * - `reloadablePoolHolder`: a reloadkit unit. `create` opens the new pool, `healthCheck`
 *   PINGs each connection, commit is one reference swap, and `dispose` QUITs the old pool only
 *   after every request that leased it has finished.
 * - `naivePoolHolder`: the same build and health check, then a plain variable swap and the
 *   old pool closed at once. Requests still running on it fail: that is the bug drain prevents.
 *
 * @module
 */
import type { PoolSettings } from './credentials.js';
import type { PoolLedger, RedisPool } from './pool.js';

/** Where pools connect, and the next settings to rotate to. */
export interface HolderOptions {
  server: { host: string; port: number };
  /** Called once for the initial pool and once per rotation. */
  nextSettings: () => PoolSettings;
  ledger: PoolLedger;
}

/** A swappable pool. `use` runs `fn` on the live pool; `rotate` swaps in the next settings. */
export interface PoolHolder {
  readonly kind: 'reloadkit' | 'naive';
  start(): Promise<void>;
  use<X>(fn: (pool: RedisPool) => Promise<X>): Promise<X>;
  /** Resolves to true when a new pool went live. */
  rotate(): Promise<boolean>;
  /** How many rotations committed / were rejected so far. */
  counts(): { committed: number; rejected: number; generation: number };
  close(): Promise<void>;
}

