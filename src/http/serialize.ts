/**
 * What the admin endpoint puts on the wire. Results are rebuilt field by field from a whitelist
 * rather than spread, so nothing a unit attaches (a value, a resource, an error's cause or
 * payload) can leak: errors become `{ code, message }`, generations their ids.
 *
 * @module
 */
import { errorInfo } from '../errors.js';
import type { ReloadResult } from '../types.js';

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
  const keys = (result as { keys?: unknown }).keys;
  if (keys !== null && typeof keys === 'object') {
    out.keys = Object.fromEntries(Object.entries(keys).filter((e): e is [string, number] => typeof e[1] === 'number'));
  }
  return out;
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
