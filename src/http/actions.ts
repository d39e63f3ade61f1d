/**
 * The actions of the per-unit admin routes: reload (and dry run), rollback, history, pause,
 * resume, clear-refused and cache invalidation. Each validates its body, calls the member with the
 * token's actor and an `http` trigger (so the member's audit record names both), and answers a
 * whitelisted JSON form: hashes, ids, paths and counts, never a value. A dry-run candidate goes
 * to the unit and nowhere else: it is not echoed, logged nor put in any error.
 *
 * @module
 */
import { HttpError } from '../errors.js';
import type { GenerationInfo, ReloadOptions, ReloadResult, RegistryMember, TriggerInfo } from '../types.js';
import { parseEmptyBody, parseInvalidateBody, parseReasonBody, parseRollbackBody, parseUnitReloadBody } from './params.js';
import type { RouteName } from './routes.js';
import { generationsJson, invalidationJson, resultJson, statusCodeOf } from './serialize.js';

/** Who asks, and how the member records it. */
export interface ActionContext {
  actor: string;
  trigger: TriggerInfo;
}

/** An answer to send: status and JSON body. */
export interface ActionAnswer {
  status: number;
  body: unknown;
}

/** The routes {@link unitAction} answers. */
export const UNIT_ACTIONS: readonly RouteName[] = ['unitHistory', 'reloadUnit', 'rollbackUnit', 'invalidateUnit', 'pauseUnit', 'resumeUnit', 'clearRefusedUnit'];

/** The optional operations a member may have, looked up at call time (caches, groups, units differ). */
interface OperatorMember extends RegistryMember {
  history?(): GenerationInfo[];
  pause?(opts?: { reason?: string; actor?: string }): void;
  resume?(opts?: { actor?: string }): Promise<ReloadResult | undefined>;
  clearRefused?(opts?: { actor?: string }): void;
  invalidate?(target: string | { prefix: string }, opts: object): unknown;
  invalidateAll?(opts: object): unknown;
}

function lacks(member: RegistryMember, what: string): HttpError {
  return new HttpError(404, 'RELOADKIT_HTTP_NOT_FOUND', `unit '${member.name}' has no ${what}`);
}

/** The pause of a member's status, as the wire shows it (`undefined` when not paused). */
function pauseOf(member: RegistryMember): unknown {
  const paused = (member.status() as { paused?: unknown }).paused;
  return paused !== null && typeof paused === 'object' ? paused : undefined;
}

/**
 * The retained generation ids of a member, newest first: the one list both `GET
 * /units/:name/history` and a rejected rollback's answer (`retained`) come from.
 */
function retainedOf(member: OperatorMember): GenerationInfo[] | undefined {
  return typeof member.history === 'function' ? member.history() : undefined;
}

/**
 * Runs the action of `route` on `member`.
 *
 * @example
 * ```ts
 * const { status, body } = await unitAction('pauseUnit', member, { reason: 'incident 7' }, { actor: 'ops', trigger });
 * ```
 */
export async function unitAction(route: RouteName, member: RegistryMember, input: Record<string, unknown>, ctx: ActionContext): Promise<ActionAnswer> {
  const m = member as OperatorMember;
  const { actor, trigger } = ctx;
  switch (route) {
    case 'unitHistory': {
      const history = retainedOf(m);
      if (history === undefined) throw new HttpError(404, 'RELOADKIT_HTTP_NOT_ROLLBACKABLE', `unit '${m.name}' has no history`);
      return { status: 200, body: { unit: m.name, generations: generationsJson(history) } };
    }
    case 'reloadUnit': {
      const { dryRun, candidate, ...opts } = parseUnitReloadBody(input);
      const reloadOpts: ReloadOptions & { dryRun?: boolean; candidate?: unknown } = { ...opts, actor, trigger };
      if (dryRun) reloadOpts.dryRun = true;
      if (dryRun && candidate !== undefined) reloadOpts.candidate = candidate;
      const result = await m.reload(reloadOpts);
      return { status: statusCodeOf(result), body: resultJson(result) };
    }
    case 'rollbackUnit': {
      const opts = parseRollbackBody(input);
      if (typeof m.rollback !== 'function') throw new HttpError(404, 'RELOADKIT_HTTP_NOT_ROLLBACKABLE', `unit '${m.name}' has no rollback`);
      const result = await m.rollback({ ...opts, actor });
      const body: Record<string, unknown> = { ...resultJson(result) };
      // A rollback with no target names what is retained: the very list `history` shows.
      const history = result.ok ? undefined : retainedOf(m);
      if (history !== undefined) body.retained = history.map((g) => g.id);
      return { status: statusCodeOf(result), body };
    }
    case 'pauseUnit': {
      const { reason } = parseReasonBody(input);
      if (typeof m.pause !== 'function') throw lacks(m, 'pause');
      m.pause(reason === undefined ? { actor } : { actor, reason });
      return { status: 200, body: { unit: m.name, ok: true, paused: pauseOf(m) } };
    }
    case 'resumeUnit': {
      parseEmptyBody(input);
      if (typeof m.resume !== 'function') throw lacks(m, 'resume');
      const result = await m.resume({ actor });
      const body: Record<string, unknown> = { unit: m.name, ok: true };
      if (result !== undefined) body.result = resultJson(result);
      return { status: 200, body };
    }
    case 'clearRefusedUnit': {
      parseEmptyBody(input);
      if (typeof m.clearRefused !== 'function') throw lacks(m, 'refused set');
      const before = (m.status() as { refused?: unknown }).refused;
      m.clearRefused({ actor });
      return { status: 200, body: { unit: m.name, ok: true, cleared: Array.isArray(before) ? before.length : 0 } };
    }
    case 'invalidateUnit': {
      const opts = parseInvalidateBody(input);
      if (typeof m.invalidate !== 'function') throw new HttpError(404, 'RELOADKIT_HTTP_NOT_A_CACHE', `unit '${m.name}' is not a cache`);
      const how = { mode: opts.mode, actor, reason: opts.reason, trigger };
      let outcome: unknown;
      if ('key' in opts) outcome = await m.invalidate(opts.key, how);
      else if ('prefix' in opts) outcome = await m.invalidate({ prefix: opts.prefix }, how);
      else if (typeof m.invalidateAll === 'function') outcome = await m.invalidateAll(how);
      else throw new HttpError(400, 'RELOADKIT_HTTP_BAD_REQUEST', `cache '${m.name}' cannot invalidate all entries`);
      return { status: 200, body: { unit: m.name, ok: true, ...invalidationJson(outcome) } };
    }
    default:
      throw new HttpError(404, 'RELOADKIT_HTTP_NOT_FOUND', 'no such admin route');
  }
}
