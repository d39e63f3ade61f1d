/**
 * The operator's fleet table: per instance and unit, labels, generation, hash, state and last
 * outcome (from the members' records), rendered for a terminal.
 *
 * @module
 */
import type { Namespace } from 'etcd3';
import { readFleet } from '../etcd/fleet-table.js';
import { checkName, fleetKeys } from './keys.js';
import { rejectUnknownKeys } from '../support/known-keys.js';

export interface FleetStatusRow {
  instance: string;
  labels: Record<string, string>;
  unit: string;
  generation: number;
  hash: string | null;
  state: string;
  outcome: string | null;
  stage?: string;
  errorCode?: string;
}

export interface FleetStatus {
  fleet: string;
  rows: FleetStatusRow[];
  /** unit → the distinct hashes its members serve. */
  hashes: Record<string, string[]>;
}

/**
 * Reads every live member of `fleet` and its units' records.
 *
 * @example
 * ```ts
 * const { rows, hashes } = await readFleetStatus({ client, fleet: 'api' });
 * ```
 */
export async function readFleetStatus(options: { client: Namespace; fleet: string }): Promise<FleetStatus> {
  rejectUnknownKeys('readFleetStatus', options, ['client', 'fleet']);
  checkName('readFleetStatus', 'fleet', options.fleet);
  const table = await readFleet(options.client, fleetKeys(options.fleet).members);
  const labels = new Map(table.instances.map((i) => [i.instance, i.labels ?? {}]));
  const rows: FleetStatusRow[] = [];
  const hashes: Record<string, Set<string>> = {};
  for (const r of table.rows) {
    if (!labels.has(r.instance)) continue; // its registration expired a moment ago
    const row: FleetStatusRow = { instance: r.instance, labels: labels.get(r.instance)!, unit: r.unit, generation: r.generation, hash: r.hash, state: r.state, outcome: r.outcome };
    if (r.stage) row.stage = r.stage;
    if (r.errorCode) row.errorCode = r.errorCode;
    rows.push(row);
    (hashes[r.unit] ??= new Set()).add(r.hash ?? '(none)');
  }
  return { fleet: options.fleet, rows, hashes: Object.fromEntries(Object.entries(hashes).map(([u, s]) => [u, [...s].sort()])) };
}

/** Renders the table: INSTANCE LABELS UNIT GEN HASH STATE LAST (hashes shortened to 12 hex digits). */
export function formatFleetStatus(status: FleetStatus): string {
  const header = ['INSTANCE', 'LABELS', 'UNIT', 'GEN', 'HASH', 'STATE', 'LAST', 'STAGE', 'ERROR'];
  const lines = status.rows.map((r) => [
    r.instance,
    Object.entries(r.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-',
    r.unit,
    String(r.generation),
    r.hash ? r.hash.replace(/^sha256:/, '').slice(0, 12) : '-',
    r.state,
    r.outcome ?? '-',
    r.stage ?? '',
    r.errorCode ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const render = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [render(header), ...lines.map(render)].join('\n');
}
