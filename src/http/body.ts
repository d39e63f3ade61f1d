/**
 * Reading a JSON request body with a size limit and a deadline. A body over the limit is 413
 * (announced by `Content-Length` or discovered while reading), a body that does not arrive in
 * time is 408, and anything that is not a JSON object is 400. An empty body is `{}`.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.js';

/** Limits for {@link readJsonBody}. */
export interface BodyLimits {
  /** Maximum body size in bytes. */
  limit: number;
  /** Maximum time to receive the whole body, in ms. */
  timeoutMs: number;
}

/**
 * Whether the request announces a body (so an unread one must close the connection).
 *
 * @example
 * ```ts
 * if (hasBody(req)) res.setHeader('Connection', 'close');
 * ```
 */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Reads and parses the body of `req` as a JSON object.
 *
 * @example
 * ```ts
 * const body = await readJsonBody(req, { limit: 64 * 1024, timeoutMs: 10_000 }); // {} when empty
 * ```
 */
export function readJsonBody(req: IncomingMessage, { limit, timeoutMs }: BodyLimits): Promise<Record<string, unknown>> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(new HttpError(413, 'payload_too_large', `request body is larger than ${limit} bytes`));
  }
  if (req.readableEnded) {
    return Promise.reject(new HttpError(400, 'bad_request', 'request body was already consumed: mount the admin handler before body parsers'));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (error: HttpError | null, value?: Record<string, unknown>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (error) {
        // Stop reading what is left; the response closes the connection.
        req.pause();
        reject(error);
      } else {
        resolve(value!);
      }
    };
    const timer = setTimeout(() => finish(new HttpError(408, 'request_timeout', `request body not received within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return finish(new HttpError(413, 'payload_too_large', `request body is larger than ${limit} bytes`));
      chunks.push(chunk);
    };
    const onEnd = () => {
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (text === '') return finish(null, {});
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return finish(new HttpError(400, 'bad_json', 'request body is not valid JSON'));
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        return finish(new HttpError(400, 'bad_json', 'request body must be a JSON object'));
      }
      finish(null, parsed as Record<string, unknown>);
    };
    const onError = () => finish(new HttpError(400, 'bad_request', 'request body could not be read'));
    const onAborted = () => finish(new HttpError(400, 'bad_request', 'request aborted by the client'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}
