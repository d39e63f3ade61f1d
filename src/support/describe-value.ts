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
