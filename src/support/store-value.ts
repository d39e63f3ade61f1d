/**
 * Reading and decoding one value from a remote store (etcd, Redis, NATS KV) for a `Source`, with
 * the errors every store source gives: an abort stays an `AbortedError`, a failed request becomes
 * a `LoadError` naming the source, and a value that does not parse becomes a `LoadError` that
 * never quotes the value (parsers echo the text they choke on, which may hold a secret).
 *
 * @module
 */
import { abortable } from './abortable.js';
import { AbortedError, LoadError, ReloadkitError } from '../errors.js';

/**
 * Runs `request()` until it settles or `signal` aborts. A request that fails (or throws) becomes
 * `LoadError: could not read <description>: <reason>` with the original as `cause`. A request that
 * rejects with a `ReloadkitError` marked `permanent` (permission denied...) stays permanent, with
 * that error's own cause.
 *
 * @example
 * ```ts
 * const raw = await readStoreValue(() => client.get(key), signal, `redis key ${key}`);
 * // LoadError: could not read redis key app:config: Connection is closed.
 * ```
 */
export async function readStoreValue<T>(request: () => Promise<T>, signal: AbortSignal, description: string): Promise<T> {
  try {
    return await abortable(request(), signal, description);
  } catch (error) {
    if (error instanceof AbortedError) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    if (error instanceof ReloadkitError && error.permanent) {
      throw new LoadError(`could not read ${description}: ${detail}`, { source: description, cause: error.cause ?? error, permanent: true });
    }
    throw new LoadError(`could not read ${description}: ${detail}`, { source: description, cause: error });
  }
}

/**
 * Runs a parser over a stored value. A parser that throws becomes `LoadError: could not parse
 * the value of <what> (<ErrorName>)`, with neither the value nor the parser's message (V8's JSON
 * errors quote the input) and no `cause`.
 *
 * @example
 * ```ts
 * const config = parseStoreValue(() => JSON.parse(text), 'etcd key /app/config', 'etcd key /app/config');
 * // LoadError: could not parse the value of etcd key /app/config (SyntaxError)
 * ```
 */
export function parseStoreValue<T>(parse: () => T, what: string, source: string): T {
  try {
    return parse();
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    throw new LoadError(`could not parse the value of ${what} (${name})`, { source });
  }
}
