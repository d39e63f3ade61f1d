/**
 * Prepared candidates: a dry run that keeps its created resource warm, so a later `commit()`
 * swaps it in under the unit's lock without a rebuild (a fleet's prepare phase). A warm resource
 * never leaks: it is disposed exactly once, by `discard()`, by its `timeoutMs` on the unit's clock,
 * by `close()`, or, if it commits, by the unit's usual retire path like any generation.
 *
 * `reload({ dryRun: true })` is a prepare followed at once by its discard.
 *
 * @module
 * @internal
 */
import { PrepareExpiredError, formatMessage } from '../errors.js';
import { describeValue } from '../support/describe-value.js';
import { DEFAULT_PREPARE_TIMEOUT_MS } from './options.js';
import type { Candidate, PipelineCell } from './pipeline.js';
import type { Clock, PreparedCandidate, PrepareOptions, ReloadResult, TriggerInfo } from '../types.js';

/** Why a prepared candidate can no longer commit. */
export type Expiry = 'discarded' | 'timed out' | 'closed';

/** Options of `prepared.commit()`. */
export interface CommitPreparedOptions {
  reason?: string;
  actor?: string;
  trigger?: TriggerInfo;
}

/** What a prepared candidate needs from its unit. */
export interface PrepareHost<T, R, C extends PipelineCell<R>> {
  readonly unit: string;
  readonly clock: Clock;
  /** Under the unit's lock: commit `handle`'s candidate (checking `handle.warm` first), or say why not. */
  commit(handle: PreparedHandle<T, R, C>, opts: CommitPreparedOptions): Promise<ReloadResult>;
  /** The `rejected` result of a commit that came too late (audited like any failed commit). */
  expired(handle: PreparedHandle<T, R, C>, opts: CommitPreparedOptions, error: PrepareExpiredError): ReloadResult;
  /** Disposes a warm cell now; resolves once its dispose settled. */
  dispose(cell: C): Promise<void>;
}

/**
 * Checks `prepare()` options; the `TypeError` to reject with, or `undefined`.
 *
 * @example
 * ```ts
 * prepareOptionsError({ timeoutMs: -1 }); // TypeError: Expected `timeoutMs` to be a positive number of milliseconds, got -1.
 * ```
 */
export function prepareOptionsError(opts: unknown): TypeError | undefined {
  if (opts === undefined) return undefined;
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) return new TypeError(`Expected prepare() options to be an object, got ${Array.isArray(opts) ? 'an array' : describeValue(opts)}.`);
  const o = opts as Record<string, unknown>;
  const t = o.timeoutMs;
  if (t !== undefined && (typeof t !== 'number' || !(t > 0) || !Number.isFinite(t))) return new TypeError(`Expected \`timeoutMs\` to be a positive number of milliseconds, got ${describeValue(t)}.`);
  if (o.dryRun !== undefined) return new TypeError('Expected no `dryRun` in prepare() options: prepare() is always a dry run (its commit() is the commit).');
  return undefined;
}

/**
 * One prepared candidate. `warm` while its resource waits; it leaves that state exactly once.
 */
export class PreparedHandle<T, R, C extends PipelineCell<R>> implements PreparedCandidate<T, R> {
  readonly result: ReloadResult;
  readonly hash: string | undefined;
  /** The prepared run was forced: commit overrides a refusal, a pause and an equal hash too. */
  readonly forced: boolean;
  readonly #host: PrepareHost<T, R, C>;
  readonly #candidate: Candidate<T, R, C> | undefined;
  #state: 'warm' | 'committed' | Expiry | 'idle';
  #timer: unknown;
  #committed: ReloadResult | undefined;
  #disposal: Promise<void> | undefined;
  #onSettled: ((handle: PreparedHandle<T, R, C>) => void) | undefined;

  constructor(host: PrepareHost<T, R, C>, result: ReloadResult, candidate: Candidate<T, R, C> | undefined, forced: boolean) {
    this.#host = host;
    this.result = result;
    this.hash = result.hash;
    this.forced = forced;
    this.#candidate = candidate;
    this.#state = candidate === undefined ? 'idle' : 'warm';
  }

