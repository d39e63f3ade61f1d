/**
 * `jsonlAudit(path)`: an audit sink that appends one JSON line per record to a file.
 *
 * Writes never block the reload pipeline: `write()` only queues the line; a background loop
 * appends queued lines in batches, in order. A failed append is reported — through the `onError`
 * callback, the sink's `error` events, and the promise `write()` returns (which a unit turns into
 * its own `error` event) — and the batch is dropped, so a full disk cannot stall reloads.
 *
 * @module
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { EventEmitter } from 'eventemitter3';
import type { AuditRecord } from '../types.js';
import { describeValue } from '../support/describe-value.js';

/** Options of `jsonlAudit`. */
export interface JsonlAuditOptions {
  /** Called with every write error (in addition to `error` events). */
  onError?: (error: Error) => void;
  /** Lines queued beyond this are dropped (and reported) rather than held in memory. Default 10,000. */
  maxPending?: number;
  /** File mode when the file is created. Default 0o640: audit trails are not world-readable. */
  mode?: number;
}

/** Events of a `jsonlAudit` sink. */
export interface JsonlAuditEvents {
  error: [{ error: Error; where: 'audit'; path: string; dropped: number }];
}

/** The sink returned by `jsonlAudit`: pass it as `audit` to `reloadable()` or `createRegistry()`. */
export interface JsonlAudit extends EventEmitter<JsonlAuditEvents> {
  readonly path: string;
  /**
   * Queues one record and returns at once. The promise settles when the line is on disk; it
   * rejects if the record was dropped. It never needs awaiting (a rejection left unobserved is
   * not an unhandled rejection): the pipeline does not wait for the disk.
   */
  write(record: AuditRecord): Promise<void>;
  /** Resolves when every record queued so far is on disk (or its write failed and was reported). */
  flush(): Promise<void>;
  /** Flushes, then ignores further writes. Idempotent. */
  close(): Promise<void>;
  /** Records written and dropped so far, and still queued. */
  readonly stats: { written: number; dropped: number; pending: number };
}

/** The fields an audit line may carry: anything else a caller attaches is left out. */
const FIELDS = ['id', 'unit', 'action', 'trigger', 'actor', 'reason', 'startedAt', 'durationMs', 'outcome', 'from', 'to', 'hash', 'stage', 'error', 'detail', 'changedPaths', 'forced'] as const;

/**
 * Serializes an audit record to one JSON line, keeping only the documented fields; `error` is
 * reduced to `{ code, message }` and `trigger` to `{ kind, detail }`, so no payload can leak.
 *
 * @example
 * ```ts
 * auditLine({ id: 'a1', unit: 'config', action: 'reload', trigger: { kind: 'manual' }, startedAt, durationMs: 3, outcome: 'unchanged' });
 * // '{"id":"a1","unit":"config","action":"reload",...}\n'
 * ```
 */
export function auditLine(record: AuditRecord): string {
  const out: Record<string, unknown> = {};
  for (const key of FIELDS) {
    const value = record[key];
    if (value === undefined) continue;
    if (key === 'error') {
      const e = value as { code?: unknown; message?: unknown };
      out.error = { code: String(e.code ?? 'RELOADKIT_UNKNOWN'), message: String(e.message ?? '') };
    } else if (key === 'trigger') {
      const t = value as { kind?: unknown; detail?: unknown };
      out.trigger = t.detail === undefined ? { kind: String(t.kind) } : { kind: String(t.kind), detail: String(t.detail) };
    } else if (key === 'changedPaths') {
      // Paths only: whatever else a caller put there is reduced to strings.
      if (Array.isArray(value)) out.changedPaths = value.map(String);
    } else if (key === 'forced') {
      if (value === true) out.forced = true;
    } else {
      out[key] = value;
    }
  }
  return `${JSON.stringify(out)}\n`;
}

interface Queued {
  line: string;
  resolve(): void;
  reject(error: Error): void;
}

/**
 * An audit sink appending one JSON line per record to `path` (created with its directory).
 *
 * @throws {TypeError} for an empty path or invalid options.
 * @example
 * ```ts
 * import { createRegistry, jsonlAudit } from 'reloadkit';
 * const audit = jsonlAudit('/var/log/myapp/reloads.jsonl', { onError: (e) => log.warn(e.message) });
 * const registry = createRegistry({ audit });
 * // ... on shutdown
 * await registry.close();
 * await audit.close();
 * ```
 */
