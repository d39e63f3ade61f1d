/**
 * Clear errors for files that cannot be read: a filesystem failure becomes a `FileReadError` (a
 * `LoadError`) naming the path, with Node's errno (`ENOENT`, `EACCES`...) kept as `errno` so
 * callers can match on it, and said in words in the message.
 *
 * @module
 */
import { FileReadError } from '../errors.js';

export { FileReadError };

/** Errnos that trying again cannot fix: permission denied, operation not permitted. */
const PERMANENT_ERRNOS: ReadonlySet<string> = new Set(['EACCES', 'EPERM']);

/**
 * Wraps a filesystem error thrown while reading `path`; other errors (aborts, parse errors) pass.
 * The result is `permanent` (the retry loop stops at once) for EACCES and EPERM, and for ENOENT
 * when `missingIsPermanent` (a path that never existed, as opposed to a file mid-save).
 *
 * @example
 * ```ts
 * try { await readFile('missing.json'); } catch (e) { throw asReadError(e, 'missing.json'); }
 * // FileReadError: cannot read missing.json: no such file or directory (...) (ENOENT)
 * ```
 */
export function asReadError(error: unknown, path: string, action?: string, { missingIsPermanent = false } = {}): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof Error && error.name === 'AbortError') return error;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    const permanent = PERMANENT_ERRNOS.has(code) || (missingIsPermanent && code === 'ENOENT');
    return new FileReadError(path, error, action, permanent ? { permanent } : {});
  }
  return error;
}
