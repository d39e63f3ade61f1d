/**
 * The pool-swap service, wired end to end: a real redis-server on loopback with ACL users, a pool
 * holder (reloadkit or naive), a node:http server whose handlers run on the pool, and a rotator
 * that swaps credentials and pool size every 50–100 ms.
 *
 * Every request makes two round trips (INCR then GET, on two connections of the same pool), so a
 * request that is in flight when a swap happens still needs its pool afterwards.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KEY_PREFIX, provisionUsers, rotation } from './credentials.js';
import type { PoolHolder } from './holder.js';
import { naivePoolHolder } from './naive-holder.js';
import { reloadablePoolHolder } from './reloadable-holder.js';
import { createLedger, type PoolLedger } from './pool.js';
import { startRedisServer, type RedisServer, type StartRedisOptions } from './redis-server.js';

/** Options of {@link startPoolSwapApp}. */
export interface PoolSwapOptions {
  /** `reloadkit` (lease + drain, the default) or `naive` (close the old pool at once). */
  mode?: 'reloadkit' | 'naive';
  /** Rotate on a timer as soon as the app starts; default false (call `startRotation()`). */
  rotate?: boolean;
  /** Delay between rotations, drawn uniformly from `[min, max]` ms; default `[50, 100]`. */
  rotateEveryMs?: [number, number];
  /** How many ACL users to rotate between; default 4. */
  users?: number;
  /** Pool sizes to rotate between; default `[2, 3, 4]` (length coprime with `users`). */
  sizes?: number[];
  /** HTTP port on 127.0.0.1; default 0 (a free one). */
  port?: number;
  /** Passed to the redis-server launcher (binary path, extra args). */
  redis?: StartRedisOptions;
}

/** What `GET /stats` returns. Counts only: no credentials. */
export interface PoolSwapStats {
  mode: 'reloadkit' | 'naive';
  requests: { ok: number; failed: number };
  rotations: { committed: number; rejected: number; generation: number };
  pools: PoolLedger;
  /** The first few failure messages, to see *why* requests failed. */
  failureSamples: string[];
}

