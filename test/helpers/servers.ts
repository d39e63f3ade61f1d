/**
 * Real-server test harness: starts `redis-server`, `etcd` and `nats-server -js` on loopback with
 * free ports and temporary data directories, waits until each answers a probe, and stops them
 * afterwards. Integration tests use real servers, never mocks.
 *
 * - `stop()` ends the server (SIGTERM, then SIGKILL after 5 s) and removes its data directory.
 * - `kill()` sends SIGKILL (a crash) and keeps the data directory, so `restart()` can bring the
 *   same server back on the SAME port with the same data.
 * - Every server still running when the test process exits is killed.
 * - `haveBinary(name)`: under `CI=true` a missing binary throws (a CI run must never skip);
 *   elsewhere it returns false so a test can skip with a message.
 *
 * @example
 * ```ts
 * if (!haveBinary('redis-server')) { t.skip('redis-server not installed'); return; }
 * const redis = await startRedis({ args: ['--notify-keyspace-events', 'K$h'] });
 * try { ... new Redis(redis.url) ... } finally { await redis.stop(); }
 * ```
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort, sleep } from './wait.js';

export interface RunningServer {
  port: number;
  url: string;
  dataDir: string;
  /** Graceful stop (SIGTERM, SIGKILL after 5 s); removes the data directory. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL (a crash); keeps the data directory for `restart()`. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and data directory (stopping it first if running). */
  restart(): Promise<void>;
}

const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin', '/usr/local/bin', '/usr/bin'];

/** Absolute path of `name` found on PATH (and the sbin directories), or undefined. */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * True when the server binary is installed. Under `CI=true` a missing binary throws, so a CI run
 * fails instead of silently skipping; elsewhere it returns false and the test skips.
 */
export function haveBinary(name: string): boolean {
  if (findBinary(name)) return true;
  if (process.env.CI === 'true') {
    throw new Error(
      `${name} is required under CI=true but was not found on PATH or in /usr/sbin ` +
        `(install the Debian package: etcd-server, redis-server or nats-server)`,
    );
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Process bookkeeping: kill everything we started when the test process exits.

const live = new Set<ChildProcess>();
/** Children started in their own process group: signals go to the group. */
const groups = new WeakSet<ChildProcess>();

/** Sends `signal` to the child, or to its whole process group when it has one. */
function signalChild(child: ChildProcess, signal: NodeJS.Signals): void {
  if (groups.has(child) && child.pid !== undefined) {
    try {
      process.kill(-child.pid, signal);
      return;
    } catch {
      // the group is gone; fall back to the child itself
    }
  }
  child.kill(signal);
}
/** Data directories of servers not stopped yet: removed if the test process ends first. */
const dataDirs = new Set<string>();
let exitHookInstalled = false;

function killAll(): void {
  for (const child of live) {
    try {
      signalChild(child, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  dataDirs.clear();
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAll);
  // Interrupted (Ctrl-C, a runner's timeout): kill the servers, then die of the same signal —
  // unless someone else handles it, in which case they decide whether the process ends.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = () => {
      killAll();
      if (process.listenerCount(signal) === 1) {
        process.off(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

// ---------------------------------------------------------------------------------------------
// Probes

export function tcpProbe(port: number, onConnect?: (socket: import('node:net').Socket, done: (ok: boolean) => void) => void): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => {
      if (onConnect) onConnect(socket, done);
      else done(true);
    });
  });
}

/** Redis answers `+PONG` to PING once it is ready (`-LOADING` while it loads its data). */
function redisProbe(port: number): Promise<boolean> {
  return tcpProbe(port, (socket, done) => {
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      if (buffer.includes('\r\n')) done(buffer.startsWith('+PONG'));
    });
    socket.write('PING\r\n');
  });
}

/** etcd's `/health` answers `{"health":"true"}` once it has a leader. */
async function etcdProbe(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { health?: string };
    return res.ok && body.health === 'true';
  } catch {
    return false;
  }
}

