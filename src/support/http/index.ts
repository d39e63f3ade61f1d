/**
 * The HTTP kit of reloadkit's own servers (admin endpoint, MCP server): one error class, a JSON
 * body reader with limits, bearer auth, JSON answers with defensive headers, `listen`, and the
 * request guard that keeps browsers out. No domain state: everything here is about HTTP.
 *
 * @module
 */
export { HttpError, type HttpErrorBody, type HttpErrorCode } from '../../errors.js';
export { DEFAULT_MAX_JSON_DEPTH, hasBody, jsonDepth, parseJsonObject, readJsonBody, type BodyLimits } from './body.js';
export {
  bearerToken,
  checkScopes,
  createBearerAuth,
  MIN_TOKEN_LENGTH,
  tokenDigest,
  tokenMatches,
  type Actor,
  type BearerAuth,
  type BearerAuthOptions,
  type TokenSpec,
} from './bearer.js';
export { createRequestGuard, GUARD_OPTION_KEYS, isJsonContentType, type GuardOptions, type GuardVerdict, type RequestGuard } from './guard.js';
export { hostForUrl, listen, type Listening } from './listen.js';
export { isLoopbackHost } from './loopback.js';
export { DEFENSIVE_HEADERS, sendError, sendJson } from './send.js';
