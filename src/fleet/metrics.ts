/**
 * `reloadkit/fleet/metrics`: a fleet seen from etcd as Prometheus gauges or OpenTelemetry
 * observable gauges: live members and distinct hashes per unit, members by last outcome, rollouts
 * by state, and for each rollout still moving its step and its verdicts by kind.
 *
 * Everything is read from etcd at scrape (or collection) time, once per scrape for every gauge,
 * so an exporter can run anywhere that reaches etcd (an operator's box, the controller) and no
 * member pays for it. Labels are names, states and kinds only: never a value, never a hash (a
 * hash per label would be an unbounded series count); rollout ids appear only while a rollout is
 * running or paused, at most one per fleet and unit.
 *
 * @module
 */
import { Gauge, type Registry } from 'prom-client';
import type { Attributes, BatchObservableResult, Meter, ObservableGauge } from '@opentelemetry/api';
import type { Namespace } from 'etcd3';
import { readFleet } from '../etcd/fleet-table.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { checkName, fleetKeys } from './keys.js';
import { parseJson, TERMINAL, type RolloutRecord, type Verdict } from './record.js';

/** One unit across the fleet's live members. */
export interface FleetUnitMetrics {
  unit: string;
  members: number;
  /** Distinct config hashes served: 1 once converged. */
  hashes: number;
  /** Members by the outcome of their last attempt (`committed`, `rejected`, …; `none` before any). */
  outcomes: Record<string, number>;
}

/** One rollout still moving (running or paused). */
export interface FleetRolloutMetrics {
  id: string;
  unit: string;
  state: RolloutRecord['state'];
  step: number;
  /** Verdicts by kind (`prepared`, `rejected`, `committed`, …). */
  verdicts: Record<string, number>;
}

/** What the gauges show, read from etcd in one go. */
export interface FleetMetricsSnapshot {
  fleet: string;
  units: FleetUnitMetrics[];
  /** Rollout records by unit and state (every record etcd still holds). */
  rolloutStates: Array<{ unit: string; state: RolloutRecord['state']; count: number }>;
  active: FleetRolloutMetrics[];
}

/** The gauge names, without the prefix. */
export const FLEET_METRIC_NAMES = {
  members: 'fleet_members',
  hashes: 'fleet_hashes',
  outcomes: 'fleet_member_outcomes',
  rollouts: 'fleet_rollouts',
  step: 'fleet_rollout_step',
  verdicts: 'fleet_rollout_verdicts',
} as const;

function checkTarget(who: string, options: { client?: unknown; fleet?: unknown }): void {
  const client = options.client as Namespace | undefined;
  if (typeof client !== 'object' || client === null || typeof client.getAll !== 'function') throw new TypeError(`${who}: expected \`client\` to be an etcd3 client`);
  checkName(who, 'fleet', options.fleet);
}

/**
 * Reads what the fleet gauges show.
 *
 * @example
 * ```ts
 * const { units } = await readFleetMetrics({ client, fleet: 'api' });
 * const converged = units.every((u) => u.hashes === 1);
 * ```
 */
export async function readFleetMetrics(options: { client: Namespace; fleet: string }): Promise<FleetMetricsSnapshot> {
  rejectUnknownKeys('readFleetMetrics', options, ['client', 'fleet']);
  checkTarget('readFleetMetrics', options);
  const { client, fleet } = options;
  const keys = fleetKeys(fleet);
  const [table, records] = await Promise.all([readFleet(client, keys.members), client.getAll().prefix(keys.rollouts).strings()]);

  const live = new Set(table.instances.map((i) => i.instance));
  const byUnit = new Map<string, { members: number; hashes: Set<string>; outcomes: Record<string, number> }>();
  for (const row of table.rows) {
    if (!live.has(row.instance)) continue; // its registration expired a moment ago
    let u = byUnit.get(row.unit);
    if (!u) byUnit.set(row.unit, (u = { members: 0, hashes: new Set(), outcomes: {} }));
    u.members++;
    if (row.hash) u.hashes.add(row.hash);
    const outcome = row.outcome ?? 'none';
    u.outcomes[outcome] = (u.outcomes[outcome] ?? 0) + 1;
  }

  const states = new Map<string, { unit: string; state: RolloutRecord['state']; count: number }>();
  const moving: RolloutRecord[] = [];
  for (const text of Object.values(records)) {
    const record = parseJson<RolloutRecord>(text);
    if (!record) continue;
    const id = `${record.unit}\0${record.state}`;
    const entry = states.get(id) ?? { unit: record.unit, state: record.state, count: 0 };
    entry.count++;
    states.set(id, entry);
    if (!TERMINAL.has(record.state)) moving.push(record);
  }
  const active = await Promise.all(
    moving.map(async (record): Promise<FleetRolloutMetrics> => {
      const verdicts: Record<string, number> = {};
      for (const text of Object.values(await client.getAll().prefix(keys.verdicts(record.id)).strings())) {
        const v = parseJson<Verdict>(text);
        if (v) verdicts[v.verdict] = (verdicts[v.verdict] ?? 0) + 1;
      }
      return { id: record.id, unit: record.unit, state: record.state, step: record.step, verdicts };
    }),
  );

  return {
    fleet,
    units: [...byUnit].map(([unit, u]) => ({ unit, members: u.members, hashes: u.hashes.size, outcomes: u.outcomes })).sort((a, b) => a.unit.localeCompare(b.unit)),
    rolloutStates: [...states.values()].sort((a, b) => a.unit.localeCompare(b.unit) || a.state.localeCompare(b.state)),
    active: active.sort((a, b) => a.id.localeCompare(b.id)),
  };
}

