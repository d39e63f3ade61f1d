/**
 * Authentication of admin requests. Fails closed: a request is anonymous (401) unless a bearer
 * token matches, or the user's `verify(req)` returns an actor. Tokens are never kept or compared
 * as strings: each is reduced to its SHA-256 digest once, and a presented token's digest is
 * compared with every configured digest through `crypto.timingSafeEqual` (equal lengths by
 * construction), so neither the comparison nor the number of tokens tried leaks a prefix.
 *
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/** What a caller may do: `read` (status, metrics) and `reload` (reload, rollback, invalidate). */
export type Scope = 'read' | 'reload';

/** An authenticated caller: its name goes to the audit records of what it does. */
export interface Actor {
  name: string;
  scopes: readonly Scope[];
}

/** One configured bearer token. */
export interface TokenSpec {
  /** The secret; at least 16 characters. */
  token: string;
  scopes: readonly Scope[];
  /** Recorded as `actor` in audit records, e.g. `deploy-bot`. */
  actor: string;
}

/**
 * How the admin endpoint authenticates: bearer tokens, a custom `verify(req)` (returning an actor
 * or `null`), or `'none'` (every caller may read and reload: only accepted on a loopback host).
 */
export type AuthOption =
  | 'none'
  | { tokens: readonly TokenSpec[] }
  | { verify(req: IncomingMessage): Actor | null | undefined | Promise<Actor | null | undefined> };

/** A compiled authenticator. */
export interface Authenticator {
  /** The caller's actor, or `null` when it is not authenticated. Never throws. */
  authenticate(req: IncomingMessage): Promise<Actor | null>;
}

const SCOPES: readonly Scope[] = ['read', 'reload'];
const MIN_TOKEN_LENGTH = 16;

/** Actor name used when `auth: 'none'`. */
export const LOCAL_ACTOR = 'local';

/**
 * Whether `host` names the loopback interface (`localhost`, `127.0.0.0/8`, `::1`, or an
 * IPv4-mapped loopback address).
 *
 * @example
 * ```ts
 * isLoopbackHost('127.0.0.1'); // true
 * isLoopbackHost('0.0.0.0');   // false
 * ```
 */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
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

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function checkScopes(scopes: unknown, where: string): readonly Scope[] {
  if (!Array.isArray(scopes) || scopes.length === 0) {
    throw new TypeError(`Expected \`${where}.scopes\` to be a non-empty array of 'read' | 'reload', got ${describe(scopes)}`);
  }
  for (const scope of scopes) {
    if (!SCOPES.includes(scope as Scope)) {
      throw new TypeError(`Expected every entry of \`${where}.scopes\` to be 'read' or 'reload', got ${describe(scope)}`);
    }
  }
  return Object.freeze([...(scopes as Scope[])]);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string '${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;
  return `\`${typeof value}\``;
}

/**
 * Like `describe`, for places where a string is likely a token given in the wrong shape
 * (`auth: process.env.TOKEN`, `tokens: ['s3cret']`): only its length is told, never its text.
 */
function describeMaybeSecret(value: unknown): string {
  return typeof value === 'string' ? `a string of ${value.length} characters` : describe(value);
}

/**
 * Extracts the bearer token of the `Authorization` header, or `undefined`.
 *
 * @example
 * ```ts
 * bearerToken(req); // 'abc…' for `Authorization: Bearer abc…`
 * ```
 */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(header);
  return match ? match[1] : undefined;
}

