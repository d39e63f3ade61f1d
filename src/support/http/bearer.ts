/**
 * Bearer-token authentication that fails closed. Tokens are never kept or compared as strings:
 * each is reduced to its SHA-256 digest once, and a presented token's digest is compared with
 * every configured digest through `crypto.timingSafeEqual` (equal lengths by construction, no
 * early exit), so neither the comparison nor the number of tokens tried leaks a prefix or which
 * token matched. A token given in the wrong shape is described by its length only.
 *
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { describeSecret, describeValue } from '../describe-value.js';

/** One configured bearer token. */
export interface TokenSpec<S extends string = string> {
  /** The secret; at least `minLength` characters, no whitespace. */
  token: string;
  /** What this token may do. */
  scopes: readonly S[];
  /** Recorded as `actor` in audit records, e.g. `deploy-bot`. */
  actor: string;
}

/** An authenticated caller. */
export interface Actor<S extends string = string> {
  name: string;
  scopes: readonly S[];
}

/** Options of {@link createBearerAuth}. */
export interface BearerAuthOptions<S extends string> {
  /** Every scope a token may name. */
  scopes: readonly S[];
  /**
   * Shortest accepted token.
   * @default 16
   */
  minLength?: number;
  /**
   * Where the tokens came from, for error messages.
   * @default 'auth.tokens'
   */
  where?: string;
}

/** A compiled set of tokens. */
export interface BearerAuth<S extends string = string> {
  /** The actor whose token the request presents, or `null`. Never throws. */
  authenticate(req: IncomingMessage): Actor<S> | null;
}

/** Default {@link BearerAuthOptions.minLength}. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * The SHA-256 digest of a token: what is kept and compared instead of the token.
 *
 * @example
 * ```ts
 * tokenDigest('s3cret-s3cret-s3cret').length; // 32
 * ```
 */
export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * Whether `presented` equals the token whose digest is `expected`, in constant time.
 *
 * @example
 * ```ts
 * const expected = tokenDigest(process.env.MCP_TOKEN!);
 * if (!tokenMatches(bearerToken(req), expected)) throw new HttpError(401, 'RELOADKIT_HTTP_UNAUTHORIZED', 'missing or invalid bearer token');
 * ```
 */
export function tokenMatches(presented: string | undefined, expected: Buffer): boolean {
  if (presented === undefined) return false;
  return timingSafeEqual(tokenDigest(presented), expected);
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

/**
 * Checks a `scopes` array against the allowed ones and freezes a copy.
 *
 * @example
 * ```ts
 * checkScopes(['read'], ['read', 'reload'], 'auth.tokens[0]'); // ['read']
 * ```
 */
export function checkScopes<S extends string>(scopes: unknown, allowed: readonly S[], where: string): readonly S[] {
  const quoted = allowed.map((s) => `'${s}'`);
  const anyOf = quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}` : (quoted[0] ?? 'nothing');
  if (!Array.isArray(scopes) || scopes.length === 0) {
    throw new TypeError(`Expected \`${where}.scopes\` to be a non-empty array of ${quoted.join(' | ')}, got ${describeValue(scopes)}`);
  }
  for (const scope of scopes) {
    if (!allowed.includes(scope as S)) throw new TypeError(`Expected every entry of \`${where}.scopes\` to be ${anyOf}, got ${describeValue(scope)}`);
  }
  return Object.freeze([...(scopes as S[])]);
}

/**
 * Compiles a list of bearer tokens. Throws a `TypeError` naming the bad entry (never echoing a
 * token) when the list is invalid.
 *
 * @example
 * ```ts
 * const auth = createBearerAuth([{ token: process.env.ADMIN_TOKEN!, scopes: ['read'], actor: 'ops' }], { scopes: ['read', 'reload'] });
 * auth.authenticate(req); // { name: 'ops', scopes: ['read'] } or null
 * ```
 */
export function createBearerAuth<S extends string>(tokens: readonly TokenSpec<S>[], options: BearerAuthOptions<S>): BearerAuth<S> {
  const { scopes, minLength = MIN_TOKEN_LENGTH, where = 'auth.tokens' } = options;
  if (!Array.isArray(tokens) || tokens.length === 0) {
    throw new TypeError(`Expected \`${where}\` to be a non-empty array of { token, scopes, actor }, got ${describeSecret(tokens)}`);
  }
  const entries = tokens.map((spec, i) => {
    const at = `${where}[${i}]`;
    if (spec === null || typeof spec !== 'object') throw new TypeError(`Expected \`${at}\` to be an object { token, scopes, actor }, got ${describeSecret(spec)}`);
    if (typeof spec.token !== 'string' || spec.token.length < minLength) {
      throw new TypeError(`Expected \`${at}.token\` to be a string of at least ${minLength} characters, got ${describeSecret(spec.token)}`);
    }
    if (/\s/.test(spec.token)) throw new TypeError(`Expected \`${at}.token\` to contain no whitespace`);
    if (typeof spec.actor !== 'string' || spec.actor.trim() === '') {
      throw new TypeError(`Expected \`${at}.actor\` to be a non-empty string, got ${describeValue(spec.actor)}`);
    }
    const actor: Actor<S> = Object.freeze({ name: spec.actor, scopes: checkScopes(spec.scopes, scopes, at) });
    return { digest: tokenDigest(spec.token), actor };
  });
  return {
    authenticate(req) {
      const token = bearerToken(req);
      if (token === undefined) return null;
      const presented = tokenDigest(token);
      let found: Actor<S> | null = null;
      // Compare against every entry, without an early exit, so timing does not reveal which matched.
      for (const entry of entries) {
        if (timingSafeEqual(presented, entry.digest) && found === null) found = entry.actor;
      }
      return found;
    },
  };
}
