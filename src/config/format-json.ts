/**
 * Strict JSON through `JSON.parse` (errors through the file source's locator, so the message is
 * the one `fileSource` gives; positions from a single scan), JSONC through `jsonc-parser` (the
 * VS Code parser: positions for every node, no eval, comments and trailing commas), JSON5 through
 * `json5` (the reference implementation; it gives error positions but no node positions, so JSON5
 * provenance names the file only).
 *
 * @module
 */
import type { Node, ParseError } from 'jsonc-parser';
import { parseJson } from '../file/parse.js';
import { ConfigParseError } from './parse-error.js';
import { lineColumnAt, type ParsedFile } from './parsed.js';
import { jsonLines } from './json-lines.js';
import { joinPath, setOwn } from './paths.js';

type Jsonc = typeof import('jsonc-parser');
let jsonc: Promise<Jsonc> | undefined;
const loadJsonc = (): Promise<Jsonc> => (jsonc ??= import('jsonc-parser'));

/** Strict JSON: the value from `JSON.parse`, the positions from a single scan (./json-lines.ts). */
export function parseJsonFile(text: string, file: string): ParsedFile {
  let value: unknown;
  try {
    value = parseJson(Buffer.from(text, 'utf8'), file);
  } catch (error) {
    // The file source's JSON error carries the line and column; its message ends with the reason.
    const e = error as { line?: unknown; column?: unknown; message?: unknown };
    if (typeof e.line === 'number' && typeof e.column === 'number') {
      const message = typeof e.message === 'string' ? e.message : '';
      throw new ConfigParseError(file, 'JSON', { line: e.line, column: e.column }, message.slice(message.lastIndexOf(': ') + 2) || 'invalid JSON');
    }
    throw error;
  }
  return { value, lines: jsonLines(text), alternates: new Map() };
}

/** JSON with comments and trailing commas (`.jsonc`, `tsconfig`-style). */
export async function parseJsoncFile(text: string, file: string): Promise<ParsedFile> {
  const { parseTree, printParseErrorCode } = await loadJsonc();
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: false });
  const first = errors[0];
  if (first !== undefined || tree === undefined) {
    const offset = first?.offset ?? text.length;
    const reason = first === undefined ? 'the file is empty' : words(printParseErrorCode(first.error));
    throw new ConfigParseError(file, 'JSONC', lineColumnAt(text, offset), reason);
  }
  const lines = new Map<string, number>();
  collectLines(tree, '', text, lines);
  return { value: nodeValue(tree), lines, alternates: new Map() };
}

/** JSON5 (`.json5`): unquoted keys, single quotes, hex numbers, comments. */
export async function parseJson5File(text: string, file: string): Promise<ParsedFile> {
  const JSON5 = (await import('json5')).default;
  try {
    return { value: JSON5.parse(text, (key, value: unknown) => (key === '__proto__' ? undefined : value)), lines: new Map(), alternates: new Map() };
  } catch (error) {
    const e = error as { lineNumber?: number; columnNumber?: number; message?: string };
    // json5 quotes the offending character; our reason does not.
    const reason = /end of input/.test(e.message ?? '') ? 'unexpected end of input' : 'invalid character';
    throw new ConfigParseError(file, 'JSON5', { line: e.lineNumber, column: e.columnNumber }, reason);
  }
}

/** `PropertyNameExpected` → `property name expected`. */
function words(code: string): string {
  return code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

/** Records the line of each property's key (and of array items) under its dotted path. */
function collectLines(node: Node, path: string, text: string, lines: Map<string, number>): void {
  if (node.type === 'object') {
    for (const property of node.children ?? []) {
      const [key, value] = property.children ?? [];
      if (key === undefined || typeof key.value !== 'string') continue;
      const childPath = joinPath(path, key.value);
      lines.set(childPath, lineColumnAt(text, key.offset).line);
      if (value) collectLines(value, childPath, text, lines);
    }
  } else if (node.type === 'array') {
    (node.children ?? []).forEach((item, i) => {
      const childPath = joinPath(path, String(i));
      lines.set(childPath, lineColumnAt(text, item.offset).line);
      collectLines(item, childPath, text, lines);
    });
  }
}

/** The value of a tree node; object keys are own properties (a `__proto__` key stays a key). */
function nodeValue(node: Node): unknown {
  switch (node.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const property of node.children ?? []) {
        const [key, value] = property.children ?? [];
        if (key !== undefined && typeof key.value === 'string') setOwn(out, key.value, value ? nodeValue(value) : null);
      }
      return out;
    }
    case 'array':
      return (node.children ?? []).map(nodeValue);
    default:
      return node.value as unknown;
  }
}
