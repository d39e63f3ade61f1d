/**
 * reloadkit: hot-reload configuration, caches, connection pools and model clients in a running
 * Node service: validated, atomic, drained. See README.md and docs/architecture.md.
 *
 * @module
 */

// ─── core: the unit ─────────────────────────────────────────────────────────────────────────
export { reloadable, type UnvalidatedOptions } from './core/unit.js';
export {
  ReloadkitError,
  LoadError,
  ValidationError,
  CreateError,
  HealthCheckError,
  VerifyError,
  TimeoutError,
  NotReadyError,
  ClosedError,
  RollbackError,
  AbortedError,
  errorInfo,
} from './errors.js';
export type { ErrorCode, ErrorContext, ValidationIssue } from './errors.js';
export { canonicalJson, hashValue, sha256 } from './support/hash.js';
export type {
  AnySchema,
  AuditRecord,
  AuditSink,
  Clock,
  Generation,
  GenerationInfo,
  Hint,
  LastAttempt,
  LoadContext,
  Lease,
  RegistryMember,
  Reloadable,
  ReloadableOptions,
  ReloadOptions,
  ReloadResult,
  RollbackOptions,
  SchemaOutput,
  Source,
  Stage,
  StageContext,
  Timeouts,
  Trigger,
  TriggerInfo,
  UnitEventName,
  UnitEvents,
  UnitStatus,
} from './types.js';

// ─── composition, triggers, audit (appended by their owners) ────────────────────────────────
export { derive, type DeriveOptions } from './compose/derive.js';
export { group, type Group, type GroupMember, type GroupMemberResult, type GroupResult } from './compose/group.js';
export { pin, type Leasable, type PinnedGenerations, type PinnedValues } from './compose/pin.js';
export { createRegistry, type Registry, type RegistryEvents, type RegistryOptions, type RegistryStatus, type ReloadAllResult } from './compose/registry.js';
export { signalTrigger, intervalTrigger, manualTrigger, type SignalTrigger, type IntervalTrigger, type IntervalTriggerOptions, type ManualTrigger } from './triggers/index.js';
export { jsonlAudit, auditLine, type JsonlAudit, type JsonlAuditEvents, type JsonlAuditOptions } from './audit/jsonl-audit.js';

// ─── operator workflow: refusals, pause, dry runs, prepared candidates ──────────────────────
export { RefusedError, PausedError, PrepareExpiredError } from './errors.js';
export type { PauseOptions, PrepareOptions, PreparedCandidate, ReloadStatus } from './types.js';