/** NATS sends its `INFO {...}` line on connect. */
function natsProbe(port: number): Promise<boolean> {
  return tcpProbe(port, (socket, done) => {
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      if (buffer.includes('\r\n')) done(buffer.startsWith('INFO'));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Generic server lifecycle

/** How to run one kind of server (exported so other helpers can describe their own). */
export interface ServerSpec {
  binary: string;
  /** Absolute path of the executable, when it is not `binary` on PATH. */
  path?: string;
  /** Extra environment for the server process (computed from its ports and data directory). */
  env?(port: number, dataDir: string, extra: number[]): Record<string, string>;
  /** Extra ports this server needs (etcd's peer port), allocated once and kept across restarts. */
  extraPorts: number;
  args(port: number, dataDir: string, extra: number[]): string[];
  url(port: number): string;
  probe(port: number): Promise<boolean>;
  /**
   * Run the server in its own process group and signal the whole group: for servers started by
   * a script whose real process is a child of it (RabbitMQ's scripts run `beam.smp`). Default false.
   */
  processGroup?: boolean;
  /** How long to wait for the probe (slow starters such as RabbitMQ need more). Default 20 s. */
  readyTimeoutMs?: number;
}

const READY_TIMEOUT_MS = 20_000;

async function launch(spec: ServerSpec, path: string, port: number, dataDir: string, extra: number[]): Promise<ChildProcess> {
  installExitHook();
  const child = spawn(path, spec.args(port, dataDir, extra), {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: dataDir,
    env: spec.env ? { ...process.env, ...spec.env(port, dataDir, extra) } : process.env,
    detached: spec.processGroup === true,
  });
  live.add(child);
  if (spec.processGroup) groups.add(child);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  child.once('exit', () => live.delete(child));

  const readyTimeout = spec.readyTimeoutMs ?? READY_TIMEOUT_MS;
  const deadline = Date.now() + readyTimeout;
  for (;;) {
    if (spawnError) throw new Error(`${spec.binary} failed to start: ${spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${spec.binary} exited (code ${child.exitCode}, signal ${child.signalCode}) before it was ready:\n${output}`);
    }
    if (await spec.probe(port)) break;
    if (Date.now() > deadline) {
      signalChild(child, 'SIGKILL');
      await waitExit(child);
      throw new Error(`${spec.binary} on port ${port} was not ready after ${readyTimeout} ms:\n${output}`);
    }
    await sleep(50);
  }
  // Stop buffering once ready, but keep draining the pipes so the server never blocks on them.
  child.stdout?.off('data', keep);
  child.stderr?.off('data', keep);
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}

/** Starts a server described by `spec` (free ports, temp dir, readiness probe, kill on exit). */
export async function startServer(spec: ServerSpec): Promise<RunningServer> {
  const path = spec.path ?? findBinary(spec.binary);
  if (!path) {
    haveBinary(spec.binary); // throws under CI=true
    throw new Error(`${spec.binary} not found on PATH or in /usr/sbin; check haveBinary('${spec.binary}') first`);
  }
  installExitHook();
  const dataDir = mkdtempSync(join(tmpdir(), `reloadkit-${spec.binary}-`));
  dataDirs.add(dataDir);
  let child: ChildProcess | undefined;
  let port = 0;
  let extra: number[] = [];
  // A free port can be taken between freePort() and the server's bind: retry with new ports.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    extra = [];
    for (let i = 0; i < spec.extraPorts; i++) extra.push(await freePort());
    try {
      child = await launch(spec, path, port, dataDir, extra);
      break;
    } catch (error) {
      if (attempt >= 3) {
        rmSync(dataDir, { recursive: true, force: true });
        dataDirs.delete(dataDir);
        throw error;
      }
    }
  }

  let stopped = false;
  const terminate = async (signal: NodeJS.Signals) => {
    const current = child;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const exited = waitExit(current);
    signalChild(current, signal);
    if (signal !== 'SIGKILL') {
      const timer = setTimeout(() => signalChild(current, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    } else {
      await exited;
    }
  };

  return {
    port,
    url: spec.url(port),
    dataDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await terminate('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
      dataDirs.delete(dataDir);
    },
    async kill() {
      await terminate('SIGKILL');
    },
    async restart() {
      if (stopped) throw new Error(`${spec.binary} on port ${port} was stopped; start a new server instead`);
      await terminate('SIGTERM');
      // The old listener may take a moment to be released after a crash: retry the bind.
      for (let attempt = 1; ; attempt++) {
        try {
          child = await launch(spec, path, port, dataDir, extra);
          return;
        } catch (error) {
          if (attempt >= 5) throw error;
          await sleep(200 * attempt);
        }
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The three servers

/**
 * Starts `redis-server` on 127.0.0.1 with persistence off (`--save '' --appendonly no`) unless
 * `args` asks otherwise; `args` are appended last, so they win (e.g.
 * `['--notify-keyspace-events', 'K$h']`).
 *
 * @example
 * ```ts
 * const redis = await startRedis({ args: ['--notify-keyspace-events', 'KA'] });
 * const client = new Redis(redis.url);
 * ```
 */
export function startRedis(opts: { args?: string[] } = {}): Promise<RunningServer> {
  const userArgs = opts.args ?? [];
  return startServer({
    binary: 'redis-server',
    extraPorts: 0,
    args: (port, dataDir) => [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--save', '',
      '--appendonly', 'no',
      '--dir', dataDir,
      '--daemonize', 'no',
      '--loglevel', 'warning',
      ...userArgs,
    ],
    url: (port) => `redis://127.0.0.1:${port}`,
    probe: redisProbe,
  });
}

/**
 * Starts a single-member `etcd` on 127.0.0.1 with its own peer port and a temporary data dir.
 *
 * @example
 * ```ts
 * const etcd = await startEtcd();
 * const client = new Etcd3({ hosts: etcd.url });
 * ```
 */
export function startEtcd(): Promise<RunningServer> {
  return startServer({
    binary: 'etcd',
    extraPorts: 1,
    args: (port, dataDir, [peer]) => {
      const client = `http://127.0.0.1:${port}`;
      const peerUrl = `http://127.0.0.1:${peer}`;
      return [
        '--name', 'reloadkit-test',
        '--data-dir', join(dataDir, 'member-data'),
        '--listen-client-urls', client,
        '--advertise-client-urls', client,
        '--listen-peer-urls', peerUrl,
        '--initial-advertise-peer-urls', peerUrl,
        '--initial-cluster', `reloadkit-test=${peerUrl}`,
        '--initial-cluster-state', 'new',
        '--logger', 'zap',
        '--log-outputs', 'stderr',
        '--log-level', 'error',
      ];
    },
    url: (port) => `http://127.0.0.1:${port}`,
    probe: etcdProbe,
  });
}

/**
 * Starts `nats-server -js` on 127.0.0.1 with a temporary JetStream store directory.
 *
 * @example
 * ```ts
 * const nats = await startNats();
 * const nc = await connect({ servers: nats.url });
 * ```
 */
export function startNats(): Promise<RunningServer> {
  return startServer({
    binary: 'nats-server',
    extraPorts: 0,
    args: (port, dataDir) => ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dataDir],
    url: (port) => `nats://127.0.0.1:${port}`,
    probe: natsProbe,
  });
}
