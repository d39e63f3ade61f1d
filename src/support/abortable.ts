/**
 * Lets a `Source.read()` give up on a store request when its signal aborts. Store clients (etcd3,
 * ioredis, NATS KV) take no `AbortSignal`, so the request keeps running; the read just stops
 * waiting for it, and the unit moves on at once.
 *
 * @module
 */
import { AbortedError } from '../errors.js';

/**
 * `promise`, or an `AbortedError` (`source: what`) as soon as `signal` aborts, whichever comes
 * first. An already-aborted signal rejects at once. The abort listener is removed when `promise`
 * settles, so a long-lived signal collects no listeners.
 *
 * @example
 * ```ts
 * const value = await abortable(client.get(key), signal, `redis key ${key}`);
 * // AbortedError: read aborted (redis key app:config), if the unit aborts the read first
 * ```
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  if (signal.aborted) return Promise.reject(new AbortedError(`read aborted (${what})`, { source: what }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortedError(`read aborted (${what})`, { source: what }));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
