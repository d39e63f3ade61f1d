/**
 * Options shared by `fileSource` and `directorySource`, and their validation: invalid options are
 * a precise `TypeError` at construction, never a surprise at the first reload.
 *
 * @module
 */
import { describeValue } from '../support/describe-value.js';
import type { ParseOption } from './parse.js';
import type { PollingMode } from './watch.js';

/** Options common to every file-backed source. */
export interface FileWatchOptions {
  /** Quiet period after the last filesystem event before the unit is hinted, in ms. Default 100. */
  debounceMs?: number;
  /** Longest delay after the first event of a burst, in ms. Default `max(1000, debounceMs)`. */
  maxWaitMs?: number;
  /**
   * Poll instead of native events (NFS, SMB, some container volumes). `true` polls every 500 ms;
   * `{ intervalMs }` chooses the period. Default `false`.
   */
  polling?: boolean | { intervalMs?: number };
  /** How to turn bytes into the raw candidate. Default: JSON for `.json`, text otherwise. */
  parse?: ParseOption;
}

/** Validated, defaulted options. */
export interface ResolvedWatchOptions {
  debounceMs: number;
  maxWaitMs: number;
  polling: PollingMode;
}

export const DEFAULT_DEBOUNCE_MS = 100;
export const DEFAULT_MAX_WAIT_MS = 1000;
export const DEFAULT_POLL_INTERVAL_MS = 500;

function checkMs(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`Expected \`${name}\` to be a non-negative finite number of milliseconds, got ${describeValue(value)}`);
  }
  return value;
}

/**
 * Validates the shared options of a file source. Throws a `TypeError` naming the bad option.
 *
 * @example
 * ```ts
 * resolveWatchOptions({ debounceMs: 50 }); // { debounceMs: 50, maxWaitMs: 1000, polling: false }
 * resolveWatchOptions({ debounceMs: -1 }); // TypeError: Expected `debounceMs` to be ...
 * ```
 */
export function resolveWatchOptions(options: FileWatchOptions | undefined, what: string): ResolvedWatchOptions {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new TypeError(`Expected the options of ${what} to be an object, got ${describeValue(options)}`);
  }
  const debounceMs = checkMs('debounceMs', options?.debounceMs) ?? DEFAULT_DEBOUNCE_MS;
  const maxWaitMs = checkMs('maxWaitMs', options?.maxWaitMs) ?? Math.max(DEFAULT_MAX_WAIT_MS, debounceMs);
  if (maxWaitMs < debounceMs) {
    throw new TypeError(`Expected \`maxWaitMs\` (${maxWaitMs}) to be at least \`debounceMs\` (${debounceMs})`);
  }
  const parse = options?.parse;
  if (parse !== undefined && typeof parse !== 'function' && parse !== 'json' && parse !== 'text' && parse !== 'buffer') {
    throw new TypeError(`Expected \`parse\` to be 'json', 'text', 'buffer' or a function, got ${describeValue(parse)}`);
  }
  const raw = options?.polling ?? false;
  let polling: PollingMode;
  if (raw === false) polling = false;
  else if (raw === true) polling = { intervalMs: DEFAULT_POLL_INTERVAL_MS };
  else if (typeof raw === 'object' && raw !== null) {
    const intervalMs = checkMs('polling.intervalMs', raw.intervalMs) ?? DEFAULT_POLL_INTERVAL_MS;
    if (intervalMs < 1) throw new TypeError(`Expected \`polling.intervalMs\` to be at least 1, got ${intervalMs}`);
    polling = { intervalMs };
  } else {
    throw new TypeError(`Expected \`polling\` to be a boolean or { intervalMs }, got ${describeValue(raw)}`);
  }
  return { debounceMs, maxWaitMs, polling };
}

/**
 * Checks a path argument. Throws a `TypeError` for anything but a non-empty string.
 *
 * @example
 * ```ts
 * checkPath('config.json', 'fileSource'); // ok
 * ```
 */
export function checkPath(path: unknown, what: string): asserts path is string {
  if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) {
    throw new TypeError(`Expected the path given to ${what} to be a non-empty string, got ${describeValue(path)}`);
  }
}
