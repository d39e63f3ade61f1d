/**
 * One error base class with stable `code` values (the undici model). Messages name the unit, the
 * stage and the source: `[config] validation failed (file config.json): db.port: expected number`.
 * Errors never carry config values; `toJSON()` gives `{ name, code, message, ... }` only.
 *
 * @module
 */
import type { Stage } from './types.js';

/**
 * Stable error codes, one per meaning, every one `RELOADKIT_*` and tabled in docs/errors.md.
 * Match on `code`, never on `message`.
 */
export type ErrorCode =
  // ── the reload pipeline ──
  | 'RELOADKIT_LOAD'
  | 'RELOADKIT_FILE_READ'
  | 'RELOADKIT_JSON_SYNTAX'
  | 'RELOADKIT_CONFIG_PARSE'
  | 'RELOADKIT_VALIDATION'
  | 'RELOADKIT_CREATE'
  | 'RELOADKIT_HEALTH'
  | 'RELOADKIT_VERIFY'
  | 'RELOADKIT_TIMEOUT'
  | 'RELOADKIT_ABORTED'
  // ── unit and registry state ──
  | 'RELOADKIT_NOT_READY'
  | 'RELOADKIT_CLOSED'
  | 'RELOADKIT_ROLLBACK'
  | 'RELOADKIT_GROUP'
  | 'RELOADKIT_DUPLICATE_NAME'
  | 'RELOADKIT_CACHE_CHURN'
  // ── talking to model services ──
  | 'RELOADKIT_PROTOCOL'
  | 'RELOADKIT_STALE_CONTEXT'
  | 'RELOADKIT_ROLLOUT'
  // ── anything thrown that reloadkit did not make (as reported by errorInfo) ──
  | 'RELOADKIT_UNKNOWN'
  // ── HTTP answers (HttpError), shared by every reloadkit HTTP server ──
  | 'RELOADKIT_HTTP_BAD_REQUEST'
  | 'RELOADKIT_HTTP_BAD_JSON'
  | 'RELOADKIT_HTTP_BODY_TOO_DEEP'
  | 'RELOADKIT_HTTP_BODY_TOO_LARGE'
  | 'RELOADKIT_HTTP_BODY_TIMEOUT'
  | 'RELOADKIT_HTTP_UNSUPPORTED_MEDIA_TYPE'
  | 'RELOADKIT_HTTP_MISDIRECTED'
  | 'RELOADKIT_HTTP_CROSS_SITE'
  | 'RELOADKIT_HTTP_UNAUTHORIZED'
  | 'RELOADKIT_HTTP_FORBIDDEN'
  | 'RELOADKIT_HTTP_NOT_FOUND'
  | 'RELOADKIT_HTTP_METHOD_NOT_ALLOWED'
  | 'RELOADKIT_HTTP_RATE_LIMITED'
  | 'RELOADKIT_HTTP_UNKNOWN_UNIT'
  | 'RELOADKIT_HTTP_NOT_A_CACHE'
  | 'RELOADKIT_HTTP_NOT_ROLLBACKABLE'
  | 'RELOADKIT_HTTP_INTERNAL'
  // ── the command line ──
  | 'RELOADKIT_CLI_USAGE'
  | 'RELOADKIT_CLI_UNREACHABLE'
  // ── change and invalidation delivery ──
  | 'RELOADKIT_DELIVERY'
  // ── operator workflow: refusals, pause, prepared candidates ──
  | 'RELOADKIT_REFUSED'
  | 'RELOADKIT_PAUSED'
  | 'RELOADKIT_PREPARE_EXPIRED';


/** Where an error happened, for the message prefix. */
export interface ErrorContext {
  unit?: string;
  stage?: Stage;
  /** `describe()` of the source, e.g. `file config.json`. */
  source?: string;
  cause?: unknown;
  /**
   * The failure cannot fix itself by trying again (a missing file at start, permission denied,
   * keyspace notifications turned off): the retry loop stops at once instead of spending its budget.
   * @default false
   */
  permanent?: boolean;
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
  /** True when retrying cannot help (see `ErrorContext.permanent`): retries stop at once. */
  readonly permanent: boolean;

