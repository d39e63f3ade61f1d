/**
 * Authentication of admin requests. Fails closed: a request is anonymous (401) unless a bearer
 * token matches (constant-time digests, see the HTTP kit), or the user's `verify(req)` returns an
 * actor. `'none'` is for a loopback listener only, and even then only loopback peers get in; the
 * request guard keeps browser pages out whatever the auth mode.
 *
 * @module
 */
import { rejectUnknownKeys } from '../support/known-keys.js';
import type { IncomingMessage } from 'node:http';
import { describeSecret } from '../support/describe-value.js';
import { createBearerAuth, type Actor as KitActor, type TokenSpec as KitTokenSpec } from '../support/http/bearer.js';
import { isLoopbackHost } from '../support/http/loopback.js';

export { isLoopbackHost };
export { bearerToken } from '../support/http/bearer.js';

/** What a caller may do: `read` (status, metrics) and `reload` (reload, rollback, invalidate). */
export type Scope = 'read' | 'reload';

/** An authenticated caller: its name goes to the audit records of what it does. */
export type Actor = KitActor<Scope>;

/** One configured bearer token: `token` (at least 16 characters), `scopes`, `actor`. */
export type TokenSpec = KitTokenSpec<Scope>;

/**
 * How the admin endpoint authenticates: bearer tokens, a custom `verify(req)` (returning an actor
 * or `null`), or `'none'` (every loopback caller may read and reload: only accepted on a loopback host).
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

/** Actor name used when `auth: 'none'`. */
export const LOCAL_ACTOR = 'local';

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
export function createAuthenticator(auth: AuthOption, options: { host?: string; onError?: (error: unknown) => void } = {}): Authenticator {
  rejectUnknownKeys('createAuthenticator', options, ['host', 'onError']);
  const { host, onError = () => {} } = options;
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
    throw new TypeError(`Expected \`auth\` to be { tokens: [...] }, { verify(req) } or 'none', got ${describeSecret(auth)}`);
  }
  if ('tokens' in auth) {
    const tokens = createBearerAuth(auth.tokens, { scopes: SCOPES, where: 'auth.tokens' });
    return { authenticate: async (req) => tokens.authenticate(req) };
  }
  if ('verify' in auth && typeof auth.verify === 'function') return verifyAuthenticator(auth.verify.bind(auth), onError);
  throw new TypeError('Expected `auth` to have `tokens` (an array) or `verify` (a function)');
}
