/**
 * How a cache names a key outside the process: `sha256:<hex>` of the key. Events, errors, status
 * and audit records carry this, never the key (keys often hold identities).
 *
 * @module
 */
import { sha256 } from '../support/hash.js';

/**
 * The hash under which a key appears in events, errors and audit records.
 *
 * @example
 * ```ts
 * import { keyHash } from 'reloadkit/cache';
 * records.filter((r) => r.detail?.keyHash === keyHash('user:42'));
 * ```
 */
export function keyHash(key: string): string {
  return sha256(key);
}
