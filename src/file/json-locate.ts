/**
 * Finds where a JSON text stops being valid. V8's `JSON.parse` messages only sometimes carry a
 * position and sometimes quote the input (which may hold secrets), so on failure we re-scan the
 * text with this small validator to report a line, a column and a reason of our own words.
 *
 * @module
 */

/** Where and why a JSON text is invalid. `offset` is a UTF-16 index into the text. */
export interface JsonSyntaxProblem {
  offset: number;
  reason: string;
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

/**
 * Returns the first syntax problem of `text`, or `undefined` when it is valid JSON.
 *
 * @example
 * ```ts
 * locateJsonError('{"a": 1,'); // { offset: 8, reason: 'unexpected end of input' }
 * ```
 */
export function locateJsonError(text: string): JsonSyntaxProblem | undefined {
  let i = 0;

  class Stop extends Error {
    constructor(readonly problem: JsonSyntaxProblem) {
      super(problem.reason);
    }
  }
  const fail = (reason: string, at = i): never => {
    throw new Stop({ offset: at, reason: at >= text.length ? 'unexpected end of input' : reason });
  };
  const describeChar = (): string => {
    const ch = text[i] ?? '';
    return /[\x20-\x7e]/.test(ch) ? `unexpected character '${ch}'` : `unexpected character U+${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
  };
  const skipWs = (): void => {
    while (i < text.length && WHITESPACE.has(text[i] as string)) i++;
  };
  const literal = (word: string): void => {
    for (const ch of word) {
      if (text[i] !== ch) fail(describeChar());
      i++;
    }
  };
  const string = (): void => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const code = text.charCodeAt(i);
      if (code === 0x22) {
        i++;
        return;
      }
      if (code < 0x20) fail('control character in string');
      if (code === 0x5c) {
        const esc = text[i + 1];
        if (esc === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('invalid \\u escape', i);
          i += 6;
        } else if (esc !== undefined && '"\\/bfnrt'.includes(esc)) {
          i += 2;
        } else {
          fail('invalid escape in string', i);
        }
        continue;
      }
      i++;
    }
  };
  const number = (): void => {
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (!match || match[0] === '-' || match[0] === '') fail('invalid number');
    i += (match as RegExpExecArray)[0].length;
  };
  const value = (depth: number): void => {
    if (depth > 10_000) fail('nesting too deep');
    skipWs();
    const ch = text[i];
    if (ch === '{') {
      i++;
      skipWs();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        skipWs();
        if (text[i] !== '"') fail(text[i] === '}' ? 'trailing comma' : 'expected a property name in double quotes');
        string();
        skipWs();
        if (text[i] !== ':') fail("expected ':' after property name");
        i++;
        value(depth + 1);
        skipWs();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail("expected ',' or '}' after property value");
      }
    }
    if (ch === '[') {
      i++;
      skipWs();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        skipWs();
        if (text[i] === ']') fail('trailing comma');
        value(depth + 1);
        skipWs();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail("expected ',' or ']' after array element");
      }
    }
    if (ch === '"') return string();
    if (ch === 't') return literal('true');
    if (ch === 'f') return literal('false');
    if (ch === 'n') return literal('null');
    if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) return number();
    fail(describeChar());
  };

  try {
    value(0);
    skipWs();
    if (i < text.length) fail(`${describeChar()} after the JSON value`);
    return undefined;
  } catch (error) {
    if (error instanceof Stop) return error.problem;
    // A stack overflow on absurd nesting: report the start, not a crash.
    return { offset: 0, reason: 'nesting too deep' };
  }
}

/**
 * Converts a UTF-16 offset into 1-based line and column numbers (`\n`, `\r\n` and `\r` end lines).
 *
 * @example
 * ```ts
 * lineColumn('{\n  "a": x\n}', 9); // { line: 2, column: 8 }
 * ```
 */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let k = 0; k < end; k++) {
    const ch = text.charCodeAt(k);
    if (ch === 0x0a || (ch === 0x0d && text.charCodeAt(k + 1) !== 0x0a)) {
      line++;
      lineStart = k + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}
