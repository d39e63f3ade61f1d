/**
 * Test support for the etcd suite: a client with short reconnect backoffs, and a TCP proxy that
 * can cut the connection between a client and etcd (to make a watch miss a compaction).
 */
import { after, before } from 'node:test';
import { createServer, connect, type Socket, type Server } from 'node:net';
import { Etcd3 } from 'etcd3';
// etcd3's own fault-handling library: `noop` turns off its retry and circuit breaker, so a test
// sees the server come back as soon as it does (the unit retries loads itself).
import { noop } from 'cockatiel';
import { startEtcd, type RunningServer } from '../helpers/servers.js';

/** A constant watch backoff (etcd3 reconnects the watch stream after this many ms). */
function constantBackoff(ms: number) {
  const backoff = { duration: ms, next: () => backoff };
  return backoff;
}

/** An etcd3 client tuned for tests: 100 ms watch backoff, fast gRPC reconnects, no breaker. */
export function testEtcdClient(url: string): Etcd3 {
  return new Etcd3({
    hosts: url,
    dialTimeout: 3000,
    grpcOptions: {
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 500,
    },
    faultHandling: {
      host: () => noop,
      global: noop,
      watchBackoff: constantBackoff(100),
    },
  });
}

/** A loopback TCP proxy to `targetPort`; `cut()` drops every connection and refuses new ones. */
export interface CuttableProxy {
  port: number;
  url: string;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<CuttableProxy> {
  const sockets = new Set<Socket>();
  let open = true;
  const server: Server = createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    cut() {
      open = false;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    restore() {
      open = true;
    },
    close() {
      open = false;
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** etcd's count of open watchers (its `etcd_debugging_mvcc_watcher_total` gauge). */
export async function etcdWatcherCount(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('etcd_debugging_mvcc_watcher_total '));
  if (!line) throw new Error('etcd_debugging_mvcc_watcher_total not found in /metrics');
  return Number(line.split(' ')[1]);
}

/**
 * Starts one etcd and one test client for the enclosing `describe` (before/after hooks) and
 * returns getters for them, valid inside its tests.
 */
export function useEtcd(): { readonly etcd: RunningServer; readonly client: Etcd3 } {
  let etcd: RunningServer | undefined;
  let client: Etcd3 | undefined;
  before(async () => {
    etcd = await startEtcd();
    client = testEtcdClient(etcd.url);
  });
  after(async () => {
    client?.close();
    await etcd?.stop();
  });
  return {
    get etcd() {
      if (!etcd) throw new Error('useEtcd: etcd is not started (use it inside a test)');
      return etcd;
    },
    get client() {
      if (!client) throw new Error('useEtcd: the client is not open (use it inside a test)');
      return client;
    },
  };
}
