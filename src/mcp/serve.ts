/**
 * `startMcpServer()`: binds a `createMcpServer()` handler to a loopback port, with the socket
 * timeouts a public-facing service needs (slow headers, slow bodies, idle keep-alive).
 *
 * @module
 */
import { createServer } from 'node:http';
import { isLoopbackHost } from '../http/auth.js';
import { hostForUrl, listen } from '../support/listen.js';
import { createMcpServer } from './server.js';
import type { McpServerHandler, McpServerOptions } from './server.js';

export interface StartMcpServerOptions extends McpServerOptions {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /**
   * Serve without a `token` on a non-loopback host. Default false: such a service would let anyone
   * who reaches it load, unload and re-route models, so it fails closed unless you opt in (for
   * example behind a mesh that authenticates for you).
   */
  allowUnauthenticated?: boolean;
}

export interface RunningMcpServer {
  /** Origin, e.g. `http://127.0.0.1:41234`: pass it to `createMcpClient({ baseUrl })`. */
  url: string;
  port: number;
  handler: McpServerHandler;
  /** Stops accepting, closes connections, unloads every version. */
  close(): Promise<void>;
}

/**
 * Starts a model service on `host:port` (loopback and a free port by default). A non-loopback
 * host without a `token` throws a `TypeError` unless `allowUnauthenticated` is set.
 *
 * @example
 * ```ts
 * const service = await startMcpServer({ models: [sentimentModel], port: 8080 });
 * console.log(service.url); // http://127.0.0.1:8080
 * await service.close();
 * ```
 */
export async function startMcpServer(options: StartMcpServerOptions): Promise<RunningMcpServer> {
  const { host = '127.0.0.1', port = 0, allowUnauthenticated = false, ...rest } = options;
  if (rest.token === undefined && !allowUnauthenticated && !isLoopbackHost(host)) {
    throw new TypeError(`startMcpServer: a service on the non-loopback host ${JSON.stringify(host)} needs a \`token\` (or \`allowUnauthenticated: true\`)`);
  }
  const handler = createMcpServer(rest);
  const server = createServer(handler);
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  const listening = await listen(server, port, host);
  const { address } = listening;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostForUrl(address.address)}:${address.port}`,
    port: address.port,
    handler,
    close() {
      closing ??= (async () => {
        await listening.close();
        await handler.close();
      })();
      return closing;
    },
  };
}
