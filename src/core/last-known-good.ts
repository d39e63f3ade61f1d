/**
 * lastKnownGood: every commit's raw candidate persisted atomically (temp file, fsync, rename,
 * directory fsync), so `start()` can come up on the last good state when its source is down.
 * The file holds configuration, so it is written with mode 0600. It also holds the unit's refused
 * hashes (see refusals.ts), so a restart does not commit a quarantined candidate; a file written
 * before refusals existed has none, and reads as an empty set.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Format tag of the file, checked on read. */
export const LKG_FORMAT = 'reloadkit.lastKnownGood/1';

/** What the file holds. `raw` is the candidate before validation (bytes as base64). */
export interface LastKnownGoodRecord {
  format: typeof LKG_FORMAT;
  unit: string;
  hash: string;
  committedAt: number;
  encoding: 'json' | 'base64';
  raw: unknown;
  /** Refused candidate hashes (absent in files written before refusals existed: none). */
  refused?: string[];
}

/**
 * Writes `data` to `path` atomically: a reader sees the old file or the new one, never a torn
 * write, even across a crash.
 *
 * @example
 * ```ts
 * await writeFileAtomic('/var/lib/app/config.lkg.json', JSON.stringify(state));
 * ```
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, { mode = 0o600 }: { mode?: number } = {}): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'w', mode);
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  // Make the rename itself durable; not every platform lets a directory be fsynced.
  try {
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  } catch {}
}

/**
 * Serializes a raw candidate into a record (`undefined` when it has no JSON form).
 *
 * @example
 * ```ts
 * const rec = toRecord('config', 'sha256:…', Date.now(), { port: 1 });
 * ```
 */
export function toRecord(unit: string, hash: string, committedAt: number, raw: unknown, refused: readonly string[] = []): LastKnownGoodRecord {
  const record: LastKnownGoodRecord =
    raw instanceof Uint8Array
      ? { format: LKG_FORMAT, unit, hash, committedAt, encoding: 'base64', raw: Buffer.from(raw).toString('base64') }
      : { format: LKG_FORMAT, unit, hash, committedAt, encoding: 'json', raw };
  if (refused.length > 0) record.refused = [...refused];
  return record;
}

/**
 * Reads the record at `path`; `undefined` when the file does not exist. Throws a `TypeError` on
 * a file that is not a lastKnownGood record for `unit`.
 *
 * @example
 * ```ts
 * const rec = await readLastKnownGood('/var/lib/app/config.lkg.json', 'config');
 * if (rec) console.log(rec.hash);
 * ```
 */
export async function readLastKnownGood(path: string, unit: string): Promise<{ record: LastKnownGoodRecord; raw: unknown; refused: string[] } | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw error;
  }
  let record: LastKnownGoodRecord;
  try {
    record = JSON.parse(text) as LastKnownGoodRecord;
  } catch {
    throw new TypeError(`lastKnownGood file ${path} is not valid JSON`);
  }
  if (record?.format !== LKG_FORMAT) throw new TypeError(`lastKnownGood file ${path} has an unknown format`);
  if (record.unit !== unit) throw new TypeError(`lastKnownGood file ${path} belongs to unit '${String(record.unit)}', not '${unit}'`);
  const raw = record.encoding === 'base64' ? Buffer.from(String(record.raw), 'base64') : record.raw;
  return { record, raw, refused: Array.isArray(record.refused) ? record.refused.filter((h): h is string => typeof h === 'string' && h !== '') : [] };
}

/**
 * A serial writer: at most one write in flight; a write requested meanwhile replaces any queued
 * one, so a burst of commits costs two writes and the file always ends on the latest.
 *
 * @example
 * ```ts
 * const writer = new LastKnownGoodWriter(path, (error) => console.error(error));
 * writer.write(record);
 * await writer.flush();
 * ```
 */
export class LastKnownGoodWriter {
  readonly #path: string;
  readonly #onError: (error: unknown) => void;
  #queued: LastKnownGoodRecord | undefined;
  #running: Promise<void> | undefined;
  /** The latest record written (or read at start): what a change of the refused set rewrites. */
  #last: LastKnownGoodRecord | undefined;

  constructor(path: string, onError: (error: unknown) => void) {
    this.#path = path;
    this.#onError = onError;
  }

  write(record: LastKnownGoodRecord): void {
    this.#last = record;
    this.#queued = record;
    this.#running ??= this.#drain();
  }

  /**
   * Records a committed generation's raw candidate. A raw value with no JSON form fails here,
   * synchronously, and is reported like a failed write: the commit itself is never affected.
   */
  persist(unit: string, gen: { hash: string; committedAt: number }, raw: unknown, refused: readonly string[] = []): void {
    try {
      const record = toRecord(unit, gen.hash, gen.committedAt, raw, refused);
      JSON.stringify(record);
      this.write(record);
    } catch (error) {
      this.#onError(error);
    }
  }

  /** The record read at start: later refused-set changes rewrite it until the next commit. */
  adopt(record: LastKnownGoodRecord): void {
    this.#last ??= record;
  }

  /**
   * The refused set changed without a commit (`clearRefused()`, a failed verify): rewrites the
   * latest record with the new list. Nothing to do before anything was committed or read.
   */
  refused(refused: readonly string[]): void {
    const last = this.#last;
    if (last === undefined) return;
    const record: LastKnownGoodRecord = { ...last };
    if (refused.length > 0) record.refused = [...refused];
    else delete record.refused;
    this.write(record);
  }

  async #drain(): Promise<void> {
    while (this.#queued) {
      const record = this.#queued;
      this.#queued = undefined;
      try {
        await writeFileAtomic(this.#path, JSON.stringify(record));
      } catch (error) {
        this.#onError(error);
      }
    }
    this.#running = undefined;
  }

  /** Resolves once every requested write has finished. */
  async flush(): Promise<void> {
    while (this.#running) await this.#running;
  }
}
