/**
 * The admin endpoint as express middleware. Mount it before any body parser (it reads its own
 * bodies, after authenticating); when a parser ran first, its parsed body is used.
 *
 * The middleware applies the same request guard as `startAdminServer` to the requests under its
 * base path, and only to those: `Host` must be `localhost`, `127.0.0.1`, `[::1]` or the address
 * the request arrived on, with the port it arrived on (the socket's, so a proxy's name needs
 * `allowedHosts`, or `allowedHosts: 'any'` when the application validates `Host` itself); an
 * `Origin` outside `allowedOrigins` and `Sec-Fetch-Site: cross-site | same-site` are refused;
 * a POST needs `Content-Type: application/json`. `app.set('trust proxy')` changes nothing here:
 * the guard reads the raw headers and the socket, never `X-Forwarded-*`.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createAdminHandler, type AdminHandlerOptions } from './handler.js';

/** The express middleware signature, structurally (express itself is not a dependency). */
export type ExpressMiddleware = (req: IncomingMessage & { body?: unknown }, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * Creates express middleware serving the admin routes under `basePath` (relative to where it is
 * mounted) and passing every other request on.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { expressAdmin } from 'reloadkit/http';
 *
 * const app = express();
 * app.use(expressAdmin({ registry, auth: { tokens } }));
 * app.use(express.json()); // after the admin middleware
 * ```
 */
export function expressAdmin(options: AdminHandlerOptions): ExpressMiddleware {
  const handler = createAdminHandler(options);
  return (req, res, next) => {
    const context = req.readableEnded ? { parsedBody: req.body } : undefined;
    handler(req, res, context).then((handled) => {
      if (!handled) next();
    }, next);
  };
}
