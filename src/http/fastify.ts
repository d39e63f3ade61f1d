/**
 * The admin endpoint as a fastify plugin. Its routes take over the raw request in an `onRequest`
 * hook (`reply.hijack()`), before fastify parses any body: authentication still comes first, and
 * the handler applies its own body limit and JSON rules.
 *
 * The plugin applies the same request guard as `startAdminServer` to its routes, and only to
 * them: `Host` must be `localhost`, `127.0.0.1`, `[::1]` or the address the request arrived on,
 * with the port it arrived on (a proxy's name needs `allowedHosts`, or `allowedHosts: 'any'`
 * when the application validates `Host` itself); an `Origin` outside `allowedOrigins` and
 * `Sec-Fetch-Site: cross-site | same-site` are refused; a POST needs
 * `Content-Type: application/json`. fastify's `trustProxy` changes nothing here: the guard reads
 * the raw headers and the socket, never `X-Forwarded-*`.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createAdminHandler, type AdminHandlerOptions } from './handler.js';
import { normalizeBasePath } from './routes.js';

/** The parts of a fastify instance the plugin uses, structurally (fastify is not a dependency). */
export interface FastifyLike {
  readonly prefix: string;
  route(options: {
    method: string[];
    url: string;
    onRequest: (request: { raw: IncomingMessage }, reply: { raw: ServerResponse; hijack(): void }) => Promise<void>;
    handler: () => Promise<void>;
  }): unknown;
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
/** Options fastify itself gives every plugin (`app.register(plugin, { prefix })`), not ours. */
const FASTIFY_REGISTER_KEYS = new Set(['prefix', 'logLevel', 'logSerializers']);

/**
 * A fastify plugin serving the admin routes under `basePath` (inside any `prefix` it is
 * registered with).
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { fastifyAdmin } from 'reloadkit/http';
 *
 * const app = Fastify();
 * await app.register(fastifyAdmin, { registry, auth: { tokens } });
 * await app.listen({ port: 3000 });
 * ```
 */
export async function fastifyAdmin(fastify: FastifyLike, options: AdminHandlerOptions): Promise<void> {
  const basePath = normalizeBasePath(options.basePath ?? '/reloadkit');
  const prefix = (fastify.prefix ?? '').replace(/\/+$/, '');
  const own = Object.fromEntries(Object.entries(options).filter(([key]) => !FASTIFY_REGISTER_KEYS.has(key))) as unknown as AdminHandlerOptions;
  const handler = createAdminHandler({ ...own, basePath: `${prefix}${basePath}` || '/' });
  const take = async (request: { raw: IncomingMessage }, reply: { raw: ServerResponse; hijack(): void }) => {
    reply.hijack();
    if (!(await handler(request.raw, reply.raw))) {
      reply.raw.statusCode = 404;
      reply.raw.end();
    }
  };
  const noop = async () => {};
  for (const url of [basePath || '/', `${basePath}/*`]) {
    fastify.route({ method: METHODS, url, onRequest: take, handler: noop });
  }
}
