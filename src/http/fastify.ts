/**
 * The admin endpoint as a fastify plugin. Its routes take over the raw request in an `onRequest`
 * hook (`reply.hijack()`), before fastify parses any body: authentication still comes first, and
 * the handler applies its own body limit and JSON rules.
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
  const handler = createAdminHandler({ ...options, basePath: `${prefix}${basePath}` || '/' });
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
