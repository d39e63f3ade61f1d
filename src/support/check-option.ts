/**
 * Option checks shared by the store sources (`etcdSource`, `redisSource`, `natsKvSource`): each
 * throws a precise `TypeError` prefixed with the calling function's name, and names only the type
 * of a bad value, never the value itself.
 *
 * @module
 */

/**
 * Throws unless `value` is a non-empty string.
 *
 * @example
 * ```ts
 * expectNonEmptyString('redisSource', 'key', '');
 * // TypeError: redisSource: expected `key` to be a non-empty string, got `string`
 * ```
 */
export function expectNonEmptyString(who: string, name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`${who}: expected \`${name}\` to be a non-empty string, got \`${typeof value}\``);
  }
}

/**
 * Throws unless `value` is a (non-null) object.
 *
 * @example
 * ```ts
 * expectObject('natsKvSource', 'options', null);
 * // TypeError: natsKvSource: expected `options` to be an object
 * ```
 */
export function expectObject(who: string, name: string, value: unknown): asserts value is object {
  if (typeof value !== 'object' || value === null) throw new TypeError(`${who}: expected \`${name}\` to be an object`);
}

/**
 * Throws unless `value` is `undefined` or a function.
 *
 * @example
 * ```ts
 * expectOptionalFunction('etcdSource', 'parse', 'yaml');
 * // TypeError: etcdSource: expected `parse` to be a function, got `string`
 * ```
 */
export function expectOptionalFunction(who: string, name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') {
    throw new TypeError(`${who}: expected \`${name}\` to be a function, got \`${typeof value}\``);
  }
}
