/**
 * `pin({ a, b }, fn)`: one consistent snapshot of several units, held across awaits.
 *
 * @module
 */
import type { Generation, Lease } from '../types.js';
import { describeValue } from '../support/describe-value.js';

/** Anything that hands out leases: a unit (`Reloadable`) or a unit-like member. */
export interface Leasable<R = unknown> {
  readonly name?: string;
  acquire(): Lease<R>;
}

/** The pinned resources, typed per key. */
export type PinnedValues<M extends Record<string, Leasable<any>>> = { [K in keyof M]: M[K] extends Leasable<infer R> ? R : never };

/** The pinned generations, per key (ids and hashes for logs; values stay in-process). */
export type PinnedGenerations<M extends Record<string, Leasable<any>>> = { [K in keyof M]: Generation<unknown, PinnedValues<M>[K]> };

/**
 * Acquires a lease on every unit's live generation in one synchronous section — so no commit can
 * land between two of them, and units committed together by `group()` are always seen together —
 * then calls `fn` with the resources. The generations stay live for `fn` (not disposed, even if
 * reloads commit meanwhile) until `fn` settles; then every lease is released.
 *
 * @throws the unit's `NotReadyError` (after releasing the leases already taken) when a unit has not
 *   committed yet; `TypeError` for a bad argument.
 * @example
 * ```ts
 * import { pin } from 'reloadkit';
 * const total = await pin({ db, pricing }, async ({ db, pricing }, gens) => {
 *   const rows = await db.query('select * from items'); // db and pricing stay from one snapshot
 *   log.info({ db: gens.db.id, pricing: gens.pricing.id });
 *   return rows.reduce((sum, r) => sum + pricing.price(r), 0);
 * });
 * ```
 */
export async function pin<M extends Record<string, Leasable<any>>, X>(
  units: M,
  fn: (values: PinnedValues<M>, generations: PinnedGenerations<M>) => X | Promise<X>,
): Promise<Awaited<X>> {
  if (units === null || typeof units !== 'object' || Array.isArray(units)) {
    throw new TypeError(`pin: expected an object of units such as { config, pool }, got ${describeValue(units)}`);
  }
  if (typeof fn !== 'function') throw new TypeError(`pin: expected \`fn\` to be a function, got ${describeValue(fn)}`);
  const keys = Object.keys(units);
  for (const key of keys) {
    if (typeof units[key]?.acquire !== 'function') throw new TypeError(`pin: \`${key}\` is not a unit (it has no acquire() method)`);
  }

  const leases: Lease<unknown>[] = [];
  const values: Record<string, unknown> = {};
  const generations: Record<string, Generation<unknown, unknown>> = {};
  // One synchronous section: nothing can commit between the first and the last acquire().
  try {
    for (const key of keys) {
      const lease = (units[key] as Leasable).acquire();
      leases.push(lease);
      values[key] = lease.value;
      generations[key] = lease.generation;
    }
  } catch (error) {
    releaseAll(leases);
    throw error;
  }
  try {
    return await fn(values as PinnedValues<M>, generations as PinnedGenerations<M>);
  } finally {
    releaseAll(leases);
  }
}

function releaseAll(leases: Lease<unknown>[]): void {
  for (const lease of leases) {
    try {
      lease.release();
    } catch {
      // release() is idempotent and must not throw; one bad lease must not keep the others held.
    }
  }
}
