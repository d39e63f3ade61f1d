/**
 * Coercion of string-typed inputs (environment variables, `.env` and INI files, command-line flags,
 * secret files): a string that is a JSON number, boolean, array or object is parsed, everything
 * else stays the string it was. Near misses are never guessed at: `5432x`, `no`, `yes`, `007`,
 * ` 1 2` and integers too large to be exact all stay strings.
 *
 * The raw string is kept beside every parsed value (an "alternate"), so that where the unit's
 * schema wants a string (`APP_NAME=42` for `name: z.string()`) the string wins: see
 * ./schema-strings.ts.
 *
 * @module
 */

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * The value a string-typed input stands for, and whether it was parsed.
 *
 * @example
 * ```ts
 * coerceString('6543');      // { value: 6543, parsed: true }
 * coerceString('["a","b"]'); // { value: ['a', 'b'], parsed: true }
 * coerceString('5432x');     // { value: '5432x', parsed: false }
 * coerceString('007');       // { value: '007', parsed: false }
 * ```
 */
export function coerceString(raw: string): { value: unknown; parsed: boolean } {
  if (raw === 'true') return { value: true, parsed: true };
  if (raw === 'false') return { value: false, parsed: true };
  if (NUMBER.test(raw)) {
    const n = Number(raw);
    // 9007199254740993 would silently become ...992: a wrong guess, so it stays a string.
    if (Number.isFinite(n) && (!Number.isInteger(n) || Number.isSafeInteger(n) || /[.eE]/.test(raw))) return { value: n, parsed: true };
    return { value: raw, parsed: false };
  }
  const first = raw[0];
  const last = raw[raw.length - 1];
  if ((first === '[' && last === ']') || (first === '{' && last === '}')) {
    try {
      return { value: JSON.parse(raw, noProto) as unknown, parsed: true };
    } catch {
      return { value: raw, parsed: false };
    }
  }
  return { value: raw, parsed: false };
}

/** A `__proto__` key in a JSON literal from an environment variable is dropped: it can never reach a prototype. */
function noProto(this: unknown, key: string, value: unknown): unknown {
  return key === '__proto__' ? undefined : value;
}
