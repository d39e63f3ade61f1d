/**
 * The glue between a directory watch and a unit: filesystem events go through the debouncer, and
 * each flush re-plans the watched directories and settles: the source's fingerprint is taken and
 * compared with the one of the last hint, and the unit gets one hint only when what it would read
 * changed. One save is one hint even when the watcher reports it as two bursts further apart than
 * the debounce (chokidar turns one rename into `unlink` then `add`, late on a loaded machine): the
 * second burst finds the fingerprint of the first and says nothing.
 *
 * @module
 */
import type { Hint } from '../types.js';
import { createDebouncer, type DebounceTimers } from './debounce.js';
import { sameFingerprint, type Fingerprint } from './fingerprint.js';
import type { ResolvedWatchOptions } from './options.js';
import { createDirectoryWatch, type DirectoryWatchOptions } from './watch.js';

/** What a file-backed source tells {@link watchForHints}. */
export interface HintSource {
  /** The `detail` of every hint: the path as the user gave it. */
  detail: string;
  plan: DirectoryWatchOptions['plan'];
  changedSince: NonNullable<DirectoryWatchOptions['changedSince']>;
  /** The state of everything the source reads; `previous` says where a content digest is needed. */
  fingerprint(previous: Fingerprint | undefined): Promise<Fingerprint>;
}

/** Seams for tests: virtual timers for the debouncer, and a look at each settled burst. */
export interface HintInternals {
  timers?: DebounceTimers;
  /** Called after each burst is settled: `hinted` says whether it became a hint. */
  onSettled?(hinted: boolean): void;
}

/**
 * A settler: `settle()` takes the fingerprint and hints when it differs from the last hint's (or
 * when `force` was asked since: a watcher error, whose cause a re-read surfaces). Settles run one
 * after another, so fingerprints are compared in the order they were taken.
 *
 * @example
 * ```ts
 * const s = createSettler(source.fingerprint, () => hint({ kind: 'file', detail: 'config.json' }));
 * s.settle(); // hints: nothing was hinted yet
 * s.settle(); // quiet: same fingerprint
 * ```
 */
export function createSettler(fingerprint: HintSource['fingerprint'], hint: () => void, onSettled?: (hinted: boolean) => void) {
  let last: Fingerprint | undefined;
  let force = false;
  let stopped = false;
  let queue: Promise<void> = Promise.resolve();
  const once = async (): Promise<void> => {
    const forced = force;
    force = false;
    let next: Fingerprint | undefined;
    try {
      next = await fingerprint(last);
    } catch {
      next = undefined; // cannot tell: hint, and compare with nothing next time
    }
    if (stopped) return;
    const unchanged = !forced && next !== undefined && sameFingerprint(last, next);
    // Unchanged: keep the fresher equal state (a file no longer racy needs no digest next time).
    last = next;
    if (!unchanged) hint();
    onSettled?.(!unchanged);
  };
  return {
    settle(): Promise<void> {
      queue = queue.then(once);
      return queue;
    },
    force(): void {
      force = true;
    },
    stop(): void {
      stopped = true;
    },
  };
}

/**
 * Watches per `source.plan()` and calls `hint({ kind: 'file', detail })` once per settled change.
 * Returns the stop function a `Source.watch` returns.
 *
 * @example
 * ```ts
 * const stop = watchForHints({ detail: 'config.json', plan, changedSince, fingerprint }, options, (h) => unit.reload({ trigger: h }));
 * await stop();
 * ```
 */
export function watchForHints(source: HintSource, options: ResolvedWatchOptions, hint: (h: Hint) => void, internals: HintInternals = {}): () => Promise<void> {
  const settler = createSettler(source.fingerprint, () => hint({ kind: 'file', detail: source.detail }), internals.onSettled);
  const debouncer = createDebouncer<string>({ debounceMs: options.debounceMs, maxWaitMs: options.maxWaitMs, ...(internals.timers ? { timers: internals.timers } : {}) }, () => {
    // Runs from a timer, after `watch` below is initialised.
    watch.replan();
    void settler.settle();
  });
  const watch = createDirectoryWatch({
    plan: source.plan,
    polling: options.polling,
    changedSince: source.changedSince,
    onEvent: (detail) => debouncer.push(detail),
    // Not fatal: re-reading surfaces any real problem as a rejected reload.
    onError: (error) => {
      settler.force();
      debouncer.push(error.message);
    },
  });
  return async () => {
    settler.stop();
    debouncer.cancel();
    await watch.close();
  };
}
