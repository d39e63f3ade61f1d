/**
 * Starts a RabbitMQ broker for one test file: its own epmd (on a free port, run in the foreground
 * by us, so it dies with the broker), a unique node name, a free AMQP port and distribution port,
 * mnesia and logs in a temp directory, no plugins (management off). RabbitMQ takes seconds to
 * boot: start it once per test file (`before`), not per test.
 *
 * `kill()` is a SIGKILL of the broker (epmd stays, as on a real host); `restart()` brings it back
 * on the same ports with the same data (durable queues and persistent messages survive).
 *
 * @example
 * ```ts
 * if (!haveRabbitmq()) { t.skip('rabbitmq-server not installed'); return; }
 * const rabbit = await startRabbitmq();
 * const conn = await amqp.connect(rabbit.url);
 * ```
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { findBinary, haveBinary, startServer, tcpProbe, type RunningServer } from './servers.js';

/** Debian installs the real start script here; /usr/sbin/rabbitmq-server is a wrapper that `su`s. */
const DEBIAN_SCRIPT = '/usr/lib/rabbitmq/bin/rabbitmq-server';

function brokerPath(): string | undefined {
  return existsSync(DEBIAN_SCRIPT) ? DEBIAN_SCRIPT : findBinary('rabbitmq-server');
}

/** True when RabbitMQ (and epmd) are installed; under CI=true a missing one throws. */
export function haveRabbitmq(): boolean {
  return haveBinary('rabbitmq-server') && haveBinary('epmd') && brokerPath() !== undefined;
}

/** AMQP 0-9-1: after the protocol header the broker answers with a `connection.start` method frame (type 1). */
function amqpProbe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')));
    socket.once('data', (chunk) => done(chunk[0] === 1));
  });
}

export interface RunningRabbitmq extends RunningServer {
  /** The broker's Erlang node name (unique per start). */
  nodeName: string;
}

/** Starts epmd, then the broker (see the module description). */
export async function startRabbitmq(): Promise<RunningRabbitmq> {
  const epmd = await startServer({
    binary: 'epmd',
    extraPorts: 0,
    args: (port) => ['-port', String(port), '-address', '127.0.0.1'],
    url: (port) => `epmd://127.0.0.1:${port}`,
    probe: (port) => tcpProbe(port),
  });
  const nodeName = `reloadkit-${randomBytes(4).toString('hex')}@localhost`;
  const path = brokerPath();
  let broker: RunningServer;
  try {
    broker = await startServer({
      binary: 'rabbitmq-server',
      ...(path ? { path } : {}),
      extraPorts: 1,
      readyTimeoutMs: 90_000,
      processGroup: true,
      args: () => [],
      env: (port, dataDir, [dist]) => {
        mkdirSync(join(dataDir, 'log'), { recursive: true });
        writeFileSync(join(dataDir, 'enabled_plugins'), '[].\n');
        return {
          HOME: dataDir,
          ERL_EPMD_PORT: String(epmd.port),
          RABBITMQ_NODENAME: nodeName,
          RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
          RABBITMQ_NODE_PORT: String(port),
          RABBITMQ_DIST_PORT: String(dist),
          RABBITMQ_MNESIA_BASE: join(dataDir, 'mnesia'),
          RABBITMQ_LOG_BASE: join(dataDir, 'log'),
          RABBITMQ_LOGS: '-',
          RABBITMQ_PID_FILE: join(dataDir, 'rabbit.pid'),
          RABBITMQ_ENABLED_PLUGINS_FILE: join(dataDir, 'enabled_plugins'),
          RABBITMQ_ENABLED_PLUGINS: '',
          RABBITMQ_CONFIG_FILE: join(dataDir, 'rabbitmq'),
          RABBITMQ_ADVANCED_CONFIG_FILE: join(dataDir, 'advanced.config'),
          RABBITMQ_CONF_ENV_FILE: join(dataDir, 'rabbitmq-env.conf'),
          // We run epmd ourselves (so it dies with the test): the broker must not spawn a daemon.
          RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-start_epmd false',
          RABBITMQ_CTL_ERL_ARGS: '-start_epmd false',
        };
      },
      url: (port) => `amqp://guest:guest@127.0.0.1:${port}`,
      probe: amqpProbe,
    });
  } catch (error) {
    await epmd.stop();
    throw error;
  }
  return {
    ...broker,
    nodeName,
    async stop() {
      await broker.stop();
      await epmd.stop();
    },
  };
}
