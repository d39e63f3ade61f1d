/**
 * Validation of the JSON bodies of the mutating routes. Strict: unknown fields, wrong types and
 * control characters in `reason` (which lands in audit logs) are a 400 naming the field.
 *
 * @module
 */
import { HttpError } from '../errors.js';

/** Body of `POST /reload`. */
export interface ReloadBody {
  reason?: string;
  force?: boolean;
}

/** Body of `POST /units/:name/reload`: a reload, or a dry run, maybe of a caller's candidate. */
export interface UnitReloadBody extends ReloadBody {
  dryRun?: boolean;
  /** A raw candidate (only with `dryRun: true`): validated and created, never committed, echoed or audited. */
  candidate?: unknown;
}

/** Body of `POST /units/:name/pause`. */
export interface ReasonBody {
  reason?: string;
}

/** Body of `POST /units/:name/rollback`. */
export interface RollbackBody {
  to?: number;
  reason?: string;
}

/** Body of `POST /units/:name/invalidate`: exactly one of `key`, `prefix`, `all`. */
export type InvalidateBody = {
  mode?: 'drop' | 'refresh';
  reason?: string;
} & ({ key: string } | { prefix: string } | { all: true });

const MAX_REASON = 500;
const MAX_KEY = 4096;

function bad(message: string): HttpError {
  return new HttpError(400, 'RELOADKIT_HTTP_BAD_REQUEST', message);
}

function onlyFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  for (const field of Object.keys(body)) {
    if (!allowed.includes(field)) throw bad(`unknown field '${field.slice(0, 64)}' (allowed: ${allowed.length === 0 ? 'none' : allowed.join(', ')})`);
  }
}

function reason(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  // eslint-disable-next-line no-control-regex
  if (typeof value !== 'string' || value.length > MAX_REASON || /[\u0000-\u001f\u007f]/.test(value)) {
    throw bad(`'reason' must be a string of at most ${MAX_REASON} characters without control characters`);
  }
  return value;
}

function key(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length > MAX_KEY) throw bad(`'${field}' must be a string of at most ${MAX_KEY} characters`);
  return value;
}

/**
 * Validates a reload body.
 *
 * @example
 * ```ts
 * parseReloadBody({ reason: 'deploy 42', force: true });
 * ```
 */
export function parseReloadBody(body: Record<string, unknown>): ReloadBody {
  onlyFields(body, ['reason', 'force']);
  if (body.force !== undefined && typeof body.force !== 'boolean') throw bad("'force' must be a boolean");
  const out: ReloadBody = {};
  const r = reason(body.reason);
  if (r !== undefined) out.reason = r;
  if (body.force !== undefined) out.force = body.force;
  return out;
}

/**
 * Validates the body of a unit's reload: `candidate` only with `dryRun: true` (a caller's config is
 * tried, never committed straight from the wire). Messages name fields, never the candidate.
 *
 * @example
 * ```ts
 * parseUnitReloadBody({ dryRun: true, candidate: { port: 8080 } });
 * ```
 */
export function parseUnitReloadBody(body: Record<string, unknown>): UnitReloadBody {
  onlyFields(body, ['reason', 'force', 'dryRun', 'candidate']);
  const { candidate, dryRun, ...rest } = body;
  const out: UnitReloadBody = parseReloadBody(rest);
  if (dryRun !== undefined && typeof dryRun !== 'boolean') throw bad("'dryRun' must be a boolean");
  if ('candidate' in body && dryRun !== true) {
    throw new HttpError(400, 'RELOADKIT_HTTP_BAD_REQUEST', "'candidate' is only allowed with 'dryRun: true': a candidate from the wire is tried, never committed");
  }
  if (dryRun === true) out.dryRun = true;
  if ('candidate' in body) out.candidate = candidate;
  return out;
}

/**
 * Validates a body that carries only a `reason`.
 *
 * @example
 * ```ts
 * parseReasonBody({ reason: 'incident 7' });
 * ```
 */
export function parseReasonBody(body: Record<string, unknown>): ReasonBody {
  onlyFields(body, ['reason']);
  const r = reason(body.reason);
  return r === undefined ? {} : { reason: r };
}

/**
 * Validates a body that carries nothing (`{}` or empty): `resume` and `clear-refused`, whose audit
 * records carry the actor only.
 *
 * @example
 * ```ts
 * parseEmptyBody({}); // {}
 * ```
 */
export function parseEmptyBody(body: Record<string, unknown>): Record<string, never> {
  onlyFields(body, []);
  return {};
}

/**
 * Validates a rollback body.
 *
 * @example
 * ```ts
 * parseRollbackBody({ to: 3, reason: 'bad deploy' });
 * ```
 */
export function parseRollbackBody(body: Record<string, unknown>): RollbackBody {
  onlyFields(body, ['to', 'reason']);
  const out: RollbackBody = {};
  if (body.to !== undefined) {
    if (typeof body.to !== 'number' || !Number.isSafeInteger(body.to) || body.to < 1) throw bad("'to' must be a positive integer generation id");
    out.to = body.to;
  }
  const r = reason(body.reason);
  if (r !== undefined) out.reason = r;
  return out;
}

/**
 * Validates an invalidate body.
 *
 * @example
 * ```ts
 * parseInvalidateBody({ prefix: 'user:', mode: 'refresh' });
 * ```
 */
export function parseInvalidateBody(body: Record<string, unknown>): InvalidateBody {
  onlyFields(body, ['key', 'prefix', 'all', 'mode', 'reason']);
  const given = ['key', 'prefix', 'all'].filter((f) => body[f] !== undefined);
  if (given.length !== 1) throw bad("give exactly one of 'key', 'prefix' or 'all: true'");
  if (body.mode !== undefined && body.mode !== 'drop' && body.mode !== 'refresh') throw bad("'mode' must be 'drop' or 'refresh'");
  const common: { mode?: 'drop' | 'refresh'; reason?: string } = {};
  if (body.mode !== undefined) common.mode = body.mode;
  const r = reason(body.reason);
  if (r !== undefined) common.reason = r;
  if (body.key !== undefined) return { ...common, key: key(body.key, 'key') };
  if (body.prefix !== undefined) {
    const prefix = key(body.prefix, 'prefix');
    if (prefix === '') throw bad("'prefix' must not be empty: use 'all: true' to invalidate every key");
    return { ...common, prefix };
  }
  if (body.all !== true) throw bad("'all' must be true");
  return { ...common, all: true };
}
