/**
 * What a file source would read, summed up cheaply: one entry per path (every hop of a symlink
 * chain, a directory's listing). The hint layer compares the fingerprint after each burst of
 * watcher events with the one of its last hint, so a change reported as two bursts (a rename seen
 * as `unlink` then `add`, further apart than the debounce on a loaded machine) is one hint, not two.
 *
 * Metadata is enough when the file was last modified well before we looked. A file modified just
 * now ("racy", as git calls it) could be rewritten within the same timestamp tick at the same
 * size, so its content digest is taken too, and compared the next time.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { lstat, readFile, readlink } from 'node:fs/promises';

/** One path's state. `racy`: modified too recently for its metadata to prove a later equality. */
export interface PathState {
  path: string;
  key: string;
  racy: boolean;
  /** Content digest, taken when the file is racy now or was in the fingerprint compared against. */
  digest?: string;
}

/** The states of every path a source reads, in a stable order. */
export type Fingerprint = readonly PathState[];

/**
 * How recent a modification must be to count as racy, in ms: kernel timestamps move in ticks of a
 * few ms and lag the wall clock by up to a tick; this errs well on the side of a digest.
 */
export const RACY_MARGIN_MS = 100;

/** A listing entry: a directory's relevant names, as one state (no metadata, no digest). */
export function listingState(path: string, names: readonly string[]): PathState {
  return { path, key: `listing:${JSON.stringify([...names].sort())}`, racy: false };
}

function digestOf(buffer: Buffer): string {
  return createHash('sha256').update(buffer).digest('base64');
}

/**
 * The state of one path (never follows its last link: a link's state is its target text).
 * `previous` is the same path's state in the fingerprint this one will be compared with.
 *
 * @example
 * ```ts
 * await pathState('/etc/app/config.json', undefined); // { path, key: 'file:...', racy: false }
 * ```
 */
export async function pathState(path: string, previous: PathState | undefined, nowMs: number = Date.now()): Promise<PathState> {
  let info: Awaited<ReturnType<typeof lstat>> & { mtimeNs: bigint };
  try {
    info = await lstat(path, { bigint: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { path, key: code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : `error:${code ?? 'unknown'}`, racy: false };
  }
  const identity = `${info.dev}:${info.ino}:${info.mode}:${info.uid}:${info.gid}`;
  if (info.isSymbolicLink()) {
    const target = await readlink(path).catch(() => '?');
    return { path, key: `link:${identity}:${target}`, racy: false };
  }
  if (!info.isFile()) return { path, key: `other:${identity}`, racy: false };
  const key = `file:${identity}:${info.size}:${info.mtimeNs}`;
  const racy = info.mtimeNs >= BigInt(Math.floor(nowMs - RACY_MARGIN_MS)) * 1_000_000n;
  if (!racy && !previous?.racy) return { path, key, racy };
  const digest = await readFile(path).then(digestOf, (error: NodeJS.ErrnoException) => `unreadable:${error.code ?? 'unknown'}`);
  return { path, key, racy, digest };
}

/**
 * The fingerprint of `paths`, digests taken where `previous` (the fingerprint it will be compared
 * with) needs them.
 */
export async function fingerprintPaths(paths: readonly string[], previous: Fingerprint | undefined): Promise<PathState[]> {
  const before = new Map(previous?.map((state) => [state.path, state]));
  const now = Date.now();
  return Promise.all(paths.map((path) => pathState(path, before.get(path), now)));
}

/**
 * True when `next` proves nothing changed since `last`: same paths, same metadata, and the same
 * content where `last` was racy. Without a `last`, nothing is proven.
 */
export function sameFingerprint(last: Fingerprint | undefined, next: Fingerprint): boolean {
  if (last === undefined || last.length !== next.length) return false;
  return last.every((a, i) => {
    const b = next[i]!;
    if (a.path !== b.path || a.key !== b.key) return false;
    return !a.racy || (a.digest !== undefined && a.digest === b.digest);
  });
}
