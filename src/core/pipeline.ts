/**
 * The pipeline: `load → validate → hash → refuse → dedupe → create → healthCheck`, without any owner state.
 * It never commits and never throws: a unit's attempt gets an `Outcome` (a candidate, `unchanged`,
 * or `rejected` at a stage) and decides what to do with it (commit, stage for a group, or, for a
 * dry run, dispose the candidate).
 *
 * The first three stages are exported on their own (`loadCandidate`, `validateCandidate`,
 * `hashCandidate`) for owners with their own per-key store: a cache runs them for one key and
 * keeps what differs (its store, LRU, single flight). `stageError` is the one place where a thrown
 * value becomes a stage's `ReloadkitError`, so a unit and a cache report the same failure alike.
 *
 * @module
 * @internal
 */
import type { Options as PRetryOptions } from 'p-retry';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import {
  AbortedError,
  CreateError,
  HealthCheckError,
  LoadError,
  TimeoutError,
  ValidationError,
  formatMessage,
  type ValidationIssue,
} from '../errors.js';
import { originOf, provenanceOf, type Provenance } from '../support/provenance.js';
import { safeMessage } from '../support/safe-message.js';
import * as diagnostics from './diagnostics.js';
import { withRetry } from './retry.js';
import { validateWithSchema, validationError } from './schema.js';
import { runStage, StageAbort, type AbortLike } from './timeout.js';
import type { Clock, Generation, GenerationInfo, LoadContext, Stage, StageContext, TriggerInfo } from '../types.js';

/** The stages before a commit (`verify` runs after it, see verify.ts). */
export type PipelineStage = Exclude<Stage, 'verify' | 'refused'>;

/** Who runs a stage, for error messages: `[config] load failed (file config.json): …`. */
export interface Where {
  unit: string;
  source?: string | undefined;
}

/**
 * Turns whatever a stage threw into that stage's error. Timeouts and aborts pass through; an error
 * this owner already produced for the stage passes through; anything else is wrapped with its
 * message scrubbed (`safeMessage`) and kept as `cause`. For `validate`, issue paths that a layer of
 * `provenance` set get ` (from <layer>)` appended.
 *
 * @example
 * ```ts
 * stageError('load', new Error('ECONNREFUSED'), { unit: 'config', source: 'etcd /app' }, { attempts: 3 });
 * // LoadError: [config] load failed after 3 attempts (etcd /app): ECONNREFUSED
 * ```
 */
export function stageError(
  stage: PipelineStage,
  error: unknown,
  where: Where,
  detail: { attempts?: number; aborted?: boolean; provenance?: Provenance | undefined } = {},
): Error {
  if (error instanceof TimeoutError || error instanceof AbortedError) return error;
  const ctx = { unit: where.unit, source: where.source, stage };
  switch (stage) {
    case 'load': {
      if (detail.aborted) return new AbortedError(formatMessage('load aborted', ctx), { ...ctx, cause: error });
      const attempts = detail.attempts ?? 1;
      const what = attempts > 1 ? `load failed after ${attempts} attempts` : 'load failed';
      // A failure that cannot fix itself stays marked so on the error callers, status and audit see.
      const permanent = (error as { permanent?: unknown } | null)?.permanent === true;
      return new LoadError(formatMessage(what, ctx, safeMessage(error)), { ...ctx, cause: error, permanent });
    }
    case 'validate': {
      const provenance = detail.provenance;
      if (error instanceof ValidationError && error.unit === where.unit && provenance === undefined) return error;
      const issues: ValidationIssue[] =
        error instanceof ValidationError
          ? error.issues
          : [{ path: typeof (error as { path?: unknown } | null)?.path === 'string' ? (error as { path: string }).path : '', message: safeMessage(error) }];
      const out = validationError(provenance === undefined ? issues : issues.map((issue) => withOrigin(issue, provenance)), ctx);
      const cause = error instanceof ValidationError && error.unit === where.unit ? error.cause : error;
      if (cause !== undefined) Object.defineProperty(out, 'cause', { value: cause, enumerable: false, configurable: true, writable: true });
      return out;
    }
    case 'health':
      if (error instanceof HealthCheckError && error.unit === where.unit) return error;
      return new HealthCheckError(formatMessage('health check failed', ctx, safeMessage(error)), { ...ctx, cause: error });
    case 'create':
      return new CreateError(formatMessage('create failed', ctx, safeMessage(error)), { ...ctx, cause: error });
  }
}

