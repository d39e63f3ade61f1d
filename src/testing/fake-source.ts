/**
 * `fakeSource()`: an in-memory `Source` with fault injection, for testing code built on reloadkit
 * without files or servers: fail the next N reads, delay or hang reads, duplicate hints, return a
 * partial (truncated) value.
 *
 * @module
 */
import { realClock } from '../support/clock.js';
import type { Clock, Hint, Source } from '../types.js';
import { describeValue } from '../support/describe-value.js';
import { rejectUnknownKeys } from '../support/known-keys.js';

/** Options of `fakeSource`. */
export interface FakeSourceOptions {
  /**
   * Named in `describe()` and therefore in error messages: `fake <name>`.
   * @default 'source'
   * @example
   * ```ts
   * fakeSource({ port: 1 }, { name: 'config.json' }).describe(); // 'fake config.json'
   * ```
   */
  name?: string;
  /**
   * Scheduler used by `delay()`.
   * @default the real timers
   * @example
   * ```ts
   * const clock = createFakeClock();
   * const source = fakeSource({ port: 1 }, { clock });
   * source.delay(5_000); // reads answer when clock.advance(5_000) runs
   * ```
   */
  clock?: Clock;
  /**
   * Emit a hint to watchers on every `set()`.
   * @default true
   * @example
   * ```ts
   * const source = fakeSource({ port: 1 }, { hintOnSet: false }); // set() changes the value silently
   * ```
   */
  hintOnSet?: boolean;
}

/** The options `fakeSource` reads; any other key is a typo and throws. */
const KNOWN_KEYS = ['name', 'clock', 'hintOnSet'] as const;

/** A controllable source. Every fault applies to reads that start after it was armed. */
export interface FakeSource<Raw> extends Source<Raw> {
  /** The value the next healthy read returns (a structured clone of it). */
  readonly value: Raw;
  /** Replaces the value and, unless `hintOnSet: false`, hints every watcher. */
  set(value: Raw): void;
  /** Emits a hint to every watcher, `times` times in a row (duplicate hints). */
  hint(hint?: Partial<Hint>, times?: number): void;
  /** Every later hint (from `set` or `hint`) is delivered `times` times. 1 restores normal. */
  duplicateHints(times: number): void;
  /** The next `n` reads reject with `error` (default: an `Error` naming the source). */
  failNext(n?: number, error?: Error): void;
  /** Every read waits `ms` before answering (0 to stop). Aborting the read's signal rejects it. */
  delay(ms: number): void;
  /** The next `n` reads never answer until their signal aborts (or `release()`). */
  hangNext(n?: number): void;
  /** Lets every hanging read answer now with the current value. */
  release(): void;
  /**
   * The next `n` reads return a partial value: `make(value)` if given, otherwise half of it (the
   * first half of a string or array's items, or of an object's keys) — a torn write.
   */
  partialNext(n?: number, make?: (value: Raw) => unknown): void;
  /** Reads started, reads that failed on purpose, and watchers currently attached. */
  readonly stats: { reads: number; failed: number; partial: number; hung: number; watchers: number; hints: number };
}


/**
 * Creates a fake source holding `initial`.
 *
 * @example
 * ```ts
 * import { reloadable } from 'reloadkit';
 * import { fakeSource } from 'reloadkit/testing';
 * const source = fakeSource({ port: 8080 }, { name: 'config.json' });
 * const unit = reloadable({ name: 'config', source, retry: false });
 * await unit.start();
 * source.failNext(1);                      // the next read throws
 * (await unit.reload()).status;            // 'rejected': the live value stays { port: 8080 }
 * source.partialNext();                    // a torn write: half the keys
 * source.set({ port: 9090 });              // hints watchers; the unit reloads
 * ```
 */
