/**
 * A deliberately small connection pool: N ioredis connections opened up front, handed out
 * round-robin. It never reconnects or resizes itself: a pool is immutable, and changing the
 * credentials or the size means building a new pool and retiring this one, which is exactly what
 * a reloadable unit does well.
 *
 * @module
 */
import { Redis } from 'ioredis';
import type { PoolSettings } from './credentials.js';

/** Counts shared by every pool of a process, so a test can check each pool closed exactly once. */
export interface PoolLedger {
  /** Pools opened. */
  opened: number;
  /** Connections opened, over every pool. */
  connections: number;
  /** QUIT commands answered by redis, over every pool (graceful closes). */
  quits: number;
  /** Graceful closes (QUIT after in-flight replies). */
  closed: number;
  /** Immediate closes (sockets destroyed, in-flight commands fail). */
  destroyed: number;
  /** Close calls on a pool that was already closed: must stay 0. */
  doubleCloses: number;
}

/** Creates an empty {@link PoolLedger}. @example `const ledger = createLedger();` */
export function createLedger(): PoolLedger {
  return { opened: 0, connections: 0, quits: 0, closed: 0, destroyed: 0, doubleCloses: 0 };
}

let nextPoolId = 1;

/** N authenticated ioredis connections with round-robin checkout. */
export class RedisPool {
  /** Process-unique id, handy in logs. */
  readonly id = nextPoolId++;
  readonly size: number;
  readonly username: string;
  /** How many times `close()` or `destroy()` was called on this pool. */
  closeCalls = 0;
  readonly #connections: Redis[];
  readonly #ledger: PoolLedger | undefined;
  #cursor = 0;
  #closed = false;

  private constructor(connections: Redis[], settings: PoolSettings, ledger: PoolLedger | undefined) {
    this.#connections = connections;
    this.size = connections.length;
    this.username = settings.username;
    this.#ledger = ledger;
  }

  /**
   * Opens `settings.size` connections authenticated as `settings.username` and resolves once all
   * are ready. If any fails (wrong password, server down) the others are closed and it throws.
   *
   * @example
   * ```ts
   * const pool = await RedisPool.open({ host: '127.0.0.1', port }, { username, password, size: 4 });
   * await pool.checkout().incr('ps:hits');
   * await pool.close();
   * ```
   */
  static async open(server: { host: string; port: number }, settings: PoolSettings, ledger?: PoolLedger): Promise<RedisPool> {
    if (!Number.isInteger(settings.size) || settings.size < 1) {
      throw new TypeError(`Expected \`size\` to be a positive integer, got ${settings.size}`);
    }
    const connections = Array.from({ length: settings.size }, () => {
      const connection = new Redis({
        host: server.host,
        port: server.port,
        lazyConnect: true,
        // An immutable pool: a broken connection fails fast and the next reload replaces the pool.
        enableOfflineQueue: false,
        // No INFO round trip and parse per connection: a rotation every 50 ms opens a lot of them.
        enableReadyCheck: false,
        disableClientInfo: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      connection.on('error', () => {}); // every failure also rejects the command that hit it
      return connection;
    });
    try {
      // AUTH explicitly (rather than ioredis' connect-time AUTH, whose failure only surfaces as an
      // 'error' event): a wrong password rejects here, in the create stage, with WRONGPASS.
      await Promise.all(
        connections.map(async (c) => {
          await c.connect();
          await c.call('AUTH', settings.username, settings.password);
        }),
      );
    } catch (error) {
      for (const c of connections) c.disconnect();
      throw new Error(`could not open a pool of ${settings.size} as ${settings.username}: ${(error as Error).message}`, { cause: error });
    }
    if (ledger) {
      ledger.opened++;
      ledger.connections += connections.length;
    }
    return new RedisPool(connections, settings, ledger);
  }

  /** True once `close()` or `destroy()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The next connection, round-robin. Throws on a closed pool, so a use-after-close shows up as a
   * failed request rather than a silent hang.
   *
   * @example `await pool.checkout().get('ps:key')`
   */
  checkout(): Redis {
    if (this.#closed) throw new Error(`pool ${this.id} is closed`);
    const connection = this.#connections[this.#cursor]!;
    this.#cursor = (this.#cursor + 1) % this.#connections.length;
    return connection;
  }

  /**
   * PINGs every connection (the unit's health check): a pool is only committed when all of its
   * connections answer.
   *
   * @example `await pool.pingAll()`
   */
  async pingAll(): Promise<void> {
    const replies = await Promise.all(this.#connections.map((c) => c.ping()));
    const bad = replies.find((r) => r !== 'PONG');
    if (bad !== undefined) throw new Error(`unexpected PING reply ${JSON.stringify(bad)}`);
  }

  /**
   * Graceful close: QUIT on each connection, after the replies already in flight. This is the
   * unit's `dispose`, which reloadkit calls once the pool's leases have drained.
   *
   * @example `await pool.close()`
   */
  async close(): Promise<void> {
    if (!this.#markClosed()) return;
    if (this.#ledger) this.#ledger.closed++;
    await Promise.all(
      this.#connections.map((c) =>
        c.quit().then(
          () => {
            if (this.#ledger) this.#ledger.quits++;
          },
          () => c.disconnect(),
        ),
      ),
    );
  }

  /**
   * Immediate close: sockets are destroyed and every command in flight fails. This is what the
   * naive swap does to the old pool.
   *
   * @example `pool.destroy()`
   */
  destroy(): void {
    if (!this.#markClosed()) return;
    if (this.#ledger) this.#ledger.destroyed++;
    for (const c of this.#connections) c.disconnect();
  }

  #markClosed(): boolean {
    this.closeCalls++;
    if (this.#closed) {
      if (this.#ledger) this.#ledger.doubleCloses++;
      return false;
    }
    this.#closed = true;
    return true;
  }
}
