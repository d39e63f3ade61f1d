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
import { errorInfo, type VerifyError } from '../errors.js';
import { AuditFanout } from './audit.js';
import * as diagnostics from './diagnostics.js';
import type { SafeEmitter } from './emitter.js';
import { changedPaths } from '../support/changed-paths.js';
import { safeMessage } from '../support/safe-message.js';
import type { AuditRecord, AuditSink, Clock, Generation, GenerationInfo, LastAttempt, ReloadResult, Stage, TriggerInfo, UnitEvents } from '../types.js';

/** True for the statuses that mean "fine": `committed`, `unchanged`, `would-commit`. */
export function isOk(status: ReloadResult['status']): boolean {
  return status === 'committed' || status === 'unchanged' || status === 'would-commit';
}

/** One attempt: a start, a reload, a rollback (or, for a cache, an invalidation). */
export interface Attempt {
  readonly id: number;
  readonly action: AuditRecord['action'];
  readonly trigger: TriggerInfo;
  readonly reason: string | undefined;
  readonly actor: string | undefined;
  readonly startedAt: number;
  /** The caller passed `force` (the audit record says `forced: true`). */
  readonly forced: boolean;
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
  /** False: deliver no audit record for this attempt (a cache audits only failed per-key loads). Default true. */
  audit?: boolean;
  /** False: the attempt does not become `lastAttempt` (a dry run, a reload held by a pause). Default true. */
  lastAttempt?: boolean;
  /** Dotted leaf paths that differ from the live value (committed, would-commit): on the result and the record. */
  changedPaths?: string[] | undefined;
  /** A dry run: the result says `dryRun: true`. */
  dryRun?: boolean;
  /** The caller forced it (also read from the attempt): the record says `forced: true`. */
  forced?: boolean;
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
    meta: { reason?: string | undefined; actor?: string | undefined; run?: number | undefined; forced?: boolean | undefined; key?: () => { keyHash: string; key?: string } },
  ): Attempt {
    const attempt: Attempt = { id: ++this.#attemptId, action, trigger, reason: meta.reason, actor: meta.actor, startedAt: this.#o.clock.now(), forced: meta.forced === true, ended: false };
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
    const result: ReloadResult = { id: a.id, unit: this.#o.unit, status: end.status, ok: isOk(end.status), generation: end.generation, durationMs: Math.max(0, now - a.startedAt) };
    if (end.previous !== undefined) result.previous = end.previous;
    if (end.stage !== undefined) result.stage = end.stage;
    if (end.error !== undefined) result.error = end.error;
    if (end.hash !== undefined) result.hash = end.hash;
    if (end.changedPaths !== undefined) result.changedPaths = end.changedPaths;
    if (end.dryRun) result.dryRun = true;
    if (end.lastAttempt !== false) {
      const last: LastAttempt = { at: now, outcome: end.status };
      if (!isOk(end.status)) {
        if (end.stage !== undefined) last.stage = end.stage;
        if (end.error !== undefined) last.error = errorInfo(end.error);
      }
      this.#lastAttempt = last;
    }
    diagnostics.attemptEnded(this.#o.unit, result, end.hash, end.detail?.target);
    emit?.(result);
    if (end.audit !== false && this.audit.active) this.audit.deliver(this.#record(a, result, end));
    return result;
  }

  /**
   * One audit record for an operator action that is not an attempt (`pause`, `resume`,
   * `clear-refused`): no result, no `lastAttempt`, no event.
   */
  note(action: AuditRecord['action'], meta: { reason?: string | undefined; actor?: string | undefined; outcome: ReloadResult['status']; generation: number; detail?: Record<string, string | number | boolean> }): void {
    if (!this.audit.active) return;
    const now = this.#o.clock.now();
    const record: AuditRecord = { id: randomUUID(), unit: this.#o.unit, action, trigger: { kind: 'manual' }, startedAt: new Date(now).toISOString(), durationMs: 0, outcome: meta.outcome };
    if (meta.actor !== undefined) record.actor = meta.actor;
    if (meta.reason !== undefined) record.reason = meta.reason;
    if (meta.generation !== 0) record.to = meta.generation;
    if (meta.detail !== undefined) record.detail = { ...meta.detail };
    this.audit.deliver(record);
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
    if (end.changedPaths !== undefined) record.changedPaths = [...end.changedPaths];
    if (a.forced || end.forced) record.forced = true;
    return record;
  }
}

/**
 * A unit's side of the report: its outcome events (`committed` with the changed paths,
 * `unchanged`, `rejected`), `reloading` and `rolled-back`, each built only when someone listens.
 *
 * @example
 * ```ts
 * const report = new UnitReport<Config, Config>(reporter, events, 'config');
 * report.unchanged(attempt, unit.current!, hash);
 * ```
 */
export class UnitReport<T, R> {
  readonly #reporter: Reporter;
  readonly #events: SafeEmitter<UnitEvents<T, R>>;
  readonly #unit: string;

  constructor(reporter: Reporter, events: SafeEmitter<UnitEvents<T, R>>, unit: string) {
    this.#reporter = reporter;
    this.#events = events;
    this.#unit = unit;
  }

  /** An attempt's pipeline begins. */
  reloading(a: Attempt): void {
    if (!this.#events.has('reloading')) return;
    const payload: UnitEvents<T, R>['reloading'][0] = { unit: this.#unit, attempt: a.id, trigger: a.trigger };
    if (a.reason !== undefined) payload.reason = a.reason;
    if (a.actor !== undefined) payload.actor = a.actor;
    this.#events.emit('reloading', payload);
  }

  /** `current` was committed over `previous`. `cause`: the verify failure a rollback answers. */
  committed(
    a: Attempt,
    current: Generation<T, R>,
    previous: Generation<T, R> | undefined,
    extra: { cause?: VerifyError | undefined; target?: number | undefined } = {},
  ): ReloadResult {
    const paths = changedPaths(previous?.value, current.value);
    const end: AttemptEnd = { status: 'committed', generation: current.id, previous: previous?.id, hash: current.hash, changedPaths: paths };
    if (extra.cause) end.cause = { stage: 'verify', error: extra.cause };
    if (extra.target !== undefined) end.detail = { target: extra.target };
    return this.#reporter.end(a, end, (result) => {
      if (this.#events.has('committed')) this.#events.emit('committed', { unit: this.#unit, previous, current, changedPaths: [...paths], result });
    });
  }

  /**
   * The candidate's hash is refused. `quiet`: already reported once, so no audit record and no
   * event (the result and `lastAttempt` still say `refused`). The event is `rejected` at stage
   * `refused`, so listeners and metrics count it like any attempt that did not commit.
   */
  refused(a: Attempt, live: Generation<T, R> | undefined, error: Error, hash: string, quiet: boolean): ReloadResult {
    return this.#reporter.end(a, { status: 'refused', generation: live?.id ?? 0, previous: live?.id, stage: 'refused', error, hash, audit: !quiet }, (result) => {
      if (!quiet && this.#events.has('rejected')) this.#events.emit('rejected', { unit: this.#unit, stage: 'refused', error, result });
    });
  }

  /** A reload held by the pause gate: no audit record, no event, not the last attempt (nothing ran). */
  paused(a: Attempt, live: Generation<T, R> | undefined, error: Error): ReloadResult {
    return this.#reporter.end(a, { status: 'paused', generation: live?.id ?? 0, previous: live?.id, error, audit: false, lastAttempt: false });
  }

  /**
   * How a dry run ended (`would-commit`, `unchanged`, `refused`, `rejected`, `paused`): audited as
   * `dry-run`, never an outcome event, never the last attempt, never a change of state.
   */
  dryRun(a: Attempt, live: Generation<T, R> | undefined, end: Omit<AttemptEnd, 'generation' | 'previous' | 'dryRun' | 'lastAttempt'>): ReloadResult {
    return this.#reporter.end(a, { ...end, generation: live?.id ?? 0, previous: live?.id, dryRun: true, lastAttempt: false });
  }

  /** The candidate's hash equals the live one's. */
  unchanged(a: Attempt, live: Generation<T, R>, hash: string): ReloadResult {
    return this.#reporter.end(a, { status: 'unchanged', generation: live.id, previous: live.id, hash }, (result) => {
      if (this.#events.has('unchanged')) this.#events.emit('unchanged', { unit: this.#unit, current: live, result });
    });
  }

  /** Rejected at `stage` (none: closed, or a rollback with no target); `live` stays. */
  rejected(a: Attempt, live: Generation<T, R> | undefined, stage: Stage | undefined, error: Error, hash?: string): ReloadResult {
    return this.#reporter.end(a, { status: 'rejected', generation: live?.id ?? 0, previous: live?.id, stage, error, hash }, (result) => {
      if (stage !== undefined && this.#events.has('rejected')) this.#events.emit('rejected', { unit: this.#unit, stage, error, result });
    });
  }

  /** A rollback committed (after its `committed` event). */
  rolledBack(event: UnitEvents<T, R>['rolled-back'][0]): void {
    this.#events.emit('rolled-back', event);
  }

  /** A generation's resource was disposed (or had nothing to dispose). */
  disposed(generation: GenerationInfo): void {
    if (this.#events.has('disposed')) this.#events.emit('disposed', { unit: this.#unit, generation });
  }

  /** A retired generation's drain timer fired with `leases` still open. */
  drainTimeout(generation: GenerationInfo, leases: number): void {
    this.#events.emit('drain-timeout', { unit: this.#unit, generation, leases });
  }
}