  constructor(code: ErrorCode, message: string, ctx: ErrorContext = {}) {
    super(message, ctx.cause === undefined ? undefined : { cause: ctx.cause });
    this.name = new.target.name;
    this.code = code;
    this.unit = ctx.unit;
    this.stage = ctx.stage;
    this.source = ctx.source;
    this.permanent = ctx.permanent === true;
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

/** `load` failed (source unreachable, parse error, non-2xx...). Subclasses name the kind of failure. */
export class LoadError extends ReloadkitError {
  constructor(message: string, ctx: ErrorContext = {}, code: 'RELOADKIT_LOAD' | 'RELOADKIT_FILE_READ' | 'RELOADKIT_JSON_SYNTAX' | 'RELOADKIT_CONFIG_PARSE' = 'RELOADKIT_LOAD') {
    super(code, message, { ...ctx, stage: ctx.stage ?? 'load' });
  }
}

/** Plain-words meanings of the errnos a file read commonly fails with. */
const ERRNO_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory (missing, deleted or not yet created)',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory, expected a file',
  ENOTDIR: 'a parent path is not a directory',
  ELOOP: 'too many levels of symbolic links',
  EMFILE: 'too many open files in this process',
  ENAMETOOLONG: 'path too long',
};

/**
 * A filesystem failure while reading a source: the `path`, Node's `errno` code (`ENOENT`,
 * `EACCES`...) and its `syscall`, in words in the message.
 *
 * @example
 * ```ts
 * if (error instanceof FileReadError && error.errno === 'ENOENT') console.error(`create ${error.path} first`);
 * ```
 */
export class FileReadError extends LoadError {
  readonly path: string;
  /** Node's error code, e.g. `ENOENT`; `undefined` when the failure carried none. */
  readonly errno: string | undefined;
  readonly syscall: string | undefined;
  constructor(path: string, cause: unknown, action = 'cannot read', ctx: Omit<ErrorContext, 'cause'> = {}) {
    const raw = (cause as { code?: unknown; syscall?: unknown } | null) ?? {};
    const errno = typeof raw.code === 'string' ? raw.code : undefined;
    const reason = (errno !== undefined ? ERRNO_REASONS[errno] : undefined) ?? (cause instanceof Error ? cause.message : String(cause));
    super(`${action} ${path}: ${reason}${errno === undefined ? '' : ` (${errno})`}`, { ...ctx, cause }, 'RELOADKIT_FILE_READ');
    this.path = path;
    this.errno = errno;
    this.syscall = typeof raw.syscall === 'string' ? raw.syscall : undefined;
  }
}

/**
 * A JSON file that is not valid JSON: the `file`, 1-based `line` and `column`, never its content.
 *
 * @example
 * ```ts
 * // JsonSyntaxError: invalid JSON in config.json at line 1, column 10: unexpected end of input
 * if (error instanceof JsonSyntaxError) editor.open(error.file, error.line, error.column);
 * ```
 */
export class JsonSyntaxError extends LoadError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  constructor(file: string, line: number, column: number, reason: string, ctx: Omit<ErrorContext, 'cause'> = {}) {
    super(`invalid JSON in ${file} at line ${line}, column ${column}: ${reason}`, ctx, 'RELOADKIT_JSON_SYNTAX');
    this.file = file;
    this.line = line;
    this.column = column;
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

/** The HTTP error codes (see {@link HttpError}). */
export type HttpErrorCode = Extract<ErrorCode, `RELOADKIT_HTTP_${string}`>;

/** What an {@link HttpError} adds to its answer's body besides `code` and `message`. */
export interface HttpErrorBody {
  /** Put in `error.issues` (e.g. the schema problems of a 422). */
  issues?: readonly ValidationIssue[];
  /** Top-level fields of the body next to `error` (e.g. `contextHash` on a 412). Never a value or a secret. */
  fields?: Readonly<Record<string, unknown>>;
}

/**
 * An HTTP answer as an error, for every reloadkit HTTP server: a `status`, a stable `code`, a
 * message safe to show any caller (never a value, a secret or a stack), optional response
 * headers and body additions. A reloadkit error of another kind may be answered through it with
 * its own code (e.g. a reload of a closed unit: 409 `RELOADKIT_CLOSED`).
 *
 * @example
 * ```ts
 * throw new HttpError(404, 'RELOADKIT_HTTP_UNKNOWN_UNIT', "no unit named 'db'");
 * throw new HttpError(405, 'RELOADKIT_HTTP_METHOD_NOT_ALLOWED', 'use POST', { Allow: 'POST' });
 * ```
 */
export class HttpError extends ReloadkitError {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Readonly<HttpErrorBody>;
  constructor(status: number, code: ErrorCode, message: string, headers: Record<string, string> = {}, body: HttpErrorBody = {}) {
    super(code, message);
    this.status = status;
    this.headers = headers;
    this.body = body;
  }
}

/**
 * The command line was wrong (unknown command, missing argument, unreadable token file): exit 2.
 *
 * @example
 * ```ts
 * throw new UsageError("unknown command 'relaod' (did you mean 'reload'?)");
 * ```
 */
export class UsageError extends ReloadkitError {
  constructor(message: string) {
    super('RELOADKIT_CLI_USAGE', message);
  }
}

/**
 * The CLI could not talk to the admin endpoint at all (refused, timed out, not JSON): exit 2.
 *
 * @example
 * ```ts
 * throw new ClientError('cannot reach http://127.0.0.1:9464/reloadkit/units: ECONNREFUSED');
 * ```
 */
export class ClientError extends ReloadkitError {
  constructor(message: string) {
    super('RELOADKIT_CLI_UNREACHABLE', message);
  }
}

/**
 * Serializes any error to `{ code, message }` without leaking its payload. An error reloadkit did
 * not make has code `RELOADKIT_UNKNOWN` (its own `code`, an errno or a library's, is not a
 * reloadkit code and stays on the error object). An error carrying a `RELOADKIT_*` code keeps it
 * even when it is not an instance of this copy's class (a second copy of the package).
 *
 * @example
 * ```ts
 * errorInfo(new TypeError('boom')); // { code: 'RELOADKIT_UNKNOWN', message: 'boom' }
 * ```
 */
export function errorInfo(error: unknown): { code: ErrorCode; message: string } {
  if (error instanceof ReloadkitError) return { code: error.code, message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof Error && typeof code === 'string' && /^RELOADKIT_[A-Z0-9_]+$/.test(code)) return { code: code as ErrorCode, message };
  return { code: 'RELOADKIT_UNKNOWN', message };
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

/**
 * The candidate's hash is in the unit's refused set (it was rolled back from, or failed its verify
 * window): it is neither created nor committed. `hash` names it. `reload({ force: true })`
 * overrides; `clearRefused()` empties the set.
 *
 * @example
 * ```ts
 * const result = await unit.reload();
 * if (result.error instanceof RefusedError) console.log('still refused:', result.error.hash);
 * ```
 */
export class RefusedError extends ReloadkitError {
  readonly hash: string;
  constructor(message: string, hash: string, ctx: ErrorContext = {}) {
    super('RELOADKIT_REFUSED', message, { ...ctx, stage: 'refused' });
    this.hash = hash;
  }
}

/**
 * The unit is paused: `reload()` did not run (`force: true` overrides; `resume()` ends the pause).
 *
 * @example
 * ```ts
 * unit.pause({ reason: 'incident 42' });
 * (await unit.reload()).error instanceof PausedError; // true
 * ```
 */
export class PausedError extends ReloadkitError {
  constructor(message: string, ctx: ErrorContext = {}) {
    super('RELOADKIT_PAUSED', message, ctx);
  }
}

/**
 * A prepared candidate can no longer be committed: it was discarded, its `timeoutMs` passed, or
 * its unit closed. Its warm resource was disposed; prepare again.
 *
 * @example
 * ```ts
 * const prepared = await unit.prepare({ timeoutMs: 1_000 });
 * // … more than a second later:
 * (await prepared.commit()).error?.code; // 'RELOADKIT_PREPARE_EXPIRED'
 * ```
 */
export class PrepareExpiredError extends ReloadkitError {
  constructor(message: string, ctx: ErrorContext = {}) {
    super('RELOADKIT_PREPARE_EXPIRED', message, ctx);
  }
}
