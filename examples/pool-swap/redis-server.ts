/**
 * Starts a throwaway `redis-server` on loopback for the pool-swap example: no persistence
 * (`--save '' --appendonly no`), a free port, stopped with the example. Real server, real sockets.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

/** A running redis-server child. `stop()` is idempotent and resolves once the process exited. */
export interface RedisServer {
  readonly host: string;
  readonly port: number;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

/** Options of {@link startRedisServer}. */
export interface StartRedisOptions {
  /** Path of the binary; default `$REDIS_SERVER` or `/usr/bin/redis-server`. */
  binary?: string;
  /** Extra command-line arguments appended after the defaults. */
  args?: string[];
  /** How long to wait for "Ready to accept connections" (ms); default 15 000. */
  readyTimeoutMs?: number;
}

/** The default location of the binary (Debian/Ubuntu package). */
export const DEFAULT_REDIS_BINARY = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

/**
 * A free TCP port on 127.0.0.1 (bind to 0, read it, close). Another process may take it before
 * redis binds it, so {@link startRedisServer} retries on a bind failure.
 *
 * @example
 * ```ts
 * const port = await freePort();
 * ```
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Spawns `redis-server` bound to 127.0.0.1 on a free port and resolves once it accepts
 * connections. Throws a clear error when the binary is missing or never becomes ready.
 *
 * @example
 * ```ts
 * const redis = await startRedisServer();
 * // ... new Redis({ host: redis.host, port: redis.port })
 * await redis.stop();
 * ```
 */
export async function startRedisServer(options: StartRedisOptions = {}): Promise<RedisServer> {
  if (options.args !== undefined && !Array.isArray(options.args)) {
    throw new TypeError(`Expected \`args\` to be an array of strings, got ${typeof options.args}`);
  }
  let lastError: unknown;
  // A port picked by freePort() can be taken by someone else before redis binds it: retry.
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      return await spawnOnce(await freePort(), options);
    } catch (error) {
      lastError = error;
      if (!(error instanceof Error && /Address already in use/i.test(error.message))) throw error;
    }
  }
  throw lastError;
}

async function spawnOnce(port: number, options: StartRedisOptions): Promise<RedisServer> {
  const binary = options.binary ?? DEFAULT_REDIS_BINARY;
  const host = '127.0.0.1';
  const args = ['--port', String(port), '--bind', host, '--save', '', '--appendonly', 'no', '--loglevel', 'notice', ...(options.args ?? [])];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not become ready within ${options.readyTimeoutMs ?? 15_000} ms:\n${output.slice(-2000)}`)), options.readyTimeoutMs ?? 15_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(error.code === 'ENOENT' ? new Error(`redis-server not found at ${binary} (set REDIS_SERVER to its path)`) : error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited before it was ready (code ${code}, signal ${signal}):\n${output.slice(-2000)}`));
    });
  });
  try {
    await ready;
  } catch (error) {
    await kill(child);
    throw error;
  }
  // Once ready we no longer need its log; keep draining the pipes so it never blocks on them.
  child.stdout.removeAllListeners('data').resume();
  child.stderr.removeAllListeners('data').resume();
  let stopping: Promise<void> | undefined;
  return {
    host,
    port,
    pid: child.pid,
    stop: () => (stopping ??= kill(child)),
  };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
