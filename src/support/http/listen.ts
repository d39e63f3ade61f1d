/**
 * Starting and stopping a `node:http` server the way reloadkit's own servers (admin, MCP) do:
 * `listen()` resolves once the socket is bound (or rejects with the bind error, `EADDRINUSE`...),
 * and `close()` also drops idle keep-alive and in-flight connections so it never hangs.
 *
 * @module
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A bound server. */
export interface Listening {
  /** The bound address; `port` is the real one when `0` asked for a free port. */
  readonly address: AddressInfo;
  /** Stops listening and closes every open connection; idempotent (the same promise each time). */
  close(): Promise<void>;
}

/**
 * Binds `server` to `host:port` (`0`: a free port).
 *
 * @example
 * ```ts
 * const server = createServer(handler);
 * const { address, close } = await listen(server, 0, '127.0.0.1');
 * console.log(`http://${hostForUrl(address.address)}:${address.port}`);
 * await close();
 * ```
 */
export async function listen(server: Server, port: number, host: string): Promise<Listening> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    address,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/**
 * A host as it goes in a URL: an IPv6 address in brackets, anything else as is.
 *
 * @example
 * ```ts
 * hostForUrl('::1');       // '[::1]'
 * hostForUrl('127.0.0.1'); // '127.0.0.1'
 * ```
 */
export function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
