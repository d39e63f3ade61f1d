/**
 * Clear errors for files that cannot be read. The unit wraps them into a `LoadError` naming the
 * unit and the source; we keep Node's `code` (`ENOENT`, `EACCES`...) so callers can match on it,
 * and say in words what it means.
 *
 * @module
 */

const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory (missing, deleted or not yet created)',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory, expected a file',
  ENOTDIR: 'a parent path is not a directory',
  ELOOP: 'too many levels of symbolic links',
  EMFILE: 'too many open files in this process',
  ENAMETOOLONG: 'path too long',
};

/** A filesystem failure while reading a source, with Node's `code`, `syscall` and the `path`. */
export class FileReadError extends Error {
  readonly code: string;
  readonly path: string;
  constructor(path: string, cause: unknown, action = 'cannot read') {
    const code = typeof (cause as { code?: unknown })?.code === 'string' ? (cause as { code: string }).code : 'ERR_UNKNOWN';
    const reason = REASONS[code] ?? (cause instanceof Error ? cause.message : String(cause));
    super(`${action} ${path}: ${reason} (${code})`, { cause });
    this.name = 'FileReadError';
    this.code = code;
    this.path = path;
  }
}

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
