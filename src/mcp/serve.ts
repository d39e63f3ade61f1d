/**
 * `startMcpServer()`: binds a `createMcpServer()` handler to a port (loopback by default), with
 * the socket timeouts a network-facing service needs. A non-loopback bind without a token fails.
 *
 * @module
 */
import { createServer } from 'node:http';
import { GUARD_OPTION_KEYS, hostForUrl, isLoopbackHost, listen } from '../support/http/index.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { MCP_PATH, createMcpServer } from './server.js';
import type { McpServerHandler, McpServerOptions } from './server.js';

export interface StartMcpServerOptions extends McpServerOptions {
  /**
   * Address to bind.
   * @default '127.0.0.1'
   * @example host: '0.0.0.0' // needs a token
   */
  host?: string;
  /**
   * Port; 0 picks a free one.
   * @default 0
   * @example port: 8080
   */
  port?: number;
  /**
   * Serve without a `token` on a non-loopback host. Such a service lets anyone who reaches it
   * load, unload and re-route models, so it fails closed unless you opt in (behind a mesh that
   * authenticates for you, say).
   * @default false
   * @example allowUnauthenticated: true
   */
  allowUnauthenticated?: boolean;
}

const KNOWN_KEYS = ['models', 'token', ...GUARD_OPTION_KEYS, 'maxBodyBytes', 'loadTimeoutMs', 'maxSessions', 'deploymentId', 'host', 'port', 'allowUnauthenticated'] as const;

export interface RunningMcpServer {
  /** The MCP endpoint, e.g. `http://127.0.0.1:41234/mcp`: pass it to `mcpConnection({ url })`. */
  url: string;
  port: number;
  handler: McpServerHandler;
  /** Stops accepting, closes sessions and connections, unloads every version. */
  close(): Promise<void>;
}

/**
 * Starts a model service's MCP server on `host:port` (loopback and a free port by default).
 *
 * @example
 * ```ts
 * const service = await startMcpServer({ models: [sentimentModel], port: 8080, token: process.env.MCP_TOKEN });
 * console.log(service.url); // http://127.0.0.1:8080/mcp
 * await service.close();
 * ```
 */
export async function startMcpServer(options: StartMcpServerOptions): Promise<RunningMcpServer> {
  if (typeof options !== 'object' || options === null) throw new TypeError('startMcpServer: expected an options object');
  rejectUnknownKeys('startMcpServer', options, KNOWN_KEYS);
  const { host = '127.0.0.1', port = 0, allowUnauthenticated = false, ...rest } = options;
  if (rest.token === undefined && !allowUnauthenticated && !isLoopbackHost(host)) {
    throw new TypeError(`startMcpServer: a service on the non-loopback host ${JSON.stringify(host)} needs a \`token\` (or \`allowUnauthenticated: true\`)`);
  }
  const handler = createMcpServer(rest);
  const server = createServer(handler);
  server.headersTimeout = 10_000;
  server.requestTimeout = 0; // SSE streams are long-lived; bodies are bounded by maxBodyBytes and headersTimeout
  server.keepAliveTimeout = 5_000;
  const listening = await listen(server, port, host);
  const { address } = listening;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostForUrl(address.address)}:${address.port}${MCP_PATH}`,
    port: address.port,
    handler,
    close() {
      closing ??= (async () => {
        await handler.close();
        await listening.close();
      })();
      return closing;
    },
  };
}
