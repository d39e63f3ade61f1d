/**
 * What a format parser hands the file layer: the value, the line where each path was written (when
 * the format gives positions) and, for string-typed formats, the raw string behind every parsed
 * value.
 *
 * @module
 */

/** One parsed configuration file. */
export interface ParsedFile {
  value: unknown;
  /** Dotted path → 1-based line of the key that set it. */
  lines: Map<string, number>;
  /** Dotted path → raw string, for values a string-typed format (INI, `.env`) coerced. */
  alternates: Map<string, string>;
}

/** 1-based line and column of a UTF-16 offset into `text`. */
export function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/** Removes a leading byte-order mark. */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
