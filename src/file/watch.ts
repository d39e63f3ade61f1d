/**
 * Watching directories, never files: editors and atomic writers replace a file by renaming another
 * over it, which silently kills a watch on the file itself. We watch the parent directory with
 * chokidar at depth 0 and treat every relevant event as a hint.
 *
 * The set of watched directories is a *plan* recomputed on every flush and on a slow safety timer:
 * when the parent directory disappears we fall back to its nearest existing ancestor and come back
 * when it reappears; when the file is a symlink into another directory we watch that one too.
 * Whenever the set changes, a hint is sent once the new watchers are ready, because anything may
 * have happened while nobody was watching.
 *
 * @module
 */
import { lstat, readlink, realpath, stat } from 'node:fs/promises';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import { watch as chokidarWatch, type FSWatcher } from 'chokidar';

/** One directory to watch and which entry names in it matter. */
export interface WatchTarget {
  dir: string;
  relevant(name: string): boolean;
}

/** Polling settings: `false` for native events (inotify, FSEvents), or a poll interval. */
export type PollingMode = false | { intervalMs: number };

/** Options of {@link createDirectoryWatch}. */
export interface DirectoryWatchOptions {
  /** Which directories to watch right now (called again on every `replan()`). */
  plan(): Promise<WatchTarget[]>;
  polling: PollingMode;
  /** A relevant event, or `rearm` after the watched set changed. `detail` is a path or a reason. */
  onEvent(detail: string): void;
  /** A watcher error that is not simply "the directory went away". Never fatal. */
  onError(error: Error): void;
  /** Safety-net period for re-planning even without events, in ms (default 1000). */
  recheckMs?: number;
  /**
   * Whether anything the source reads changed since `sinceMs` (epoch ms, compared with ctimes).
   * Asked once the first watchers are ready: a change between `watch()` and readiness had no
   * watcher to see it, so it becomes a hint. Default: assume it did.
   */
  changedSince?(sinceMs: number): Promise<boolean>;
}

/** ctime granularity and clock skew between the kernel and Date.now(): err on the side of a hint. */
const CHANGED_SINCE_MARGIN_MS = 100;

/** A running set of directory watchers. */
export interface DirectoryWatch {
  /** Recomputes the plan; coalesces concurrent calls. */
  replan(): void;
  /** Resolves once the first plan is applied and its watchers are ready. */
  readonly ready: Promise<void>;
  /** The directories being watched now (for tests and status). */
  watched(): string[];
  /** Closes every watcher and timer. Idempotent. */
  close(): Promise<void>;
}

/** Poll period used when native watching fails for lack of inotify watches or descriptors. */
const FALLBACK_POLL_INTERVAL_MS = 1000;

/** Longest wait for a new watcher's first scan before treating it as ready anyway. */
const READY_TIMEOUT_MS = 5000;

interface ActiveWatcher {
  target: WatchTarget;
  fsw: FSWatcher;
  ready: Promise<void>;
  /** `dev:ino` of the directory when the watch was opened (undefined if it could not be read). */
  identity: string | undefined;
}

