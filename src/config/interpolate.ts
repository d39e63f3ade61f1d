/**
 * `${VAR}` and `${VAR:-default}` inside string values of configuration files, resolved against the
 * environment (the real one over the dotenv file). `$${` writes a literal `${`. A value that is
 * exactly one reference (`port: ${PORT}`) is coerced as an environment variable would be, with
 * the raw string kept for a string schema; a reference inside a longer string stays text.
 *
 * @module
 */
import { LoadError } from '../errors.js';
import { coerceString } from './coerce.js';
import { isPlainObject, joinPath, nearest, setOwn } from './paths.js';

const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const WHOLE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$/;

/** The variables a file can see. */
export type Vars = Readonly<Record<string, string | undefined>>;

/**
 * Returns `value` with every reference replaced; throws a `LoadError` naming each missing
 * variable and where it is used (file and line), never a value.
 *
 * @example
 * ```ts
 * interpolate({ url: 'postgres://${DB_HOST:-localhost}/app' }, { DB_HOST: 'db' }, ...);
 * // { url: 'postgres://db/app' }
 * ```
 */
export function interpolate(
  value: unknown,
  vars: Vars,
  where: { file: string; lines: ReadonlyMap<string, number>; alternates: Map<string, string> },
): unknown {
  const missing: string[] = [];
  const walk = (node: unknown, path: string): unknown => {
    if (typeof node === 'string') return substitute(node, path);
    if (Array.isArray(node)) return node.map((item, i) => walk(item, joinPath(path, String(i))));
    if (isPlainObject(node)) {
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(node)) setOwn(out, key, walk(node[key], joinPath(path, key)));
      return out;
    }
    return node;
  };
  const substitute = (text: string, path: string): unknown => {
    if (!text.includes('${')) return text;
    const whole = WHOLE.exec(text);
    if (whole) {
      const resolved = vars[whole[1]!] ?? whole[2];
      if (resolved === undefined) {
        report(whole[1]!, path);
        return text;
      }
      const coerced = coerceString(resolved);
      if (coerced.parsed) where.alternates.set(path, resolved);
      return coerced.value;
    }
    return text.replace(REFERENCE, (match, name: string | undefined, fallback: string | undefined) => {
      if (name === undefined) return '${';
      const resolved = vars[name] ?? fallback;
      if (resolved === undefined) {
        report(name, path);
        return match;
      }
      return resolved;
    });
  };
  const report = (name: string, path: string): void => {
    const line = nearest(where.lines, path);
    missing.push(`\${${name}} at ${where.file}${line === undefined ? '' : `:${line}`} (${path})`);
  };
  const out = walk(value, '');
  if (missing.length > 0) {
    throw new LoadError(`environment variable${missing.length > 1 ? 's' : ''} not set: ${missing.join(', ')}`, { source: `file ${where.file}` });
  }
  return out;
}
