/**
 * The glue between a directory watch and a unit: filesystem events go through the debouncer, and
 * each flush re-plans the watched directories and sends the unit one hint.
 *
 * @module
 */
import type { Hint } from '../types.js';
import { createDebouncer } from './debounce.js';
import type { ResolvedWatchOptions } from './options.js';
import { createDirectoryWatch, type DirectoryWatchOptions } from './watch.js';

/** What a file-backed source tells {@link watchForHints}. */
export interface HintSource {
  /** The `detail` of every hint: the path as the user gave it. */
  detail: string;
  plan: DirectoryWatchOptions['plan'];
  changedSince: NonNullable<DirectoryWatchOptions['changedSince']>;
}

/**
 * Watches per `source.plan()` and calls `hint({ kind: 'file', detail })` once per debounced burst.
 * Returns the stop function a `Source.watch` returns.
 *
 * @example
 * ```ts
 * const stop = watchForHints({ detail: 'config.json', plan, changedSince }, options, (h) => unit.reload({ trigger: h }));
 * await stop();
 * ```
 */
export function watchForHints(source: HintSource, options: ResolvedWatchOptions, hint: (h: Hint) => void): () => Promise<void> {
  const debouncer = createDebouncer<string>({ debounceMs: options.debounceMs, maxWaitMs: options.maxWaitMs }, () => {
    // Runs from a timer, after `watch` below is initialised.
    watch.replan();
    hint({ kind: 'file', detail: source.detail });
  });
  const watch = createDirectoryWatch({
    plan: source.plan,
    polling: options.polling,
    changedSince: source.changedSince,
    onEvent: (detail) => debouncer.push(detail),
    // Not fatal: re-reading surfaces any real problem as a rejected reload.
    onError: (error) => debouncer.push(error.message),
  });
  return async () => {
    debouncer.cancel();
    await watch.close();
  };
}
