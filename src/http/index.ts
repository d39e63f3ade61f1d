/**
 * `reloadkit/http`: the admin endpoint operators and deploy pipelines call (DESIGN §4), as a plain
 * Node handler, a standalone server, express middleware and a fastify plugin.
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
export { HttpError } from './http-error.js';
export type { AdminErrorCode } from './http-error.js';
export type { ReloadResultJson } from './serialize.js';
