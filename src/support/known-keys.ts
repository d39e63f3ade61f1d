/**
 * Unknown option keys are a mistake, not an extension point: a misspelt `trigger:` in plain
 * JavaScript would otherwise turn SIGHUP reloading off without a word. Every public factory calls
 * `rejectUnknownKeys` once, before it reads any option.
 *
 * @module
 */

/**
 * Throws a `TypeError` naming the first key of `options` that is not in `known`, with the closest
 * known key when one is near enough to be a typo.
 *
 * @example
 * ```ts
 * rejectUnknownKeys('reloadable', { name: 'db', trigger: [] }, ['name', 'triggers', 'source']);
 * // TypeError: reloadable: unknown option `trigger`; did you mean `triggers`?
 * ```
 */
export function rejectUnknownKeys(who: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const near = closest(key, known);
    const hint = near === undefined ? ` (known options: ${known.map((k) => `\`${k}\``).join(', ')})` : `; did you mean \`${near}\`?`;
    throw new TypeError(`${who}: unknown option \`${key}\`${hint}`);
  }
}

/** The known key within a small edit distance of `key` (a third of its length, at least 2), if any. */
export function closest(key: string, known: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.floor(key.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** Levenshtein distance, two rows at a time. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}