type Series = (name: keyof typeof FLEET_METRIC_NAMES, labels: Record<string, string>, value: number) => void;

/** Every series of a snapshot, through `record`: the one mapping both exporters share. */
function eachSeries(s: FleetMetricsSnapshot, record: Series): void {
  const fleet = s.fleet;
  for (const u of s.units) {
    record('members', { fleet, unit: u.unit }, u.members);
    record('hashes', { fleet, unit: u.unit }, u.hashes);
    for (const [outcome, n] of Object.entries(u.outcomes)) record('outcomes', { fleet, unit: u.unit, outcome }, n);
  }
  for (const r of s.rolloutStates) record('rollouts', { fleet, unit: r.unit, state: r.state }, r.count);
  for (const r of s.active) {
    record('step', { fleet, unit: r.unit, rollout: r.id }, r.step);
    for (const [verdict, n] of Object.entries(r.verdicts)) record('verdicts', { fleet, unit: r.unit, rollout: r.id, verdict }, n);
  }
}

const HELP: Record<keyof typeof FLEET_METRIC_NAMES, { help: string; labels: string[] }> = {
  members: { help: 'Live fleet members serving the unit.', labels: ['fleet', 'unit'] },
  hashes: { help: 'Distinct config hashes the unit\'s live members serve (1 once converged).', labels: ['fleet', 'unit'] },
  outcomes: { help: 'Live members by the outcome of their last attempt.', labels: ['fleet', 'unit', 'outcome'] },
  rollouts: { help: 'Rollout records by state.', labels: ['fleet', 'unit', 'state'] },
  step: { help: 'Current step (from 0) of a running or paused rollout.', labels: ['fleet', 'unit', 'rollout'] },
  verdicts: { help: 'Member verdicts on a running or paused rollout, by kind.', labels: ['fleet', 'unit', 'rollout', 'verdict'] },
};

/**
 * One read shared by every gauge of a scrape: prom-client collects the gauges of a registry
 * concurrently, so they all join the read in flight; the next scrape reads again.
 */
function sharedRead(read: () => Promise<FleetMetricsSnapshot>): () => Promise<FleetMetricsSnapshot> {
  let inflight: Promise<FleetMetricsSnapshot> | undefined;
  return () => {
    if (!inflight) {
      const value = read();
      inflight = value;
      const clear = () => {
        if (inflight === value) inflight = undefined;
      };
      value.then(clear, clear);
    }
    return inflight;
  };
}

/** Options of {@link fleetPrometheus}. */
export interface FleetPrometheusOptions {
  /** An etcd3 client (or namespace). */
  client: Namespace;
  /** The fleet's name. @example 'api' */
  fleet: string;
  /** The prom-client registry to register on. @example new Registry() */
  register: Registry;
  /** Metric name prefix. @default 'reloadkit_' @example 'myapp_' */
  prefix?: string;
}

/**
 * Registers the fleet gauges on a prom-client registry; `detach()` removes them. A scrape while
 * etcd is unreachable fails that scrape (prom-client reports the error); the next one reads again.
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import { fleetPrometheus } from 'reloadkit/fleet/metrics';
 * const register = new Registry();
 * const metrics = fleetPrometheus({ client, fleet: 'api', register });
 * // reloadkit_fleet_hashes{fleet="api",unit="config"} 1
 * ```
 */
