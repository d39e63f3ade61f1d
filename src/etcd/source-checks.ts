/**
 * What `etcdSource` checks about its input and its failures: the option keys it knows, and the
 * etcd errors that no retry can fix.
 *
 * @module
 */
import { LoadError } from '../errors.js';

/** The options `etcdSource` reads; any other key is a typo and throws. */
export const ETCD_SOURCE_KEYS = ['parse', 'onDelete'] as const;

/**
 * etcd3's errors for credentials or grants that are wrong: no retry can fix them (an expired
 * token, `EtcdInvalidAuthTokenError`, is refreshed by the client and stays transient).
 */
const PERMANENT_ETCD_ERRORS = new Set(['EtcdPermissionDeniedError', 'EtcdAuthenticationFailedError', 'EtcdUserNotFoundError', 'EtcdRoleNotGrantedError']);

/**
 * True for an etcd3 error that retrying cannot fix (permission denied, bad credentials).
 *
 * @example
 * ```ts
 * isPermanentEtcdError(new Error('7 PERMISSION_DENIED: etcdserver: permission denied')); // true
 * ```
 */
export function isPermanentEtcdError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return PERMANENT_ETCD_ERRORS.has(error.constructor.name) || /etcdserver: (permission denied|authentication failed|user name not found|role is not granted)/.test(error.message);
}

/**
 * Runs an etcd request; a permanent failure rejects as a `LoadError` marked `permanent` (with the
 * etcd error as `cause`), which `readStoreValue` keeps, so the unit does not retry it.
 *
 * @example
 * ```ts
 * const res = await readStoreValue(() => failPermanently(client.get(key).exec(), source), signal, source);
 * ```
 */
export function failPermanently<T>(request: Promise<T>, source: string): Promise<T> {
  return request.catch((error: unknown) => {
    if (!isPermanentEtcdError(error)) throw error;
    throw new LoadError((error as Error).message, { source, cause: error, permanent: true });
  });
}
