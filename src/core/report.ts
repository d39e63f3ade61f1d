/**
 * Where every attempt ends, exactly once: its `ReloadResult`, the owner's `lastAttempt`, one audit
 * record and one outcome event (`committed`, `unchanged` or `rejected`, emitted by the owner's
 * callback). Nothing else builds a result or an audit record, so one attempt can never be counted
 * twice by a listener, a metrics adapter or an audit sink.
 *
 * Owner-neutral: a unit and a cache both end their attempts here; each passes its own event
 * payload through `end(…, emit)`.
 *
 * @module
 * @internal
 */
import { randomUUID } from 'node:crypto';
import { errorInfo } from '../errors.js';
import { AuditFanout } from './audit.js';
import * as diagnostics from './diagnostics.js';
import { safeMessage } from '../support/safe-message.js';
import type { AuditRecord, AuditSink, Clock, LastAttempt, ReloadResult, Stage, TriggerInfo } from '../types.js';

/** One attempt: a start, a reload, a rollback (or, for a cache, an invalidation). */
export interface Attempt {
  readonly id: number;
  readonly action: AuditRecord['action'];
  readonly trigger: TriggerInfo;
  readonly reason: string | undefined;
  readonly actor: string | undefined;
  readonly startedAt: number;
  /** Set by `end()`: an attempt ends once. */
  ended: boolean;
}

/** How an attempt ended. */
export interface AttemptEnd {
  status: ReloadResult['status'];
  /** The live generation after the attempt (0: none). */
  generation: number;
  /** The live generation before it, if any. */
  previous?: number | undefined;
  /** Set when rejected. */
  stage?: Stage | undefined;
  error?: Error | undefined;
  /** The candidate's hash, when one was computed (audit only). */
  hash?: string | undefined;
  /** What caused a committed rollback, for the audit record (a verify failure). */
  cause?: { stage: Stage; error: Error } | undefined;
  /** Extra audit detail (hashes, ids, counts; never values). */
  detail?: Record<string, string | number | boolean> | undefined;
}

/** What a reporter needs from its owner. */
export interface ReporterOptions {
  /** The owner's name (`unit` in results and records). */
  unit: string;
  clock: Clock;
  /** The owner's `error` event: contained failures (a listener, an audit sink, a dispose). */
  emitError: (payload: { unit: string; error: Error; where: string }) => void;
}

/**
 * Results, last attempt, audit and the error count of one owner.
 *
 * @example
 * ```ts
 * const report = new Reporter({ unit: 'config', clock, emitError: (e) => events.emit('error', e) });
 * const a = report.begin('reload', { kind: 'manual' }, {});
 * const result = report.end(a, { status: 'unchanged', generation: 3, previous: 3, hash }, (r) => events.emit('unchanged', { unit: 'config', result: r }));
 * ```
 */
export class Reporter {
  readonly audit: AuditFanout;
  readonly #o: ReporterOptions;
  #attemptId = 0;
  #lastAttempt: LastAttempt | null = null;
  #errors = 0;

  constructor(options: ReporterOptions) {
    this.#o = options;
    this.audit = new AuditFanout((error) => this.error(error, 'audit'));
  }

  /** The most recent attempt, as `status().lastAttempt` reports it (a copy). */
  get lastAttempt(): LastAttempt | null {
    return this.#lastAttempt ? { ...this.#lastAttempt } : null;
  }

  /** Contained errors reported so far (`status().errors`). */
  get errors(): number {
    return this.#errors;
  }

  /** Adds an audit sink (the owner's own, or a registry's); returns its detach function. */
  attachAudit(sink: AuditSink): () => void {
    return this.audit.attach(sink);
  }

  /**
   * Opens an attempt (a new id, its start time). For tracing: `run`, the scheduler run it carries
   * out; `key`, how a cache's per-key load names its key (called only while a tracer listens).
   */
  begin(
    action: Attempt['action'],
    trigger: TriggerInfo,
    meta: { reason?: string | undefined; actor?: string | undefined; run?: number | undefined; key?: () => { keyHash: string; key?: string } },
  ): Attempt {
    const attempt: Attempt = { id: ++this.#attemptId, action, trigger, reason: meta.reason, actor: meta.actor, startedAt: this.#o.clock.now(), ended: false };
    diagnostics.attemptStarted(this.#o.unit, attempt, meta.run, meta.key);
    return attempt;
  }

  /**
   * Ends `a`: builds its result, records it as the last attempt, calls `emit(result)` (the owner's
   * one outcome event), then delivers one audit record. Throws if `a` already ended: that is a bug
   * in the owner, and reporting it twice would double-count it everywhere.
   */
  end(a: Attempt, end: AttemptEnd, emit?: (result: ReloadResult) => void): ReloadResult {
    if (a.ended) throw new Error(`attempt ${a.id} of ${this.#o.unit} ended twice`);
    a.ended = true;
    const now = this.#o.clock.now();
    const result: ReloadResult = { id: a.id, unit: this.#o.unit, status: end.status, ok: end.status !== 'rejected', generation: end.generation, durationMs: Math.max(0, now - a.startedAt) };
    if (end.previous !== undefined) result.previous = end.previous;
    if (end.stage !== undefined) result.stage = end.stage;
    if (end.error !== undefined) result.error = end.error;
    const last: LastAttempt = { at: now, outcome: end.status };
    if (end.status === 'rejected') {
      if (end.stage !== undefined) last.stage = end.stage;
      if (end.error !== undefined) last.error = errorInfo(end.error);
    }
    this.#lastAttempt = last;
    diagnostics.attemptEnded(this.#o.unit, result, end.hash, end.detail?.target);
    emit?.(result);
    if (this.audit.active) this.audit.deliver(this.#record(a, result, end));
    return result;
  }

  /** A contained failure: counted and emitted as the owner's `error` event, never thrown. */
  error(error: unknown, where: string): void {
    this.#errors++;
    this.#o.emitError({ unit: this.#o.unit, error: error instanceof Error ? error : new Error(safeMessage(error)), where });
  }

  #record(a: Attempt, result: ReloadResult, end: AttemptEnd): AuditRecord {
    const record: AuditRecord = {
      id: randomUUID(),
      unit: this.#o.unit,
      action: a.action,
      trigger: a.trigger,
      startedAt: new Date(a.startedAt).toISOString(),
      durationMs: result.durationMs,
      outcome: result.status,
    };
    if (a.actor !== undefined) record.actor = a.actor;
    if (a.reason !== undefined) record.reason = a.reason;
    if (result.previous !== undefined) record.from = result.previous;
    if (result.generation !== 0) record.to = result.generation;
    if (end.hash !== undefined) record.hash = end.hash;
    if (result.stage !== undefined) record.stage = result.stage;
    if (result.error !== undefined) record.error = errorInfo(result.error);
    if (end.cause !== undefined) {
      record.stage = end.cause.stage;
      record.error = errorInfo(end.cause.error);
    }
    if (end.detail !== undefined) record.detail = { ...end.detail };
    return record;
  }
}
