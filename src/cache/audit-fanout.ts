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
import { AuditFanout } from '../core/audit.js';

/** The fields a caller gives; `id`, `unit`, ISO `startedAt` and `durationMs` are filled in. */
export type AuditFields = Omit<AuditRecord, 'id' | 'unit' | 'startedAt' | 'durationMs'> & { startedAt: number };

const OPTIONAL = ['actor', 'reason', 'from', 'to', 'hash', 'stage', 'error', 'detail'] as const;

/**
 * The cache's record builder on top of the core's audit fan-out (`src/audit.ts`), which owns
 * delivery: every sink gets the record, and a sink that throws or rejects is reported, never
 * propagated.
 *
 * @example
 * ```ts
 * const audit = new CacheAudit('users', () => Date.now(), (e) => console.error(e));
 * const detach = audit.attach((r) => console.log(r.action));
 * audit.write({ action: 'invalidate', trigger: { kind: 'manual' }, startedAt: Date.now(), outcome: 'committed' });
 * detach();
 * ```
 */
export class CacheAudit {
  private readonly fanout: AuditFanout;

  constructor(
    private readonly unit: string,
    private readonly now: () => number,
    onError: (error: Error) => void,
  ) {
    this.fanout = new AuditFanout((error) => onError(error instanceof Error ? error : new Error(String(error))));
  }

  /** Adds a sink; returns the function that removes it. */
  attach(sink: AuditSink): () => void {
    return this.fanout.attach(sink);
  }

  /** Builds one record and hands it to every sink; undefined optional fields are left out. */
  write(fields: AuditFields): void {
    if (!this.fanout.active) return;
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
    this.fanout.deliver(record);
  }
}
