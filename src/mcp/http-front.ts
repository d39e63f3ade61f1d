/**
 * The HTTP checks in front of the model service's MCP endpoint, run before the MCP transport sees
 * a request: the `Host` must be a name the server may be reached by (421 otherwise: DNS
 * rebinding), an `Origin` must be allowed (403), a `Sec-Fetch-Site: cross-site` request is refused
 * (403), a POST must be `application/json` (415: a browser's "simple" cross-origin POST cannot
 * set it), and the bearer token must match, compared in constant time over fixed-length digests.
 *
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

/** A refusal: HTTP status, a stable code and a message. */
export class FrontRefusal extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

/** True for `localhost`, 127.0.0.0/8 and ::1 (IPv4-mapped included). */
export function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) {
    if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    return mapped !== null && mapped[1]!.startsWith('127.');
  }
  return false;
}

export interface FrontOptions {
  /** Bearer token; without it every caller is trusted (loopback only). */
  token?: string | undefined;
  /** Extra `Host` names (a reverse proxy's); the bound address and `localhost` are always allowed. */
  allowedHosts?: readonly string[] | undefined;
  /** Origins (`scheme://host:port`) allowed to call from a browser. Default none. */
  allowedOrigins?: readonly string[] | undefined;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Strips the port from a `Host` header value (`[::1]:80` → `::1`, `a.b:80` → `a.b`). */
function hostname(value: string): string {
  const v = value.trim().toLowerCase();
  if (v.startsWith('[')) return v.slice(1, v.indexOf(']') > 0 ? v.indexOf(']') : undefined);
  const colon = v.lastIndexOf(':');
  return colon > 0 && v.indexOf(':') === colon ? v.slice(0, colon) : v;
}

/** Builds the checker; `boundHost` is the address the server listens on. */
export function requestGuard(options: FrontOptions, boundHost: () => string): (req: IncomingMessage) => void {
  const tokenDigest = options.token === undefined ? undefined : digest(options.token);
  const hosts = new Set((options.allowedHosts ?? []).map((h) => hostname(h)));
  const origins = new Set((options.allowedOrigins ?? []).map((o) => o.trim().toLowerCase().replace(/\/+$/, '')));
  return (req) => {
    const host = req.headers.host;
    const name = typeof host === 'string' ? hostname(host) : '';
    const bound = hostname(boundHost());
    const hostOk = name !== '' && (hosts.has(name) || name === bound || name === 'localhost' || (isLoopback(bound) && isLoopback(name)) || (bound === '0.0.0.0' || bound === '::' ? isIP(name) !== 0 : false));
    if (!hostOk) throw new FrontRefusal(421, 'MISDIRECTED_HOST', 'the Host header names no address this server answers for');
    const origin = req.headers.origin;
    if (typeof origin === 'string' && !origins.has(origin.trim().toLowerCase())) throw new FrontRefusal(403, 'ORIGIN_NOT_ALLOWED', 'requests from this Origin are not allowed');
    if (String(req.headers['sec-fetch-site'] ?? '').toLowerCase() === 'cross-site' && !(typeof origin === 'string' && origins.has(origin.trim().toLowerCase()))) {
      throw new FrontRefusal(403, 'CROSS_SITE', 'cross-site requests are not allowed');
    }
    if (req.method === 'POST') {
      const type = String(req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      if (type !== 'application/json') throw new FrontRefusal(415, 'UNSUPPORTED_MEDIA_TYPE', 'expected Content-Type: application/json');
    }
    if (tokenDigest !== undefined) {
      const header = req.headers.authorization;
      const presented = typeof header === 'string' && /^bearer /i.test(header) ? header.slice(7).trim() : '';
      if (!timingSafeEqual(digest(presented), tokenDigest)) throw new FrontRefusal(401, 'UNAUTHORIZED', 'missing or invalid bearer token', { 'www-authenticate': 'Bearer' });
    }
  };
}
