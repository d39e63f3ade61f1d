/**
 * `reloadable(options)`: the unit, a facade over the core's seams: pipeline.ts runs the stages,
 * generations.ts commits (one synchronous swap, so `get()` is a field read that never observes a
 * half-applied state), leases.ts retires, verify.ts checks, scheduler.ts orders every attempt,
 * report.ts ends each one, lifecycle.ts starts and stops the watches; refusals.ts keeps the refused
 * hashes, pause.ts the pause gate, dry-run.ts and prepare.ts the dry runs, expose.ts the exposed
 * paths. docs/architecture.md maps every invariant to the module that owns it.
 *
 * @module
 */
import { ClosedError, NotReadyError, ReloadkitError, formatMessage } from '../errors.js';
import { OperatorControls, actorOptionsError } from './controls.js';
import * as diagnostics from './diagnostics.js';
import { DryRuns } from './dry-run.js';
import { SafeEmitter } from './emitter.js';
import { exposedValues } from './expose.js';
import { CommittedGeneration, Generations, ResourceCell, triggerInfo } from './generations.js';
import { LastKnownGoodWriter } from './last-known-good.js';
import { LeaseTracker } from './leases.js';
import { StartOnce, Watches } from './lifecycle.js';
import { defineMember } from './member.js';
import { callOptionsError, normalizeOptions, type NormalizedOptions } from './options.js';
import { LOAD, StageCtx, runPipeline, type PipelineSpec } from './pipeline.js';
import { Reporter, UnitReport, type Attempt } from './report.js';
import { rollbackOn, verifyFailedOn } from './rollback.js';
import { Scheduler } from './scheduler.js';
import { stageOn, unitStaging } from './staging.js';
import { initialLoad } from './start.js';
import { isThenable, type StageAbort } from './timeout.js';
import type { Candidate as PipelineCandidate } from './pipeline.js';
import type { CommitExtra, Outcome, UnitCore } from './unit-core.js';
import { VerifyWindow } from './verify.js';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type {
  Generation,
  GenerationInfo,
  Hint,
  Lease,
  PauseOptions,
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

type Candidate<T, R> = PipelineCandidate<T, R, ResourceCell<R>>;

const NOT_READY: unique symbol = Symbol('not ready');
const MANUAL: TriggerInfo = Object.freeze({ kind: 'manual' });

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
  #closed = false;
  #closePromise: Promise<void> | undefined;
  /** Discards the candidate a group has staged (close() while it waits for the group). */
  #abandonStaged: (() => void) | undefined;
  readonly #ops: OperatorControls;
  /** What the concern modules (start, rollback, dry runs) may use. */
  readonly #core: UnitCore<T, R>;
  readonly #dry: DryRuns<T, R>;

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
    this.#ops = new OperatorControls({
      ...{ unit: o.name, source: o.sourceLabel, clock: o.clock, report },
      generation: () => this.#gens.current?.id ?? 0,
      persistRefused: (list) => this.#lkg?.refused(list),
    });
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
        onFailure: (gen, error) => verifyFailedOn(this.#core, gen, error),
      });
    }
    defineMember(this, {
      attachAudit: (sink) => report.attachAudit(sink),
      scheduler: this.#scheduler,
      stage: (opts, hold) => stageOn(unitStaging(this.#core, (abandon) => (this.#abandonStaged = abandon)), opts, hold),
      beforeStart: (step) => this.#starting.before(step),
      noDryRuns: (why) => this.#dry.forbid(why),
    });
    this.#core = {
      name: o.name,
      o,
      spec: this.#spec,
      report,
      outcomes: this.#outcomes,
      gens: this.#gens,
      scheduler: this.#scheduler,
      ops: this.#ops,
      lkg: this.#lkg,
      closed: () => this.#closed,
      begin: (action, trigger, meta) => this.#begin(action, trigger, meta),
      attempt: (a, abort, force, given) => this.#attempt(a, abort, force, given),
      settle: (a, outcome, extra) => this.#settle(a, outcome, extra),
      rejected: (a, stage, error, hash) => this.#rejected(a, stage, error, hash),
      refused: (a, hash) => this.#refused(a, hash),
      commit: (a, candidate, extra) => this.#commit(a, candidate, extra),
      closedError: (what) => this.#closedError(what),
      dispose: (cell) => this.#leases.disposeNow(cell),
      degrade: (reason) => (this.#degraded = reason),
    };
    this.#dry = new DryRuns(this.#core);
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
    if (opts.dryRun === true) return this.#dry.run(opts);
    if (opts.force !== true && this.#ops.gate.paused) {
      const a = this.#begin('reload', opts.trigger, opts);
      this.#ops.gate.defer(a.trigger);
      return Promise.resolve(this.#outcomes.paused(a, this.#gens.current, this.#ops.pausedError('reload')));
    }
    return this.#scheduler.reload(
      opts,
      async (run, hold) => {
        const a = this.#begin('reload', run.trigger, { reason: run.reason, actor: run.actor, run: run.id, forced: run.force });
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
    return this.#scheduler.exclusive((hold) => rollbackOn(this.#core, opts, hold.abort, undefined));
  }

  #begin(action: Attempt['action'], trigger: TriggerInfo | undefined, meta: { reason?: string | undefined; actor?: string | undefined; run?: number; forced?: boolean }): Attempt {
    return this.#report.begin(action, trigger === undefined ? MANUAL : triggerInfo(trigger), meta);
  }

  /** The pipeline for one attempt (pipeline.ts): never throws, never commits. */
  #attempt(a: Attempt, abort: StageAbort, force: boolean, given: unknown = LOAD): Promise<Outcome<T, R>> {
    this.#outcomes.reloading(a);
    const onValidated = (): void => {
      // The source gave a valid candidate: whatever happens next (a failing create), it is not degraded.
      this.#degraded = undefined;
    };
    return runPipeline(this.#spec, { abort, previous: this.#gens.current, trigger: a.trigger, force, onValidated, refused: (hash) => this.#ops.refused.has(hash) }, given);
  }

  // ─── dry runs, prepared candidates (dry-run.ts, prepare.ts) ───────────────────────────────

  prepare(opts: PrepareOptions = {}): Promise<PreparedCandidate<T, R>> {
    if (this.#closed) return Promise.reject(this.#closedError('prepare'));
    return this.#dry.prepare(opts);
  }

  // ─── how an attempt ends (report.ts) ──────────────────────────────────────────────────────

  /** Commits a candidate, or reports the outcome. */
  #settle(a: Attempt, outcome: Outcome<T, R>, extra?: CommitExtra): ReloadResult {
    if (outcome.kind === 'candidate') {
      if (!this.#closed) return this.#commit(a, outcome, extra);
      this.#leases.dispose(outcome.cell);
      return this.#rejected(a, undefined, this.#closedError(a.action), outcome.hash);
    }
    switch (outcome.kind) {
      case 'unchanged':
        return this.#outcomes.unchanged(a, this.#gens.current!, outcome.hash);
      case 'refused':
        return this.#refused(a, outcome.hash);
      case 'paused':
        return this.#outcomes.paused(a, this.#gens.current, this.#ops.pausedError(a.action));
      case 'rejected':
        return this.#rejected(a, outcome.stage, outcome.error, outcome.hash);
    }
  }

  /** A refused candidate: reported in full once per distinct hash, quietly after that. */
  #refused(a: Attempt, hash: string): ReloadResult {
    return this.#outcomes.refused(a, this.#gens.current, this.#ops.refusedError(hash), hash, !this.#ops.refused.firstReport(hash));
  }

  #commit(a: Attempt, c: Candidate<T, R>, extra?: CommitExtra): ReloadResult {
    // The commit: synchronous reference swaps, no await in between; readers see old or new, never a mix.
    const { slot, previous, leaving } = this.#gens.commit(c, a.trigger, this.#o.clock.now());
    diagnostics.committed(this.name, previous?.gen, slot.gen);
    this.#resource = slot.gen.resource;
    this.#startFailed = false;
    this.#ops.refused.committed({ action: a.action, trigger: a.trigger.kind, hash: slot.gen.hash, rolledBackFrom: extra?.from });
    const result = this.#outcomes.committed(a, slot.gen, previous?.gen, extra);
    for (const cell of leaving) this.#leases.retire(cell);
    if (this.#lkg && a.trigger.kind !== 'lastKnownGood') this.#lkg.persist(this.name, slot.gen, slot.raw, this.#ops.refused.list());
    if (this.#verify && a.action === 'reload' && previous !== undefined) this.#verify.schedule(slot.gen);
    return result;
  }

  #rejected(a: Attempt, stage: Stage | undefined, error: Error, hash?: string): ReloadResult {
    const live = this.#gens.current;
    // Serving the live generation while the source gives no valid candidate (it cannot be read, or
    // what it holds does not parse or validate): degraded until a candidate validates again.
    if ((stage === 'load' || stage === 'validate') && live !== undefined && a.action !== 'rollback' && !this.#closed) {
      this.#degraded = `${stage === 'load' ? 'load' : 'validation'} failing: ${error.message}`;
    }
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
    const result = await this.#scheduler.exclusive((hold) => initialLoad(this.#core, hold.abort), { load: true });
    const live = this.#gens.current;
    if (result.ok && live !== undefined) return live;
    if (this.#closed) throw this.#closedError('start');
    this.#startFailed = true;
    await this.#watches.stop();
    throw result.error ?? this.#closedError('start');
  }

  readonly #fire = (hint: Hint): void => {
    if (this.#closed) return;
    let trigger: TriggerInfo;
    try {
      trigger = triggerInfo(hint && typeof hint.kind === 'string' ? hint : { kind: 'hint' });
    } catch {
      trigger = { kind: 'hint' };
    }
    trigger = diagnostics.markHint(trigger);
    // The pause gate, where hints enter: held as the one pending reload, nothing runs.
    if (this.#ops.gate.defer(trigger)) return;
    this.reload({ trigger }).catch(() => undefined);
  };

  close(): Promise<void> {
    return (this.#closePromise ??= this.#doClose());
  }

  async #doClose(): Promise<void> {
    this.#closed = true;
    this.#verify?.cancel();
    this.#scheduler.close(this.#closedError('reload'));
    this.#abandonStaged?.();
    const prepared = this.#dry.closeAll();
    await this.#watches.stop();
    // Queued work (before us in the lock) sees `closed` and settles as rejected.
    await this.#scheduler.exclusive(async () => {
      this.#resource = NOT_READY;
      for (const cell of this.#gens.clear()) this.#leases.retire(cell);
      await prepared;
      await this.#leases.settle();
      await this.#lkg?.flush();
    });
  }

  // ─── pause, refusals (controls.ts) ────────────────────────────────────────────────────────

  pause(opts: PauseOptions = {}): void {
    if (this.#closed) throw this.#closedError('pause');
    this.#ops.pause(opts);
  }

  resume(opts: { actor?: string } = {}): Promise<ReloadResult | undefined> {
    const invalid = actorOptionsError(opts, 'resume', ['actor']);
    if (invalid) return Promise.reject(invalid);
    if (this.#closed) return Promise.reject(this.#closedError('resume'));
    // The one reload every hint and reload() held while paused coalesced into.
    return this.#ops.resume(opts, (trigger, actor) => this.reload({ trigger, actor }));
  }

  clearRefused(opts: { actor?: string } = {}): void {
    const invalid = actorOptionsError(opts, 'clearRefused', ['actor']);
    if (invalid) throw invalid;
    if (this.#closed) throw this.#closedError('clearRefused');
    this.#ops.clearRefused(opts);
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
    this.#ops.statusInto(status);
    if (this.#o.expose.length > 0 && live !== undefined) status.exposed = exposedValues(live.gen.value, this.#o.expose);
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
