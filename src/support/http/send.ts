/**
 * Writing JSON responses. Every response of a reloadkit HTTP server goes through here so that
 * each one carries the same defensive headers (`Cache-Control: no-store`,
 * `X-Content-Type-Options: nosniff`) and a body that is plain JSON.
 *
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { HttpError } from '../../errors.js';

/** Headers every JSON answer carries. */
export const DEFENSIVE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
});

/**
 * Sends `body` as JSON with `status`. Does nothing if the response was already sent (a client
 * that went away, or a second error racing the first).
 *
 * @example
 * ```ts
 * sendJson(res, 200, { units: [] });
 * ```
 */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  const payload = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(payload));
  for (const [name, value] of Object.entries(DEFENSIVE_HEADERS)) res.setHeader(name, value);
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.end(payload);
}

/**
 * Sends an {@link HttpError} as `{ error: { code, message, issues? }, ...fields }` with its headers.
 *
 * @example
 * ```ts
 * sendError(res, new HttpError(404, 'RELOADKIT_HTTP_NOT_FOUND', 'no such route'));
 * ```
 */
export function sendError(res: ServerResponse, error: HttpError, extraHeaders: Record<string, string> = {}): void {
  const { issues, fields } = error.body;
  const body = { ...fields, error: issues === undefined ? { code: error.code, message: error.message } : { code: error.code, message: error.message, issues } };
  sendJson(res, error.status, body, { ...error.headers, ...extraHeaders });
}
