/**
 * `expose`: the dotted paths of a unit's value its owner declared non-secret. `status().exposed`
 * shows the live values at those paths, and nothing else: every other surface stays hashes only.
 * Only JSON primitives (and arrays of them) are shown, so listing `db` cannot leak `db.password`:
 * a path that holds an object is left out (list its leaves instead).
 *
 * @module
 * @internal
 */
import { describeValue } from '../support/describe-value.js';

const SEGMENT = /^[^.\s]+$/;

/**
 * Checks the `expose` option: an array of non-empty dotted paths (`'logLevel'`, `'db.size'`,
 * `'servers.0.host'`). Throws a precise `TypeError` otherwise.
 *
 * @example
 * ```ts
 * normalizeExpose(['logLevel', 'db.size']); // ['logLevel', 'db.size']
 * normalizeExpose(['db..size']); // TypeError: Expected `expose[0]` to be a dotted path such as 'db.size', got 'db..size'.
 * ```
 */
export function normalizeExpose(option: unknown): readonly string[] {
  if (option === undefined) return [];
  if (!Array.isArray(option)) throw new TypeError(`Expected \`expose\` to be an array of dotted paths such as ['logLevel', 'db.size'], got ${describeValue(option)}.`);
  option.forEach((path: unknown, i) => {
    if (typeof path !== 'string' || path === '' || !path.split('.').every((s) => SEGMENT.test(s))) {
      // A path is a key name, never a value: it may be echoed.
      const got = typeof path === 'string' ? `'${path}'` : describeValue(path);
      throw new TypeError(`Expected \`expose[${i}]\` to be a dotted path such as 'db.size', got ${got}.`);
    }
  });
  return Object.freeze([...new Set(option as string[])]);
}

function isPrimitive(value: unknown): value is string | number | boolean | null {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

/** The value at `path` inside `root`, own properties only; `undefined` when absent. */
function at(root: unknown, path: string): unknown {
  let node = root;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/**
 * The exposed values of `value`: each listed path that holds a JSON primitive or an array of them.
 *
 * @example
 * ```ts
 * exposedValues({ logLevel: 'info', db: { size: 5, password: 'x' } }, ['logLevel', 'db.size', 'db']);
 * // { logLevel: 'info', 'db.size': 5 }   ('db' holds an object: not shown)
 * ```
 */
export function exposedValues(value: unknown, paths: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const path of paths) {
    const v = at(value, path);
    if (isPrimitive(v)) out[path] = v;
    else if (Array.isArray(v) && v.every(isPrimitive)) out[path] = [...v];
  }
  return out;
}
