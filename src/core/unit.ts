/**
 * `reloadable(options)`: the unit. A reload runs
 * `load → validate → dedupe → create → healthCheck → COMMIT → retire previous → (verify)`;
 * any failure before the commit leaves the live generation untouched. The commit is one
 * synchronous assignment, so `get()` is a field read that can never observe a half-applied state.
 * See docs/architecture.md for the data flow and the numbered invariants this file upholds.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { AuditFanout } from './audit.js';
import { changedPaths } from '../support/changed-paths.js';
import * as diagnostics from './diagnostics.js';
import { SafeEmitter } from './emitter.js';
import {
  AbortedError,
  ClosedError,
  CreateError,
  HealthCheckError,
  LoadError,
  NotReadyError,
  ReloadkitError,
  RollbackError,
  TimeoutError,
  ValidationError,
  VerifyError,
  errorInfo,
  formatMessage,
  type ErrorContext,
} from '../errors.js';
import { CommittedGeneration, ResourceCell, triggerInfo, type RetainedSlot } from './generation.js';
import { ATTACH_AUDIT, STAGE, type AuditAttachable, type Stageable, type StageOutcome, type StagedCandidate } from './internal.js';
import { LastKnownGoodWriter, readLastKnownGood, toRecord } from './last-known-good.js';
import { ResourceLease } from './lease.js';
import { Mutex } from './lock.js';
import { callOptionsError, normalizeOptions, type NormalizedOptions } from './options.js';
import { withRetry } from './retry.js';
import { safeMessage } from '../support/safe-message.js';
import { validateWithSchema, validationError } from './schema.js';
import { StageAbort, runStage } from './timeout.js';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type {
  AuditRecord,
  AuditSink,
  Generation,
  GenerationInfo,
  Hint,
  LastAttempt,
  Lease,
  LoadContext,
  Reloadable,
  ReloadableOptions,
  ReloadOptions,
  ReloadResult,
  RollbackOptions,
  Source,
  Stage,
  StageContext,
  TriggerInfo,
  UnitEventName,
  UnitEvents,
  UnitStatus,
} from '../types.js';

type Candidate<T, R> = { kind: 'candidate'; raw: unknown; value: T; hash: string; cell: ResourceCell<R> };
type Outcome<T, R> =
  | Candidate<T, R>
  | { kind: 'unchanged'; hash: string }
  | { kind: 'rejected'; stage: Stage | undefined; error: Error; hash?: string };

/** One pipeline attempt (a reload, the initial load, a rollback). */
interface Attempt {
  id: number;
  action: 'start' | 'reload' | 'rollback';
  trigger: TriggerInfo;
  reason: string | undefined;
  actor: string | undefined;
  force: boolean;
  abort: StageAbort;
  startedAt: number;
}

/** A coalesced reload: every caller that arrives before its load begins shares it. */
interface Run {
  id: number;
  trigger: TriggerInfo;
  reason: string | undefined;
  actor: string | undefined;
  force: boolean;
  abort: StageAbort;
  callers: number;
  abortedCallers: number;
  cleanups: Array<() => void> | undefined;
  promise: Promise<ReloadResult>;
  resolve: (result: ReloadResult) => void;
}

const NO_RAW: unique symbol = Symbol('no raw candidate');
const NOT_READY: unique symbol = Symbol('not ready');
const MANUAL: TriggerInfo = Object.freeze({ kind: 'manual' });
const START: TriggerInfo = Object.freeze({ kind: 'start' });

/** The `load` context; its `signal` is created only if the load reads it. */
class LoadCtx<T, R> implements LoadContext<T, R> {
  readonly #abort: StageAbort;
  readonly previous: Generation<T, R> | undefined;
  readonly trigger: TriggerInfo;
  constructor(abort: StageAbort, previous: Generation<T, R> | undefined, trigger: TriggerInfo) {
    this.#abort = abort;
    this.previous = previous;
    this.trigger = trigger;
  }
  get signal(): AbortSignal {
    return this.#abort.signal;
  }
}

