/**
 * Environment variables as a layer: `APP_DB__PORT=6543` → `db.port` (prefix stripped, split on the
 * separator, lower-cased, then matched to an existing key's spelling), an explicit `map` for
 * names that follow no convention (`DATABASE_URL` → `db.url`), and the command line
 * (`--db.port=6543`). Values go through ./coerce.ts.
 *
 * @module
 */
import { coerceString } from './coerce.js';
import type { Layer, LayerReading } from './layer.js';
import { nest } from './paths.js';

/** How environment variable names become configuration paths. */
export interface EnvMapping {
  prefix: string | undefined;
  separator: string;
  map: Readonly<Record<string, string>>;
  /** Names ending with this suffix belong to the secrets layer (`DB_PASSWORD_FILE`), or false. */
  fileSuffix: string | false;
}

/**
 * The path segments `name` maps to, or undefined when it is not part of the configuration.
 *
 * @example
 * ```ts
 * envPath('APP_DB__PORT', { prefix: 'APP_', separator: '__', map: {}, fileSuffix: false }); // ['db', 'port']
 * ```
 */
export function envPath(name: string, mapping: EnvMapping): string[] | undefined {
  const mapped = mapping.map[name];
  if (mapped !== undefined) return mapped.split('.');
  const { prefix, separator } = mapping;
  if (prefix === undefined || !name.startsWith(prefix) || name.length === prefix.length) return undefined;
  const segments = name.slice(prefix.length).split(separator).map((s) => s.toLowerCase());
  return segments.some((s) => s === '') ? undefined : segments;
}

/** Builds a reading from `[segments, raw string, origin]` triples; shallower paths first, so deeper ones win. */
export function stringLayerReading(entries: [string[], string, string][], fallback: string, foldKeys: boolean): LayerReading {
  entries.sort((a, b) => a[0].length - b[0].length);
  const origins = new Map<string, string>();
  const alternates = new Map<string, string>();
  const pairs: [string[], unknown][] = [];
  for (const [segments, raw, origin] of entries) {
    const path = segments.join('.');
    const coerced = coerceString(raw);
    if (coerced.parsed) alternates.set(path, raw);
    else alternates.delete(path);
    origins.set(path, origin);
    pairs.push([segments, coerced.value]);
  }
  return { value: nest(pairs), origins, fallback, alternates, foldKeys };
}

/** The environment layer: the real environment over the dotenv file, mapped by `mapping`. */
export function envLayer(mapping: EnvMapping): Layer {
  const what = mapping.prefix !== undefined ? `env ${mapping.prefix}*` : 'env';
  return {
    describe: () => what,
    read({ vars, dotenvOrigins }) {
      const entries: [string[], string, string][] = [];
      for (const name of Object.keys(vars).sort()) {
        const raw = vars[name];
        if (raw === undefined) continue;
        if (mapping.fileSuffix !== false && name.endsWith(mapping.fileSuffix) && mapping.map[name] === undefined) continue;
        const segments = envPath(name, mapping);
        if (segments === undefined) continue;
        entries.push([segments, raw, dotenvOrigins.get(name) ?? `env ${name}`]);
      }
      return Promise.resolve(stringLayerReading(entries, what, true));
    },
  };
}

/**
 * The command-line layer: `--db.port=6543` sets `db.port`; a bare `--flag` sets `flag: true`;
 * everything after `--` and every argument not starting with `--` is left alone.
 */
export function argvLayer(args: readonly string[] | (() => readonly string[])): Layer {
  return {
    describe: () => 'argv',
    read() {
      const list = typeof args === 'function' ? args() : args;
      const entries: [string[], string, string][] = [];
      for (const arg of list) {
        if (arg === '--') break;
        const m = /^--([A-Za-z0-9_$-][A-Za-z0-9_$.-]*)(?:=([\s\S]*))?$/.exec(arg);
        if (!m) continue;
        const key = m[1]!;
        if (key.split('.').some((s) => s === '')) continue;
        entries.push([key.split('.'), m[2] ?? 'true', `argv --${key}`]);
      }
      return Promise.resolve(stringLayerReading(entries, 'argv', false));
    },
  };
}
