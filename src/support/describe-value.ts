/**
 * The one message dialect for option errors: a short, value-free description of what was given.
 *
 * @module
 */

/**
 * A short, value-free description of a bad option for error messages (p-retry style).
 *
 * @example
 * ```ts
 * describeValue('SIGNOPE'); // "'SIGNOPE'"
 * describeValue([1]);       // 'an array'
 * ```
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'undefined') return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Like {@link describeValue}, for places where a string is likely a secret given in the wrong
 * shape (`auth: process.env.TOKEN`, `tokens: ['s3cret']`): only its length is told, never its text.
 *
 * @example
 * ```ts
 * describeSecret('hunter2hunter2'); // 'a string of 14 characters'
 * describeSecret(42);               // '42'
 * ```
 */
export function describeSecret(value: unknown): string {
  return typeof value === 'string' ? `a string of ${value.length} characters` : describeValue(value);
}
