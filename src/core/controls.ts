/**
 * The operator's controls of one unit, in one place: the pause gate (pause.ts) and the refused
 * set (refusals.ts), their audit notes (`pause`, `resume`, `clear-refused`), their errors
 * (`PausedError`, `RefusedError`) and their part of `status()`. The unit facade delegates here.
 *
 * @module
 * @internal
 */
import { PausedError, RefusedError, formatMessage } from '../errors.js';
import { actorOptionsError } from './options.js';
import { PauseGate } from './pause.js';
import { RefusedSet } from './refusals.js';
import type { Reporter } from './report.js';
import type { Clock, PauseOptions, ReloadResult, TriggerInfo, UnitStatus } from '../types.js';

/** What the controls need from their unit. */
export interface ControlsHost {
  unit: string;
  source: string | undefined;
  clock: Clock;
  report: Reporter;
  /** The live generation id (0: none), for the audit notes. */
  generation(): number;
  /** The refused set changed without a commit: persist it (lastKnownGood). */
  persistRefused(list: string[]): void;
}

/**
 * Pause and refusals of one unit.
 *
 * @example
 * ```ts
 * const controls = new OperatorControls({ unit: 'db', source: 'file db.json', clock, report, generation: () => 3, persistRefused });
 * controls.pause({ reason: 'incident' });
 * controls.gate.defer({ kind: 'signal' }); // true: held
 * await controls.resume({}, (trigger) => unit.reload({ trigger }));
 * ```
 */
export class OperatorControls {
  readonly gate = new PauseGate();
  readonly refused: RefusedSet;
  readonly #host: ControlsHost;

  constructor(host: ControlsHost) {
    this.#host = host;
    this.refused = new RefusedSet(() => host.persistRefused(this.refused.list()));
  }

  /** `unit.pause()`: idempotent; the transition is audited. Throws a `TypeError` for bad options. */
  pause(opts: PauseOptions): void {
    const invalid = actorOptionsError(opts, 'pause', ['reason', 'actor']);
    if (invalid) throw invalid;
    if (this.gate.pause(opts, this.#host.clock.now())) this.#note('pause', opts, 'paused');
  }

  /** `unit.resume()`: runs the one pending reload through `reload`, if anything was held. */
  resume(opts: { actor?: string }, reload: (trigger: TriggerInfo, actor: string | undefined) => Promise<ReloadResult>): Promise<ReloadResult | undefined> {
    const resumed = this.gate.resume();
    if (resumed === undefined) return Promise.resolve(undefined);
    this.#note('resume', opts, 'unchanged', { pending: resumed.pending !== undefined });
    return resumed.pending === undefined ? Promise.resolve(undefined) : reload(resumed.pending, opts.actor);
  }

  /** `unit.clearRefused()`: audited with how many hashes it cleared. */
  clearRefused(opts: { actor?: string }): void {
    const cleared = this.refused.clear();
    this.#note('clear-refused', opts, 'unchanged', { cleared });
  }

  refusedError(hash: string): RefusedError {
    const ctx = { unit: this.#host.unit, source: this.#host.source };
    const detail = `${hash} was rolled back from or failed verify; change the source, or reload({ force: true }) / clearRefused()`;
    return new RefusedError(formatMessage('candidate refused', ctx, detail), hash, ctx);
  }

  pausedError(what: string): PausedError {
    const reason = this.gate.status()?.reason;
    const ctx = { unit: this.#host.unit };
    return new PausedError(formatMessage('paused', ctx, `${what}() held${reason ? ` (${reason})` : ''}; resume() runs it, or reload({ force: true })`), ctx);
  }

  /** Adds `paused` and `refused` to a status, when there is something to say. */
  statusInto(status: UnitStatus): void {
    const paused = this.gate.status();
    if (paused !== undefined) status.paused = paused;
    if (this.refused.size > 0) status.refused = this.refused.list();
  }

  /** One audit record for an operator action that is not an attempt. */
  #note(action: 'pause' | 'resume' | 'clear-refused', opts: { reason?: string; actor?: string }, outcome: ReloadResult['status'], detail: Record<string, number | boolean> | undefined = undefined): void {
    const meta: Parameters<Reporter['note']>[1] = { reason: opts.reason, actor: opts.actor, outcome, generation: this.#host.generation() };
    if (detail !== undefined) meta.detail = detail;
    this.#host.report.note(action, meta);
  }
}

export { actorOptionsError };
