/**
 * `reloadable(options)`: the unit, a facade over the core's seams: pipeline.ts runs the stages,
 * generations.ts commits (one synchronous swap, so `get()` is a field read that never observes a
 * half-applied state), leases.ts retires, verify.ts checks, scheduler.ts orders every attempt,
 * report.ts ends each one, lifecycle.ts starts and stops the watches. docs/architecture.md maps
 * every invariant to the module that owns it.
 *
 * @module
 */
import { ClosedError, NotReadyError, ReloadkitError, RollbackError, formatMessage, type VerifyError } from '../errors.js';
import * as diagnostics from './diagnostics.js';
import { SafeEmitter } from './emitter.js';
import { CommittedGeneration, Generations, ResourceCell, triggerInfo } from './generations.js';
import { LastKnownGoodWriter, readLastKnownGood } from './last-known-good.js';
import { LeaseTracker } from './leases.js';
import { StartOnce, Watches } from './lifecycle.js';
import { defineMember } from './member.js';
import { callOptionsError, normalizeOptions, type NormalizedOptions } from './options.js';
import { LOAD, StageCtx, build, runPipeline, type Outcome as PipelineOutcome, type PipelineSpec } from './pipeline.js';
import { Reporter, UnitReport, type Attempt } from './report.js';
import { Scheduler } from './scheduler.js';
import { stageOn, type StagingUnit } from './staging.js';
import { isThenable, type StageAbort } from './timeout.js';
import { VerifyWindow } from './verify.js';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type {
  Generation,
  GenerationInfo,
  Hint,
  Lease,
  PreparedCandidate,
  PrepareOptions,
  Reloadable,
  ReloadableOptions,
  ReloadOptions,
  ReloadResult,
  RollbackOptions,
  Stage,
  TriggerInfo,
  UnitEventName,
  UnitEvents,
  UnitStatus,
  UnvalidatedOptions,
} from '../types.js';

type Outcome<T, R> = PipelineOutcome<T, R, ResourceCell<R>>;
type Candidate<T, R> = Extract<Outcome<T, R>, { kind: 'candidate' }>;

/** Extra audit detail of a commit: the rollback target, the verify failure that caused it. */
interface CommitExtra {
  target?: number;
  cause?: VerifyError | undefined;
}

const NOT_READY: unique symbol = Symbol('not ready');
const MANUAL: TriggerInfo = Object.freeze({ kind: 'manual' });
const START: TriggerInfo = Object.freeze({ kind: 'start' });

/**
 * The unit. Not exported: build one with `reloadable()`.
 */
class ReloadableUnit<T, R> implements Reloadable<T, R> {
  readonly name: string;
  /** The live resource, or NOT_READY: `get()` is this one field read. */
  #resource: R | typeof NOT_READY = NOT_READY;
  readonly #o: NormalizedOptions<T, R>;
  readonly #spec: PipelineSpec<T, R, ResourceCell<R>>;
  readonly #events: SafeEmitter<UnitEvents<T, R>>;
  readonly #report: Reporter;
  readonly #outcomes: UnitReport<T, R>;
  readonly #gens: Generations<T, R>;
  readonly #leases: LeaseTracker<ResourceCell<R>>;
  readonly #scheduler: Scheduler;
  readonly #watches: Watches;
  readonly #starting: StartOnce<Generation<T, R>>;
  readonly #verify: VerifyWindow<CommittedGeneration<T, R>> | undefined;
  readonly #lkg: LastKnownGoodWriter | undefined;
  /** Why the unit serves its live generation degraded (its source failing, lastKnownGood), if it does. */
  #degraded: string | undefined;
  #startFailed = false;
  #paused: { since: number; reason?: string; actor?: string } | undefined;
  #closed = false;
  #closePromise: Promise<void> | undefined;
  /** Discards the candidate a group has staged (close() while it waits for the group). */
  #abandonStaged: (() => void) | undefined;

