/**
 * Reading one file for a layer: its bytes, or `undefined` when it does not exist. Any other
 * failure is a `LoadError` naming the file and the system's reason (never its content).
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { LoadError } from '../errors.js';

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory, expected a file',
  ENOTDIR: 'a parent path is not a directory',
  ELOOP: 'too many levels of symbolic links',
  EMFILE: 'too many open files in this process',
};

/** The bytes of `absolute`, or undefined when it (or a directory above it) does not exist. */
export async function readIfExists(absolute: string, shown: string, signal: AbortSignal | undefined): Promise<Buffer | undefined> {
  try {
    return await readFile(absolute, { signal });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (error instanceof Error && error.name === 'AbortError') throw error;
    const reason = code !== undefined ? `${REASONS[code] ?? 'cannot be read'} (${code})` : 'cannot be read';
    throw new LoadError(`${shown}: ${reason}`, { source: `file ${shown}`, cause: error });
  }
}
