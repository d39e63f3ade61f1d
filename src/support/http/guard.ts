/**
 * The browser defence of every reloadkit HTTP server, run on each request before authentication
 * and before routing. A web page open on the same machine can send "simple" cross-origin
 * requests to a loopback server without any CORS preflight, and a DNS-rebinding page can even
 * read the answers; this guard refuses both, in this order:
 *
 * 1. `Host` must name the server: `localhost`, `127.0.0.1`, `[::1]` or the address the request
 *    arrived on, with the port it arrived on, or an entry of `allowedHosts` (a reverse proxy's
 *    name): otherwise 421 `RELOADKIT_HTTP_MISDIRECTED`. This is what defeats DNS rebinding.
 * 2. An `Origin` header not listed in `allowedOrigins` (empty by default): 403
 *    `RELOADKIT_HTTP_CROSS_SITE`. Browsers send `Origin` on every cross-origin POST.
 * 3. `Sec-Fetch-Site: cross-site` or `same-site` (a browser's own account of where the request
 *    comes from, sent even on image loads that carry no `Origin`), unless the origin is allowed:
 *    403 `RELOADKIT_HTTP_CROSS_SITE`.
 * 4. A mutating method (anything but GET, HEAD and OPTIONS) must carry `Content-Type:
 *    application/json` (parameters allowed): 415 `RELOADKIT_HTTP_UNSUPPORTED_MEDIA_TYPE`
 *    otherwise, a missing type and an empty body included. A page cannot send that type
 *    cross-origin without a preflight, which this server only answers for allowed origins.
 *
 * An allowed origin gets CORS answers (`Access-Control-Allow-Origin`, preflights), so a trusted
 * dashboard can call the server with its token.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { HttpError } from '../../errors.js';
import { describeValue } from '../describe-value.js';

/** Options of {@link createRequestGuard}. */
export interface GuardOptions {
  /**
   * Extra names the server may be reached by, besides `localhost`, `127.0.0.1`, `[::1]` and the
   * address a request arrives on: a reverse proxy's public name. `'admin.example.com'` matches
   * any port, `'admin.example.com:8443'` only that port. `'any'` turns the `Host` check off:
   * only for a host application that validates `Host` itself.
   * @default []
   * @example
   * ```ts
   * allowedHosts: ['admin.internal.example.com']
   * ```
   */
  allowedHosts?: readonly string[] | 'any';
  /**
   * Origins (`scheme://host[:port]`) whose pages may call the server, e.g. an operations
   * dashboard. Requests from them get CORS headers and preflights are answered; every other
   * origin is refused.
   * @default []
   * @example
   * ```ts
   * allowedOrigins: ['https://ops.example.com']
   * ```
   */
  allowedOrigins?: readonly string[];
}

/** What a request that passed the guard still needs. */
export interface GuardVerdict {
  /** A CORS preflight from an allowed origin: answer 204 with `headers` and stop. */
  preflight: boolean;
  /** Headers to put on the answer (CORS headers for an allowed origin; `{}` otherwise). */
  headers: Record<string, string>;
}

/** A compiled guard. */
export interface RequestGuard {
  /**
   * Checks `req`; throws an `HttpError` (421, 403 or 415) when it is refused.
   *
   * @example
   * ```ts
   * const { preflight, headers } = guard.check(req);
   * if (preflight) return sendNoContent(res, headers);
   * ```
   */
  check(req: IncomingMessage): GuardVerdict;
}

/** The options the guard reads, for `rejectUnknownKeys` lists of the servers that embed it. */
export const GUARD_OPTION_KEYS = ['allowedHosts', 'allowedOrigins'] as const;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];
const PREFLIGHT_MAX_AGE_S = '600';

interface HostName {
  name: string;
  port: number | undefined;
}