  constructor(options: ReloadableOptions<T, R>) {
    const o = (this.#o = normalizeOptions(options));
    this.name = o.name;
    const report = (this.#report = new Reporter({ unit: o.name, clock: o.clock, emitError: (e) => this.#events.emit('error', e) }));
    this.#events = new SafeEmitter<UnitEvents<T, R>>((error, event) => {
      if (event !== 'error') report.error(error, `listener:${String(event)}`);
    });
    this.#outcomes = new UnitReport(report, this.#events, o.name);
    if (o.audit) report.attachAudit(o.audit);
    if (o.lastKnownGood) this.#lkg = new LastKnownGoodWriter(o.lastKnownGood, (error) => report.error(error, 'lastKnownGood'));
    const dispose = o.dispose;
    this.#leases = new LeaseTracker<ResourceCell<R>>({
      ...{ clock: o.clock, unit: o.name, drainMs: o.timeouts.drain, disposeTimeoutMs: o.timeouts.dispose },
      dispose: dispose && ((cell, abort) => dispose(cell.resource, new StageCtx<T, R>(abort, o.name, undefined, cell.info.trigger))),
      onDisposed: (cell) => this.#outcomes.disposed(cell.info),
      onDrainTimeout: (cell, leases) => this.#outcomes.drainTimeout(cell.info, leases),
      onError: (error, where) => report.error(error, where),
      generationOf: (cell) => cell.info.id,
    });
    this.#spec = { ...o, where: { unit: o.name, source: o.sourceLabel }, cell: (resource, info) => new ResourceCell(resource, info), discard: (cell) => this.#leases.dispose(cell) };
    this.#gens = new Generations<T, R>(o);
    this.#scheduler = new Scheduler(o);
    this.#watches = new Watches(this.#fire, (error, where) => report.error(error, where));
    for (const trigger of o.triggers) this.#watches.add(trigger);
    this.#starting = new StartOnce(() => this.#doStart());
    if (o.verify) {
      this.#verify = new VerifyWindow<CommittedGeneration<T, R>>({
        unit: o.name,
        clock: o.clock,
        ...o.verify,
        isLive: (gen) => !this.#closed && this.#gens.current === gen,
        onFailure: (gen, error) => this.#verifyFailed(gen, error),
      });
    }
    const staging: StagingUnit<T, R, ResourceCell<R>> = {
      name: o.name,
      attempt: (opts, abort) => {
        const a = this.#begin('reload', opts.trigger, opts);
        const closed: Outcome<T, R> = { kind: 'rejected', stage: undefined, error: this.#closedError('reload') };
        return { a, outcome: this.#closed ? Promise.resolve(closed) : this.#attempt(a, abort, opts.force === true) };
      },
      settle: (a, outcome) => this.#settle(a, outcome),
      discard: (a, candidate, error) => {
        this.#leases.dispose(candidate.cell);
        // At the failing member's stage, but not this unit's own failure: its source is fine, it is not degraded.
        return this.#outcomes.rejected(a, this.#gens.current, error instanceof ReloadkitError ? error.stage : undefined, error, candidate.hash);
      },
      setAbandon: (abandon) => (this.#abandonStaged = abandon),
      closedError: () => this.#closedError('reload'),
    };
    defineMember(this, {
      attachAudit: (sink) => report.attachAudit(sink),
      scheduler: this.#scheduler,
      stage: (opts, hold) => stageOn(staging, opts, hold),
      beforeStart: (step) => this.#starting.before(step),
    });
  }

  // ─── reading ──────────────────────────────────────────────────────────────────────────────

  get(): R {
    const resource = this.#resource;
    if (resource === NOT_READY) throw this.#notReady('get');
    return resource;
  }

  get current(): Generation<T, R> | undefined {
    return this.#gens.current;
  }

  use<X>(fn: (resource: R, generation: Generation<T, R>) => X | Promise<X>): Promise<X> {
    const slot = this.#gens.live;
    if (slot === undefined) return Promise.reject(this.#notReady('use'));
    const cell = slot.cell;
    const leases = this.#leases;
    leases.hold(cell);
    diagnostics.leased(this.name, slot.gen, 'use');
    let out: X | Promise<X>;
    try {
      out = fn(cell.resource, slot.gen);
    } catch (error) {
      leases.release(cell);
      return Promise.reject(error);
    }
    if (isThenable(out)) return Promise.resolve(out).finally(() => leases.release(cell));
    leases.release(cell);
    return Promise.resolve(out);
  }

  acquire(): Lease<R> {
    const slot = this.#gens.live;
    if (slot === undefined) throw this.#notReady('acquire');
    diagnostics.leased(this.name, slot.gen, 'acquire');
    return this.#leases.lease(slot.cell, slot.cell.resource, slot.gen as Generation<unknown, R>);
  }

  // ─── reload, rollback ─────────────────────────────────────────────────────────────────────

  reload(opts: ReloadOptions = {}): Promise<ReloadResult> {
    if (this.#closed) return Promise.reject(this.#closedError('reload'));
    const invalid = callOptionsError(opts, 'reload');
    if (invalid) return Promise.reject(invalid);
    return this.#scheduler.reload(
      opts,
      async (run, hold) => {
        const a = this.#begin('reload', run.trigger, { reason: run.reason, actor: run.actor, run: run.id });
        if (this.#closed) return this.#rejected(a, undefined, this.#closedError('reload'));
        return this.#settle(a, await this.#attempt(a, hold.abort, run.force));
      },
      (error, run) => this.#rejected(this.#begin('reload', run.trigger, { reason: run.reason, actor: run.actor, run: run.id }), undefined, error instanceof Error ? error : new Error(String(error))),
    );
  }

  rollback(opts: RollbackOptions = {}): Promise<ReloadResult> {
    if (this.#closed) return Promise.reject(this.#closedError('rollback'));
    const invalid = callOptionsError(opts, 'rollback');
    if (invalid) return Promise.reject(invalid);
    return this.#scheduler.exclusive((hold) => this.#rollback(opts, hold.abort, undefined));
  }

  #begin(action: Attempt['action'], trigger: TriggerInfo | undefined, meta: { reason?: string | undefined; actor?: string | undefined; run?: number }): Attempt {
    return this.#report.begin(action, trigger === undefined ? MANUAL : triggerInfo(trigger), meta);
  }

  /** The pipeline for one attempt (pipeline.ts): never throws, never commits. */
  #attempt(a: Attempt, abort: StageAbort, force: boolean, given: unknown = LOAD): Promise<Outcome<T, R>> {
    this.#outcomes.reloading(a);
    const onLoaded = (): void => {
      // The source answered: whatever happens next, it is no longer "down".
      this.#degraded = undefined;
    };
    return runPipeline(this.#spec, { abort, previous: this.#gens.current, trigger: a.trigger, force, onLoaded }, given);
  }

  async #rollback(opts: RollbackOptions, abort: StageAbort, verify: { gen: Generation<T, R>; error: VerifyError } | undefined): Promise<ReloadResult> {
    const trigger: TriggerInfo = verify ? { kind: 'verify', detail: `generation ${verify.gen.id}` } : { kind: 'rollback' };
    const a = this.#report.begin('rollback', trigger, { reason: opts.reason ?? verify?.error.message, actor: opts.actor });
    if (this.#closed) return this.#rejected(a, undefined, this.#closedError('rollback'));
    const live = this.#gens.live;
    const target = this.#gens.rollbackTarget(opts.to);
    if (target === 'live') return this.#outcomes.unchanged(a, live!.gen, live!.gen.hash);
    if ('missing' in target) {
      const ctx = { unit: this.name };
      return this.#rejected(a, undefined, new RollbackError(formatMessage('rollback failed', ctx, target.missing), ctx));
    }
    this.#outcomes.reloading(a);
    // The warm resource (keepPrevious) goes live again as it is; otherwise the value is rebuilt.
    const reuse = { raw: target.raw, value: target.gen.value, hash: target.gen.hash, provenance: target.provenance };
    const outcome: Outcome<T, R> = this.#gens.isWarm(target) ? { kind: 'candidate', ...reuse, cell: target.cell } : await build(this.#spec, reuse, { abort, previous: live!.gen, trigger });
    const from = live!.gen.id;
    const result = this.#settle(a, outcome, { target: target.gen.id, cause: verify?.error });
    if (result.status !== 'committed') return result;
    const event: UnitEvents<T, R>['rolled-back'][0] = { unit: this.name, from, to: result.generation, target: target.gen.id, reason: a.reason ?? 'rollback', result };
    if (verify) event.error = verify.error;
    this.#outcomes.rolledBack(event);
    return result;
  }

  /** The verify check failed while `gen` was live: roll back to the generation before it. */
  async #verifyFailed(gen: CommittedGeneration<T, R>, error: VerifyError): Promise<void> {
    try {
      await this.#scheduler.exclusive(async (hold) => {
        if (this.#closed || this.#gens.current !== gen) return;
        const target = this.#gens.rollbackTarget(undefined);
        if (typeof target !== 'object' || 'missing' in target) this.#report.error(error, 'verify');
        else await this.#rollback({ to: target.gen.id }, hold.abort, { gen, error });
      });
    } catch (e) {
      this.#report.error(e, 'verify');
    }
  }

  // ─── how an attempt ends (report.ts) ──────────────────────────────────────────────────────

  /** Commits a candidate, or reports the outcome. */
  #settle(a: Attempt, outcome: Outcome<T, R>, extra?: CommitExtra): ReloadResult {
    if (outcome.kind === 'candidate') {
      if (!this.#closed) return this.#commit(a, outcome, extra);
      this.#leases.dispose(outcome.cell);
      return this.#rejected(a, undefined, this.#closedError(a.action), outcome.hash);
    }
    if (outcome.kind === 'unchanged') return this.#outcomes.unchanged(a, this.#gens.current!, outcome.hash);
    return this.#rejected(a, outcome.stage, outcome.error, outcome.hash);
  }

  #commit(a: Attempt, c: Candidate<T, R>, extra?: CommitExtra): ReloadResult {
    // The commit: synchronous reference swaps, no await in between; readers see old or new, never a mix.
    const { slot, previous, leaving } = this.#gens.commit(c, a.trigger, this.#o.clock.now());
    diagnostics.committed(this.name, previous?.gen, slot.gen);
    this.#resource = slot.gen.resource;
    this.#startFailed = false;
    const result = this.#outcomes.committed(a, slot.gen, previous?.gen, extra);
    for (const cell of leaving) this.#leases.retire(cell);
    if (this.#lkg && a.trigger.kind !== 'lastKnownGood') this.#lkg.persist(this.name, slot.gen, slot.raw);
    if (this.#verify && a.action === 'reload' && previous !== undefined) this.#verify.schedule(slot.gen);
    return result;
  }

  #rejected(a: Attempt, stage: Stage | undefined, error: Error, hash?: string): ReloadResult {
    const live = this.#gens.current;
    // Serving the live generation while the source cannot be read: degraded until a load succeeds.
    if (stage === 'load' && live !== undefined && a.action !== 'rollback' && !this.#closed) this.#degraded ??= `load failing: ${error.message}`;
    return this.#outcomes.rejected(a, live, stage, error, hash);
  }

  #notReady(what: string): ReloadkitError {
    if (this.#closed) return this.#closedError(what);
    return new NotReadyError(formatMessage('not ready', { unit: this.name }, `${what}() before the first commit (await start() first)`), { unit: this.name });
  }

  #closedError(what: string): ClosedError {
    return new ClosedError(formatMessage('closed', { unit: this.name }, `${what}() after close()`), { unit: this.name });
  }

  // ─── start, watch, close (lifecycle.ts) ───────────────────────────────────────────────────

  start(): Promise<Generation<T, R>> {
    if (this.#closed) return Promise.reject(this.#closedError('start'));
    return this.#starting.run();
  }

  async #doStart(): Promise<Generation<T, R>> {
    // Watch before read: a change between the watch and the initial load is never lost.
    await this.#watches.start(this.#o.source);
    const result = await this.#scheduler.exclusive(
      async (hold) => {
        const a = this.#report.begin('start', START, {});
        if (this.#closed) return this.#rejected(a, undefined, this.#closedError('start'));
        const first = this.#settle(a, await this.#attempt(a, hold.abort, false));
        if (first.ok || !this.#lkg || this.#closed) return first;
        return (await this.#fromLastKnownGood(first, hold.abort)) ?? first;
      },
      { load: true },
    );
    const live = this.#gens.current;
    if (result.ok && live !== undefined) return live;
    if (this.#closed) throw this.#closedError('start');
    this.#startFailed = true;
    await this.#watches.stop();
    throw result.error ?? this.#closedError('start');
  }

  async #fromLastKnownGood(failed: ReloadResult, abort: StageAbort): Promise<ReloadResult | undefined> {
    const path = this.#o.lastKnownGood!;
    let stored: Awaited<ReturnType<typeof readLastKnownGood>>;
    try {
      stored = await readLastKnownGood(path, this.name);
    } catch (error) {
      this.#report.error(error, 'lastKnownGood');
      return undefined;
    }
    if (stored === undefined) return undefined;
    const a = this.#report.begin('start', { kind: 'lastKnownGood', detail: path }, { reason: 'source failed at start' });
    const result = this.#settle(a, await this.#attempt(a, abort, false, stored.raw));
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

  close(): Promise<void> {
    return (this.#closePromise ??= this.#doClose());
  }

  async #doClose(): Promise<void> {
    this.#closed = true;
    this.#verify?.cancel();
    this.#scheduler.close(this.#closedError('reload'));
    this.#abandonStaged?.();
    await this.#watches.stop();
    // Queued work (before us in the lock) sees `closed` and settles as rejected.
    await this.#scheduler.exclusive(async () => {
      this.#resource = NOT_READY;
      for (const cell of this.#gens.clear()) this.#leases.retire(cell);
      await this.#leases.settle();
      await this.#lkg?.flush();
    });
  }

  // ─── operator workflow (pause, refusals, prepare) ─────────────────────────────────────────

  pause(opts: { reason?: string; actor?: string } = {}): void {
    if (this.#closed) throw this.#closedError('pause');
    this.#paused ??= { since: this.#o.clock.now(), ...opts };
  }

  resume(_opts: { actor?: string } = {}): Promise<ReloadResult | undefined> {
    if (this.#closed) return Promise.reject(this.#closedError('resume'));
    this.#paused = undefined;
    return Promise.resolve(undefined);
  }

  clearRefused(_opts: { actor?: string } = {}): void {
    if (this.#closed) throw this.#closedError('clearRefused');
  }

  prepare(_opts: PrepareOptions = {}): Promise<PreparedCandidate<T, R>> {
    return Promise.reject(new Error('prepare() is not implemented yet'));
  }

  // ─── status ───────────────────────────────────────────────────────────────────────────────

  status(): UnitStatus {
    const gen: GenerationInfo | undefined = this.#gens.last;
    const live = this.#gens.live;
    const status: UnitStatus = {
      name: this.name,
      state: this.#state(),
      ready: !this.#closed && live !== undefined,
      generation: gen?.id ?? 0,
      hash: gen?.hash ?? null,
      committedAt: gen?.committedAt ?? null,
      lastAttempt: this.#report.lastAttempt,
      leases: this.#leases.leases,
      draining: this.#leases.draining,
    };
    if (this.#degraded !== undefined && !this.#closed) status.reason = this.#degraded;
    if (this.#o.sourceLabel !== undefined) status.source = this.#o.sourceLabel;
    if (live?.provenance !== undefined) status.provenance = live.provenance;
    if (this.#paused !== undefined) status.paused = { ...this.#paused, pending: false };
    status.errors = this.#report.errors;
    return status;
  }

  #state(): UnitStatus['state'] {
    if (this.#closed) return 'closed';
    if (this.#gens.current === undefined) return this.#startFailed ? 'failed' : 'initializing';
    return this.#degraded !== undefined ? 'degraded' : 'ready';
  }

  history(): GenerationInfo[] {
    return this.#gens.history();
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

export type { UnvalidatedOptions } from '../types.js';