function withOrigin(issue: ValidationIssue, provenance: Provenance): ValidationIssue {
  const layer = originOf(provenance, issue.path);
  return layer === undefined || issue.message.endsWith(`(from ${layer})`) ? issue : { ...issue, message: `${issue.message} (from ${layer})` };
}

// ─── the subset an owner with a per-key store uses ──────────────────────────────────────────

/** How `loadCandidate` runs a load. */
export interface LoadSpec {
  where: Where;
  /** Normalized by `normalizeRetry` (`undefined`: one attempt). */
  retry: PRetryOptions | undefined;
  /** Per-attempt timeout (ms). */
  timeoutMs: number;
  clock: Clock;
}

/**
 * Runs `load` with retries, each attempt under the load timeout; `abort` stops both. `load`
 * receives its attempt's `StageAbort`: read `.signal` only when the load needs one (no
 * `AbortController` is created otherwise). Rejects with `stageError('load', …)`.
 *
 * @example
 * ```ts
 * const raw = await loadCandidate({ where: { unit: 'users', source: `key ${keyHash}` }, retry, timeoutMs: 5_000, clock },
 *   abort, (attempt) => fetchUser(id, { signal: attempt.signal }));
 * ```
 */
export function loadCandidate(spec: LoadSpec, abort: AbortLike, load: (attempt: StageAbort) => unknown): Promise<unknown> {
  let attempts = 0;
  const once = (): Promise<unknown> => {
    diagnostics.loadTried(spec.where.unit, ++attempts);
    return runStage('load', spec.timeoutMs, abort, load, { clock: spec.clock, unit: spec.where.unit, source: spec.where.source });
  };
  // No async wrapper: a healthy load costs the stage's own promise and one hop, nothing more.
  return (spec.retry === undefined ? once() : withRetry(once, spec.retry, { signal: abort, clock: spec.clock })).then(undefined, (error: unknown) => {
    throw stageError('load', error, spec.where, { attempts, aborted: abort.aborted });
  });
}

/**
 * Validates `raw`: the schema (if any), then `check` (if any). Rejects with
 * `stageError('validate', …)`, naming the layer of `raw`'s provenance for each issue path.
 *
 * @example
 * ```ts
 * const value = await validateCandidate({ unit: 'users' }, raw, UserSchema, (v) => assertActive(v));
 * ```
 */
export async function validateCandidate<T>(
  where: Where,
  raw: unknown,
  schema: StandardSchemaV1<unknown, T> | undefined,
  check?: ((value: T) => void | Promise<void>) | undefined,
): Promise<T> {
  try {
    const value = schema ? await validateWithSchema(schema, raw, where) : (raw as T);
    if (check) await check(value);
    return value;
  } catch (error) {
    throw stageError('validate', error, where, { provenance: provenanceOf(raw) });
  }
}

/**
 * The candidate's content identity: `hash(value)`, which must be a non-empty string. Throws a
 * `validate`-stage `ValidationError` otherwise (a value without a JSON form needs a `hash` option).
 *
 * @example
 * ```ts
 * hashCandidate({ unit: 'config' }, hashValue, value); // 'sha256:…'
 * ```
 */
export function hashCandidate<T>(where: Where, hash: (value: T) => string, value: T): string {
  let out: unknown;
  try {
    out = hash(value);
  } catch (error) {
    throw validationError([{ path: '', message: `could not hash the value: ${safeMessage(error)}` }], { ...where, stage: 'validate' });
  }
  if (typeof out !== 'string' || out === '') {
    throw validationError([{ path: '', message: `could not hash the value: hash() returned ${out === '' ? 'an empty string' : `a ${typeof out}`}, expected a non-empty string` }], { ...where, stage: 'validate' });
  }
  return out;
}

