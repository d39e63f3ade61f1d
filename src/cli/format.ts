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
  /** Why a degraded unit is degraded. */
  reason?: string;
  paused?: { since: number; reason?: string; actor?: string; pending: boolean };
  refused?: string[];
  exposed?: Record<string, unknown>;
}

/** The fields of a reload result the table shows. */
export interface ResultRow {
  unit: string;
  status: string;
  ok?: boolean;
  generation: number;
  previous?: number;
  stage?: string;
  error?: { code: string; message: string };
  durationMs: number;
  hash?: string;
  changedPaths?: string[];
  dryRun?: true;
}

/** One retained generation, as `GET /units/:name/history` answers it. */
export interface HistoryRow {
  id: number;
  hash: string;
  committedAt: number;
  trigger?: { kind: string; detail?: string };
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

const MAX_REASON_CELL = 120;

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * The REASON cell: the error code and one-line message of a last attempt that did not go through
 * (rejected, refused, paused), else why a degraded unit is degraded, else why it is paused. The
 * messages are the endpoint's own, which quote no config value.
 *
 * @example
 * ```ts
 * reasonOf(row); // 'RELOADKIT_VALIDATION: [db] validation failed (file db.json): port: expected number…'
 * ```
 */
export function reasonOf(u: StatusRow): string {
  const last = u.lastAttempt;
  if (last?.error && last.outcome !== 'committed' && last.outcome !== 'unchanged') {
    return clip(oneLine(`${last.error.code}: ${last.error.message}`), MAX_REASON_CELL);
  }
  if (u.state === 'degraded' && u.reason) return clip(oneLine(u.reason), MAX_REASON_CELL);
  if (u.paused) return clip(oneLine(`paused${u.paused.reason ? `: ${u.paused.reason}` : ''}`), MAX_REASON_CELL);
  return '';
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
    ['UNIT', 'STATE', 'GEN', 'HASH', 'COMMITTED', 'LAST', 'LEASES', 'REASON'],
    units.map((u) => {
      const stage = u.lastAttempt?.stage;
      const last = u.lastAttempt ? `${u.lastAttempt.outcome}${stage && stage !== u.lastAttempt.outcome ? ` (${stage})` : ''}` : '-';
      return [u.name, u.paused ? `${u.state} (paused)` : u.state, String(u.generation), shortHash(u.hash), when(u.committedAt), last, String(u.leases), reasonOf(u)];
    }),
  );
}

/**
 * The detail lines under the status table of one unit: its exposed values (only the paths the
 * service declared non-secret with `expose`), the config hashes it refuses, and its pause.
 *
 * @example
 * ```ts
 * unitDetail(row); // 'exposed:\n  db.size = 10\nrefused: sha256:1f2e3d4c5b6a'
 * ```
 */
export function unitDetail(u: StatusRow): string {
  const lines: string[] = [];
  const exposed = u.exposed && typeof u.exposed === 'object' ? Object.entries(u.exposed) : [];
  if (exposed.length > 0) {
    lines.push('exposed:');
    for (const [path, value] of exposed) lines.push(`  ${path} = ${value === undefined ? 'undefined' : JSON.stringify(value)}`);
  }
  if (Array.isArray(u.refused) && u.refused.length > 0) lines.push(`refused: ${u.refused.map((h) => shortHash(h)).join(', ')}`);
  if (u.paused) {
    const by = u.paused.actor ? ` by ${u.paused.actor}` : '';
    const why = u.paused.reason ? `: ${oneLine(u.paused.reason)}` : '';
    lines.push(`paused since ${when(u.paused.since)}${by}${why}${u.paused.pending ? ' (a reload is pending)' : ''}`);
  }
  return lines.join('\n');
}

/** How a retained generation is named in `history` and in a failed rollback: `3 (live)`, `2`. */
function generationLabel(id: number, index: number): string {
  return `${id}${index === 0 ? ' (live)' : ''}`;
}

/**
 * The line under a rollback that found no target: the retained generations, named as `history`
 * names them (both come from the endpoint's `history()` of the unit).
 *
 * @example
 * ```ts
 * retainedLine([3, 2, 1]); // 'retained: 3 (live), 2, 1'
 * ```
 */
export function retainedLine(ids: readonly number[]): string {
  return `retained: ${ids.length === 0 ? 'none' : ids.map(generationLabel).join(', ')}`;
}

/**
 * The retained generations, newest (live) first: the same list a rollback error names.
 *
 * @example
 * ```ts
 * console.log(historyTable(body.generations));
 * ```
 */
export function historyTable(generations: HistoryRow[]): string {
  if (generations.length === 0) return 'no generation retained';
  return table(
    ['GEN', 'HASH', 'COMMITTED', 'TRIGGER'],
    generations.map((g, i) => [
      generationLabel(g.id, i),
      shortHash(g.hash),
      when(g.committedAt),
      g.trigger ? oneLine(`${g.trigger.kind}${g.trigger.detail ? ` ${g.trigger.detail}` : ''}`) : '-',
    ]),
  );
}

/**
 * `changed: db.size, greeting` for a result that changed leaves, or `''`. Paths only.
 *
 * @example
 * ```ts
 * changedLine({ changedPaths: ['db.size', 'greeting'] }); // 'changed: db.size, greeting'
 * ```
 */
export function changedLine(r: Pick<ResultRow, 'changedPaths'>, prefix = ''): string {
  if (!Array.isArray(r.changedPaths)) return '';
  return `${prefix}changed: ${r.changedPaths.length === 0 ? '(no leaf changed)' : r.changedPaths.join(', ')}`;
}

/**
 * The answer of a dry run (`validate`): result, hash, and for a rejection the stage, code and
 * one-line message; then what would change.
 *
 * @example
 * ```ts
 * console.log(dryRunReport(result));
 * // config would-commit sha256:1f2e3d4c5b6a
 * // changed: db.size, greeting
 * ```
 */
export function dryRunReport(r: ResultRow): string {
  const lines = [`${r.unit} ${r.status}${r.hash ? ` ${shortHash(r.hash)}` : ''}`];
  if (r.stage !== undefined) lines.push(`stage: ${r.stage}`);
  if (r.error) {
    lines.push(`code: ${r.error.code}`);
    lines.push(`message: ${oneLine(r.error.message)}`);
  }
  const changed = changedLine(r);
  if (changed) lines.push(changed);
  return lines.join('\n');
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
      r.error ? oneLine(`${r.stage && r.stage !== r.status ? `${r.stage}: ` : ''}${r.error.message}`) : '',
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
  return oneLine(`${r.unit} ${r.status}${r.stage && r.stage !== r.status ? ` at ${r.stage}` : ''}: ${r.error ? `${r.error.message} (${r.error.code})` : 'no reason given'}`);
}