  /** True while the resource waits for `commit()`. */
  get warm(): boolean {
    return this.#state === 'warm';
  }

  /** The warm candidate (undefined once it left the warm state). */
  get candidate(): Candidate<T, R, C> | undefined {
    return this.#state === 'warm' ? this.#candidate : undefined;
  }

  get value(): T | undefined {
    return this.candidate?.value;
  }

  get resource(): R | undefined {
    return this.candidate?.cell.resource;
  }

  /** Starts the expiry timer; `onSettled` runs once the handle leaves the warm state. */
  arm(timeoutMs: number, onSettled: (handle: PreparedHandle<T, R, C>) => void): void {
    if (this.#state !== 'warm') return;
    this.#onSettled = onSettled;
    const handle = this.#host.clock.setTimeout(() => void this.expire('timed out'), timeoutMs);
    // A prepared candidate must not keep the process alive on its own.
    (handle as { unref?: () => void } | null)?.unref?.();
    this.#timer = handle;
  }

  commit(opts: CommitPreparedOptions = {}): Promise<ReloadResult> {
    if (this.#candidate === undefined) return Promise.resolve(this.result);
    if (this.#committed !== undefined) return Promise.resolve(this.#committed);
    if (this.#state !== 'warm') return Promise.resolve(this.#host.expired(this, opts, this.#expiredError()));
    return this.#host.commit(this, opts);
  }

  discard(): Promise<void> {
    return this.expire('discarded');
  }

  /** Leaves the warm state without a commit and disposes the resource (once). */
  expire(why: Expiry): Promise<void> {
    if (this.#state === 'warm') {
      this.#state = why;
      this.#settle();
      this.#disposal = this.#host.dispose(this.#candidate!.cell);
    }
    return this.#disposal ?? Promise.resolve();
  }

  /** The host committed the candidate: the resource now belongs to its generation. */
  committed(result: ReloadResult): void {
    this.#state = 'committed';
    this.#committed = result;
    this.#settle();
  }

  /** The `RELOADKIT_PREPARE_EXPIRED` error for a commit after the warm state ended. */
  #expiredError(): PrepareExpiredError {
    const ctx = { unit: this.#host.unit };
    const why = this.#state === 'timed out' ? 'its timeoutMs passed' : this.#state === 'closed' ? 'the unit closed' : 'it was discarded';
    return new PrepareExpiredError(formatMessage('prepared candidate expired', ctx, `${why}; its resource was disposed (prepare() again)`), ctx);
  }

  /** Error for a commit found not warm under the lock (a timer fired while it waited). */
  expiredError(): PrepareExpiredError {
    return this.#expiredError();
  }

  #settle(): void {
    if (this.#timer !== undefined) this.#host.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#onSettled?.(this);
    this.#onSettled = undefined;
  }
}

/**
 * The warm prepared candidates of one unit, so `close()` disposes every one.
 *
 * @example
 * ```ts
 * const prepared = new Preparations<Config, Pool, ResourceCell<Pool>>();
 * prepared.track(handle, opts.timeoutMs);
 * await prepared.closeAll();
 * ```
 */
export class Preparations<T, R, C extends PipelineCell<R>> {
  readonly #warm = new Set<PreparedHandle<T, R, C>>();

  /** Keeps `handle` warm for `timeoutMs` (default `DEFAULT_PREPARE_TIMEOUT_MS`). */
  track(handle: PreparedHandle<T, R, C>, timeoutMs: PrepareOptions['timeoutMs']): void {
    if (!handle.warm) return;
    this.#warm.add(handle);
    handle.arm(timeoutMs ?? DEFAULT_PREPARE_TIMEOUT_MS, (h) => this.#warm.delete(h));
  }

  get size(): number {
    return this.#warm.size;
  }

  /** Disposes every warm candidate (the unit closes). */
  closeAll(): Promise<void> {
    return Promise.all([...this.#warm].map((h) => h.expire('closed'))).then(() => undefined);
  }
}