/** `dev:ino` of a directory: a watch follows an inode, so a directory swapped by rename needs a new one. */
async function directoryIdentity(dir: string): Promise<string | undefined> {
  try {
    const info = await stat(dir);
    return `${info.dev}:${info.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * Starts watching the directories returned by `options.plan()`.
 *
 * @example
 * ```ts
 * const w = createDirectoryWatch({
 *   plan: async () => [{ dir: '/etc/app', relevant: (name) => name === 'config.json' }],
 *   polling: false,
 *   onEvent: (detail) => console.log('maybe changed:', detail),
 *   onError: (error) => console.warn(error.message),
 * });
 * await w.ready;
 * // later
 * await w.close();
 * ```
 */
export function createDirectoryWatch(options: DirectoryWatchOptions): DirectoryWatch {
  const { onEvent, onError, recheckMs = 1000 } = options;
  let polling = options.polling;
  const startedAt = Date.now();
  const active = new Map<string, ActiveWatcher>();
  let closed = false;
  let running: Promise<void> | undefined;
  let again = false;
  let firstPlanDone = false;
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));

  const open = (target: WatchTarget): ActiveWatcher => {
    // Declared before the watcher so `ignored` can read the live target after a re-plan.
    const entry = { target } as ActiveWatcher;
    const fsw = chokidarWatch(target.dir, {
      depth: 0,
      ignoreInitial: true,
      // Symlinks are reported as entries, so a `..data` swap or a retargeted link is an event.
      followSymlinks: false,
      // Every event is only a hint and we debounce ourselves: no extra 100 ms unlink delay.
      atomic: false,
      persistent: true,
      ignorePermissionErrors: true,
      // Irrelevant entries get no per-file watcher (an ancestor like /tmp may hold thousands);
      // the directory's own watcher still reports them as raw events, filtered below.
      ignored: (path: string) => resolve(path) !== target.dir && !entry.target.relevant(basename(path)),
      usePolling: polling !== false,
      ...(polling !== false ? { interval: polling.intervalMs, binaryInterval: polling.intervalMs } : {}),
    });
    entry.fsw = fsw;
    /**
     * Turns one event into a hint when it concerns a relevant entry. `fromRaw`: a raw event on
     * the directory itself only says "its listing changed" (polling reports every entry change
     * that way); chokidar follows with a precise event, so we only re-plan.
     */
    const consider = (path: string | undefined, fromRaw: boolean): void => {
      if (closed) return;
      if (path === undefined || path === '') {
        onEvent(target.dir);
        return;
      }
      const full = resolve(target.dir, path);
      if (full === target.dir || !full.startsWith(target.dir)) {
        // The directory itself (removed, renamed, permissions changed): re-plan, and hint on a
        // precise event, since the plan may now point elsewhere.
        if (!fromRaw) onEvent(target.dir);
        api.replan();
        return;
      }
      if (entry.target.relevant(basename(full))) onEvent(full);
    };
    fsw.on('all', (_event, path) => consider(path, false));
    // Raw events catch what chokidar's own throttles and mtime checks may fold away.
    fsw.on('raw', (_event, path, details) => {
      const watchedPath = (details as { watchedPath?: string } | undefined)?.watchedPath;
      if (watchedPath !== undefined && resolve(watchedPath) !== target.dir) {
        // A per-file watcher inside the directory: the file is the watched path itself.
        consider(watchedPath, true);
        return;
      }
      consider(typeof path === 'string' ? path : undefined, true);
    });
    fsw.on('error', (error) => {
      if (closed) return;
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === 'ENOSPC' || code === 'EMFILE') && polling === false) {
        fallBackToPolling(target.dir, code);
        return;
      }
      if (code === 'ENOENT' || code === 'EPERM' || code === 'EACCES' || code === 'ENOTDIR') {
        // The directory went away or became unreadable: a re-plan moves to what still exists.
        onEvent(target.dir);
        api.replan();
        return;
      }
      onError(error instanceof Error ? error : new Error(String(error)));
    });
    // A directory removed while chokidar scans it may never report ready: do not wait forever.
    entry.ready = new Promise<void>((r) => {
      const fallback = setTimeout(r, READY_TIMEOUT_MS);
      fallback.unref();
      fsw.once('ready', () => {
        clearTimeout(fallback);
        r();
      });
    });
    return entry;
  };

  /**
   * Out of inotify watches (ENOSPC) or file descriptors (EMFILE): a source that silently stops
   * watching is the worst outcome, so reopen every watcher in polling mode and say so once.
   */
  const fallBackToPolling = (dir: string, code: string): void => {
    polling = { intervalMs: FALLBACK_POLL_INTERVAL_MS };
    process.emitWarning(
      `reloadkit/file: cannot watch ${dir} natively (${code}: ${code === 'ENOSPC' ? 'the inotify watch limit is reached, see fs.inotify.max_user_watches' : 'too many open files'}); polling every ${FALLBACK_POLL_INTERVAL_MS} ms instead`,
      { code: 'RELOADKIT_FILE_POLLING_FALLBACK' },
    );
    const stale = [...active.values()];
    active.clear();
    for (const watcher of stale) void watcher.fsw.close().catch(() => undefined);
    onEvent(dir);
    api.replan();
  };

  const apply = async (): Promise<void> => {
    let desired: WatchTarget[];
    try {
      desired = await options.plan();
    } catch (error) {
      if (!closed) onError(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (closed) return;
    const wanted = new Map(desired.map((t) => [t.dir, t]));
    const identities = new Map(await Promise.all([...wanted.keys()].map(async (dir) => [dir, await directoryIdentity(dir)] as const)));
    if (closed) return;
    let changed = false;
    const closing: Promise<void>[] = [];
    for (const [dir, watcher] of active) {
      // Still wanted and still the same directory (not one renamed into its place): keep it.
      if (wanted.has(dir) && watcher.identity === identities.get(dir)) continue;
      active.delete(dir);
      closing.push(watcher.fsw.close());
      changed = true;
    }
    const opening: Promise<void>[] = [];
    for (const [dir, target] of wanted) {
      const existing = active.get(dir);
      if (existing) {
        existing.target = target;
        continue;
      }
      const watcher = open(target);
      watcher.identity = identities.get(dir);
      active.set(dir, watcher);
      opening.push(watcher.ready);
      changed = true;
    }
    await Promise.all([...closing.map((p) => p.catch(() => undefined)), ...opening]);
    if (closed) return;
    if (!firstPlanDone) {
      firstPlanDone = true;
      // Between watch() and readiness nobody watched: if anything changed then, re-read.
      const changed = options.changedSince ? await options.changedSince(startedAt - CHANGED_SINCE_MARGIN_MS).catch(() => true) : true;
      resolveReady();
      if (changed && !closed) onEvent('ready');
    } else if (changed) {
      onEvent('rearm');
    }
  };

  const timer = setInterval(() => api.replan(), recheckMs);
  timer.unref();

  const api: DirectoryWatch = {
    replan() {
      if (closed) return;
      if (running) {
        again = true;
        return;
      }
      running = (async () => {
        do {
          again = false;
          await apply();
        } while (again && !closed);
      })().finally(() => {
        running = undefined;
      });
    },
    ready,
    watched: () => [...active.keys()],
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      resolveReady();
      // Wait for an in-flight plan so a watcher it opens is closed too.
      await running?.catch(() => undefined);
      const all = [...active.values()];
      active.clear();
      await Promise.all(all.map((w) => w.fsw.close().catch(() => undefined)));
    },
  };
  api.replan();
  return api;
}

/**
 * True when any of `paths` (not following the last link) has a ctime at or after `sinceMs`, or
 * cannot be examined for a reason other than being absent.
 *
 * @example
 * ```ts
 * await changedAtOrAfter(['/etc/app', '/etc/app/config.json'], Date.now() - 1000);
 * ```
 */
export async function changedAtOrAfter(paths: Iterable<string>, sinceMs: number): Promise<boolean> {
  for (const path of paths) {
    try {
      if ((await lstat(path)).ctimeMs >= sinceMs) return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return true;
    }
  }
  return false;
}

/**
 * The nearest existing directory at or above `dir`.
 *
 * @example
 * ```ts
 * await nearestExistingDirectory('/tmp/does/not/exist'); // '/tmp'
 * ```
 */
export async function nearestExistingDirectory(dir: string): Promise<string> {
  let current = resolve(dir);
  for (;;) {
    try {
      if ((await stat(current)).isDirectory()) return current;
    } catch {
      // missing or unreadable: go up
    }
    const parent = dirname(current);
    if (parent === current) return current;
    current = parent;
  }
}

/**
 * The first path component of `child` below `ancestor` (`'b'` for `/a` and `/a/b/c`), or undefined.
 *
 * @example
 * ```ts
 * firstComponentBelow('/etc/config', '/etc/config/..data/key'); // '..data'
 * ```
 */
export function firstComponentBelow(ancestor: string, child: string): string | undefined {
  const rel = relative(ancestor, child);
  if (rel === '' || rel.startsWith('..' + sep) || rel === '..' || resolve(ancestor, rel) !== resolve(child)) return undefined;
  return rel.split(sep)[0];
}

/**
 * Follows a symlink chain from `path` (up to 32 hops) and returns every path visited, the
 * last one being the real file's path when it exists. Never throws.
 *
 * @example
 * ```ts
 * await symlinkChain('/etc/config/key'); // ['/etc/config/key', '/etc/config/..data/key', '/etc/config/..2026_11_27/key']
 * ```
 */
export async function symlinkChain(path: string): Promise<string[]> {
  const chain = [resolve(path)];
  let current = chain[0] as string;
  for (let hop = 0; hop < 32; hop++) {
    try {
      const info = await lstat(current);
      if (!info.isSymbolicLink()) break;
      current = resolve(dirname(current), await readlink(current));
      chain.push(current);
    } catch {
      break;
    }
  }
  try {
    const real = await realpath(path);
    if (chain[chain.length - 1] !== real) chain.push(real);
  } catch {
    // dangling or missing: the chain so far is all we know
  }
  return chain;
}
