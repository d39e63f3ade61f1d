/**
 * Helpers for the file tests: temporary directories, the Kubernetes atomic writer's update
 * sequence done for real on disk, and an editor-style save.
 */
import { mkdtemp, mkdir, readdir, readlink, rename, rm, symlink, unlink, writeFile, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh directory under os.tmpdir(); `cleanup` removes it. */
export async function tempDir(prefix = 'reloadkit-file-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

let swapSeq = 0;

/**
 * Does what the kubelet's atomic writer does to a ConfigMap/Secret volume: writes the payload into
 * a new `..<timestamp>` directory, points `..data_tmp` at it, renames `..data_tmp` over `..data`,
 * adds a `key -> ..data/key` link for every new key, drops links of removed keys, and deletes the
 * previous timestamped directory (after `removeOldAfterMs`, to model a slow kubelet).
 */
export async function kubeletWrite(dir: string, payload: Record<string, string>, { removeOldAfterMs = 0 } = {}): Promise<void> {
  const stamp = `..${new Date().toISOString().replace(/[-:.TZ]/g, '_')}${process.pid}_${++swapSeq}`;
  const tsDir = join(dir, stamp);
  await mkdir(tsDir);
  for (const [key, value] of Object.entries(payload)) await writeFile(join(tsDir, key), value);
  let previous: string | undefined;
  try {
    previous = await readlink(join(dir, '..data'));
  } catch {
    previous = undefined;
  }
  const tmpLink = join(dir, '..data_tmp');
  await rm(tmpLink, { force: true });
  await symlink(stamp, tmpLink);
  await rename(tmpLink, join(dir, '..data'));
  for (const key of Object.keys(payload)) {
    try {
      await lstat(join(dir, key));
    } catch {
      await symlink(join('..data', key), join(dir, key));
    }
  }
  for (const entry of await readdir(dir)) {
    if (entry.startsWith('.') || entry in payload) continue;
    await unlink(join(dir, entry));
  }
  if (removeOldAfterMs > 0) await new Promise((r) => setTimeout(r, removeOldAfterMs));
  if (previous !== undefined) await rm(join(dir, previous), { recursive: true, force: true });
}

/** The vim-style save: rename the original to a backup, write a new file, delete the backup. */
export async function vimSave(path: string, content: string): Promise<void> {
  await rename(path, `${path}~`);
  await writeFile(path, content);
  await unlink(`${path}~`);
}

/** Write a temp file next to the target, then rename it over the target. */
export async function atomicWrite(path: string, content: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, path);
}
