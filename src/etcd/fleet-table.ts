/**
 * Reading the fleet table that `etcdFleetReporter` instances write, summarizing one unit across
 * it, and printing it: the operator's side of fleet status.
 *
 * @module
 */
import type { Namespace } from 'etcd3';
import type { Stage } from '../types.js';
import type { FleetInstance, FleetRecord, FleetTable } from './fleet.js';

/**
 * Reads the fleet table: every live instance and each of its units' records, sorted by unit
 * then instance.
 *
 * @example
 * ```ts
 * const table = await readFleet(client, '/reloadkit/fleet/');
 * const behind = table.rows.filter((r) => r.unit === 'config' && r.hash !== expectedHash);
 * ```
 */
export async function readFleet(client: Namespace, prefix: string): Promise<FleetTable> {
  if (typeof prefix !== 'string' || prefix.length === 0) {
    throw new TypeError(`readFleet: expected \`prefix\` to be a non-empty string, got \`${typeof prefix}\``);
  }
  return fleetTableOf(prefix, Object.entries(await client.getAll().prefix(prefix).strings()));
}

/**
 * The fleet table of `entries` (key, JSON text) under `prefix`, as {@link readFleet} returns it:
 * for a reader that keeps the keys current itself, from a watch.
 *
 * @example
 * ```ts
 * const table = fleetTableOf('/reloadkit/fleet/', Object.entries(await client.getAll().prefix('/reloadkit/fleet/').strings()));
 * ```
 */
export function fleetTableOf(prefix: string, entries: Iterable<[string, string]>): FleetTable {
  const instances: FleetInstance[] = [];
  const rows: FleetRecord[] = [];
  for (const [key, text] of entries) {
    const rest = key.slice(prefix.length);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      continue; // not ours
    }
    if (typeof parsed !== 'object' || parsed === null) continue;
    if (rest.includes('/')) rows.push(parsed as FleetRecord);
    else instances.push(parsed as FleetInstance);
  }
  instances.sort((a, b) => a.instance.localeCompare(b.instance));
  rows.sort((a, b) => a.unit.localeCompare(b.unit) || a.instance.localeCompare(b.instance));
  return { instances, rows };
}

/** Per unit: which instances serve which hash, and which rejected their last attempt. */
export interface FleetSummary {
  unit: string;
  /** hash → instances serving it. */
  byHash: Record<string, string[]>;
  /** Instances whose last attempt was rejected, with why. */
  rejected: Array<{ instance: string; stage?: Stage; errorCode?: string }>;
  /** True when every instance serves one hash. */
  converged: boolean;
}

/**
 * Summarizes one unit across the fleet: who serves which hash, who rejected the last attempt.
 *
 * @example
 * ```ts
 * const { converged, rejected } = summarizeFleet(await readFleet(client, prefix), 'config');
 * ```
 */
export function summarizeFleet(table: FleetTable, unit: string): FleetSummary {
  const byHash: Record<string, string[]> = {};
  const rejected: FleetSummary['rejected'] = [];
  for (const row of table.rows) {
    if (row.unit !== unit) continue;
    const hash = row.hash ?? '(none)';
    (byHash[hash] ??= []).push(row.instance);
    if (row.outcome === 'rejected') {
      const entry: FleetSummary['rejected'][number] = { instance: row.instance };
      if (row.stage) entry.stage = row.stage;
      if (row.errorCode) entry.errorCode = row.errorCode;
      rejected.push(entry);
    }
  }
  return { unit, byHash, rejected, converged: Object.keys(byHash).length === 1 };
}

/**
 * Renders the fleet table as aligned text for a terminal (hashes shortened to 12 hex digits).
 *
 * @example
 * ```ts
 * console.log(formatFleetTable(await readFleet(client, '/reloadkit/fleet/')));
 * // UNIT    INSTANCE  STATE  GEN  HASH          LAST       STAGE     ERROR
 * // config  w1        ready  2    3f1c0d9e2a7b  committed
 * ```
 */
export function formatFleetTable(table: FleetTable): string {
  const header = ['UNIT', 'INSTANCE', 'STATE', 'GEN', 'HASH', 'LAST', 'STAGE', 'ERROR'];
  const lines = table.rows.map((r) => [
    r.unit,
    r.instance,
    r.state,
    String(r.generation),
    r.hash ? r.hash.replace(/^sha256:/, '').slice(0, 12) : '-',
    r.outcome ?? '-',
    r.stage ?? '',
    r.errorCode ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const render = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [render(header), ...lines.map(render)].join('\n');
}
