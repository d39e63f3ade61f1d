/**
 * Turning the bytes of a file into a raw candidate: JSON (the default for `.json` files), text,
 * a Buffer, or a caller's own `parse(buffer, path)` (YAML, TOML, INI...). Parse errors name the
 * file, the line and the column, and never quote the file's content (it may hold secrets).
 *
 * @module
 */
import { extname } from 'node:path';
import { JsonSyntaxError } from '../errors.js';
import { describeValue } from '../support/describe-value.js';
import { lineColumn, locateJsonError } from './json-locate.js';

export { JsonSyntaxError };

/** A parser: built-in by name, or a function of the file's bytes and its path. */
export type ParseOption = 'json' | 'text' | 'buffer' | ((buffer: Buffer, path: string) => unknown);

const JSON_EXTENSIONS = new Set(['.json', '.jsonc', '.json5', '.geojson', '.webmanifest']);
const BOM = '\ufeff';

/**
 * Parses JSON bytes; on failure throws a {@link JsonSyntaxError} naming `path`, line and column.
 *
 * @example
 * ```ts
 * parseJson(Buffer.from('{"port": 8080}'), 'config.json'); // { port: 8080 }
 * parseJson(Buffer.from('{"port": '), 'config.json');
 * // JsonSyntaxError: invalid JSON in config.json at line 1, column 10: unexpected end of input
 * ```
 */
export function parseJson(buffer: Buffer, path: string): unknown {
  let text = buffer.toString('utf8');
  if (text.startsWith(BOM)) text = text.slice(1);
  try {
    return JSON.parse(text);
  } catch {
    const problem = locateJsonError(text) ?? { offset: text.length, reason: 'invalid JSON' };
    const { line, column } = lineColumn(text, problem.offset);
    throw new JsonSyntaxError(path, line, column, text.trim() === '' ? 'the file is empty' : problem.reason);
  }
}

/**
 * The built-in default for a path: `json` for `.json`-like extensions, `text` otherwise.
 *
 * @example
 * ```ts
 * defaultParseFor('config.json'); // 'json'
 * defaultParseFor('LOG_LEVEL');   // 'text'
 * ```
 */
export function defaultParseFor(path: string): 'json' | 'text' {
  return JSON_EXTENSIONS.has(extname(path).toLowerCase()) ? 'json' : 'text';
}

/**
 * Resolves a {@link ParseOption} (or its absence) into a function of `(buffer, path)`.
 * `undefined` picks by extension: JSON for `.json`, UTF-8 text otherwise.
 *
 * @example
 * ```ts
 * import YAML from 'yaml';
 * const parse = resolveParser((buf) => YAML.parse(buf.toString('utf8')), 'config.yaml');
 * parse(Buffer.from('port: 8080'), 'config.yaml'); // { port: 8080 }
 * ```
 */
export function resolveParser(option: ParseOption | undefined, path: string): (buffer: Buffer, path: string) => unknown {
  const chosen = option ?? defaultParseFor(path);
  if (typeof chosen === 'function') return chosen;
  switch (chosen) {
    case 'json':
      return parseJson;
    case 'text':
      return (buffer) => {
        const text = buffer.toString('utf8');
        return text.startsWith(BOM) ? text.slice(1) : text;
      };
    case 'buffer':
      return (buffer) => Buffer.from(buffer);
    default:
      throw new TypeError(`Expected \`parse\` to be 'json', 'text', 'buffer' or a function, got ${describeValue(chosen)}`);
  }
}