export function jsonlAudit(path: string, options: JsonlAuditOptions = {}): JsonlAudit {
  if (typeof path !== 'string' || path.trim() === '') {
    throw new TypeError(`jsonlAudit: expected \`path\` to be a non-empty string, got ${describeValue(path)}`);
  }
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`jsonlAudit: expected \`options\` to be an object, got ${describeValue(options)}`);
  }
  const { onError, maxPending = 10_000, mode = 0o640 } = options;
  if (onError !== undefined && typeof onError !== 'function') {
    throw new TypeError(`jsonlAudit: expected \`onError\` to be a function, got ${describeValue(onError)}`);
  }
  if (!Number.isInteger(maxPending) || maxPending < 1) {
    throw new TypeError(`jsonlAudit: expected \`maxPending\` to be a positive integer, got ${describeValue(maxPending)}`);
  }
  if (!Number.isInteger(mode) || mode < 0) {
    throw new TypeError(`jsonlAudit: expected \`mode\` to be a file mode such as 0o640, got ${describeValue(mode)}`);
  }

  const sink = new EventEmitter<JsonlAuditEvents>() as JsonlAudit;
  let pending: Queued[] = [];
  let loop: Promise<void> | undefined;
  let closed = false;
  let dirReady = false;
  let overflowReported = false;
  const counts = { written: 0, dropped: 0 };

  const report = (error: Error, dropped: number): void => {
    counts.dropped += dropped;
    try {
      onError?.(error);
    } catch {
      // A throwing error callback must not break the writer loop.
    }
    try {
      sink.emit('error', { error, where: 'audit', path, dropped });
    } catch {}
  };

  const writeBatches = async (): Promise<void> => {
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      try {
        if (!dirReady) {
          await mkdir(dirname(path), { recursive: true });
          dirReady = true;
        }
        await appendFile(path, batch.map((q) => q.line).join(''), { mode });
        counts.written += batch.length;
        for (const q of batch) q.resolve();
      } catch (cause) {
        const message = cause instanceof Error ? cause.message : String(cause);
        const error = new Error(`[audit] could not append ${batch.length} record(s) to ${path}: ${message}`, { cause });
        report(error, batch.length);
        for (const q of batch) q.reject(error);
      }
    }
  };

  const ensureLoop = (deferred: boolean): Promise<void> => {
    // Start on a later tick: the pipeline that called write() is never delayed by the disk.
    loop ??= (deferred ? new Promise<void>((resolve) => setImmediate(resolve)).then(writeBatches) : writeBatches()).finally(() => {
      loop = undefined;
    });
    return loop;
  };

  const settled = (promise: Promise<void>): Promise<void> => {
    // Observed here, so nobody is forced to await write(); callers still see the rejection.
    promise.catch(() => {});
    return promise;
  };

  Object.defineProperties(sink, {
    path: { value: path, enumerable: true },
    stats: { get: () => ({ ...counts, pending: pending.length }), enumerable: true },
  });

  sink.write = (record: AuditRecord): Promise<void> => {
    if (closed) return settled(Promise.reject(new Error(`[audit] ${path} is closed`)));
    let line: string;
    try {
      line = auditLine(record);
    } catch (cause) {
      const error = new Error(`[audit] could not serialize a record of unit ${String(record?.unit)}: ${(cause as Error).message}`);
      report(error, 1);
      return settled(Promise.reject(error));
    }
    if (pending.length >= maxPending) {
      counts.dropped += 1;
      const error = new Error(`[audit] more than ${maxPending} records waiting for ${path}: dropping records until the file catches up`);
      if (!overflowReported) {
        overflowReported = true;
        report(error, 0);
      }
      return settled(Promise.reject(error));
    }
    overflowReported = false;
    const written = new Promise<void>((resolve, reject) => pending.push({ line, resolve, reject }));
    void ensureLoop(true);
    return settled(written);
  };

  sink.flush = async (): Promise<void> => {
    // Lines may be queued while a batch is being written: loop until idle.
    while (loop || pending.length > 0) await (loop ?? ensureLoop(false));
  };

  sink.close = async (): Promise<void> => {
    closed = true;
    await sink.flush();
  };
  return sink;
}
