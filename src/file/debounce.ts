/**
 * The debouncer between raw filesystem events and unit hints: an editor's save is several events
 * (rename, create, write, chmod...) and a writer may truncate then write. We wait for a quiet
 * period of `debounceMs` after the last event, but never longer than `maxWaitMs` after the first,
 * so a file rewritten continuously still reloads. Pure logic: timers are injectable for tests.
 *
 * @module
 */

/** The timer functions the debouncer uses: the real ones by default, a fake clock in tests. */
export interface DebounceTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Real timers. Handles are unref'd: a pending hint never keeps a process alive on its own. */
export const realTimers: DebounceTimers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms);
    handle.unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** A running debouncer. */
export interface Debouncer<E> {
  /** Records an event; the flush comes after the quiet period or at the cap. */
  push(event: E): void;
  /** Flushes now if something is pending. */
  flush(): void;
  /** Drops anything pending and stops; later pushes are ignored. */
  cancel(): void;
  /** True while events wait for a flush. */
  readonly pending: boolean;
}

/** How many events a flush reports at most (the most recent ones). */
export const MAX_KEPT_EVENTS = 64;

/** Options of {@link createDebouncer}. */
export interface DebounceOptions {
  /** Quiet period after the last event, in ms. `0` flushes on the next timer tick. */
  debounceMs: number;
  /** Longest wait after the first pending event, in ms (`>= debounceMs`). */
  maxWaitMs: number;
  timers?: DebounceTimers;
}

/**
 * Creates a debouncer that calls `flush(events)` with the events pushed since the last flush (the
 * most recent {@link MAX_KEPT_EVENTS} of them).
 *
 * @example
 * ```ts
 * const d = createDebouncer({ debounceMs: 100, maxWaitMs: 1000 }, (events) => console.log(events.length));
 * d.push('a'); d.push('b'); // ~100 ms later: 2
 * ```
 */
export function createDebouncer<E>(options: DebounceOptions, flush: (events: E[]) => void): Debouncer<E> {
  const { debounceMs, maxWaitMs, timers = realTimers } = options;
  let events: E[] = [];
  let firstAt = 0;
  let handle: unknown;
  let cancelled = false;

  const fire = (): void => {
    if (handle !== undefined) timers.clearTimeout(handle);
    handle = undefined;
    if (events.length === 0) return;
    const batch = events;
    events = [];
    flush(batch);
  };

  const schedule = (): void => {
    const now = timers.now();
    const due = Math.min(now + debounceMs, firstAt + maxWaitMs);
    if (handle !== undefined) timers.clearTimeout(handle);
    handle = timers.setTimeout(fire, Math.max(0, due - now));
  };

  return {
    push(event) {
      if (cancelled) return;
      if (events.length === 0) firstAt = timers.now();
      // Keep the most recent events only: a storm of writes must not grow memory.
      if (events.length >= MAX_KEPT_EVENTS) events.shift();
      events.push(event);
      schedule();
    },
    flush() {
      if (!cancelled) fire();
    },
    cancel() {
      cancelled = true;
      if (handle !== undefined) timers.clearTimeout(handle);
      handle = undefined;
      events = [];
    },
    get pending() {
      return events.length > 0;
    },
  };
}
