/**
 * Content identity: SHA-256 over RFC 8785 (JSON Canonicalization Scheme) canonical JSON, written
 * `sha256:<hex>`. The same function hashes unit values and MCP model contexts, so a gateway and a
 * model service agree on a context's hash byte for byte.
 *
 * @module
 */
import { createHash } from 'node:crypto';

/**
 * RFC 8785 canonical JSON: object keys sorted by UTF-16 code units, no whitespace, numbers in
 * ECMAScript shortest form, strings escaped as `JSON.stringify` does (which matches §3.2.2.2).
 * `undefined` members are dropped as in JSON; non-finite numbers, bigints, functions and symbols
 * throw a `TypeError`, since they have no JSON form and two different values must never collide.
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [true, null] }); // '{"a":[true,null],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  const seen = new Set<object>();
  const out: string[] = [];
  write(value, out, seen, '$');
  return out.join('');
}

function write(value: unknown, out: string[], seen: Set<object>, path: string): void {
  if (value === null) { out.push('null'); return; }
  switch (typeof value) {
    case 'boolean': out.push(value ? 'true' : 'false'); return;
    case 'string': out.push(JSON.stringify(value)); return;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: non-finite number at ${path}`);
      out.push(Object.is(value, -0) ? '0' : String(value));
      return;
    case 'object': break;
    default: throw new TypeError(`canonicalJson: a ${typeof value} has no JSON form (at ${path})`);
  }
  const obj = value as object;
  if (typeof (obj as { toJSON?: unknown }).toJSON === 'function') {
    write((obj as { toJSON(): unknown }).toJSON(), out, seen, path);
    return;
  }
  if (seen.has(obj)) throw new TypeError(`canonicalJson: circular reference at ${path}`);
  seen.add(obj);
  if (Array.isArray(obj)) {
    out.push('[');
    for (let i = 0; i < obj.length; i++) {
      if (i > 0) out.push(',');
      const item = obj[i];
      write(item === undefined || typeof item === 'function' ? null : item, out, seen, `${path}.${i}`);
    }
    out.push(']');
  } else {
    if (obj instanceof Map || obj instanceof Set) throw new TypeError(`canonicalJson: a ${obj.constructor.name} has no JSON form (at ${path})`);
    // Sort by UTF-16 code units, as RFC 8785 §3.2.3 requires (the default sort does exactly that).
    const keys = Object.keys(obj).filter((k) => (obj as Record<string, unknown>)[k] !== undefined).sort();
    out.push('{');
    let first = true;
    for (const key of keys) {
      if (!first) out.push(',');
      first = false;
      out.push(JSON.stringify(key), ':');
      write((obj as Record<string, unknown>)[key], out, seen, `${path}.${key}`);
    }
    out.push('}');
  }
  seen.delete(obj);
}

/** `sha256:<hex>` of arbitrary bytes or text. */
export function sha256(data: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/**
 * The default hash of a value: `sha256:<hex>` of its canonical JSON. Buffers hash their bytes.
 *
 * @example
 * ```ts
 * hashValue({ a: 1, b: 2 }) === hashValue({ b: 2, a: 1 }); // true
 * ```
 */
export function hashValue(value: unknown): string {
  if (value instanceof Uint8Array) return sha256(value);
  return sha256(canonicalJson(value));
}
