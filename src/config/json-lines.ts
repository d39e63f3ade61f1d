/**
 * The line of every key and array item of a JSON text that `JSON.parse` already accepted. A
 * single pass with a path stack: cheap enough to run on every read, and it spares strict JSON
 * files the import of a full parser just to learn positions.
 *
 * @module
 */
import { joinPath } from './paths.js';

interface Frame {
  kind: 'object' | 'array';
  path: string;
  /** Next array index, for arrays. */
  index: number;
  /** The key whose value comes next, for objects. */
  key: string | undefined;
}

/**
 * Dotted path → 1-based line, for valid JSON text.
 *
 * @example
 * ```ts
 * jsonLines('{\n  "db": {\n    "port": 1\n  }\n}'); // Map { 'db' => 2, 'db.port' => 3 }
 * ```
 */
export function jsonLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  const stack: Frame[] = [];
  let line = 1;
  let i = 0;
  /** The path of the value starting now (array item or object member), recorded at its line. */
  const valueStarts = (): string | undefined => {
    const top = stack[stack.length - 1];
    if (top === undefined) return undefined;
    if (top.kind === 'array') {
      const path = joinPath(top.path, String(top.index++));
      lines.set(path, line);
      return path;
    }
    const path = top.key === undefined ? undefined : joinPath(top.path, top.key);
    top.key = undefined;
    return path;
  };
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '\n') {
      line++;
      i++;
    } else if (ch === '"') {
      const start = i + 1;
      i = start;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      const raw = text.slice(start, i);
      i++;
      const top = stack[stack.length - 1];
      // A string in an object where a key is expected is a key: the next non-space is ':'.
      let j = i;
      while (j < text.length && (text[j] === ' ' || text[j] === '\t' || text[j] === '\r' || text[j] === '\n')) j++;
      if (top?.kind === 'object' && text[j] === ':') {
        top.key = JSON.parse(`"${raw}"`) as string;
        lines.set(joinPath(top.path, top.key), line);
      } else {
        valueStarts();
      }
    } else if (ch === '{' || ch === '[') {
      const path = valueStarts() ?? '';
      stack.push({ kind: ch === '{' ? 'object' : 'array', path, index: 0, key: undefined });
      i++;
    } else if (ch === '}' || ch === ']') {
      stack.pop();
      i++;
    } else if (ch === ',' || ch === ':' || ch === ' ' || ch === '\t' || ch === '\r') {
      i++;
    } else {
      // A number, true, false or null: consume it whole.
      valueStarts();
      while (i < text.length && !',}] \t\r\n'.includes(text[i]!)) i++;
    }
  }
  return lines;
}