export function fleetPrometheus(options: FleetPrometheusOptions): { detach(): void } {
  rejectUnknownKeys('fleetPrometheus', options, ['client', 'fleet', 'register', 'prefix']);
  checkTarget('fleetPrometheus', options);
  const register = options.register as Registry | undefined;
  if (typeof register !== 'object' || register === null || typeof register.registerMetric !== 'function') throw new TypeError('fleetPrometheus: expected `register` to be a prom-client Registry');
  if (options.prefix !== undefined && (typeof options.prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(options.prefix))) {
    throw new TypeError('fleetPrometheus: expected `prefix` to be a valid metric name prefix, such as `myapp_`');
  }
  const prefix = options.prefix ?? 'reloadkit_';
  const snapshot = sharedRead(() => readFleetMetrics({ client: options.client, fleet: options.fleet }));
  const names = Object.keys(FLEET_METRIC_NAMES) as Array<keyof typeof FLEET_METRIC_NAMES>;
  for (const key of names) {
    new Gauge({
      name: `${prefix}${FLEET_METRIC_NAMES[key]}`,
      help: HELP[key].help,
      labelNames: HELP[key].labels,
      registers: [register],
      async collect() {
        const s = await snapshot();
        this.reset();
        eachSeries(s, (name, labels, value) => {
          if (name === key) this.set(labels, value);
        });
      },
    });
  }
  return {
    detach() {
      for (const key of names) register.removeSingleMetric(`${prefix}${FLEET_METRIC_NAMES[key]}`);
    },
  };
}

/** Options of {@link fleetOpenTelemetry}. */
export interface FleetOpenTelemetryOptions {
  /** An etcd3 client (or namespace). */
  client: Namespace;
  /** The fleet's name. @example 'api' */
  fleet: string;
  /** The meter to create the observable gauges on. @example metrics.getMeter('reloadkit') */
  meter: Meter;
  /** Instrument name prefix. @default 'reloadkit.' @example 'myapp.' */
  prefix?: string;
}

/**
 * Creates the fleet gauges as OpenTelemetry observable gauges (names `reloadkit.fleet_members`…),
 * observed together from one etcd read per collection; `detach()` stops observing. A collection
 * while etcd is unreachable observes nothing.
 *
 * @example
 * ```ts
 * import { metrics } from '@opentelemetry/api';
 * import { fleetOpenTelemetry } from 'reloadkit/fleet/metrics';
 * const handle = fleetOpenTelemetry({ client, fleet: 'api', meter: metrics.getMeter('reloadkit') });
 * ```
 */
export function fleetOpenTelemetry(options: FleetOpenTelemetryOptions): { detach(): void } {
  rejectUnknownKeys('fleetOpenTelemetry', options, ['client', 'fleet', 'meter', 'prefix']);
  checkTarget('fleetOpenTelemetry', options);
  const meter = options.meter as Meter | undefined;
  if (typeof meter !== 'object' || meter === null || typeof meter.createObservableGauge !== 'function') throw new TypeError('fleetOpenTelemetry: expected `meter` to be an OpenTelemetry Meter');
  if (options.prefix !== undefined && typeof options.prefix !== 'string') throw new TypeError('fleetOpenTelemetry: expected `prefix` to be a string');
  const prefix = options.prefix ?? 'reloadkit.';
  const names = Object.keys(FLEET_METRIC_NAMES) as Array<keyof typeof FLEET_METRIC_NAMES>;
  const gauges = Object.fromEntries(names.map((key) => [key, meter.createObservableGauge(`${prefix}${FLEET_METRIC_NAMES[key]}`, { description: HELP[key].help })])) as Record<
    keyof typeof FLEET_METRIC_NAMES,
    ObservableGauge
  >;
  const observe = async (result: BatchObservableResult): Promise<void> => {
    let s: FleetMetricsSnapshot;
    try {
      s = await readFleetMetrics({ client: options.client, fleet: options.fleet });
    } catch {
      return; // etcd unreachable: nothing observed this time, never a failed collection
    }
    eachSeries(s, (name, labels, value) => result.observe(gauges[name], value, labels as Attributes));
  };
  const all = Object.values(gauges);
  meter.addBatchObservableCallback(observe, all);
  return {
    detach: () => meter.removeBatchObservableCallback(observe, all),
  };
}
