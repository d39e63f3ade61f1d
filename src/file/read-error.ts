/**
 * Clear errors for files that cannot be read: a filesystem failure becomes a `FileReadError` (a
 * `LoadError`) naming the path, with Node's errno (`ENOENT`, `EACCES`...) kept as `errno` so
 * callers can match on it, and said in words in the message.
 *
 * @module
 */
import { FileReadError } from '../errors.js';

export { FileReadError };

/**
 * Wraps a filesystem error thrown while reading `path`; other errors (aborts, parse errors) pass.
 *
 * @example
 * ```ts
 * try { await readFile('missing.json'); } catch (e) { throw asReadError(e, 'missing.json'); }
 * // FileReadError: cannot read missing.json: no such file or directory (...) (ENOENT)
 * ```
 */
export function asReadError(error: unknown, path: string, action?: string): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof Error && error.name === 'AbortError') return error;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return new FileReadError(path, error, action);
  return error;
}
