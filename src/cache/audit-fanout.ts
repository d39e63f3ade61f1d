/**
 * The cache's audit trail: one `AuditRecord` (hashes only, never keys or values) sent to every
 * attached sink — the cache's own `audit` option and a registry's. A sink that throws or rejects
 * is reported through `onError` and never fails the cache.
 *
 * @module
 * @internal
 */
import { randomUUID } from 'node:crypto';
import type { AuditRecord, AuditSink } from '../types.js';

/** The fields a caller gives; `id`, `unit`, ISO `startedAt` and `durationMs` are filled in. */
export type AuditFields = Omit<AuditRecord, 'id' | 'unit' | 'startedAt' | 'durationMs'> & { startedAt: number };

const OPTIONAL = ['actor', 'reason', 'from', 'to', 'hash', 'stage', 'error', 'detail'] as const;

/**
 * A set of audit sinks written together.
 *
 * @example
 * ```ts
 * const audit = new AuditFanout('users', () => Date.now(), (e) => console.error(e));
 * const detach = audit.attach((r) => console.log(r.action));
 * audit.write({ action: 'invalidate', trigger: { kind: 'manual' }, startedAt: Date.now(), outcome: 'committed' });
 * detach();
 * ```
 */
export class AuditFanout {
  private readonly sinks = new Set<AuditSink>();

  constructor(
    private readonly unit: string,
    private readonly now: () => number,
    private readonly onError: (error: Error) => void,
  ) {}

  /** Adds a sink; returns the function that removes it. */
  attach(sink: AuditSink): () => void {
    this.sinks.add(sink);
    return () => {
      this.sinks.delete(sink);
    };
  }

  /** Builds one record and hands it to every sink; undefined optional fields are left out. */
  write(fields: AuditFields): void {
    if (this.sinks.size === 0) return;
    const record: AuditRecord = {
      id: randomUUID(),
      unit: this.unit,
      action: fields.action,
      trigger: fields.trigger,
      startedAt: new Date(fields.startedAt).toISOString(),
      durationMs: Math.max(0, this.now() - fields.startedAt),
      outcome: fields.outcome,
    };
    for (const field of OPTIONAL) {
      if (fields[field] !== undefined) (record as unknown as Record<string, unknown>)[field] = fields[field];
    }
    for (const sink of this.sinks) {
      try {
        const pending = typeof sink === 'function' ? sink(record) : sink.write(record);
        if (pending && typeof (pending as Promise<void>).then === 'function') {
          (pending as Promise<void>).then(undefined, (error: unknown) => this.onError(asError(error)));
        }
      } catch (error) {
        this.onError(asError(error));
      }
    }
  }
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
