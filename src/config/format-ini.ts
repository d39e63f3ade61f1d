/**
 * INI and `.env`, parsed here: both are small, line-oriented and string-typed, and writing the
 * parser ourselves gives every key its line. Values are coerced as environment variables are
 * (see ./coerce.ts), with the raw string kept for the schema to prefer.
 *
 * @module
 */
import { coerceString } from './coerce.js';
import { ConfigParseError } from './parse-error.js';
import type { ParsedFile } from './parsed.js';
import { joinPath, nest } from './paths.js';

/**
 * INI: `[section]` and `[section.sub]` headers, `key = value` (or `key: value`), `;` and `#`
 * comments on their own line, values optionally in double or single quotes (kept verbatim).
 */
export function parseIniFile(text: string, file: string): ParsedFile {
  const pairs: [string[], unknown][] = [];
  const lines = new Map<string, number>();
  const alternates = new Map<string, string>();
  let section: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith(';') || trimmed.startsWith('#')) return;
    if (trimmed.startsWith('[')) {
      const m = /^\[\s*([^\]]+?)\s*\]$/.exec(trimmed);
      if (!m) throw new ConfigParseError(file, 'INI', { line, column: 1 }, 'malformed section header');
      section = m[1]!.split('.').map((s) => s.trim());
      lines.set(section.join('.'), line);
      return;
    }
    const eq = trimmed.search(/[=:]/);
    if (eq <= 0) throw new ConfigParseError(file, 'INI', { line, column: raw.indexOf(trimmed[0]!) + 1 }, 'expected `key = value`');
    const key = trimmed.slice(0, eq).trim();
    const segments = [...section, ...key.split('.').map((s) => s.trim())];
    const path = segments.join('.');
    const text = trimmed.slice(eq + 1).trim();
    const quoted = /^"(.*)"$|^'(.*)'$/.exec(text);
    let value: unknown;
    if (quoted) value = quoted[1] ?? quoted[2] ?? '';
    else {
      const coerced = coerceString(text);
      value = coerced.value;
      if (coerced.parsed) alternates.set(path, text);
    }
    pairs.push([segments, value]);
    lines.set(path, line);
  });
  return { value: nest(pairs), lines, alternates };
}

/** One variable of a dotenv file, with its line. */
export interface DotenvEntry {
  name: string;
  value: string;
  line: number;
}

/**
 * Dotenv: `NAME=value`, an optional `export ` prefix, `#` comments, single quotes (verbatim),
 * double quotes (with `\n`, `\t`, `\"`, `\\` escapes, and spanning lines), unquoted values
 * trimmed and cut at ` #`. A later assignment of the same name wins.
 */
export function parseDotenv(text: string, file: string): DotenvEntry[] {
  const out: DotenvEntry[] = [];
  const rows = text.split(/\r?\n/);
  for (let i = 0; i < rows.length; i++) {
    const line = i + 1;
    const raw = rows[i]!;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s?(.*)$/.exec(trimmed);
    if (!m) throw new ConfigParseError(file, 'dotenv', { line, column: 1 }, 'expected `NAME=value`');
    const name = m[1]!;
    let rest = m[2]!.trim();
    let value: string;
    if (rest.startsWith("'")) {
      const end = rest.indexOf("'", 1);
      if (end < 0) throw new ConfigParseError(file, 'dotenv', { line, column: raw.indexOf("'") + 1 }, 'unterminated single-quoted value');
      value = rest.slice(1, end);
    } else if (rest.startsWith('"')) {
      // A double-quoted value may continue on the following lines.
      let body = rest.slice(1);
      let end = closingQuote(body);
      while (end < 0 && i + 1 < rows.length) {
        i++;
        body += `\n${rows[i]!}`;
        end = closingQuote(body);
      }
      if (end < 0) throw new ConfigParseError(file, 'dotenv', { line, column: raw.indexOf('"') + 1 }, 'unterminated double-quoted value');
      value = unescape(body.slice(0, end));
    } else {
      const hash = rest.search(/\s#/);
      if (hash >= 0) rest = rest.slice(0, hash);
      value = rest.trim();
    }
    out.push({ name, value, line });
  }
  return out;
}

/** Index of the first unescaped `"` in `text`, or -1. */
function closingQuote(text: string): number {
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}

function unescape(text: string): string {
  return text.replace(/\\([nrt"\\])/g, (_, ch: string) => ({ n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' })[ch] ?? ch);
}

/** A dotenv file in `files`: each `NAME` is a top-level key (`A__B` nests), values coerced. */
export function parseDotenvFile(text: string, file: string): ParsedFile {
  const pairs: [string[], unknown][] = [];
  const lines = new Map<string, number>();
  const alternates = new Map<string, string>();
  for (const entry of parseDotenv(text, file)) {
    const segments = entry.name.split('__');
    const path = segments.reduce(joinPath, '');
    const coerced = coerceString(entry.value);
    if (coerced.parsed) alternates.set(path, entry.value);
    pairs.push([segments, coerced.value]);
    lines.set(path, entry.line);
  }
  return { value: nest(pairs), lines, alternates };
}
