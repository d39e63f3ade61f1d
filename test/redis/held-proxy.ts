/**
 * A loopback TCP proxy that can hold new connections: while held, a connection is accepted but not
 * connected upstream (what the client sends is buffered), and `release()` connects every held one
 * to the server as it is then. Tests use it to decide which server a connection's first handshake
 * reaches, e.g. a subscriber whose first connect lands on a server restarted meanwhile.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface HeldProxy {
  port: number;
  /** Connections accepted while held and not yet released. */
  readonly waiting: number;
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

export async function startHeldProxy(targetPort: number): Promise<HeldProxy> {
  const sockets = new Set<Socket>();
  const held: Array<() => void> = [];
  let holding = false;
  const pipe = (client: Socket, buffered: Buffer[]) => {
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    sockets.add(upstream);
    for (const chunk of buffered) upstream.write(chunk);
    client.removeAllListeners('data');
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(upstream);
    };
    upstream.on('error', drop).on('close', drop);
  };
  const server = createServer((client) => {
    sockets.add(client);
    client.on('error', () => client.destroy()).on('close', () => sockets.delete(client));
    if (!holding) {
      pipe(client, []);
      return;
    }
    const buffered: Buffer[] = [];
    client.on('data', (chunk: Buffer) => buffered.push(chunk));
    held.push(() => {
      if (!client.destroyed) pipe(client, buffered);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    get waiting() {
      return held.length;
    },
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const go of held.splice(0)) go();
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
