/**
 * `reloadkit/http`: the admin endpoint operators and deploy pipelines call, as a plain Node
 * handler, a standalone server, express middleware and a fastify plugin.
 *
 * @module
 */
export { createAdminHandler } from './handler.js';
export type { AdminHandler, AdminHandlerOptions, AdminRegistry, AdapterContext, MetricsProvider } from './handler.js';
export { startAdminServer } from './server.js';
export type { AdminServer, AdminServerOptions } from './server.js';
export { expressAdmin } from './express.js';
export type { ExpressMiddleware } from './express.js';
export { fastifyAdmin } from './fastify.js';
export type { FastifyLike } from './fastify.js';
export { createAuthenticator, isLoopbackHost } from './auth.js';
export type { Actor, AuthOption, Authenticator, Scope, TokenSpec } from './auth.js';
export { createRateLimiter } from './rate-limit.js';
export type { RateDecision, RateLimiter, RateLimitOptions } from './rate-limit.js';
export { HttpError } from '../errors.js';
/** The codes of admin error answers (every `RELOADKIT_HTTP_*` code). */
export type { HttpErrorCode as AdminErrorCode } from '../errors.js';
export type { GuardOptions } from '../support/http/guard.js';
export type { ReloadResultJson } from './serialize.js';
