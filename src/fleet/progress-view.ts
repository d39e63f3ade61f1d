/**
 * The operator's view of a rollout on a terminal: a block of lines (header, steps, phase,
 * counts, last decision, then one row per reached instance) that `reloadkit rollout start` redraws
 * in place as the rollout moves, and `reloadkit rollout status` prints once. Pure: it renders a
 * record to lines; {@link inPlace} does the redrawing. Hashes, stages and codes only, never a value.
 *
 * @module
 */
import type { RolloutRecord, RolloutInstance } from './record.js';
import type { RolloutStep } from './cohort.js';

/** Where the view is drawn. */
export interface ViewSize {
  /**
   * Terminal width: longer lines are cut, so a redraw never wraps (a wrapped line would be one the
   * next redraw does not move back over).
   * @default 100
   */
  columns?: number;
  /**
   * Terminal height: instance rows beyond it are summed up in one `… and N more` line.
   * @default 24
   */
  rows?: number;
}

/** Lines above the instance table: header, steps, phase, counts, last decision, blank, table header. */
const FIXED_LINES = 7;

const seconds = (ms: number): string => (ms >= 10_000 ? `${Math.round(ms / 1000)}s` : `${(ms / 1000).toFixed(1)}s`);

function stepLabel(step: RolloutStep): string {
  const reach = step.instances !== undefined ? `${step.instances}` : `${step.percent ?? 100}%`;
  return step.bakeMs ? `${reach} (bake ${seconds(step.bakeMs)})` : reach;
}

/** `✔` steps behind, `▶` the current one (`✖` when the rollout stopped on it), `·` those ahead. */
function stepsLine(record: RolloutRecord): string {
  const stopped = record.state === 'rejected' || record.state === 'rolled-back' || record.state === 'aborted';
  const marks = record.strategy.steps.map((step, i) => {
    const mark = record.state === 'done' || i < record.step ? '✔' : i === record.step ? (stopped ? '✖' : '▶') : '·';
    return `${mark} ${stepLabel(step)}`;
  });
  return `steps   ${marks.join('   ')}`;
}

function phaseLine(record: RolloutRecord, now: number): string {
  if (record.endedAt !== undefined) return `ended   ${new Date(record.endedAt).toISOString()}${record.cause ? ` (${record.cause})` : ''}`;
  const step = `step ${record.step + 1}/${record.strategy.steps.length}`;
  if (record.state === 'paused') return `paused  ${step} ${record.phase}`;
  if (record.phase === 'bake' && record.bakeUntil !== undefined) return `phase   ${step} bake, ${seconds(Math.max(0, record.bakeUntil - now))} left`;
  return `phase   ${step} ${record.phase}, for ${seconds(Math.max(0, now - record.phaseStartedAt))}`;
}

const rejectedVerdict = (e: RolloutInstance): boolean => e.verdict === 'rejected' || e.verdict === 'timeout' || e.verdict === 'commit-failed';

function countsLine(entries: RolloutInstance[]): string {
  const count = (pred: (e: RolloutInstance) => boolean) => entries.filter(pred).length;
  const committed = count((e) => e.verdict === 'committed');
  const prepared = count((e) => e.verdict === 'prepared');
  const rejected = count(rejectedVerdict);
  const rolledBack = count((e) => e.verdict === 'rolled-back' || e.verdict === 'discarded');
  const waiting = count((e) => e.verdict === undefined);
  return `reached ${entries.length}: ${committed} committed, ${prepared} prepared, ${waiting} waiting, ${rejected} rejected${rolledBack ? `, ${rolledBack} rolled back` : ''}`;
}

function decisionLine(record: RolloutRecord): string {
  const last = record.decisions.at(-1);
  if (!last) return 'last    -';
  const who = last.actor ? ` by ${last.actor}` : '';
  const why = last.reason ? `: ${last.reason}` : '';
  return `last    ${last.action} (step ${last.step + 1})${who}${why}`;
}

/** Rejections first (what the operator acts on), then by step and id. */
function instanceRows(record: RolloutRecord): string[][] {
  return Object.entries(record.instances)
    .sort(([a, x], [b, y]) => Number(rejectedVerdict(y)) - Number(rejectedVerdict(x)) || x.step - y.step || (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, e]) => [id, String(e.step + 1), e.verdict ?? 'waiting', e.commit ? 'yes' : '-', e.stage ?? '', e.code ?? '']);
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const render = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [render(header), ...rows.map(render)];
}

const cut = (line: string, columns: number): string => ([...line].length <= columns ? line : `${[...line].slice(0, Math.max(1, columns - 1)).join('')}…`);

/**
 * Renders `record` as the terminal view, at most `size.rows` lines of at most `size.columns`
 * characters each.
 *
 * @example
 * ```ts
 * process.stdout.write(renderRolloutView(await readRollout({ client, id }), { columns: process.stdout.columns }).join('\n') + '\n');
 * ```
 */
export function renderRolloutView(record: RolloutRecord, size: ViewSize = {}, now = Date.now()): string[] {
  const columns = Math.max(20, size.columns ?? 100);
  const rows = Math.max(FIXED_LINES + 2, size.rows ?? 24);
  const entries = Object.values(record.instances);
  const header = `rollout ${record.id}  ${record.fleet}/${record.unit}  ${record.state}  candidate ${record.candidateHash.replace(/^sha256:/, '').slice(0, 12)}`;
  const lines = [header, stepsLine(record), phaseLine(record, now), countsLine(entries), decisionLine(record), ''];
  const [tableHeader, ...tableRows] = table(['INSTANCE', 'STEP', 'VERDICT', 'COMMIT', 'STAGE', 'CODE'], instanceRows(record));
  lines.push(tableHeader!);
  // Leave the last terminal line free: the cursor sits there after the block.
  const room = rows - 1 - lines.length;
  if (tableRows.length <= room) lines.push(...tableRows);
  else lines.push(...tableRows.slice(0, room - 1), `… and ${tableRows.length - (room - 1)} more`);
  return lines.map((line) => cut(line, columns));
}

/**
 * A redrawer for line-based output: each `draw(lines)` moves the cursor back over the block drawn
 * before (`ESC[nA`), clears to the end of the screen (`ESC[0J`) and writes the new block, so the
 * view stays in place however its height changes.
 *
 * @example
 * ```ts
 * const view = inPlace((text) => process.stdout.write(`${text}\n`));
 * view.draw(renderRolloutView(record));
 * ```
 */
export function inPlace(write: (text: string) => void): { draw(lines: readonly string[]): void } {
  let height = 0;
  return {
    draw(lines) {
      const back = height > 0 ? `\u001b[${height}A\r\u001b[0J` : '';
      write(`${back}${lines.join('\n')}`);
      height = lines.length;
    },
  };
}