/** `example.com:80` → { name: 'example.com', port: 80 }; `[::1]` → { name: '::1' }; junk → undefined. */
function parseHost(value: string): HostName | undefined {
  const match = /^(?:\[([0-9a-f:.]+)\]|([^\s:/?#@[\]]+))(?::(\d{1,5}))?$/i.exec(value.trim());
  if (!match) return undefined;
  const name = (match[1] ?? match[2]!).toLowerCase().replace(/\.$/, '');
  const port = match[3] === undefined ? undefined : Number(match[3]);
  if (port !== undefined && port > 65535) return undefined;
  return { name, port };
}

/** Normalizes an address as the socket reports it (`::ffff:127.0.0.1` → `127.0.0.1`). */
function plainAddress(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  const lower = address.toLowerCase();
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice('::ffff:'.length) : lower;
}

/** `https://Ops.Example.com:443/` → `https://ops.example.com`; not an origin → undefined. */
function normalizeOrigin(value: string): string | undefined {
  if (value === 'null') return 'null';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username !== '' || url.password !== '' || (url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') return undefined;
  return url.origin;
}

function checkHosts(allowed: unknown): HostName[] | 'any' {
  if (allowed === undefined) return [];
  if (allowed === 'any') return 'any';
  if (!Array.isArray(allowed)) throw new TypeError(`Expected \`allowedHosts\` to be an array of host names or 'any', got ${describeValue(allowed)}`);
  return allowed.map((entry: unknown, i) => {
    const parsed = typeof entry === 'string' ? parseHost(entry) : undefined;
    if (parsed === undefined) {
      throw new TypeError(`Expected \`allowedHosts[${i}]\` to be a host name with an optional port ('admin.example.com' or 'admin.example.com:8443'), got ${describeValue(entry)}`);
    }
    return parsed;
  });
}

function checkOrigins(allowed: unknown): Set<string> {
  if (allowed === undefined) return new Set();
  if (!Array.isArray(allowed)) throw new TypeError(`Expected \`allowedOrigins\` to be an array of origins ('https://ops.example.com'), got ${describeValue(allowed)}`);
  return new Set(
    allowed.map((entry: unknown, i) => {
      const origin = typeof entry === 'string' && entry !== 'null' ? normalizeOrigin(entry) : undefined;
      if (origin === undefined) {
        throw new TypeError(`Expected \`allowedOrigins[${i}]\` to be an origin: scheme, host and optional port ('https://ops.example.com'), got ${describeValue(entry)}`);
      }
      return origin;
    }),
  );
}

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Compiles the guard. Throws a `TypeError` naming a malformed `allowedHosts` or
 * `allowedOrigins` entry.
 *
 * @example
 * ```ts
 * const guard = createRequestGuard({ allowedHosts: ['admin.example.com'], allowedOrigins: ['https://ops.example.com'] });
 * createServer((req, res) => {
 *   try {
 *     const { preflight, headers } = guard.check(req);
 *     if (preflight) { res.writeHead(204, headers); return res.end(); }
 *     // ...authenticate, route, answer with `headers`
 *   } catch (error) {
 *     if (error instanceof HttpError) return sendError(res, error);
 *     throw error;
 *   }
 * });
 * ```
 */
export function createRequestGuard(options: GuardOptions = {}): RequestGuard {
  const hosts = checkHosts(options.allowedHosts);
  const origins = checkOrigins(options.allowedOrigins);

  function hostAllowed(req: IncomingMessage): boolean {
    if (hosts === 'any') return true;
    const header = req.headers.host;
    const host = header === undefined ? undefined : parseHost(header);
    if (host === undefined) return false;
    const localPort = req.socket.localPort;
    const defaultPort = (req.socket as TLSSocket).encrypted ? 443 : 80;
    const port = host.port ?? defaultPort;
    const local = plainAddress(req.socket.localAddress);
    if ((LOOPBACK_NAMES.includes(host.name) || host.name === local) && port === localPort) return true;
    return hosts.some((h) => h.name === host.name && (h.port === undefined || h.port === port));
  }

  return {
    check(req) {
      if (!hostAllowed(req)) {
        throw new HttpError(421, 'RELOADKIT_HTTP_MISDIRECTED', 'the Host header does not name this server (add it to `allowedHosts` when a proxy forwards it)');
      }
      const originHeader = one(req.headers.origin);
      let allowedOrigin: string | undefined;
      if (originHeader !== undefined) {
        const origin = normalizeOrigin(originHeader.trim());
        if (origin === undefined || !origins.has(origin)) throw new HttpError(403, 'RELOADKIT_HTTP_CROSS_SITE', 'requests from this origin are not allowed (see `allowedOrigins`)');
        allowedOrigin = origin;
      }
      const site = one(req.headers['sec-fetch-site'])?.trim().toLowerCase();
      if ((site === 'cross-site' || site === 'same-site') && allowedOrigin === undefined) {
        throw new HttpError(403, 'RELOADKIT_HTTP_CROSS_SITE', `${site} browser requests are not allowed (see \`allowedOrigins\`)`);
      }
      const headers: Record<string, string> = allowedOrigin === undefined ? {} : { 'Access-Control-Allow-Origin': allowedOrigin, Vary: 'Origin' };
      const method = (req.method ?? '').toUpperCase();
      if (method === 'OPTIONS' && allowedOrigin !== undefined && req.headers['access-control-request-method'] !== undefined) {
        headers['Access-Control-Allow-Methods'] = 'GET, HEAD, POST';
        headers['Access-Control-Allow-Headers'] = 'Authorization, Content-Type';
        headers['Access-Control-Max-Age'] = PREFLIGHT_MAX_AGE_S;
        if (req.headers['access-control-request-private-network'] === 'true') headers['Access-Control-Allow-Private-Network'] = 'true';
        return { preflight: true, headers };
      }
      if (!SAFE_METHODS.has(method) && !isJsonContentType(req.headers['content-type'])) {
        throw new HttpError(415, 'RELOADKIT_HTTP_UNSUPPORTED_MEDIA_TYPE', 'send `Content-Type: application/json` with every mutating request', headers);
      }
      return { preflight: false, headers };
    },
  };
}

/**
 * Whether a `Content-Type` header is `application/json`, with or without parameters.
 *
 * @example
 * ```ts
 * isJsonContentType('application/json; charset=utf-8'); // true
 * isJsonContentType('text/plain');                       // false
 * ```
 */
export function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const type = value.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json';
}