// ─── the full pipeline of a unit ────────────────────────────────────────────────────────────

/** A created resource and the bookkeeping the lease tracker needs (see leases.ts). */
export interface PipelineCell<R> {
  readonly resource: R;
  info: GenerationInfo;
  leases: number;
  retired: boolean;
  disposed: boolean;
}

/** A candidate that passed every stage before the commit. */
export interface Candidate<T, R, C extends PipelineCell<R>> {
  kind: 'candidate';
  raw: unknown;
  value: T;
  hash: string;
  cell: C;
  provenance: Provenance | undefined;
}

/** What an attempt of the pipeline produced. */
export type Outcome<T, R, C extends PipelineCell<R>> =
  | Candidate<T, R, C>
  | { kind: 'unchanged'; hash: string }
  | { kind: 'rejected'; stage: Stage | undefined; error: Error; hash?: string }
  /** The hash is in the owner's refused set: nothing was created. */
  | { kind: 'refused'; hash: string }
  /** The owner's pause gate held the attempt (never produced by the pipeline itself). */
  | { kind: 'paused' };

/** The stages of a unit (its normalized options) and how it keeps resources. */
export interface PipelineSpec<T, R, C extends PipelineCell<R>> {
  where: Where;
  load: (ctx: LoadContext<T, R>) => unknown;
  schema: StandardSchemaV1<unknown, T> | undefined;
  validate: ((next: T, ctx: StageContext<T, R>) => void | Promise<void>) | undefined;
  hash: (value: T) => string;
  create: ((value: T, ctx: StageContext<T, R>) => R | Promise<R>) | undefined;
  healthCheck: ((resource: R, ctx: StageContext<T, R>) => unknown) | undefined;
  retry: PRetryOptions | undefined;
  timeouts: { load: number; create: number; healthCheck: number };
  clock: Clock;
  /** Wraps a created resource in the owner's cell type. */
  cell: (resource: R, info: GenerationInfo) => C;
  /** Disposes a cell that will never be committed (a failed health check, a late create). */
  discard: (cell: C) => void;
}

/** One run of the pipeline. */
export interface PipelineInput<T, R> {
  abort: StageAbort;
  previous: Generation<T, R> | undefined;
  trigger: TriggerInfo;
  /** Build even when the hash equals `previous.hash`. */
  force: boolean;
  /** Called once the candidate validated and hashed (the source gives a valid candidate again). */
  onValidated?: () => void;
  /** True when `hash` is refused: the outcome is `refused`, before dedupe and create (unless `force`). */
  refused?: (hash: string) => boolean;
}

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

/**
 * The `validate` / `create` / `healthCheck` / `dispose` context: the load context and the unit's name.
 *
 * @example
 * ```ts
 * dispose(resource, new StageCtx(abort, 'db', undefined, { kind: 'manual' }));
 * ```
 */
export class StageCtx<T, R> extends LoadCtx<T, R> implements StageContext<T, R> {
  readonly unit: string;
  constructor(abort: StageAbort, unit: string, previous: Generation<T, R> | undefined, trigger: TriggerInfo) {
    super(abort, previous, trigger);
    this.unit = unit;
  }
}

/** A value no caller can pass: "load it". */
export const LOAD: unique symbol = Symbol('load the raw candidate');

/**
 * `load → validate → hash → refuse → dedupe → create → healthCheck`. Never throws, never commits.
 * Pass a raw candidate as `given` to skip the load (a last-known-good record, a dry run's candidate).
 *
 * @example
 * ```ts
 * const outcome = await runPipeline(spec, { abort, previous: unit.current, trigger, force: false });
 * if (outcome.kind === 'candidate') commit(outcome);
 * ```
 */