/** A running pool-swap app. */
export interface PoolSwapApp {
  readonly url: string;
  readonly redis: RedisServer;
  readonly holder: PoolHolder;
  readonly ledger: PoolLedger;
  stats(): PoolSwapStats;
  /** Starts timer-driven rotation (idempotent). */
  startRotation(): void;
  /** Stops it and waits for a rotation in progress. */
  stopRotation(): Promise<void>;
  /** Number of client connections redis currently has (the admin connection included). */
  redisClients(): Promise<number>;
  /**
   * Disables an ACL user (`ACL SETUSER <name> off`), as when a credential is revoked: a rotation to
   * it then fails its create stage and the live pool keeps serving.
   */
  revokeUser(username: string): Promise<void>;
  /** Stops rotation, the HTTP server, the pool (drain, then dispose), and redis. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts redis, provisions users, builds the pool holder and the HTTP service.
 *
 * @example
 * ```ts
 * const app = await startPoolSwapApp({ mode: 'reloadkit', rotate: true });
 * await fetch(app.url); // {"ok":true,"hits":1,...}
 * await app.close();
 * ```
 */
export async function startPoolSwapApp(options: PoolSwapOptions = {}): Promise<PoolSwapApp> {
  const mode = options.mode ?? 'reloadkit';
  if (mode !== 'reloadkit' && mode !== 'naive') throw new TypeError(`Expected \`mode\` to be 'reloadkit' or 'naive', got ${String(mode)}`);
  const [minMs, maxMs] = options.rotateEveryMs ?? [50, 100];
  if (!(minMs >= 0 && maxMs >= minMs)) throw new TypeError(`Expected \`rotateEveryMs\` to be [min, max] with 0 <= min <= max, got [${minMs}, ${maxMs}]`);

  const redis = await startRedisServer(options.redis);
  const cleanup: Array<() => Promise<unknown>> = [() => redis.stop()];
  try {
    const { users, admin } = await provisionUsers(redis, options.users ?? 4);
    cleanup.unshift(() => admin.quit().catch(() => admin.disconnect()));
    const ledger = createLedger();
    const holderOptions = { server: redis, nextSettings: rotation(users, options.sizes ?? [2, 3, 4]), ledger };
    const holder = mode === 'naive' ? naivePoolHolder(holderOptions) : reloadablePoolHolder(holderOptions);
    await holder.start();
    cleanup.unshift(() => holder.close());

    const requests = { ok: 0, failed: 0 };
    const failureSamples: string[] = [];
    const stats = (): PoolSwapStats => ({ mode, requests: { ...requests }, rotations: holder.counts(), pools: { ...ledger }, failureSamples: [...failureSamples] });

    const server = createServer((req, res) => {
      void handle(req, res);
    });
    server.keepAliveTimeout = 60_000;
    const handle = async (req: IncomingMessage, res: ServerResponse) => {
      const url = req.url ?? '/';
      if (url === '/stats') return send(res, 200, stats());
      try {
        // One lease for the whole request: both round trips run on the same pool generation.
        const body = await holder.use(async (pool) => {
          const key = `${KEY_PREFIX}hits:${hashPath(url) % 64}`;
          const hits = await pool.checkout().incr(key);
          const read = await pool.checkout().get(key);
          return { ok: true, hits, read: Number(read), pool: pool.id, size: pool.size, user: pool.username };
        });
        requests.ok++;
        send(res, 200, body);
      } catch (error) {
        requests.failed++;
        if (failureSamples.length < 5) failureSamples.push((error as Error).message);
        send(res, 503, { ok: false, error: (error as Error).message });
      }
    };
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    cleanup.unshift(() => closeServer(server));
    const { port } = server.address() as AddressInfo;

    let timer: NodeJS.Timeout | undefined;
    let running: Promise<unknown> | undefined;
    let rotating = false;
    const schedule = () => {
      timer = setTimeout(() => {
        running = holder.rotate().catch(() => false).finally(() => {
          running = undefined;
          if (rotating) schedule();
        });
      }, minMs + Math.random() * (maxMs - minMs));
    };
    const startRotation = () => {
      if (rotating) return;
      rotating = true;
      schedule();
    };
    const stopRotation = async () => {
      rotating = false;
      clearTimeout(timer);
      await running;
    };
    cleanup.unshift(stopRotation);
    if (options.rotate) startRotation();

    let closing: Promise<void> | undefined;
    return {
      url: `http://127.0.0.1:${port}/`,
      redis,
      holder,
      ledger,
      stats,
      startRotation,
      stopRotation,
      async redisClients() {
        const info = String(await admin.call('INFO', 'clients'));
        return Number(/connected_clients:(\d+)/.exec(info)?.[1] ?? NaN);
      },
      async revokeUser(username) {
        await admin.call('ACL', 'SETUSER', username, 'off');
      },
      close: () => (closing ??= runCleanup(cleanup)),
    };
  } catch (error) {
    await runCleanup(cleanup);
    throw error;
  }
}

async function runCleanup(steps: Array<() => Promise<unknown>>): Promise<void> {
  // In order (rotation, HTTP, pool, admin, redis); a failing step must not leak the next ones.
  for (const step of steps) await step().catch(() => {});
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    // Finish the responses in progress; a client still hammering keep-alive sockets after a grace
    // period (a load generator being stopped) is cut off.
    const force = setTimeout(() => server.closeAllConnections(), 2_000);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

/** A cheap stable spread of request paths over 64 keys. */
function hashPath(path: string): number {
  let h = 0;
  for (let i = 0; i < path.length; i++) h = (h * 31 + path.charCodeAt(i)) | 0;
  return Math.abs(h);
}
