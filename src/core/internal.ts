/**
 * Internal hooks between core modules (group, registry, cache) and a unit. Not part of the public
 * surface: symbols keep them off autocomplete and out of JSON.
 *
 * @module
 * @internal
 */
import type { AuditSink, ReloadOptions, ReloadResult } from '../types.js';

/**
 * `unit[STAGE](opts)` runs load → validate → dedupe → create → healthCheck without committing.
 * While a candidate is staged the unit's reload lock is held: other reloads queue behind it.
 * The caller must settle it with exactly one of `commit()` (synchronous swap) or `discard()`.
 */
export const STAGE: unique symbol = Symbol.for('reloadkit.stage');

/** A candidate that passed every pre-commit stage. */
export interface StagedCandidate {
  readonly unit: string;
  readonly hash: string;
  /** Synchronous reference swap; emits `committed`, retires the previous generation. */
  commit(): ReloadResult;
  /** Disposes the staged resource; the result is `rejected` with the given error. */
  discard(error: Error): Promise<ReloadResult>;
}

export type StageOutcome =
  | { kind: 'staged'; staged: StagedCandidate }
  | { kind: 'done'; result: ReloadResult };

/** `unit[ATTACH_AUDIT](sink)` adds an audit sink (the registry's); returns a detach function. */
export const ATTACH_AUDIT: unique symbol = Symbol.for('reloadkit.attachAudit');

export interface Stageable {
  [STAGE](opts?: ReloadOptions): Promise<StageOutcome>;
}

export interface AuditAttachable {
  [ATTACH_AUDIT](sink: AuditSink): () => void;
}
