/**
 * TOML through `smol-toml` (TOML 1.0 compliant, no dependencies, errors with line and column).
 * It gives no node positions, so a small line scanner records where each key, `[table]` and
 * `[[array of tables]]` was written; values inside multi-line strings and arrays are skipped.
 *
 * @module
 */
import { ConfigParseError } from './parse-error.js';
import type { ParsedFile } from './parsed.js';
import { joinPath } from './paths.js';

type Toml = typeof import('smol-toml');
let toml: Promise<Toml> | undefined;

export async function parseTomlFile(text: string, file: string): Promise<ParsedFile> {
  const T = await (toml ??= import('smol-toml'));
  let value: unknown;
  try {
    value = T.parse(text);
  } catch (error) {
    const e = error as { line?: number; column?: number; message?: string };
    // The first line is the reason ("Invalid TOML document: invalid value"); the rest quotes the file.
    const first = (e.message ?? '').split('\n', 1)[0] ?? '';
    const reason = first.replace(/^Invalid TOML document:\s*/, '') || 'invalid TOML';
    throw new ConfigParseError(file, 'TOML', { line: e.line, column: e.column }, reason);
  }
  return { value, lines: tomlLines(text), alternates: new Map() };
}

/** Splits a TOML key (`a."b.c".d`) into its parts. */
function keyParts(key: string): string[] {
  const parts: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*(?:\.|$)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(key)) !== null && m[0] !== '') parts.push(m[1] ?? m[2] ?? m[3] ?? '');
  return parts;
}

/**
 * Dotted path → line for every key the scanner can see. Best effort: a line it cannot place is
 * left out, and provenance falls back to the nearest table above it, then to the file.
 */
export function tomlLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  const arrayCounts = new Map<string, number>();
  let table = '';
  let inMultiline: '"""' | "'''" | undefined;
  let depth = 0;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    if (inMultiline !== undefined) {
      if (raw.includes(inMultiline)) inMultiline = undefined;
      return;
    }
    if (depth > 0) {
      depth += bracketBalance(raw);
      return;
    }
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const arrayHeader = /^\[\[\s*(.+?)\s*\]\]/.exec(trimmed);
    if (arrayHeader) {
      const base = keyParts(arrayHeader[1]!).join('.');
      const index = arrayCounts.get(base) ?? 0;
      arrayCounts.set(base, index + 1);
      if (!lines.has(base)) lines.set(base, line);
      table = joinPath(base, String(index));
      lines.set(table, line);
      return;
    }
    const header = /^\[\s*(.+?)\s*\]/.exec(trimmed);
    if (header) {
      table = keyParts(header[1]!).join('.');
      lines.set(table, line);
      return;
    }
    const eq = findAssignment(trimmed);
    if (eq < 0) return;
    const key = keyParts(trimmed.slice(0, eq)).join('.');
    if (key !== '') lines.set(joinPath(table, key), line);
    const rest = trimmed.slice(eq + 1);
    const triple = /"""|'''/.exec(rest);
    if (triple && rest.indexOf(triple[0], triple.index + 3) < 0) inMultiline = triple[0] as '"""' | "'''";
    else depth = Math.max(0, bracketBalance(rest));
  });
  return lines;
}

/** Index of the `=` of a key/value line (outside quotes), or -1. */
function findAssignment(line: string): number {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '=') return i;
  }
  return -1;
}

/** Net count of `[` minus `]` outside strings and comments (a multi-line array spans lines). */
function bracketBalance(text: string): number {
  let n = 0;
  let quote: string | undefined;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '#') break;
    else if (ch === '[' || ch === '{') n++;
    else if (ch === ']' || ch === '}') n--;
  }
  return n;
}