function tokenAuthenticator(tokens: readonly TokenSpec[]): Authenticator {
  if (!Array.isArray(tokens) || tokens.length === 0) {
    throw new TypeError('Expected `auth.tokens` to be a non-empty array of { token, scopes, actor }');
  }
  const entries = tokens.map((spec, i) => {
    const where = `auth.tokens[${i}]`;
    if (spec === null || typeof spec !== 'object') throw new TypeError(`Expected \`${where}\` to be an object { token, scopes, actor }, got ${describeMaybeSecret(spec)}`);
    if (typeof spec.token !== 'string' || spec.token.length < MIN_TOKEN_LENGTH) {
      // The token itself is never echoed: only its type and length.
      const got = typeof spec.token === 'string' ? `a string of ${spec.token.length} characters` : `\`${typeof spec.token}\``;
      throw new TypeError(`Expected \`${where}.token\` to be a string of at least ${MIN_TOKEN_LENGTH} characters, got ${got}`);
    }
    if (/\s/.test(spec.token)) throw new TypeError(`Expected \`${where}.token\` to contain no whitespace`);
    if (typeof spec.actor !== 'string' || spec.actor.trim() === '') {
      throw new TypeError(`Expected \`${where}.actor\` to be a non-empty string, got ${describe(spec.actor)}`);
    }
    const actor: Actor = Object.freeze({ name: spec.actor, scopes: checkScopes(spec.scopes, where) });
    return { digest: digest(spec.token), actor };
  });
  return {
    async authenticate(req) {
      const token = bearerToken(req);
      if (token === undefined) return null;
      const presented = digest(token);
      let found: Actor | null = null;
      // Compare against every entry, without an early exit, so timing does not reveal which matched.
      for (const entry of entries) {
        if (timingSafeEqual(presented, entry.digest) && found === null) found = entry.actor;
      }
      return found;
    },
  };
}

function verifyAuthenticator(verify: (req: IncomingMessage) => unknown, onError: (error: unknown) => void): Authenticator {
  return {
    async authenticate(req) {
      let actor: unknown;
      try {
        actor = await verify(req);
      } catch (error) {
        // A broken verifier fails closed: the caller is anonymous.
        onError(error);
        return null;
      }
      if (actor === null || actor === undefined) return null;
      const a = actor as Partial<Actor>;
      if (typeof a.name !== 'string' || a.name === '' || !Array.isArray(a.scopes)) {
        onError(new TypeError('Expected `auth.verify(req)` to return { name: string, scopes: Scope[] } or null'));
        return null;
      }
      return { name: a.name, scopes: a.scopes.filter((s): s is Scope => SCOPES.includes(s)) };
    },
  };
}

/**
 * Compiles the `auth` option. Throws a `TypeError` naming the problem when it is invalid, and
 * for `'none'` unless `host` is a loopback address.
 *
 * @example
 * ```ts
 * const auth = createAuthenticator({ tokens: [{ token: process.env.ADMIN_TOKEN!, scopes: ['read', 'reload'], actor: 'ops' }] });
 * const actor = await auth.authenticate(req); // { name: 'ops', scopes: [...] } or null
 * ```
 */
export function createAuthenticator(auth: AuthOption, { host, onError = () => {} }: { host?: string; onError?: (error: unknown) => void } = {}): Authenticator {
  if (auth === 'none') {
    if (!isLoopbackHost(host)) {
      throw new TypeError(
        `\`auth: 'none'\` is only allowed on a loopback host ('127.0.0.1', '::1' or 'localhost'), got ${host === undefined ? 'no `host` option' : `host '${host}'`}; configure \`auth: { tokens: [...] }\` or \`auth: { verify }\``,
      );
    }
    const local: Actor = Object.freeze({ name: LOCAL_ACTOR, scopes: SCOPES });
    return {
      async authenticate(req) {
        // Defence in depth: even behind a loopback-bound listener, only loopback peers get in.
        return isLoopbackHost(req.socket.remoteAddress) ? local : null;
      },
    };
  }
  if (auth === null || typeof auth !== 'object') {
    throw new TypeError(`Expected \`auth\` to be { tokens: [...] }, { verify(req) } or 'none', got ${describeMaybeSecret(auth)}`);
  }
  if ('tokens' in auth) return tokenAuthenticator(auth.tokens);
  if ('verify' in auth && typeof auth.verify === 'function') return verifyAuthenticator(auth.verify.bind(auth), onError);
  throw new TypeError('Expected `auth` to have `tokens` (an array) or `verify` (a function)');
}
