/**
 * `fileSource(path)`: one file as a unit's source. Reads go through `open()`, so symlinks are
 * resolved at read time (a retargeted link or a Kubernetes `..data` swap is seen whole). Watching
 * goes through the parent directory (see ./watch.ts), so renames over the file, editor saves,
 * deletions and re-creations are all seen.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Hint, Source } from '../types.js';
import { fingerprintPaths } from './fingerprint.js';
import { watchForHints, type HintSource } from './hints.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { checkPath, resolveWatchOptions, type FileWatchOptions } from './options.js';
import { resolveParser } from './parse.js';
import { asReadError } from './read-error.js';
import { changedAtOrAfter, firstComponentBelow, nearestExistingDirectory, symlinkChain, type WatchTarget } from './watch.js';

/** Options of {@link fileSource}. */
export type FileSourceOptions = FileWatchOptions;

/** A {@link Source} backed by one file; `path` is the path as given. */
export interface FileSource<Raw = unknown> extends Source<Raw> {
  readonly path: string;
  watch(hint: (h: Hint) => void): () => Promise<void>;
}

/** The options {@link fileSource} accepts. */
const KNOWN_KEYS: readonly string[] = ['debounceMs', 'maxWaitMs', 'polling', 'parse'];

/**
 * What the hint layer needs to watch one file: the directories to watch, the catch-up check, and
 * the fingerprint of the symlink chain. Internal (tests drive it through `watchForHints`).
 */
export function fileHintSource(path: string): HintSource {
  const absolute = resolve(path);
  const parent = dirname(absolute);
  const name = basename(absolute);
  /** Parent directory (or its nearest existing ancestor), plus the real file's directory. */
  const plan = async (): Promise<WatchTarget[]> => {
    const existing = await nearestExistingDirectory(parent);
    if (existing !== parent) {
      const next = firstComponentBelow(existing, parent);
      return [{ dir: existing, relevant: (entry) => entry === next }];
    }
    const chain = await symlinkChain(absolute);
    // Names in the parent the chain goes *through* (`..data`, a `current` link...). The real
    // file's own directory is left out: the kubelet deletes the previous `..<timestamp>` directory
    // after each swap, and that must not restart the quiet period. In-place writes to the real
    // file are seen by the second target below.
    const inParent = new Set<string>([name]);
    for (const hop of chain.slice(0, -1)) {
      const first = firstComponentBelow(parent, hop);
      if (first !== undefined) inParent.add(first);
    }
    const real = chain[chain.length - 1];
    // A link to a sibling (`config.json -> config.v2.json`): in-place writes to the sibling matter.
    if (real !== undefined && dirname(real) === parent) inParent.add(basename(real));
    const targets: WatchTarget[] = [{ dir: parent, relevant: (entry) => inParent.has(entry) }];
    if (chain.length > 1 && real !== undefined) {
      const realDir = dirname(real);
      const realName = basename(real);
      // A link into another directory: in-place writes to the target happen there. Not the
      // kubelet's `..<timestamp>` directories: they are immutable, and watching one would turn
      // its deletion after each swap into a late event.
      const kubeletDir = firstComponentBelow(parent, real)?.startsWith('..') ?? false;
      if (realDir !== parent && !kubeletDir) targets.push({ dir: realDir, relevant: (entry) => entry === realName });
    }
    return targets;
  };

  /** The parent's ctime moves on any create, delete or rename in it; the chain covers the rest. */
  const changedSince = async (since: number): Promise<boolean> => changedAtOrAfter([parent, ...(await symlinkChain(absolute))], since);

  /** Every hop from the path to the real file: a retargeted link or a `..data` swap moves one. */
  const fingerprint = async (previous: Parameters<typeof fingerprintPaths>[1]) => fingerprintPaths(await symlinkChain(absolute), previous);

  return { detail: path, plan, changedSince, fingerprint };
}

/**
 * A source that reads one file and hints the unit whenever it may have changed.
 *
 * @param path the file; relative paths resolve against `process.cwd()` at creation.
 * @param options `parse` (default: JSON for `.json`, text otherwise), `debounceMs` (100),
 *   `maxWaitMs` (1000), `polling` (`false`, `true` or `{ intervalMs }`).
 *
 * @example
 * ```ts
 * import { reloadable } from 'reloadkit';
 * import { fileSource } from 'reloadkit/file';
 * const config = reloadable({ name: 'config', source: fileSource('config.json'), schema: ConfigSchema });
 * await config.start();
 * ```
 */
export function fileSource<Raw = unknown>(path: string, options: FileSourceOptions = {}): FileSource<Raw> {
  checkPath(path, 'fileSource');
  if (typeof options === 'object' && options !== null) rejectUnknownKeys('fileSource', options, KNOWN_KEYS);
  const watchOptions = resolveWatchOptions(options, 'fileSource');
  const parse = resolveParser(options.parse, path);
  const absolute = resolve(path);
  const hints = fileHintSource(path);
  let everRead = false;

  return {
    path,
    describe: () => `file ${path}`,
    async read({ signal }) {
      signal?.throwIfAborted();
      let buffer: Buffer;
      try {
        buffer = await readFile(absolute, { signal });
      } catch (error) {
        // Missing before it was ever read (a wrong path at start) or unreadable: retrying cannot
        // help. Missing later is an editor or writer mid-save: transient.
        throw asReadError(error, path, undefined, { missingIsPermanent: !everRead });
      }
      everRead = true;
      signal?.throwIfAborted();
      return (await parse(buffer, path)) as Raw;
    },
    watch(hint) {
      return watchForHints(hints, watchOptions, hint);
    },
  };
}
