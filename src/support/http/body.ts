/**
 * Reading a JSON request body with limits: a size limit (413, announced by `Content-Length` or
 * discovered while reading), a deadline for a slow body (408), a nesting depth (400: a hostile
 * `[[[[…` costs stack in whoever walks it) and a shape (a JSON object, 400 otherwise). An empty
 * body is `{}`.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from '../../errors.js';

/** Limits for {@link readJsonBody}. */
export interface BodyLimits {
  /** Maximum body size in bytes. */
  limit: number;
  /** Maximum time to receive the whole body, in ms. */
  timeoutMs: number;
  /**
   * Deepest nesting of arrays and objects allowed.
   * @default 64
   */
  maxDepth?: number;
}

/** Default {@link BodyLimits.maxDepth}. */
export const DEFAULT_MAX_JSON_DEPTH = 64;

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
 * The nesting depth of JSON text (arrays and objects), counted outside strings, stopping as soon
 * as it passes `max`. Linear, no recursion: safe on hostile input.
 *
 * @example
 * ```ts
 * jsonDepth('{"a": [1, {"b": 2}]}', 64); // 3
 * ```
 */
export function jsonDepth(text: string, max: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > max) return deepest;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

/**
 * Parses JSON text that must be an object: `{}` for an empty body, an `HttpError` otherwise.
 *
 * @example
 * ```ts
 * parseJsonObject('{"reason":"deploy"}', 64); // { reason: 'deploy' }
 * ```
 */
export function parseJsonObject(raw: string, maxDepth = DEFAULT_MAX_JSON_DEPTH): Record<string, unknown> {
  const text = raw.trim();
  if (text === '') return {};
  if (jsonDepth(text, maxDepth) > maxDepth) {
    throw new HttpError(400, 'RELOADKIT_HTTP_BODY_TOO_DEEP', `request body nests deeper than ${maxDepth} levels`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'RELOADKIT_HTTP_BAD_JSON', 'request body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new HttpError(400, 'RELOADKIT_HTTP_BAD_JSON', 'request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

/**
 * Reads and parses the body of `req` as a JSON object.
 *
 * @example
 * ```ts
 * const body = await readJsonBody(req, { limit: 64 * 1024, timeoutMs: 10_000 }); // {} when empty
 * ```
 */
export function readJsonBody(req: IncomingMessage, { limit, timeoutMs, maxDepth = DEFAULT_MAX_JSON_DEPTH }: BodyLimits): Promise<Record<string, unknown>> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(new HttpError(413, 'RELOADKIT_HTTP_BODY_TOO_LARGE', `request body is larger than ${limit} bytes`));
  }
  if (req.readableEnded) {
    return Promise.reject(new HttpError(400, 'RELOADKIT_HTTP_BAD_REQUEST', 'request body was already consumed: mount the handler before body parsers'));
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
    const timer = setTimeout(() => finish(new HttpError(408, 'RELOADKIT_HTTP_BODY_TIMEOUT', `request body not received within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return finish(new HttpError(413, 'RELOADKIT_HTTP_BODY_TOO_LARGE', `request body is larger than ${limit} bytes`));
      chunks.push(chunk);
    };
    const onEnd = () => {
      try {
        finish(null, parseJsonObject(Buffer.concat(chunks).toString('utf8'), maxDepth));
      } catch (error) {
        finish(error as HttpError);
      }
    };
    const onError = () => finish(new HttpError(400, 'RELOADKIT_HTTP_BAD_REQUEST', 'request body could not be read'));
    const onAborted = () => finish(new HttpError(400, 'RELOADKIT_HTTP_BAD_REQUEST', 'request aborted by the client'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}