export function fakeSource<Raw>(initial: Raw, options: FakeSourceOptions = {}): FakeSource<Raw> {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`fakeSource: expected \`options\` to be an object, got ${describeValue(options)}`);
  }
  rejectUnknownKeys('fakeSource', options, KNOWN_KEYS);
  const { name = 'source', clock = realClock, hintOnSet = true } = options;
  if (typeof name !== 'string' || name === '') throw new TypeError(`fakeSource: expected \`name\` to be a non-empty string, got ${describeValue(name)}`);

  let value = initial;
  const failures: { error: Error | undefined }[] = [];
  let delayMs = 0;
  let hangs = 0;
  const partials: ((v: Raw) => unknown)[] = [];
  let duplicates = 1;
  const watchers = new Set<(h: Hint) => void>();
  const hanging = new Set<() => void>();
  const stats = { reads: 0, failed: 0, partial: 0, hung: 0, hints: 0 };

  const count = (n: number, what: string): number => {
    if (!Number.isInteger(n) || n < 0) throw new TypeError(`fakeSource.${what}: expected a non-negative integer, got ${describeValue(n)}`);
    return n;
  };

  const emit = (hint: Hint, times = duplicates): void => {
    for (let i = 0; i < times; i++) {
      for (const watcher of [...watchers]) {
        stats.hints++;
        watcher({ ...hint });
      }
    }
  };

  const wait = (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const handle = clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = (): void => {
        clock.clearTimeout(handle);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });

  const hang = (signal: AbortSignal): Promise<void> =>
    new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const done = (): void => {
        hanging.delete(done);
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        hanging.delete(done);
        reject(signal.reason);
      };
      hanging.add(done);
      signal.addEventListener('abort', onAbort, { once: true });
    });

  const source: FakeSource<Raw> = {
    get value() {
      return value;
    },
    get stats() {
      return { ...stats, watchers: watchers.size };
    },
    describe: () => `fake ${name}`,
    async read(ctx?: { signal: AbortSignal }) {
      stats.reads++;
      // Faults are claimed when the read starts, so each armed fault hits exactly one read.
      const failure = failures.shift();
      const partial = failure ? undefined : partials.shift();
      const shouldHang = !failure && hangs > 0 ? (hangs--, true) : false;
      // The signal is read only when the read waits: a unit's lazy signal then costs nothing on a
      // healthy read, as with any source that needs no signal.
      if (delayMs > 0) await wait(delayMs, ctx?.signal ?? new AbortController().signal);
      if (shouldHang) {
        stats.hung++;
        await hang(ctx?.signal ?? new AbortController().signal);
      }
      if (failure) {
        stats.failed++;
        throw failure.error ?? new Error(`fake ${name}: injected read failure`);
      }
      const snapshot = clone(value);
      if (partial) {
        stats.partial++;
        return partial(snapshot) as Raw;
      }
      return snapshot;
    },
    watch(onHint: (h: Hint) => void) {
      if (typeof onHint !== 'function') throw new TypeError(`fakeSource.watch: expected a function, got ${describeValue(onHint)}`);
      // Wrap, so the same callback watched twice is two watchers and each unwatch removes one.
      const watcher = (h: Hint): void => onHint(h);
      watchers.add(watcher);
      return () => {
        watchers.delete(watcher);
      };
    },
    set(next: Raw) {
      value = next;
      if (hintOnSet) emit({ kind: 'fake', detail: name });
    },
    hint(hint: Partial<Hint> = {}, times = 1) {
      emit({ kind: hint.kind ?? 'fake', ...(hint.detail === undefined ? { detail: name } : { detail: hint.detail }) }, count(times, 'hint') * duplicates);
    },
    duplicateHints(times: number) {
      if (count(times, 'duplicateHints') < 1) throw new TypeError('fakeSource.duplicateHints: expected at least 1');
      duplicates = times;
    },
    failNext(n = 1, error?: Error) {
      if (error !== undefined && !(error instanceof Error)) throw new TypeError(`fakeSource.failNext: expected an Error, got ${describeValue(error)}`);
      for (let i = 0; i < count(n, 'failNext'); i++) failures.push({ error });
    },
    delay(ms: number) {
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new TypeError(`fakeSource.delay: expected a non-negative number of ms, got ${describeValue(ms)}`);
      delayMs = ms;
    },
    hangNext(n = 1) {
      hangs += count(n, 'hangNext');
    },
    release() {
      hangs = 0;
      for (const done of [...hanging]) done();
    },
    partialNext(n = 1, make?: (v: Raw) => unknown) {
      if (make !== undefined && typeof make !== 'function') throw new TypeError(`fakeSource.partialNext: expected a function, got ${describeValue(make)}`);
      for (let i = 0; i < count(n, 'partialNext'); i++) partials.push(make ?? halve);
    },
  };
  return source;
}

/** Each read returns a fresh copy, as a real source parses a fresh object each time. */
function clone<V>(value: V): V {
  if (value === null || typeof value !== 'object') return value;
  try {
    return structuredClone(value);
  } catch {
    return value;
  }
}

/** The default partial value: the first half of a string, an array, or an object's keys. */
function halve(value: unknown): unknown {
  if (typeof value === 'string') return value.slice(0, Math.floor(value.length / 2));
  if (Array.isArray(value)) return value.slice(0, Math.floor(value.length / 2));
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    return Object.fromEntries(entries.slice(0, Math.floor(entries.length / 2)));
  }
  return undefined;
}