export async function runPipeline<T, R, C extends PipelineCell<R>>(spec: PipelineSpec<T, R, C>, input: PipelineInput<T, R>, given: unknown = LOAD): Promise<Outcome<T, R, C>> {
  const { abort, previous, trigger } = input;
  let raw = given;
  if (raw === LOAD) {
    diagnostics.stageStarted(spec.where.unit, 'load');
    try {
      raw = await loadCandidate({ where: spec.where, retry: spec.retry, timeoutMs: spec.timeouts.load, clock: spec.clock }, abort, (a) => spec.load(new LoadCtx(a, previous, trigger)));
    } catch (error) {
      return { kind: 'rejected', stage: 'load', error: error as Error };
    }
  }
  diagnostics.stageStarted(spec.where.unit, 'validate');
  if (abort.aborted) return { kind: 'rejected', stage: 'validate', error: aborted('validation aborted', spec.where, 'validate') };

  let value: T;
  let hash: string;
  try {
    const validate = spec.validate;
    const check = validate && ((v: T) => validate(v, new StageCtx<T, R>(abort, spec.where.unit, previous, trigger)));
    // Nothing to validate: the raw candidate is the value, without a promise in between.
    value = spec.schema === undefined && check === undefined ? (raw as T) : await validateCandidate(spec.where, raw, spec.schema, check);
    hash = hashCandidate(spec.where, spec.hash, value);
  } catch (error) {
    return { kind: 'rejected', stage: 'validate', error: error as Error };
  }
  input.onValidated?.();
  if (!input.force && input.refused?.(hash) === true) return { kind: 'refused', hash };
  if (!input.force && previous !== undefined && previous.hash === hash) return { kind: 'unchanged', hash };
  return build(spec, { raw, value, hash, provenance: provenanceOf(raw) }, input);
}

/**
 * `create → healthCheck` for a validated value (also how a rollback rebuilds a disposed
 * generation). A rejected candidate's resource is disposed at once.
 */
export async function build<T, R, C extends PipelineCell<R>>(
  spec: PipelineSpec<T, R, C>,
  c: { raw: unknown; value: T; hash: string; provenance: Provenance | undefined },
  input: Pick<PipelineInput<T, R>, 'abort' | 'previous' | 'trigger'>,
): Promise<Outcome<T, R, C>> {
  const { abort, previous, trigger } = input;
  const info: GenerationInfo = { id: 0, hash: c.hash, committedAt: 0, trigger };
  const opts = { clock: spec.clock, unit: spec.where.unit, source: spec.where.source };
  let resource: R;
  const create = spec.create;
  if (create) {
    diagnostics.stageStarted(spec.where.unit, 'create');
    try {
      resource = await runStage('create', spec.timeouts.create, abort, (a) => create(c.value, new StageCtx(a, spec.where.unit, previous, trigger)), {
        ...opts,
        // A create that resolves after its timeout still built something: dispose it.
        onLate: (late) => spec.discard(spec.cell(late, info)),
      });
    } catch (error) {
      return { kind: 'rejected', stage: 'create', error: stageError('create', error, spec.where), hash: c.hash };
    }
  } else {
    resource = c.value as unknown as R;
  }
  const cell = spec.cell(resource, info);
  const healthCheck = spec.healthCheck;
  if (healthCheck) {
    diagnostics.stageStarted(spec.where.unit, 'health');
    try {
      const ok = await runStage('health', spec.timeouts.healthCheck, abort, (a) => healthCheck(resource, new StageCtx(a, spec.where.unit, previous, trigger)), opts);
      if (ok === false) throw new HealthCheckError(formatMessage('health check failed', { ...spec.where, stage: 'health' }, 'it returned false'), { ...spec.where, stage: 'health' });
    } catch (error) {
      spec.discard(cell);
      return { kind: 'rejected', stage: 'health', error: stageError('health', error, spec.where), hash: c.hash };
    }
  }
  if (abort.aborted) {
    spec.discard(cell);
    return { kind: 'rejected', stage: 'health', error: aborted('reload aborted', spec.where, 'health'), hash: c.hash };
  }
  return { kind: 'candidate', raw: c.raw, value: c.value, hash: c.hash, cell, provenance: c.provenance };
}

function aborted(what: string, where: Where, stage: Stage): AbortedError {
  const ctx = { unit: where.unit, source: where.source, stage };
  return new AbortedError(formatMessage(what, ctx), ctx);
}
