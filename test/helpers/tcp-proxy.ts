/**
 * A loopback TCP proxy that tests put between a client and a real server to cut the link:
 *
 * - `cut('reset')`: every connection is destroyed and new ones are refused until `restore()`
 *   (the client sees the connection drop and reconnects);
 * - `cut('blackhole')`: connections stay open but bytes in both directions are discarded until
 *   `restore()` (the client notices nothing: what the server sent meanwhile is simply lost).
 *
 * @example
 * ```ts
 * const proxy = await startTcpProxy(redis.port);
 * const subscriber = new Redis(`redis://127.0.0.1:${proxy.port}`);
 * proxy.cut('reset'); ...; proxy.restore();
 * ```
 */
import { connect, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Connections accepted so far (a reconnect adds one). */
  readonly accepted: number;
  cut(mode?: 'reset' | 'blackhole'): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let state: 'open' | 'reset' | 'blackhole' = 'open';
  let accepted = 0;
  const server = createServer((client) => {
    if (state === 'reset') {
      client.destroy();
      return;
    }
    accepted++;
    const upstream = connect({ host: targetHost, port: targetPort });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    // Forward by hand (not pipe) so a blackhole can discard bytes while the sockets stay open.
    client.on('data', (chunk) => {
      if (state === 'open') upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (state === 'open') client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const destroyAll = () => {
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };
  return {
    port,
    get accepted() {
      return accepted;
    },
    cut(mode = 'reset') {
      state = mode;
      if (mode === 'reset') destroyAll();
    },
    restore() {
      state = 'open';
    },
    close() {
      state = 'reset';
      destroyAll();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
