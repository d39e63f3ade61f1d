/**
 * The bake gate: a snapshot of the step's committed instances (the hash they serve, the requests
 * and errors they reported while serving it) judged by the user's `gate` and/or the built-in
 * error-rate threshold. A gate that throws fails: rolling back is the safe side.
 *
 * @module
 */
import type { FleetRecord, FleetTable } from '../etcd/fleet.js';
import type { MemberHealth, RolloutRecord } from './record.js';

export interface GateInstance {
  instance: string;
  /** The hash it serves now (a verify rollback shows here as the previous hash). */
  hash: string | null;
  requests: number;
  errors: number;
}

/** What a gate sees. Counts, hashes and ids; never values. */
export interface GateSnapshot {
  id: string;
  unit: string;
  step: number;
  /** Committed instances of every step so far (they all serve the candidate). */
  instances: GateInstance[];
  requests: number;
  errors: number;
  /** `errors / requests`, 0 when there were no requests. */
  errorRate: number;
}

export type Gate = (snapshot: GateSnapshot) => boolean | Promise<boolean>;

/** Builds the gate's snapshot from the record and the fleet table. */
export function gateSnapshot(record: RolloutRecord, table: FleetTable): GateSnapshot {
  const rows = new Map<string, FleetRecord & { health?: MemberHealth }>();
  for (const row of table.rows) if (row.unit === record.unit) rows.set(row.instance, row);
  const instances: GateInstance[] = [];
  for (const [instance, entry] of Object.entries(record.instances)) {
    if (!entry.commit || entry.verdict !== 'committed') continue;
    const row = rows.get(instance);
    if (!row) continue; // gone: it no longer serves anything
    const health = row.health && row.health.hash === row.hash ? row.health : { requests: 0, errors: 0 };
    instances.push({ instance, hash: row.hash, requests: health.requests, errors: health.errors });
  }
  const requests = instances.reduce((n, i) => n + i.requests, 0);
  const errors = instances.reduce((n, i) => n + i.errors, 0);
  return { id: record.id, unit: record.unit, step: record.step, instances, requests, errors, errorRate: requests === 0 ? 0 : errors / requests };
}

/** `pass` or `fail` for a snapshot, under the user's gate and the built-in threshold. */
export async function judge(snapshot: GateSnapshot, record: RolloutRecord, gate: Gate | undefined): Promise<'pass' | 'fail'> {
  const { errorRateThreshold, minRequests } = record.strategy;
  if (errorRateThreshold !== undefined && snapshot.requests >= minRequests && snapshot.errorRate > errorRateThreshold) return 'fail';
  if (!gate) return 'pass';
  try {
    return (await gate(snapshot)) ? 'pass' : 'fail';
  } catch {
    return 'fail';
  }
}
