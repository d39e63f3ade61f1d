/**
 * One error base class with stable `code` values (the undici model). Messages name the unit, the
 * stage and the source: `[config] validation failed (file config.json): db.port: expected number`.
 * Errors never carry config values; `toJSON()` gives `{ name, code, message, ... }` only.
 *
 * @module
 */
import type { Stage } from './types.js';

/** Stable error codes. Match on `code`, never on `message`. */
export type ErrorCode =
  | 'RELOADKIT_LOAD'
  | 'RELOADKIT_VALIDATION'
  | 'RELOADKIT_CREATE'
  | 'RELOADKIT_HEALTH'
  | 'RELOADKIT_VERIFY'
  | 'RELOADKIT_TIMEOUT'
  | 'RELOADKIT_NOT_READY'
  | 'RELOADKIT_CLOSED'
  | 'RELOADKIT_ROLLBACK'
  | 'RELOADKIT_ABORTED'
  | 'RELOADKIT_CONFLICT'
  | 'RELOADKIT_GROUP'
  | 'RELOADKIT_PROTOCOL'
  | 'RELOADKIT_DELIVERY';

/** Where an error happened, for the message prefix. */
export interface ErrorContext {
  unit?: string;
  stage?: Stage;
  /** `describe()` of the source, e.g. `file config.json`. */
  source?: string;
  cause?: unknown;
}

/** Builds `[unit] <what> (<source>): <detail>`. */
export function formatMessage(what: string, ctx: ErrorContext, detail?: string): string {
  const prefix = ctx.unit ? `[${ctx.unit}] ` : '';
  const where = ctx.source ? ` (${ctx.source})` : '';
  return `${prefix}${what}${where}${detail ? `: ${detail}` : ''}`;
}

/**
 * The base class of every error reloadkit throws or reports. Match on `code`, never on `message`.
 *
 * @example
 * ```ts
 * const result = await config.reload();
 * if (result.error instanceof ReloadkitError && result.error.code === 'RELOADKIT_VALIDATION') {
 *   for (const issue of (result.error as ValidationError).issues) console.error(issue.path, issue.message);
 * }
 * ```
 */
export class ReloadkitError extends Error {
  readonly code: ErrorCode;
  readonly unit: string | undefined;
  readonly stage: Stage | undefined;
  readonly source: string | undefined;

  constructor(code: ErrorCode, message: string, ctx: ErrorContext = {}) {
    super(message, ctx.cause === undefined ? undefined : { cause: ctx.cause });
    this.name = new.target.name;
    this.code = code;
    this.unit = ctx.unit;
    this.stage = ctx.stage;
    this.source = ctx.source;
  }

  /** Serializable form: code and message only (never a value, never the cause's payload). */
  toJSON(): { name: string; code: ErrorCode; message: string; unit?: string; stage?: Stage } {
    const out: { name: string; code: ErrorCode; message: string; unit?: string; stage?: Stage } = {
      name: this.name,
      code: this.code,
      message: this.message,
    };
    if (this.unit !== undefined) out.unit = this.unit;
    if (this.stage !== undefined) out.stage = this.stage;
    return out;
  }
}

/** `load` failed (source unreachable, parse error, non-2xx...). */
export class LoadError extends ReloadkitError {
  constructor(message: string, ctx: ErrorContext = {}) {
    super('RELOADKIT_LOAD', message, { ...ctx, stage: ctx.stage ?? 'load' });
  }
}

/** One schema or semantic problem, with a dotted path (`db.port`, `servers.0.host`). */
export interface ValidationIssue {
  path: string;
  message: string;
}

/** The candidate failed its schema or `validate()`. */
export class ValidationError extends ReloadkitError {
  readonly issues: ValidationIssue[];
  constructor(message: string, issues: ValidationIssue[], ctx: ErrorContext = {}) {
    super('RELOADKIT_VALIDATION', message, { ...ctx, stage: 'validate' });
    this.issues = issues;
  }
  override toJSON(): ReturnType<ReloadkitError['toJSON']> & { issues: ValidationIssue[] } {
    return { ...super.toJSON(), issues: this.issues };
  }
}

/** `create()` threw. */
export class CreateError extends ReloadkitError {
  constructor(message: string, ctx: ErrorContext = {}) {
    super('RELOADKIT_CREATE', message, { ...ctx, stage: 'create' });
  }
}

/** `healthCheck()` threw or returned `false`. */
export class HealthCheckError extends ReloadkitError {
  constructor(message: string, ctx: ErrorContext = {}) {
    super('RELOADKIT_HEALTH', message, { ...ctx, stage: 'health' });
  }
}

/** The `verify.check` failed inside its window; the unit rolled back. */
export class VerifyError extends ReloadkitError {
  constructor(message: string, ctx: ErrorContext = {}) {
    super('RELOADKIT_VERIFY', message, { ...ctx, stage: 'verify' });
  }
}

/** A stage ran past its timeout. `stage` names the stage that timed out. */
export class TimeoutError extends ReloadkitError {
  readonly timeoutMs: number;
  constructor(message: string, timeoutMs: number, ctx: ErrorContext = {}) {
    super('RELOADKIT_TIMEOUT', message, ctx);
    this.timeoutMs = timeoutMs;
  }
}

/** `get()` or `acquire()` before the first commit. */
export class NotReadyError extends ReloadkitError {
  constructor(message: string, ctx: ErrorContext = {}) {
    super('RELOADKIT_NOT_READY', message, ctx);
  }
}

/** The unit (or registry) was closed. */
export class ClosedError extends ReloadkitError {
  constructor(message: string, ctx: ErrorContext = {}) {
    super('RELOADKIT_CLOSED', message, ctx);
  }
}

/** A rollback could not be done (no retained target). */
export class RollbackError extends ReloadkitError {
  constructor(message: string, ctx: ErrorContext = {}) {
    super('RELOADKIT_ROLLBACK', message, ctx);
  }
}

/** The caller's AbortSignal fired. */
export class AbortedError extends ReloadkitError {
  constructor(message: string, ctx: ErrorContext = {}) {
    super('RELOADKIT_ABORTED', message, ctx);
  }
}

/** Serializes any error to `{ code, message }` without leaking its payload. */
export function errorInfo(error: unknown): { code: string; message: string } {
  if (error instanceof ReloadkitError) return { code: error.code, message: error.message };
  if (error instanceof Error) {
    const raw = (error as unknown as { code?: unknown }).code;
    const code = typeof raw === 'string' ? raw : 'ERR_UNKNOWN';
    return { code, message: error.message };
  }
  return { code: 'ERR_UNKNOWN', message: String(error) };
}

/**
 * A message on an invalidation or change channel that cannot be understood (a broken envelope,
 * or the trigger's `parse` threw). The message is dropped (acknowledged on a queue, so it never
 * loops) and reported once; the message's content is never in the error.
 */
export class DeliveryError extends ReloadkitError {
  constructor(message: string, ctx: ErrorContext = {}) {
    super('RELOADKIT_DELIVERY', message, ctx);
  }
}