/** The `validate` / `create` / `healthCheck` / `dispose` context, with the same lazy `signal`. */
class StageCtx<T, R> implements StageContext<T, R> {
  readonly #abort: StageAbort;
  readonly unit: string;
  readonly previous: Generation<T, R> | undefined;
  readonly trigger: TriggerInfo;
  constructor(abort: StageAbort, unit: string, previous: Generation<T, R> | undefined, trigger: TriggerInfo) {
    this.#abort = abort;
    this.unit = unit;
    this.previous = previous;
    this.trigger = trigger;
  }
  get signal(): AbortSignal {
    return this.#abort.signal;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * The unit. Not exported: build one with `reloadable()`.
 */
class ReloadableUnit<T, R> implements Reloadable<T, R>, Stageable, AuditAttachable {
  readonly name: string;
  readonly #o: NormalizedOptions<T, R>;
  readonly #events: SafeEmitter<UnitEvents<T, R>>;
  readonly #audit: AuditFanout;
  readonly #lock = new Mutex();
  readonly #lkg: LastKnownGoodWriter | undefined;

  /** The live resource, or NOT_READY: `get()` is this one field read. */
  #resource: R | typeof NOT_READY = NOT_READY;
  /** The live generation. */
  #current: CommittedGeneration<T, R> | undefined;
  #live: RetainedSlot<T, R> | undefined;
  /** keepPrevious: the previous live slot, its resource kept undisposed for an instant rollback. */
  #warm: RetainedSlot<T, R> | undefined;
  /** Retained generations, oldest first; the last one is live. */
  #retained: RetainedSlot<T, R>[] = [];
  readonly #draining = new Set<ResourceCell<R>>();
  readonly #disposals = new Set<Promise<void>>();
  #progress: (() => void) | undefined;
  #leases = 0;
  #generationId = 0;
  #attemptId = 0;
  #runId = 0;
  #lastCommitted: GenerationInfo | undefined;

  #next: Run | undefined;
  #active: StageAbort | undefined;
  #abandonStaged: (() => void) | undefined;
  #lastLoadStart = Number.NEGATIVE_INFINITY;
  #throttle: { handle: unknown; resolve: () => void } | undefined;
  readonly #verifyTimers = new Set<unknown>();

  #startPromise: Promise<Generation<T, R>> | undefined;
  #startFailed = false;
  #degraded: string | undefined;
  #watching = false;
  #unwatch: (() => void | Promise<void>) | undefined;
  #closed = false;
  #closePromise: Promise<void> | undefined;
  #lastAttempt: LastAttempt | null = null;
  #errors = 0;

  constructor(options: ReloadableOptions<T, R>) {
    this.#o = normalizeOptions(options);
    this.name = this.#o.name;
    this.#events = new SafeEmitter<UnitEvents<T, R>>((error, event) => {
      if (event !== 'error') this.#reportError(error, `listener:${String(event)}`);
    });
    this.#audit = new AuditFanout((error) => this.#reportError(error, 'audit'));
    if (this.#o.audit) this.#audit.attach(this.#o.audit);
    if (this.#o.lastKnownGood) this.#lkg = new LastKnownGoodWriter(this.#o.lastKnownGood, (error) => this.#reportError(error, 'lastKnownGood'));
  }

  // ─── reading ──────────────────────────────────────────────────────────────────────────────

  get(): R {
    const resource = this.#resource;
    if (resource === NOT_READY) throw this.#notReady('get');
    return resource;
  }

  get current(): Generation<T, R> | undefined {
    return this.#current;
  }

  use<X>(fn: (resource: R, generation: Generation<T, R>) => X | Promise<X>): Promise<X> {
    const slot = this.#live;
    if (slot === undefined) return Promise.reject(this.#notReady('use'));
    const cell = slot.cell;
    cell.leases++;
    this.#leases++;
    diagnostics.leased(this.name, slot.gen, 'use');
    let out: X | Promise<X>;
    try {
      out = fn(cell.resource, slot.gen);
    } catch (error) {
      this.#releaseCell(cell);
      return Promise.reject(error);
    }
    if (isThenable(out)) {
      return Promise.resolve(out).finally(() => this.#releaseCell(cell));
    }
    this.#releaseCell(cell);
    return Promise.resolve(out);
  }

  acquire(): Lease<R> {
    const slot = this.#live;
    if (slot === undefined) throw this.#notReady('acquire');
    slot.cell.leases++;
    this.#leases++;
    diagnostics.leased(this.name, slot.gen, 'acquire');
    return new ResourceLease<R>(slot.cell, slot.gen as Generation<unknown, R>, this.#releaseCell);
  }

  readonly #releaseCell = (cell: ResourceCell<R>): void => {
    cell.leases--;
    this.#leases--;
    if (cell.leases === 0 && cell.retired && !cell.disposed) this.#dispose(cell);
  };

  // ─── reload: coalescing, throttle, lock ──────────────────────────────────────────────────

  reload(opts: ReloadOptions = {}): Promise<ReloadResult> {
    if (this.#closed) return Promise.reject(this.#closedError('reload'));
    const invalid = callOptionsError(opts, 'reload');
    if (invalid) return Promise.reject(invalid);
    let run = this.#next;
    if (run === undefined) {
      run = this.#newRun(opts);
      this.#next = run;
      void this.#drive(run);
    } else {
      run.callers++;
      if (opts.force) run.force = true;
    }
    if (opts.signal) this.#watchCallerSignal(run, opts.signal);
    diagnostics.reloadRequested(this.name, run.id, opts.trigger);
    return run.promise;
  }

  #newRun(opts: ReloadOptions): Run {
    let resolve!: (result: ReloadResult) => void;
    const promise = new Promise<ReloadResult>((r) => (resolve = r));
    return {
      id: ++this.#runId,
      trigger: opts.trigger ? triggerInfo(opts.trigger) : MANUAL,
      reason: opts.reason,
      actor: opts.actor,
      force: opts.force === true,
      abort: new StageAbort(),
      callers: 1,
      abortedCallers: 0,
      cleanups: undefined,
      promise,
      resolve,
    };
  }

  /** A shared run is aborted only once every one of its callers has aborted. */
  #watchCallerSignal(run: Run, signal: AbortSignal): void {
    const onAbort = (): void => {
      run.abortedCallers++;
      if (run.abortedCallers >= run.callers) run.abort.abort(signal.reason);
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    (run.cleanups ??= []).push(() => signal.removeEventListener('abort', onAbort));
  }

  async #drive(run: Run): Promise<void> {
    let result: ReloadResult | undefined;
    let attempt: Attempt | undefined;
    await this.#lock.acquire();
    try {
      await this.#throttleWait();
      // From here on the load begins: later callers start a new follow-up run.
      if (this.#next === run) this.#next = undefined;
      this.#active = run.abort;
      attempt = this.#newAttempt('reload', run.trigger, run, run.abort, run.id);
      result = this.#closed ? this.#finishRejected(attempt, undefined, this.#closedError('reload')) : this.#settle(attempt, await this.#attempt(attempt));
    } catch (error) {
      // Defensive: a bug must still settle every caller.
      attempt ??= this.#newAttempt('reload', run.trigger, run, run.abort, run.id);
      result = this.#finishRejected(attempt, undefined, error instanceof Error ? error : new Error(safeMessage(error)));
    } finally {
      this.#active = undefined;
      this.#lock.release();
      if (run.cleanups) for (const cleanup of run.cleanups) cleanup();
    }
    run.resolve(result);
  }

  #throttleWait(): Promise<void> | undefined {
    const min = this.#o.minIntervalMs;
    if (min <= 0 || this.#closed) return undefined;
    const wait = this.#lastLoadStart + min - this.#o.clock.now();
    if (wait <= 0) return undefined;
    return new Promise<void>((resolve) => {
      const handle = this.#o.clock.setTimeout(() => {
        this.#throttle = undefined;
        resolve();
      }, wait);
      this.#throttle = { handle, resolve };
    });
  }

  /** Runs `fn` holding the reload lock, with an abort source that `close()` aborts. */
  async #locked<X>(fn: (abort: StageAbort) => Promise<X>): Promise<X> {
    await this.#lock.acquire();
    const abort = new StageAbort();
    this.#active = abort;
    try {
      return await fn(abort);
    } finally {
      this.#active = undefined;
      this.#lock.release();
    }
  }

  // ─── the pipeline ────────────────────────────────────────────────────────────────────────

  #newAttempt(action: Attempt['action'], trigger: TriggerInfo, opts: { reason?: string | undefined; actor?: string | undefined; force?: boolean }, abort: StageAbort, run?: number): Attempt {
    const attempt: Attempt = {
      id: ++this.#attemptId,
      action,
      trigger,
      reason: opts.reason,
      actor: opts.actor,
      force: opts.force === true,
      abort,
      startedAt: this.#o.clock.now(),
    };
    diagnostics.attemptStarted(this.name, attempt, run, this.#current?.id);
    return attempt;
  }

  #ctx(stage?: Stage): ErrorContext {
    return { unit: this.name, source: this.#o.sourceLabel, stage };
  }

  #emitReloading(a: Attempt): void {
    if (!this.#events.has('reloading')) return;
    const payload: UnitEvents<T, R>['reloading'][0] = { unit: this.name, attempt: a.id, trigger: a.trigger };
    if (a.reason !== undefined) payload.reason = a.reason;
    if (a.actor !== undefined) payload.actor = a.actor;
    this.#events.emit('reloading', payload);
  }

  /** load → validate → dedupe → create → healthCheck. Never throws; never commits. */
  async #attempt(a: Attempt, given: unknown = NO_RAW): Promise<Outcome<T, R>> {
    const o = this.#o;
    const previous = this.#current;
    this.#emitReloading(a);
    let raw = given;
    const counter = { attempts: 0 };
    if (raw === NO_RAW) {
      this.#lastLoadStart = o.clock.now();
      diagnostics.stageStarted(this.name, 'load');
      try {
        raw = await this.#load(a, previous, counter);
        // The source answered: whatever happens next, it is no longer "down".
        this.#degraded = undefined;
      } catch (error) {
        return { kind: 'rejected', stage: 'load', error: this.#loadError(error, a.abort, counter.attempts) };
      }
    }
    diagnostics.stageStarted(this.name, 'validate');
    if (a.abort.aborted) return { kind: 'rejected', stage: 'validate', error: new AbortedError(formatMessage('validation aborted', this.#ctx('validate')), this.#ctx('validate')) };

    let value: T;
    const ctx = new StageCtx<T, R>(a.abort, this.name, previous, a.trigger);
    try {
      value = o.schema ? await validateWithSchema(o.schema, raw, this.#ctx('validate')) : (raw as T);
      if (o.validate) await o.validate(value, ctx);
    } catch (error) {
      return { kind: 'rejected', stage: 'validate', error: this.#validationError(error) };
    }

    let hash: string;
    try {
      hash = o.hash(value);
      if (typeof hash !== 'string') throw new TypeError(`hash() returned a ${typeof hash}, not a string`);
    } catch (error) {
      return { kind: 'rejected', stage: 'validate', error: validationError([{ path: '', message: `could not hash the value: ${safeMessage(error)}` }], this.#ctx('validate')) };
    }
    if (!a.force && previous !== undefined && previous.hash === hash) return { kind: 'unchanged', hash };
    return this.#build(raw, value, hash, a.abort, previous, a.trigger);
  }

  #load(a: Attempt, previous: CommittedGeneration<T, R> | undefined, counter: { attempts: number }): Promise<unknown> {
    const o = this.#o;
    const once = (): Promise<unknown> => {
      diagnostics.loadTried(this.name, ++counter.attempts);
      return runStage('load', o.timeouts.load, a.abort, (abort) => o.load(new LoadCtx(abort, previous, a.trigger)), {
        clock: o.clock,
        unit: this.name,
        source: o.sourceLabel,
      });
    };
    return o.retry === undefined ? once() : withRetry(once, o.retry, { signal: a.abort, clock: o.clock });
  }

  #loadError(error: unknown, signal: StageAbort, attempts: number): Error {
    if (error instanceof TimeoutError || error instanceof AbortedError) return error;
    const ctx = this.#ctx('load');
    if (signal.aborted) return new AbortedError(formatMessage('load aborted', ctx), { ...ctx, cause: error });
    const what = attempts > 1 ? `load failed after ${attempts} attempts` : 'load failed';
    return new LoadError(formatMessage(what, ctx, safeMessage(error)), { ...ctx, cause: error });
  }

  #validationError(error: unknown): Error {
    if (error instanceof ValidationError && error.unit === this.name) return error;
    if (error instanceof AbortedError || error instanceof TimeoutError) return error;
    const issues =
      error instanceof ValidationError
        ? error.issues
        : [{ path: typeof (error as { path?: unknown } | null)?.path === 'string' ? (error as { path: string }).path : '', message: safeMessage(error) }];
    const out = validationError(issues, this.#ctx('validate'));
    if (error !== undefined) Object.defineProperty(out, 'cause', { value: error, enumerable: false, configurable: true, writable: true });
    return out;
  }

  #stageError(stage: 'create' | 'health', error: unknown): Error {
    if (error instanceof TimeoutError || error instanceof AbortedError) return error;
    if (stage === 'health' && error instanceof HealthCheckError && error.unit === this.name) return error;
    const ctx = { ...this.#ctx(stage), cause: error };
    return stage === 'create'
      ? new CreateError(formatMessage('create failed', ctx, safeMessage(error)), ctx)
      : new HealthCheckError(formatMessage('health check failed', ctx, safeMessage(error)), ctx);
  }

  /** create → healthCheck for a validated value. A rejected candidate's resource is disposed at once. */
  async #build(raw: unknown, value: T, hash: string, parent: StageAbort, previous: Generation<T, R> | undefined, trigger: TriggerInfo): Promise<Outcome<T, R>> {
    const o = this.#o;
    const info: GenerationInfo = { id: 0, hash, committedAt: 0, trigger };
    let resource: R;
    if (o.create) {
      const create = o.create;
      diagnostics.stageStarted(this.name, 'create');
      try {
        resource = await runStage('create', o.timeouts.create, parent, (abort) => create(value, new StageCtx(abort, this.name, previous, trigger)), {
          clock: o.clock,
          unit: this.name,
          source: o.sourceLabel,
          // A create that resolves after its timeout still built something: dispose it.
          onLate: (late) => this.#dispose(new ResourceCell(late, info)),
        });
      } catch (error) {
        return { kind: 'rejected', stage: 'create', error: this.#stageError('create', error), hash };
      }
    } else {
      resource = value as unknown as R;
    }
    const cell = new ResourceCell(resource, info);
    if (o.healthCheck) {
      const healthCheck = o.healthCheck;
      diagnostics.stageStarted(this.name, 'health');
      try {
        const ok = await runStage('health', o.timeouts.healthCheck, parent, (abort) => healthCheck(resource, new StageCtx(abort, this.name, previous, trigger)), {
          clock: o.clock,
          unit: this.name,
          source: o.sourceLabel,
        });
        if (ok === false) throw new HealthCheckError(formatMessage('health check failed', this.#ctx('health'), 'it returned false'), this.#ctx('health'));
      } catch (error) {
        this.#dispose(cell);
        return { kind: 'rejected', stage: 'health', error: this.#stageError('health', error), hash };
      }
    }
    if (parent.aborted) {
      this.#dispose(cell);
      return { kind: 'rejected', stage: 'health', error: new AbortedError(formatMessage('reload aborted', this.#ctx('health')), this.#ctx('health')), hash };
    }
    return { kind: 'candidate', raw, value, hash, cell };
  }

  /** Turns an outcome into a result: commit a candidate, report the rest. */
  #settle(a: Attempt, outcome: Outcome<T, R>, extra?: CommitExtra): ReloadResult {
    if (outcome.kind === 'candidate') {
      if (this.#closed) {
        this.#dispose(outcome.cell);
        return this.#finishRejected(a, undefined, this.#closedError(a.action), outcome.hash);
      }
      return this.#commit(a, outcome, extra);
    }
    if (outcome.kind === 'unchanged') return this.#finishUnchanged(a, outcome.hash);
    return this.#finishRejected(a, outcome.stage, outcome.error, outcome.hash);
  }

  // ─── commit and retirement ───────────────────────────────────────────────────────────────

  #commit(a: Attempt, c: Candidate<T, R>, extra?: CommitExtra): ReloadResult {
    const o = this.#o;
    const previous = this.#live;
    const gen = new CommittedGeneration<T, R>(++this.#generationId, c.hash, c.value, c.cell.resource, o.clock.now(), a.trigger);
    const slot: RetainedSlot<T, R> = { gen, raw: c.raw, cell: c.cell };
    c.cell.info = gen.toJSON();
    c.cell.retired = false;
    // The commit: synchronous reference swaps, no await in between; readers see old or new, never a mix.
    this.#resource = gen.resource;
    this.#live = slot;
    this.#current = gen;

    this.#retained.push(slot);
    if (this.#retained.length > o.history + 1) this.#retained.splice(0, this.#retained.length - (o.history + 1));
    this.#startFailed = false;
    diagnostics.committed(this.name, previous?.gen, gen);

    const result = this.#result(a, 'committed', gen.id, previous?.gen.id);
    this.#lastAttempt = { at: gen.committedAt, outcome: 'committed' };
    if (this.#events.has('committed')) {
      this.#events.emit('committed', {
        unit: this.name,
        previous: previous?.gen,
        current: gen,
        changedPaths: changedPaths(previous?.gen.value, gen.value),
        result,
      });
    }
    this.#auditAttempt(a, result, c.hash, extra);
    if (previous !== undefined) this.#retire(previous, slot);
    if (this.#lkg && a.trigger.kind !== 'lastKnownGood') this.#persist(slot);
    if (o.verify && a.action === 'reload' && previous !== undefined) this.#scheduleVerify(slot);
    return result;
  }

  #persist(slot: RetainedSlot<T, R>): void {
    try {
      const record = toRecord(this.name, slot.gen.hash, slot.gen.committedAt, slot.raw);
      JSON.stringify(record); // fails here, synchronously, for raw values with no JSON form
      this.#lkg!.write(record);
    } catch (error) {
      this.#reportError(error, 'lastKnownGood');
    }
  }

  /** The previous live slot leaves: kept warm (keepPrevious) or retired (drain, then dispose). */
  #retire(previous: RetainedSlot<T, R>, live: RetainedSlot<T, R>): void {
    if (this.#o.keepPrevious) {
      const oldWarm = this.#warm;
      this.#warm = previous;
      if (oldWarm !== undefined && oldWarm.cell !== live.cell && oldWarm.cell !== previous.cell) this.#retireCell(oldWarm.cell);
    } else if (previous.cell !== live.cell) {
      this.#retireCell(previous.cell);
    }
  }

  #retireCell(cell: ResourceCell<R>): void {
    if (cell.retired || cell.disposed) return;
    cell.retired = true;
    if (cell.leases === 0) {
      this.#dispose(cell);
      return;
    }
    this.#draining.add(cell);
    diagnostics.drainStarted(this.name, cell.info.id, cell.leases);
    cell.drainTimer = this.#o.clock.setTimeout(() => {
      cell.drainTimer = undefined;
      if (cell.disposed) return;
      this.#events.emit('drain-timeout', { unit: this.name, generation: cell.info, leases: cell.leases });
      this.#dispose(cell);
    }, this.#o.timeouts.drain);
  }

  /** Disposes a cell's resource exactly once. Never called on the live cell. */
  #dispose(cell: ResourceCell<R>): void {
    if (cell.disposed) return;
    cell.disposed = true;
    cell.retired = true;
    diagnostics.disposeStarted(this.name, cell.info.id, cell.leases);
    this.#draining.delete(cell);
    if (cell.drainTimer !== undefined) {
      this.#o.clock.clearTimeout(cell.drainTimer);
      cell.drainTimer = undefined;
    }
    const dispose = this.#o.dispose;
    if (dispose === undefined) {
      this.#disposed(cell);
      return;
    }
    const trigger = cell.info.trigger;
    const pending: Promise<void> = runStage('dispose', this.#o.timeouts.dispose, undefined, (abort) => dispose(cell.resource, new StageCtx<T, R>(abort, this.name, undefined, trigger)), {
      clock: this.#o.clock,
      unit: this.name,
    })
      .then(
        () => undefined,
        (error: unknown) => this.#reportError(error, 'dispose'),
      )
      .then(() => {
        this.#disposals.delete(pending);
        this.#disposed(cell);
      });
    this.#disposals.add(pending);
  }

  #disposed(cell: ResourceCell<R>): void {
    diagnostics.disposeEnded(this.name, cell.info.id, cell.leases);
    if (this.#events.has('disposed')) this.#events.emit('disposed', { unit: this.name, generation: cell.info });
    const progress = this.#progress;
    if (progress) {
      this.#progress = undefined;
      progress();
    }
  }

  // ─── results, events, audit ──────────────────────────────────────────────────────────────

  #result(a: Attempt, status: ReloadResult['status'], generation: number, previous: number | undefined, stage?: Stage, error?: Error): ReloadResult {
    const result: ReloadResult = {
      id: a.id,
      unit: this.name,
      status,
      ok: status !== 'rejected',
      generation,
      durationMs: Math.max(0, this.#o.clock.now() - a.startedAt),
    };
    if (previous !== undefined) result.previous = previous;
    if (stage !== undefined) result.stage = stage;
    if (error !== undefined) result.error = error;
    return result;
  }

  #finishUnchanged(a: Attempt, hash: string): ReloadResult {
    const live = this.#current!;
    const result = this.#result(a, 'unchanged', live.id, live.id);
    this.#lastAttempt = { at: this.#o.clock.now(), outcome: 'unchanged' };
    if (this.#events.has('unchanged')) this.#events.emit('unchanged', { unit: this.name, current: live, result });
    this.#auditAttempt(a, result, hash);
    return result;
  }

  /** `ownFailure` is false for a group discard: another member failed, this unit's source is fine. */
  #finishRejected(a: Attempt, stage: Stage | undefined, error: Error, hash?: string, ownFailure = true): ReloadResult {
    const live = this.#current;
    const result = this.#result(a, 'rejected', live?.id ?? 0, live?.id, stage, error);
    const last: LastAttempt = { at: this.#o.clock.now(), outcome: 'rejected', error: errorInfo(error) };
    if (stage !== undefined) last.stage = stage;
    this.#lastAttempt = last;
    // Serving the live generation while the source cannot be read: degraded until a load succeeds.
    if (stage === 'load' && ownFailure && live !== undefined && a.action !== 'rollback' && !this.#closed) this.#degraded ??= `load failing: ${error.message}`;
    if (stage !== undefined && this.#events.has('rejected')) this.#events.emit('rejected', { unit: this.name, stage, error, result });
    this.#auditAttempt(a, result, hash);
    return result;
  }

  #auditAttempt(a: Attempt, result: ReloadResult, hash: string | undefined, extra?: CommitExtra): void {
    diagnostics.attemptEnded(this.name, result, hash, extra?.target);
    if (!this.#audit.active) return;
    const record: AuditRecord = {
      id: randomUUID(),
      unit: this.name,
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
    if (hash !== undefined) record.hash = hash;
    if (result.stage !== undefined) record.stage = result.stage;
    if (result.error !== undefined) record.error = errorInfo(result.error);
    if (extra?.verifyError) {
      record.stage = 'verify';
      record.error = errorInfo(extra.verifyError);
    }
    if (extra?.target !== undefined) record.detail = { target: extra.target };
    this.#audit.deliver(record);
  }

  #reportError(error: unknown, where: string): void {
    this.#errors++;
    const err = error instanceof Error ? error : new Error(safeMessage(error));
    this.#events.emit('error', { unit: this.name, error: err, where });
  }

  #notReady(what: string): ReloadkitError {
    if (this.#closed) return this.#closedError(what);
    return new NotReadyError(formatMessage('not ready', { unit: this.name }, `${what}() before the first commit (await start() first)`), { unit: this.name });
  }

  #closedError(what: string): ClosedError {
    return new ClosedError(formatMessage('closed', { unit: this.name }, `${what}() after close()`), { unit: this.name });
  }

  // ─── rollback and verify ─────────────────────────────────────────────────────────────────

  rollback(opts: RollbackOptions = {}): Promise<ReloadResult> {
    if (this.#closed) return Promise.reject(this.#closedError('rollback'));
    const invalid = callOptionsError(opts, 'rollback');
    if (invalid) return Promise.reject(invalid);
    if (opts.to !== undefined && (typeof opts.to !== 'number' || !Number.isInteger(opts.to))) {
      return Promise.reject(new TypeError(`Expected \`to\` to be a generation id (an integer), got ${typeof opts.to}.`));
    }
    return this.#locked((abort) => this.#doRollback(opts, abort, undefined));
  }

  async #doRollback(opts: RollbackOptions, abort: StageAbort, verify: { slot: RetainedSlot<T, R>; error: VerifyError } | undefined): Promise<ReloadResult> {
    const trigger: TriggerInfo = verify ? { kind: 'verify', detail: `generation ${verify.slot.gen.id}` } : { kind: 'rollback' };
    const a = this.#newAttempt('rollback', trigger, { reason: opts.reason ?? verify?.error.message, actor: opts.actor, force: true }, abort);
    if (this.#closed) return this.#finishRejected(a, undefined, this.#closedError('rollback'));
    const live = this.#live;
    const ctx = { unit: this.name };
    if (live === undefined) return this.#finishRejected(a, undefined, new RollbackError(formatMessage('rollback failed', ctx, 'nothing has been committed yet'), ctx));
    let target: RetainedSlot<T, R> | undefined;
    if (opts.to !== undefined) {
      if (opts.to === live.gen.id) return this.#finishUnchanged(a, live.gen.hash);
      target = this.#retained.find((s) => s.gen.id === opts.to);
      if (target === undefined) {
        const kept = this.#retained.map((s) => s.gen.id).reverse().join(', ');
        return this.#finishRejected(a, undefined, new RollbackError(formatMessage('rollback failed', ctx, `generation ${opts.to} is not retained (retained: ${kept}; history: ${this.#o.history})`), ctx));
      }
    } else {
      const i = this.#retained.indexOf(live);
      target = i > 0 ? this.#retained[i - 1] : undefined;
      if (target === undefined) return this.#finishRejected(a, undefined, new RollbackError(formatMessage('rollback failed', ctx, `no earlier generation is retained (history: ${this.#o.history})`), ctx));
    }
    this.#emitReloading(a);
    const warm = this.#warm;
    const outcome: Outcome<T, R> =
      warm !== undefined && warm.cell === target.cell && !target.cell.disposed
        ? { kind: 'candidate', raw: target.raw, value: target.gen.value, hash: target.gen.hash, cell: target.cell }
        : await this.#build(target.raw, target.gen.value, target.gen.hash, abort, live.gen, trigger);
    const from = live.gen.id;
    const result = this.#settle(a, outcome, { target: target.gen.id, verifyError: verify?.error });
    if (result.status === 'committed') {
      this.#events.emit('rolled-back', { unit: this.name, from, to: result.generation, target: target.gen.id, reason: a.reason ?? 'rollback', result });
    }
    return result;
  }

  #scheduleVerify(slot: RetainedSlot<T, R>): void {
    const { windowMs } = this.#o.verify!;
    const handle = this.#o.clock.setTimeout(() => {
      this.#verifyTimers.delete(handle);
      void this.#runVerify(slot);
    }, windowMs);
    this.#verifyTimers.add(handle);
  }

  async #runVerify(slot: RetainedSlot<T, R>): Promise<void> {
    if (this.#closed || this.#live !== slot) return;
    let failure: string | undefined;
    try {
      if ((await this.#o.verify!.check(slot.gen)) === false) failure = 'check returned false';
    } catch (error) {
      failure = safeMessage(error);
    }
    if (failure === undefined || this.#closed || this.#live !== slot) return;
    const ctx = this.#ctx('verify');
    const error = new VerifyError(formatMessage(`verify failed for generation ${slot.gen.id}`, ctx, failure), ctx);
    try {
      const result = await this.#locked(async (abort) => {
        if (this.#closed || this.#live !== slot) return undefined;
        const i = this.#retained.indexOf(slot);
        const target = i > 0 ? this.#retained[i - 1] : undefined;
        if (target === undefined) {
          this.#reportError(error, 'verify');
          return undefined;
        }
        return this.#doRollback({ to: target.gen.id }, abort, { slot, error });
      });
      if (result !== undefined && this.#events.has('rejected')) {
        this.#events.emit('rejected', { unit: this.name, stage: 'verify', error, result: { ...result, ok: false, status: 'rejected', stage: 'verify', error } });
      }
    } catch (e) {
      this.#reportError(e, 'verify');
    }
  }

  // ─── staging (groups) ────────────────────────────────────────────────────────────────────

  async [STAGE](opts: ReloadOptions = {}): Promise<StageOutcome> {
    if (this.#closed) throw this.#closedError('reload');
    await this.#lock.acquire();
    const abort = new StageAbort();
    const signal = opts.signal;
    const onAbort = (): void => abort.abort(signal?.reason);
    if (signal?.aborted) abort.abort(signal.reason);
    else signal?.addEventListener('abort', onAbort, { once: true });
    this.#active = abort;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      signal?.removeEventListener('abort', onAbort);
      this.#active = undefined;
      this.#abandonStaged = undefined;
      this.#lock.release();
    };
    const a = this.#newAttempt('reload', opts.trigger ? triggerInfo(opts.trigger) : MANUAL, opts, abort);
    let outcome: Outcome<T, R>;
    try {
      outcome = this.#closed ? { kind: 'rejected', stage: undefined, error: this.#closedError('reload') } : await this.#attempt(a);
    } catch (error) {
      release();
      throw error;
    }
    if (outcome.kind !== 'candidate') {
      const result = this.#settle(a, outcome);
      release();
      return { kind: 'done', result };
    }
    const candidate = outcome;
    let settled: ReloadResult | undefined;
    const discard = (error: Error): ReloadResult => {
      if (settled) return settled;
      this.#dispose(candidate.cell);
      // The group's error carries the failing member's stage: reported as such, but not as this
      // unit's own failure (a discarded member whose source is fine is not degraded).
      const stage = error instanceof ReloadkitError ? error.stage : undefined;
      settled = this.#finishRejected(a, stage, error, candidate.hash, false);
      release();
      return settled;
    };
    const staged: StagedCandidate = {
      unit: this.name,
      hash: candidate.hash,
      commit: () => {
        if (settled) return settled;
        try {
          settled = this.#settle(a, candidate);
        } finally {
          release();
        }
        return settled;
      },
      discard: (error: Error) => Promise.resolve(discard(error)),
    };
    this.#abandonStaged = () => discard(this.#closedError('reload'));
    return { kind: 'staged', staged };
  }

  [ATTACH_AUDIT](sink: AuditSink): () => void {
    return this.#audit.attach(sink);
  }

  // ─── start, watch, close ─────────────────────────────────────────────────────────────────

  start(): Promise<Generation<T, R>> {
    if (this.#closed) return Promise.reject(this.#closedError('start'));
    if (this.#startPromise) return this.#startPromise;
    const promise = this.#doStart();
    this.#startPromise = promise;
    promise.catch(() => {
      // A failed start may be retried: the next call starts afresh.
      if (this.#startPromise === promise) this.#startPromise = undefined;
    });
    return promise;
  }

  async #doStart(): Promise<Generation<T, R>> {
    // Watch before read: a change between the watch and the initial load is never lost.
    await this.#startWatching();
    const result = await this.#locked(async (abort) => {
      const a = this.#newAttempt('start', START, {}, abort);
      if (this.#closed) return this.#finishRejected(a, undefined, this.#closedError('start'));
      const outcome = await this.#attempt(a);
      const first = this.#settle(a, outcome);
      if (first.ok || !this.#lkg || this.#closed) return first;
      return (await this.#fromLastKnownGood(first, abort)) ?? first;
    });
    const live = this.#current;
    if (result.ok && live !== undefined) return live;
    if (this.#closed) throw this.#closedError('start');
    this.#startFailed = true;
    await this.#stopWatching();
    throw result.error ?? this.#closedError('start');
  }

  async #fromLastKnownGood(failed: ReloadResult, abort: StageAbort): Promise<ReloadResult | undefined> {
    const path = this.#o.lastKnownGood!;
    let stored: Awaited<ReturnType<typeof readLastKnownGood>>;
    try {
      stored = await readLastKnownGood(path, this.name);
    } catch (error) {
      this.#reportError(error, 'lastKnownGood');
      return undefined;
    }
    if (stored === undefined) return undefined;
    const a = this.#newAttempt('start', { kind: 'lastKnownGood', detail: path }, { reason: 'source failed at start' }, abort);
    const result = this.#settle(a, await this.#attempt(a, stored.raw));
    if (result.status !== 'committed') return undefined;
    this.#degraded = `served from lastKnownGood: ${failed.error?.message ?? 'source failed'}`;
    return result;
  }

  readonly #fire = (hint: Hint): void => {
    if (this.#closed) return;
    let trigger: TriggerInfo;
    try {
      trigger = triggerInfo(hint && typeof hint.kind === 'string' ? hint : { kind: 'hint' });
    } catch {
      trigger = { kind: 'hint' };
    }
    this.reload({ trigger: diagnostics.markHint(trigger) }).catch(() => undefined);
  };

  async #startWatching(): Promise<void> {
    if (this.#watching) return;
    this.#watching = true;
    const source = this.#o.source;
    if (source?.watch) {
      try {
        this.#unwatch = source.watch(this.#fire);
      } catch (error) {
        this.#reportError(error, 'source.watch');
      }
    }
    for (const trigger of this.#o.triggers) {
      try {
        await trigger.start(this.#fire);
      } catch (error) {
        this.#reportError(error, 'trigger.start');
      }
    }
  }

  async #stopWatching(): Promise<void> {
    if (!this.#watching) return;
    this.#watching = false;
    const unwatch = this.#unwatch;
    this.#unwatch = undefined;
    if (unwatch) {
      try {
        await unwatch();
      } catch (error) {
        this.#reportError(error, 'source.unwatch');
      }
    }
    for (const trigger of this.#o.triggers) {
      try {
        await trigger.stop();
      } catch (error) {
        this.#reportError(error, 'trigger.stop');
      }
    }
  }

  close(): Promise<void> {
    return (this.#closePromise ??= this.#doClose());
  }

  async #doClose(): Promise<void> {
    this.#closed = true;
    const clock = this.#o.clock;
    if (this.#throttle) {
      clock.clearTimeout(this.#throttle.handle);
      this.#throttle.resolve();
      this.#throttle = undefined;
    }
    for (const handle of this.#verifyTimers) clock.clearTimeout(handle);
    this.#verifyTimers.clear();
    this.#next?.abort.abort(this.#closedError('reload'));
    this.#active?.abort(this.#closedError('reload'));
    this.#abandonStaged?.();
    await this.#stopWatching();
    // Queued runs (before us in the lock) see `closed` and settle as rejected.
    await this.#lock.acquire();
    try {
      const live = this.#live;
      const warm = this.#warm;
      this.#lastCommitted = this.#current?.toJSON();
      this.#resource = NOT_READY;
      this.#live = undefined;
      this.#current = undefined;
      this.#warm = undefined;
      if (live) this.#retireCell(live.cell);
      if (warm) this.#retireCell(warm.cell);
      while (this.#draining.size > 0 || this.#disposals.size > 0) {
        if (this.#disposals.size > 0) await Promise.all([...this.#disposals]);
        else await new Promise<void>((resolve) => (this.#progress = resolve));
      }
      await this.#lkg?.flush();
      this.#retained = [];
    } finally {
      this.#lock.release();
    }
  }

  // ─── status ──────────────────────────────────────────────────────────────────────────────

  status(): UnitStatus {
    const gen: GenerationInfo | undefined = this.#current ?? this.#lastCommitted;
    const status: UnitStatus = {
      name: this.name,
      state: this.#state(),
      generation: gen?.id ?? 0,
      hash: gen?.hash ?? null,
      committedAt: gen?.committedAt ?? null,
      lastAttempt: this.#lastAttempt ? { ...this.#lastAttempt } : null,
      leases: this.#leases,
      draining: this.#draining.size,
    };
    if (this.#degraded !== undefined && !this.#closed) status.reason = this.#degraded;
    if (this.#o.sourceLabel !== undefined) status.source = this.#o.sourceLabel;
    status.errors = this.#errors;
    return status;
  }

  #state(): UnitStatus['state'] {
    if (this.#closed) return 'closed';
    if (this.#current === undefined) return this.#startFailed ? 'failed' : 'initializing';
    return this.#degraded !== undefined ? 'degraded' : 'ready';
  }

  history(): GenerationInfo[] {
    const out: GenerationInfo[] = [];
    for (let i = this.#retained.length - 1; i >= 0; i--) out.push(this.#retained[i]!.gen.toJSON());
    return out;
  }

  on<E extends UnitEventName>(event: E, fn: (...args: UnitEvents<T, R>[E]) => void): this {
    this.#events.on(event, fn);
    return this;
  }

  off<E extends UnitEventName>(event: E, fn: (...args: UnitEvents<T, R>[E]) => void): this {
    this.#events.off(event, fn);
    return this;
  }

  once<E extends UnitEventName>(event: E, fn: (...args: UnitEvents<T, R>[E]) => void): this {
    this.#events.once(event, fn);
    return this;
  }
}

/** Extra audit detail of a commit (rollback target, verify failure). */
interface CommitExtra {
  target?: number;
  verifyError?: VerifyError | undefined;
}

/**
 * Creates a reloadable unit: a value (and an optional live resource built from it) that can be
 * replaced while the process runs, validated before it is ever visible, swapped atomically, and
 * retired only once its leases drain. `T` is inferred from `schema`, `R` from `create`.
 *
 * @example
 * ```ts
 * import { z } from 'zod';
 * import { reloadable } from 'reloadkit';
 *
 * const config = reloadable({
 *   name: 'config',
 *   load: async () => JSON.parse(await readFile('config.json', 'utf8')),
 *   schema: z.object({ port: z.number(), db: z.object({ url: z.string() }) }),
 * });
 * await config.start();
 * config.get().port; // number
 * const result = await config.reload({ reason: 'deploy' }); // never rejects for a bad candidate
 * if (!result.ok) console.error(result.error?.message);
 * ```
 */
export function reloadable<S extends StandardSchemaV1, R = StandardSchemaV1.InferOutput<S>>(
  options: ReloadableOptions<StandardSchemaV1.InferOutput<S>, R> & { schema: S },
): Reloadable<StandardSchemaV1.InferOutput<S>, R>;
/** Without a schema, `T` is the raw value: inferred from `load`'s return type or the `source`. */
export function reloadable<T, R = T>(options: UnvalidatedOptions<T, R>): Reloadable<T, R>;
export function reloadable<T = unknown, R = T>(options: ReloadableOptions<T, R>): Reloadable<T, R>;
export function reloadable<T = unknown, R = T>(options: ReloadableOptions<T, R>): Reloadable<T, R> {
  return new ReloadableUnit<T, R>(options);
}

/** `reloadable()` options without a schema: the raw candidate is the value. */
export type UnvalidatedOptions<T, R = T> = Omit<ReloadableOptions<T, R>, 'schema' | 'load' | 'source'> & { schema?: undefined } & (
  // `ctx` is typed without T so that `load: async ({ signal }) => …` still infers T from its return.
  | { load: (ctx: LoadContext<unknown, unknown>) => T | Promise<T>; source?: undefined }
  | { source: Source<T>; load?: undefined }
);
