/**
 * The one error type of the admin handler: an HTTP status, a stable machine-readable `code`, a
 * message safe to show to any caller (never a value, a secret or a stack) and optional headers.
 *
 * @module
 */
import type { ErrorCode } from '../errors.js';

/** Machine-readable codes of admin error responses. Match on these, never on messages. */
export type AdminErrorCode =
  | 'bad_request'
  | 'bad_json'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'unknown_unit'
  | 'not_a_cache'
  | 'not_rollbackable'
  | 'method_not_allowed'
  | 'request_timeout'
  | 'payload_too_large'
  | 'rate_limited'
  | 'rejected'
  | 'not_ready'
  | 'conflict'
  | 'internal';

/**
 * A response-shaped error: thrown anywhere in the handler, turned into a JSON error response.
 *
 * @example
 * ```ts
 * throw new HttpError(404, 'unknown_unit', "no unit named 'db'");
 * ```
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: AdminErrorCode | ErrorCode;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, code: AdminErrorCode | ErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}
