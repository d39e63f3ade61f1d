/**
 * What the admin endpoint puts on the wire. Results are rebuilt field by field from a whitelist
 * rather than spread, so nothing a unit attaches (a value, a resource, an error's cause or
 * payload) can leak: errors become `{ code, message }`, generations their ids.
 *
 * @module
 */
import { errorInfo } from '../errors.js';
import type { GenerationInfo, ReloadResult } from '../types.js';

/** The JSON form of a `ReloadResult`. */
export interface ReloadResultJson {
  id: number;
  unit: string;
  status: ReloadResult['status'];
  ok: boolean;
  generation: number;
  previous?: number;
  stage?: string;
  error?: { code: string; message: string };
  durationMs: number;
  /** The candidate's hash, when one was computed. */
  hash?: string;
  /** Dotted leaf paths that differ from the live value (committed, would-commit): paths, never values. */
  changedPaths?: string[];
  /** Set on every result of a dry run. */
  dryRun?: true;
  /** A cache's per-key counts (`total`, `committed`, `unchanged`, `rejected`). */
  keys?: Record<string, number>;
}

/**
 * Serializes a `ReloadResult` to its wire form.
 *
 * @example
 * ```ts
 * sendJson(res, 200, resultJson(await unit.reload()));
 * ```
 */
export function resultJson(result: ReloadResult): ReloadResultJson {
  const out: ReloadResultJson = {
    id: result.id,
    unit: result.unit,
    status: result.status,
    ok: result.ok,
    generation: result.generation,
    durationMs: result.durationMs,
  };
  if (typeof result.previous === 'number') out.previous = result.previous;
  if (result.stage !== undefined) out.stage = result.stage;
  if (result.error !== undefined) out.error = errorInfo(result.error);
  const extra = result as { hash?: unknown; changedPaths?: unknown; dryRun?: unknown };
  if (typeof extra.hash === 'string') out.hash = extra.hash;
  if (Array.isArray(extra.changedPaths)) out.changedPaths = extra.changedPaths.filter((p): p is string => typeof p === 'string');
  if (extra.dryRun === true) out.dryRun = true;
  const keys = (result as { keys?: unknown }).keys;
  if (keys !== null && typeof keys === 'object') {
    out.keys = Object.fromEntries(Object.entries(keys).filter((e): e is [string, number] => typeof e[1] === 'number'));
  }
  return out;
}

/**
 * The HTTP status of a result: 200 when it went through (committed, unchanged, would-commit),
 * 422 when a stage rejected it, 409 when the unit's state refused it (a refused hash, a pause).
 *
 * @example
 * ```ts
 * statusCodeOf({ status: 'refused', ok: false }); // 409
 * ```
 */
export function statusCodeOf(result: Pick<ReloadResult, 'status' | 'ok'>): number {
  const status: string = result.status;
  if (status === 'refused' || status === 'paused') return 409;
  return result.ok ? 200 : 422;
}

/**
 * The HTTP status of a reload of every unit: 200 when all went through, else 422 when any was
 * rejected, else 409 (refused or paused units only).
 *
 * @example
 * ```ts
 * statusCodeOfAll(results); // 422
 * ```
 */
export function statusCodeOfAll(results: readonly Pick<ReloadResult, 'status' | 'ok'>[]): number {
  const codes = results.map(statusCodeOf);
  if (codes.every((c) => c === 200)) return 200;
  return codes.includes(422) ? 422 : 409;
}

/** One retained generation on the wire: id, hash, commit time and trigger kind/detail. */
export interface GenerationJson {
  id: number;
  hash: string;
  committedAt: number;
  trigger: { kind: string; detail?: string };
}

/**
 * The wire form of a unit's `history()`, newest (live) first. Rebuilt field by field.
 *
 * @example
 * ```ts
 * generationsJson(unit.history()); // [{ id: 3, hash: 'sha256:…', committedAt: …, trigger: { kind: 'http' } }, …]
 * ```
 */
export function generationsJson(history: readonly GenerationInfo[]): GenerationJson[] {
  return history.map((g) => {
    const trigger: GenerationJson['trigger'] = { kind: String(g.trigger?.kind ?? 'unknown') };
    if (typeof g.trigger?.detail === 'string') trigger.detail = g.trigger.detail.slice(0, 200);
    return { id: g.id, hash: g.hash, committedAt: g.committedAt, trigger };
  });
}

/**
 * The wire form of what a cache's `invalidate` returned: numbers and booleans only (counts,
 * flags), never keys' values.
 *
 * @example
 * ```ts
 * invalidationJson(3); // { invalidated: 3 }
 * ```
 */
export function invalidationJson(outcome: unknown): Record<string, number | boolean | string> {
  if (typeof outcome === 'number') return { invalidated: outcome };
  if (typeof outcome === 'boolean') return { invalidated: outcome };
  const out: Record<string, number | boolean | string> = {};
  if (outcome !== null && typeof outcome === 'object') {
    for (const [k, v] of Object.entries(outcome)) {
      if (typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    }
  }
  return out;
}
