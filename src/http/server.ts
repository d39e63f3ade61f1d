/**
 * `startAdminServer()`: the admin handler on its own `node:http` listener, bound to loopback by
 * default. Node's own request and header timeouts are tightened so a slowloris client cannot
 * hold a socket open for minutes.
 *
 * @module
 */
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { HttpError } from '../errors.js';
import { hostForUrl, listen } from '../support/http/listen.js';
import { sendError } from '../support/http/send.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { ADMIN_HANDLER_KEYS, createAdminHandler, type AdminHandlerOptions } from './handler.js';
import { describeValue } from '../support/describe-value.js';

/** Options of {@link startAdminServer}: the handler's, plus where to listen. */
export interface AdminServerOptions extends Omit<AdminHandlerOptions, 'host'> {
  /**
   * The address to bind. Requests must name it (or `localhost`, `127.0.0.1`, `[::1]`, or an
   * `allowedHosts` entry) in their `Host` header.
   * @default '127.0.0.1'
   * @example
   * ```ts
   * host: '::1'
   * ```
   */
  host?: string;
  /**
   * The port to bind; `0` picks a free port.
   * @default 9464
   * @example
   * ```ts
   * port: 0
   * ```
   */
  port?: number;
}

/** A running admin server. */
export interface AdminServer {
  /** Base URL of the admin routes, e.g. `http://127.0.0.1:9464/reloadkit`. */
  url: string;
  /** The underlying server (for tests and advanced tuning). */
  server: Server;
  /** Stops listening and closes open connections; idempotent. Does not close the registry. */
  close(): Promise<void>;
}

/**
 * Starts an admin server.
 *
 * @example
 * ```ts
 * const admin = await startAdminServer({
 *   registry,
 *   auth: { tokens: [{ token: process.env.RELOADKIT_TOKEN!, scopes: ['read', 'reload'], actor: 'ops' }] },
 *   port: 9464,
 * });
 * console.log(admin.url); // http://127.0.0.1:9464/reloadkit
 * await admin.close();
 * ```
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  if (options === null || typeof options !== 'object') throw new TypeError('Expected `options` to be an object');
  rejectUnknownKeys('startAdminServer', options, [...ADMIN_HANDLER_KEYS, 'port']);
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '') throw new TypeError(`Expected \`host\` to be a non-empty string, got ${describeValue(host)}`);
  const port = options.port ?? 9464;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`Expected \`port\` to be an integer from 0 to 65535, got ${describeValue(port)}`);
  }
  const { port: _port, ...handlerOptions } = options;
  const handler = createAdminHandler({ ...handlerOptions, host });
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const onError = options.onError ?? (() => {});

  // Node enforces headers/request timeouts on a periodic sweep (30 s by default): sweep often
  // enough that a slow client is cut near its deadline.
  const connectionsCheckingInterval = Math.max(100, Math.min(1_000, Math.floor(requestTimeoutMs / 4)));
  const server = createServer({ connectionsCheckingInterval }, async (req, res) => {
    try {
      if (await handler(req, res)) return;
      sendError(res, new HttpError(404, 'RELOADKIT_HTTP_NOT_FOUND', 'not an admin route'));
    } catch (error) {
      // The handler answers its own errors; this is a last line of defence, never a crash.
      try {
        onError(error);
      } catch {}
      sendError(res, new HttpError(500, 'RELOADKIT_HTTP_INTERNAL', 'internal error'));
    }
  });
  // Whole request (headers + body) must arrive in time; a reload itself may take longer.
  server.headersTimeout = Math.min(requestTimeoutMs, 60_000);
  server.requestTimeout = requestTimeoutMs + 1_000;
  server.keepAliveTimeout = 5_000;
  server.on('clientError', (error: Error & { code?: string }, socket: Socket) => {
    if (!socket.writable) return socket.destroy();
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });

  const { address, close } = await listen(server, port, host);
  const basePath = (options.basePath ?? '/reloadkit').replace(/\/+$/, '');
  return {
    url: `http://${hostForUrl(host)}:${address.port}${basePath}`,
    server,
    close,
  };
}
