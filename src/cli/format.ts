/**
 * Human-readable output of the CLI: aligned tables of unit statuses and reload results, with
 * hashes shortened. Only what the admin endpoint returns is shown: never values.
 *
 * @module
 */

/** The fields of a unit status the table shows. */
export interface StatusRow {
  name: string;
  state: string;
  generation: number;
  hash: string | null;
  committedAt: number | null;
  lastAttempt: { at: number; outcome: string; stage?: string; error?: { code: string; message: string } } | null;
  leases: number;
}

/** The fields of a reload result the table shows. */
export interface ResultRow {
  unit: string;
  status: string;
  generation: number;
  previous?: number;
  stage?: string;
  error?: { code: string; message: string };
  durationMs: number;
}

/**
 * Formats rows as columns separated by two spaces, headers first.
 *
 * @example
 * ```ts
 * table(['A', 'B'], [['1', 'two']]); // 'A  B\n1  two'
 * ```
 */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

function shortHash(hash: string | null): string {
  if (!hash) return '-';
  const [algo, hex] = hash.includes(':') ? hash.split(':', 2) : ['', hash];
  return hex && hex.length > 12 ? `${algo ? `${algo}:` : ''}${hex.slice(0, 12)}` : hash;
}

function when(ms: number | null | undefined): string {
  return typeof ms === 'number' ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : '-';
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * The status table.
 *
 * @example
 * ```ts
 * console.log(statusTable(body.units));
 * ```
 */
export function statusTable(units: StatusRow[]): string {
  if (units.length === 0) return 'no units registered';
  return table(
    ['UNIT', 'STATE', 'GEN', 'HASH', 'COMMITTED', 'LAST', 'LEASES'],
    units.map((u) => {
      const last = u.lastAttempt ? `${u.lastAttempt.outcome}${u.lastAttempt.stage ? ` (${u.lastAttempt.stage})` : ''}` : '-';
      return [u.name, u.state, String(u.generation), shortHash(u.hash), when(u.committedAt), last, String(u.leases)];
    }),
  );
}

/**
 * The reload/rollback results table.
 *
 * @example
 * ```ts
 * console.log(resultTable([result]));
 * ```
 */
export function resultTable(results: ResultRow[]): string {
  if (results.length === 0) return 'no units registered';
  return table(
    ['UNIT', 'RESULT', 'GENERATION', 'TIME', 'ERROR'],
    results.map((r) => [
      r.unit,
      r.status,
      r.previous !== undefined && r.previous !== r.generation ? `${r.previous} -> ${r.generation}` : String(r.generation),
      `${r.durationMs < 10 ? r.durationMs.toFixed(1) : Math.round(r.durationMs)} ms`,
      r.error ? oneLine(`${r.stage ? `${r.stage}: ` : ''}${r.error.message}`) : '',
    ]),
  );
}

/**
 * The one-line reason for a rejected result (stderr).
 *
 * @example
 * ```ts
 * rejectionLine(result); // "config rejected at validate: [config] validation failed ..."
 * ```
 */
export function rejectionLine(r: ResultRow): string {
  return oneLine(`${r.unit} rejected${r.stage ? ` at ${r.stage}` : ''}: ${r.error ? `${r.error.message} (${r.error.code})` : 'no reason given'}`);
}
