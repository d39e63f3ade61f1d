/**
 * Dotted paths over plain objects: reading and writing a leaf, listing leaves, and creating
 * objects whose keys can never reach a prototype (`__proto__`, `constructor` from a file or an
 * environment variable stay plain keys).
 *
 * @module
 */

/** True for plain objects (not arrays, not null, not class instances such as dates). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Defines `key` as an own, enumerable, writable property (safe for `__proto__`). */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Joins a parent path and a key: `join('', 'db') = 'db'`, `join('db', 'port') = 'db.port'`. */
export function joinPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

/**
 * Builds a nested object from `[segments, value]` pairs; a later pair wins over an earlier one.
 *
 * @example
 * ```ts
 * nest([[['db', 'port'], 1], [['db', 'host'], 'h']]); // { db: { port: 1, host: 'h' } }
 * ```
 */
export function nest(pairs: Iterable<readonly [readonly string[], unknown]>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [segments, value] of pairs) {
    let node = root;
    segments.forEach((segment, i) => {
      if (i === segments.length - 1) {
        setOwn(node, segment, value);
        return;
      }
      const next = Object.prototype.hasOwnProperty.call(node, segment) ? node[segment] : undefined;
      if (isPlainObject(next)) node = next;
      else {
        const child: Record<string, unknown> = {};
        setOwn(node, segment, child);
        node = child;
      }
    });
  }
  return root;
}

/**
 * Every leaf path of `value` (a primitive, an array, or an empty object counts as a leaf).
 *
 * @example
 * ```ts
 * leafPaths({ db: { port: 1, tags: ['a'] }, x: {} }); // ['db.port', 'db.tags', 'x']
 * ```
 */
export function leafPaths(value: unknown, prefix = ''): string[] {
  if (!isPlainObject(value)) return prefix === '' ? [] : [prefix];
  const keys = Object.keys(value);
  if (keys.length === 0) return prefix === '' ? [] : [prefix];
  return keys.flatMap((key) => leafPaths(value[key], joinPath(prefix, key)));
}

/** The value at a dotted path, or undefined. */
export function getPath(value: unknown, path: string): unknown {
  let node = value;
  for (const segment of path.split('.')) {
    if (isPlainObject(node) && Object.prototype.hasOwnProperty.call(node, segment)) node = node[segment];
    else if (Array.isArray(node) && /^\d+$/.test(segment)) node = node[Number(segment)];
    else return undefined;
  }
  return node;
}

/** Replaces the value at an existing dotted path, in place. Returns false when the path is absent. */
export function replacePath(value: unknown, path: string, next: unknown): boolean {
  const segments = path.split('.');
  const last = segments.pop() as string;
  const parent = segments.length === 0 ? value : getPath(value, segments.join('.'));
  if (isPlainObject(parent) && Object.prototype.hasOwnProperty.call(parent, last)) {
    setOwn(parent, last, next);
    return true;
  }
  if (Array.isArray(parent) && /^\d+$/.test(last) && Number(last) < parent.length) {
    parent[Number(last)] = next;
    return true;
  }
  return false;
}

/**
 * The nearest entry of `map` at `path` or above it (`db.port`, then `db`), or undefined.
 *
 * @example
 * ```ts
 * nearest(new Map([['db', 3]]), 'db.port'); // 3
 * ```
 */
export function nearest<V>(map: ReadonlyMap<string, V>, path: string): V | undefined {
  for (let p = path; p !== ''; p = p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '') {
    const found = map.get(p);
    if (found !== undefined) return found;
  }
  return undefined;
}
