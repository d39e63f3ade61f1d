/**
 * Runs one pipeline stage with a timeout and an AbortSignal. A stage that outlives its timeout
 * rejects with `TimeoutError` (`stage` set) and its signal aborts; a stage whose parent signal
 * aborts rejects with `AbortedError`. Either way the caller moves on at once, even if the stage
 * ignores its signal; a value the stage produces too late is handed to `onLate` (to dispose it).
 *
 * @module
 */
import { AbortedError, TimeoutError, formatMessage } from '../errors.js';
import { realClock } from '../support/clock.js';
import type { Clock, Stage } from '../types.js';

/** A timed stage: a pipeline stage, or `dispose`. */
export type TimedStage = Exclude<Stage, 'refused'> | 'dispose';

/** What a stage needs from an abort source: an `AbortSignal`, or a `StageAbort`. */
export interface AbortLike {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * An abort source whose `AbortSignal` is only created when someone reads `signal`. Node builds
 * an `AbortSignal` in microseconds (an EventTarget), which would dominate a reload whose load
 * never looks at its signal; listeners registered here are plain callbacks.
 *
 * @example
 * ```ts
 * const abort = new StageAbort();
 * fetch(url, { signal: abort.signal }); // created on first read
 * abort.abort(new Error('closing'));
 * ```
 */
export class StageAbort implements AbortLike {
  #controller: AbortController | undefined;
  #listeners: Array<() => void> | undefined;
  aborted = false;
  reason: unknown = undefined;

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.aborted) this.#controller.abort(this.reason);
    }
    return this.#controller.signal;
  }

  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason ?? new AbortedError('aborted');
    this.#controller?.abort(this.reason);
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners) for (const listener of listeners) listener();
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    (this.#listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const listeners = this.#listeners;
    if (!listeners) return;
    const i = listeners.indexOf(listener);
    if (i >= 0) listeners.splice(i, 1);
  }
}

/** Extra options of `runWithTimeout`. */
export interface RunWithTimeoutOptions<T> {
  /** Scheduler for the timeout (default: the real clock). */
  clock?: Clock;
  /** Unit name and source description, for the error message. */
  unit?: string;
  source?: string;
  /** Receives a value the stage resolved with after it timed out or was aborted. */
  onLate?: (value: T) => void;
}

const STAGE_LABEL: Record<TimedStage, string> = {
  load: 'load',
  validate: 'validation',
  create: 'create',
  health: 'health check',
  verify: 'verify',
  dispose: 'dispose',
};

/** True for a promise or any object with a `then` method. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Runs `fn(signal)` as `stage` with a timeout of `ms` (`undefined`, `0` or `Infinity`: none). A
 * synchronous `fn` returns without arming a timer.
 *
 * @example
 * ```ts
 * const pool = await runWithTimeout('create', 5_000, runSignal, (signal) => createPool(cfg, { signal }), {
 *   unit: 'db', onLate: (late) => late.end(),
 * });
 * ```
 */
export function runWithTimeout<T>(
  stage: TimedStage,
  ms: number | undefined,
  signal: AbortLike | undefined,
  fn: (signal: AbortSignal) => T | PromiseLike<T>,
  options: RunWithTimeoutOptions<T> = {},
): Promise<T> {
  return runStage(stage, ms, signal, (abort) => fn(abort.signal), options);
}

/**
 * `runWithTimeout` for callers that may not need a signal at all: `fn` receives the stage's
 * `StageAbort` and reads `.signal` only if it wants one (the unit's hot path does this).
 *
 * @example
 * ```ts
 * await runStage('load', 1_000, undefined, (abort) => read({ get signal() { return abort.signal; } }));
 * ```
 */
export function runStage<T>(
  stage: TimedStage,
  ms: number | undefined,
  parent: AbortLike | undefined,
  fn: (abort: StageAbort) => T | PromiseLike<T>,
  options: RunWithTimeoutOptions<T> = {},
): Promise<T> {
  const ctx = { unit: options.unit, source: options.source, stage: stage === 'dispose' ? undefined : stage };
  if (parent?.aborted) return Promise.reject(new AbortedError(formatMessage(`${STAGE_LABEL[stage]} aborted`, ctx), { ...ctx, cause: parent.reason }));
  const abort = new StageAbort();
  const onParentAbort = (): void => abort.abort(parent?.reason);
  parent?.addEventListener('abort', onParentAbort, { once: true });
  let first: T | PromiseLike<T>;
  try {
    first = fn(abort);
  } catch (error) {
    parent?.removeEventListener('abort', onParentAbort);
    return Promise.reject(error);
  }
  if (!isThenable(first)) {
    parent?.removeEventListener('abort', onParentAbort);
    return Promise.resolve(first);
  }
  const pending = first;
  const clock = options.clock ?? realClock;
  const timed = ms !== undefined && ms > 0 && Number.isFinite(ms);
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let handle: unknown;
    const finish = (): void => {
      settled = true;
      if (timed) clock.clearTimeout(handle);
      parent?.removeEventListener('abort', onAbort);
      parent?.removeEventListener('abort', onParentAbort);
    };
    const onAbort = (): void => {
      if (settled) return;
      finish();
      reject(new AbortedError(formatMessage(`${STAGE_LABEL[stage]} aborted`, ctx), { ...ctx, cause: parent?.reason }));
    };
    if (timed) {
      handle = clock.setTimeout(() => {
        if (settled) return;
        finish();
        const error = new TimeoutError(formatMessage(`${STAGE_LABEL[stage]} timed out after ${ms} ms`, ctx), ms, ctx);
        abort.abort(error);
        reject(error);
      }, ms);
    }
    parent?.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (value) => {
        if (!settled) {
          finish();
          resolve(value);
        } else if (options.onLate) {
          options.onLate(value);
        }
      },
      (error: unknown) => {
        if (!settled) {
          finish();
          reject(error);
        }
      },
    );
  });
}
