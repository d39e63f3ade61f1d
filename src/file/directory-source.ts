/**
 * `directorySource(dir)`: a directory of one file per key read as one object — the shape of a
 * Kubernetes ConfigMap or Secret volume. The kubelet updates such a volume atomically: it writes a
 * new `..<timestamp>` directory, points a `..data_tmp` symlink at it and renames that over
 * `..data`; the visible keys are symlinks through `..data`. We resolve `..data` once per read and
 * read every key from that one concrete directory, so a reader never sees a mix of old and new keys.
 *
 * @module
 */
import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Hint, Source } from '../types.js';
import { fingerprintPaths, listingState, type Fingerprint } from './fingerprint.js';
import { watchForHints } from './hints.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { checkPath, resolveWatchOptions, type FileWatchOptions } from './options.js';
import { resolveParser, type ParseOption } from './parse.js';
import { asReadError } from './read-error.js';
import { changedAtOrAfter, firstComponentBelow, nearestExistingDirectory, symlinkChain, type WatchTarget } from './watch.js';

/** Options of {@link directorySource}. `parse` applies to each key's file. */
export type DirectorySourceOptions = FileWatchOptions;

/** A {@link Source} backed by a directory; `dir` is the path as given. */
export interface DirectorySource<Raw = Record<string, unknown>> extends Source<Raw> {
  readonly dir: string;
  watch(hint: (h: Hint) => void): () => Promise<void>;
}

/** The options {@link directorySource} accepts. */
const KNOWN_KEYS: readonly string[] = ['debounceMs', 'maxWaitMs', 'polling', 'parse'];

/** The kubelet's pointer to the live timestamped directory. */
const DATA_LINK = '..data';
/** How many times a read restarts when the kubelet swaps `..data` under it. */
const SWAP_RETRIES = 3;

/**
 * A source that reads every file of `dir` into one object, `{ [fileName]: parsedContent }`, keys
 * sorted. Dotfiles and `..` entries, subdirectories and non-regular files are ignored.
 *
 * @param dir the mounted directory (e.g. `/etc/config`).
 * @param options `parse` for each file (default: JSON for `*.json` keys, text otherwise),
 *   `debounceMs`, `maxWaitMs`, `polling` as for `fileSource`.
 *
 * @example
 * ```ts
 * import { reloadable } from 'reloadkit';
 * import { directorySource } from 'reloadkit/file';
 * // A ConfigMap { LOG_LEVEL: "info", "limits.json": "{\"rps\": 50}" } mounted at /etc/config:
 * const settings = reloadable({ name: 'settings', source: directorySource('/etc/config') });
 * await settings.start();
 * settings.get(); // { LOG_LEVEL: 'info', 'limits.json': { rps: 50 } }
 * ```
 */
export function directorySource<Raw = Record<string, unknown>>(dir: string, options: DirectorySourceOptions = {}): DirectorySource<Raw> {
  checkPath(dir, 'directorySource');
  if (typeof options === 'object' && options !== null) rejectUnknownKeys('directorySource', options, KNOWN_KEYS);
  const watchOptions = resolveWatchOptions(options, 'directorySource');
  const parseOption: ParseOption | undefined = options.parse;
  const absolute = resolve(dir);
  let everRead = false;
  /**
   * A read failure; permanent (no retry) when unreadable, or missing before it was ever read (a
   * wrong path at start). Missing later is a volume being remounted: transient.
   */
  const readError = (error: unknown, path: string): unknown => asReadError(error, path, undefined, { missingIsPermanent: !everRead });

  /** The directory holding the current keys: `..data`'s target when present, else `dir` itself. */
  const currentRoot = async (): Promise<{ root: string; swapped: boolean }> => {
    const link = join(absolute, DATA_LINK);
    try {
      await lstat(link);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        await stat(absolute).catch((e: unknown) => {
          throw readError(e, dir);
        });
        return { root: absolute, swapped: false };
      }
      throw readError(error, dir);
    }
    try {
      return { root: await realpath(link), swapped: true };
    } catch (error) {
      throw readError(error, join(dir, DATA_LINK));
    }
  };

  const readKeys = async (root: string, signal: AbortSignal | undefined): Promise<Record<string, unknown>> => {
    const entries = await readdir(root);
    const keys = entries.filter((entry) => !entry.startsWith('.')).sort();
    const pairs: [string, unknown][] = [];
    for (const key of keys) {
      signal?.throwIfAborted();
      const file = join(root, key);
      const info = await stat(file).catch((error: unknown) => {
        // A dangling link is not a key; anything else is a real failure.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' && root === absolute) return undefined;
        throw error;
      });
      if (!info?.isFile()) continue;
      const buffer = await readFile(file, { signal });
      const displayPath = join(dir, key);
      pairs.push([key, await resolveParser(parseOption, key)(buffer, displayPath)]);
    }
    // fromEntries defines own properties: a key named `__proto__` stays a plain key.
    return Object.fromEntries(pairs);
  };

  const plan = async (): Promise<WatchTarget[]> => {
    const existing = await nearestExistingDirectory(absolute);
    if (existing !== absolute) {
      const next = firstComponentBelow(existing, absolute);
      return [{ dir: existing, relevant: (entry) => entry === next }];
    }
    // Keys and the `..data` link matter; the kubelet's `..<timestamp>` directories and
    // `..data_tmp` come and go around each swap and would only stretch the quiet period.
    return [{ dir: absolute, relevant: (entry) => entry === DATA_LINK || !entry.startsWith('.') }];
  };

  /** Whether the volume changed since `since` (the window before the watcher was ready). */
  const changedSince = async (since: number): Promise<boolean> => {
    const entries = await readdir(absolute).catch(() => [] as string[]);
    const paths = [absolute, ...entries.map((entry) => join(absolute, entry))];
    const current = await currentRoot().catch(() => undefined);
    if (current?.swapped) paths.push(current.root, ...entries.filter((e) => !e.startsWith('.')).map((e) => join(current.root, e)));
    return changedAtOrAfter(paths, since);
  };

  /** The relevant names (keys and `..data`) and every hop from each to its real file. */
  const fingerprint = async (previous: Fingerprint | undefined): Promise<Fingerprint> => {
    let names: string[];
    try {
      names = (await readdir(absolute)).filter((entry) => entry === DATA_LINK || !entry.startsWith('.')).sort();
    } catch (error) {
      return [listingState(absolute, [`error:${(error as NodeJS.ErrnoException).code ?? 'unknown'}`])];
    }
    const chains = await Promise.all(names.map((name) => symlinkChain(join(absolute, name))));
    return [listingState(absolute, names), ...(await fingerprintPaths(chains.flat(), previous))];
  };

  return {
    dir,
    describe: () => `directory ${dir}`,
    async read({ signal }) {
      for (let attempt = 0; ; attempt++) {
        signal?.throwIfAborted();
        const { root, swapped } = await currentRoot();
        try {
          const keys = (await readKeys(root, signal)) as Raw;
          everRead = true;
          return keys;
        } catch (error) {
          // The kubelet removed the old timestamped directory while we read it: start over on
          // the new one rather than report a half-read.
          const code = (error as NodeJS.ErrnoException).code;
          if (swapped && code === 'ENOENT' && attempt < SWAP_RETRIES) continue;
          throw readError(error, dir);
        }
      }
    },
    watch(hint) {
      return watchForHints({ detail: dir, plan, changedSince, fingerprint }, watchOptions, hint);
    },
  };
}
