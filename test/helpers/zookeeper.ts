/**
 * Starts a standalone ZooKeeper for one test file: `java` running the server's main class
 * (`ZooKeeperServerMain`) with a generated `zoo.cfg` (free loopback client port, data directory
 * in a temp dir, admin server off, no fsync of the log, short ticks so sessions expire in seconds). The classpath is the
 * Debian package's jar (its manifest names its dependencies); `ZOOKEEPER_JAR` overrides it.
 *
 * @example
 * ```ts
 * if (!haveZookeeper()) { t.skip('zookeeper not installed'); return; }
 * const zk = await startZookeeper();
 * const client = zookeeper.createClient(zk.connectString);
 * ```
 */
import { existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { haveBinary, startServer, tcpProbe, type RunningServer } from './servers.js';

const DEBIAN_JAR = '/usr/share/java/zookeeper.jar';

function jarPath(): string | undefined {
  const jar = process.env.ZOOKEEPER_JAR ?? DEBIAN_JAR;
  return existsSync(jar) ? jar : undefined;
}

/** True when java and the ZooKeeper jar are installed; under CI=true a missing one throws. */
export function haveZookeeper(): boolean {
  if (!haveBinary('java')) return false;
  if (jarPath()) return true;
  if (process.env.CI === 'true') throw new Error(`ZooKeeper is required under CI=true but ${DEBIAN_JAR} was not found (install the Debian package zookeeper)`);
  return false;
}

/**
 * Ready means serving sessions, which `ruok` does not say: it answers `imok` as soon as the port
 * listens, while the server still closes every session request until it has loaded its data
 * (seconds on a busy machine, and a client's retries then look like a hang). `srvr` answers
 * "not currently serving requests" until then, and its `Mode:` line once it serves.
 */
function zkProbe(port: number): Promise<boolean> {
  return tcpProbe(port, (socket, done) => {
    let reply = '';
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('Mode: ')) done(true);
    });
    socket.on('end', () => done(reply.includes('Mode: ')));
    socket.write('srvr');
  });
}

export interface RunningZookeeper extends RunningServer {
  /** `127.0.0.1:<port>` for `createClient`. */
  connectString: string;
  /** The server's tick (ms): sessions time out between 2 and 20 ticks. */
  tickMs: number;
}

/** Starts ZooKeeper (see the module description). `tickMs` default 200 (sessions of 0.4–4 s). */
export async function startZookeeper(opts: { tickMs?: number } = {}): Promise<RunningZookeeper> {
  const tickMs = opts.tickMs ?? 200;
  const jar = jarPath();
  if (!jar) {
    haveZookeeper(); // throws under CI=true
    throw new Error('ZooKeeper jar not found; check haveZookeeper() first');
  }
  const server = await startServer({
    binary: 'java',
    extraPorts: 0,
    readyTimeoutMs: 60_000,
    args: (port, dataDir) => {
      mkdirSync(join(dataDir, 'data'), { recursive: true });
      const cfg = join(dataDir, 'zoo.cfg');
      writeFileSync(
        cfg,
        [
          `tickTime=${tickMs}`,
          // No fsync of the transaction log: every session and write is a logged transaction, and on
          // a busy disk one fsync can outlast a client's connect timeout. The tests kill the process,
          // never the machine, so the page cache keeps what a restart reads back.
          'forceSync=no',
          `dataDir=${join(dataDir, 'data')}`,
          `clientPort=${port}`,
          'clientPortAddress=127.0.0.1',
          'admin.enableServer=false',
          '4lw.commands.whitelist=srvr',
          `minSessionTimeout=${2 * tickMs}`,
          `maxSessionTimeout=${20 * tickMs}`,
          '',
        ].join('\n'),
      );
      return ['-Xmx256m', '-XX:+UseSerialGC', `-Dzookeeper.log.dir=${dataDir}`, '-cp', jar, 'org.apache.zookeeper.server.ZooKeeperServerMain', cfg];
    },
    url: (port) => `127.0.0.1:${port}`,
    probe: zkProbe,
  });
  return { ...server, connectString: server.url, tickMs };
}
