/**
 * Dotted paths that differ between two values: `committed` events carry them so listeners can
 * react to `db.port` without diffing themselves. Paths only, never values.
 *
 * @module
 */

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function join(prefix: string, key: string | number): string {
  return prefix === '' ? String(key) : `${prefix}.${key}`;
}

/**
 * Leaf paths (`db.port`, `servers.0.host`) whose values differ between `previous` and `next`.
 * Plain objects and arrays are walked; anything else compares with `Object.is` (Dates by time).
 * A replaced root yields `['']`. At most `limit` paths are returned.
 *
 * @example
 * ```ts
 * changedPaths({ db: { port: 1, host: 'a' } }, { db: { port: 2, host: 'a' } }); // ['db.port']
 * ```
 */
export function changedPaths(previous: unknown, next: unknown, limit = 1000): string[] {
  const out: string[] = [];
  walk(previous, next, '', out, limit);
  return out;
}

function walk(a: unknown, b: unknown, path: string, out: string[], limit: number): void {
  if (out.length >= limit || Object.is(a, b)) return;
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n && out.length < limit; i++) walk(a[i], b[i], join(path, i), out, limit);
    return;
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of [...keys].sort()) {
      if (out.length >= limit) return;
      walk(a[key], b[key], join(path, key), out, limit);
    }
    return;
  }
  if (a instanceof Date && b instanceof Date && a.getTime() === b.getTime()) return;
  // A subtree that appeared or vanished: report its leaves, so `db.port` shows up even when `db` is new.
  if (a === undefined && (isPlainObject(b) || Array.isArray(b))) { leaves(b, path, out, limit); return; }
  if (b === undefined && (isPlainObject(a) || Array.isArray(a))) { leaves(a, path, out, limit); return; }
  out.push(path);
}

function leaves(value: unknown, path: string, out: string[], limit: number): void {
  if (out.length >= limit) return;
  if (Array.isArray(value)) {
    if (value.length === 0) out.push(path);
    value.forEach((item, i) => leaves(item, join(path, i), out, limit));
    return;
  }
  if (isPlainObject(value)) {
    const keys = Object.keys(value).sort();
    if (keys.length === 0) out.push(path);
    for (const key of keys) leaves(value[key], join(path, key), out, limit);
    return;
  }
  out.push(path);
}
