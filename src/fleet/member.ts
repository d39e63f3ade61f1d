/**
 * `fleetMember(unit, options)`: one unit of one instance in a fleet. It registers (under the
 * instance's lease: gone within the TTL after a crash), reports the unit's state (hashes, stages,
 * codes; never values) and health, and follows the rollouts and commands addressed to it, through
 * one shared watch per process.
 *
 * Following a rollout is level-triggered: on every version of the record the member compares what
 * the record wants of it (hold a prepared candidate, serve the candidate, serve what it served
 * before) with what it has, and closes the gap. A member that restarts mid-rollout therefore
 * rejoins at the current step from the record alone.
 *
 * @module
 */
import { hostname } from 'node:os';
import type { Namespace } from 'etcd3';
import { errorInfo } from '../errors.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { acquireHost, type Host } from './host.js';
import { checkName, fleetKeys } from './keys.js';
import { parseJson, TERMINAL, type MemberHealth, type RolloutRecord, type Verdict, type VerdictKind } from './record.js';
import { wantsCandidate, wantsPrepared } from './decide.js';
import { subscribeCtl, type CtlEvent } from './watch.js';
import { runCommand, type FleetCommandRecord } from './command.js';
import { batchedPut, forgetCandidate, sharedCandidate } from './batch.js';
import type { FleetPrepared, FleetUnit } from './unit-shape.js';

/** Options of {@link fleetMember}. */
export interface FleetMemberOptions {
  /** An etcd3 client (or namespace). */
  client: Namespace;
  /** The fleet's name (one etcd key segment). @example 'api' */
  fleet: string;
  /** This instance's id, unique in the fleet. @default `<hostname>-<pid>` @example 'api-7' */
  instance?: string;
  /** Labels selectors match. @default {} @example { zone: 'b' } */
  labels?: Record<string, string>;
  /** Lease TTL in seconds: the member vanishes this long after a crash. @default 10 @example 5 */
  leaseTtlS?: number;
  /** How long a prepared candidate is held warm without a commit decision before it is disposed. @default 60000 @example 30000 */
  prepareHoldMs?: number;
  /** Called on etcd errors (the member retries by itself). @default ignored @example (e) => log.warn(e) */
  onError?: (error: Error) => void;
}

/** Counts of what a member did, for tests and metrics. */
export interface FleetMemberStats {
  prepared: number;
  rejected: number;
  committed: number;
  discarded: number;
  rolledBack: number;
  commands: number;
}

export interface FleetMemberHandle {
  readonly fleet: string;
  readonly instance: string;
  readonly unit: string;
  /** Resolves once registered and following (the current rollouts were looked at). */
  readonly ready: Promise<void>;
  /** Adds app health counts (since the last call) for the gate of a rollout. */
  reportHealth(counts: { requests: number; errors: number }): void;
  stats(): FleetMemberStats;
  /** Stops following, discards any prepared candidate, deregisters. Idempotent. */
  close(): Promise<void>;
}

const KNOWN_KEYS = ['client', 'fleet', 'instance', 'labels', 'leaseTtlS', 'prepareHoldMs', 'onError'] as const;

function checkOptions(unit: unknown, options: unknown): asserts options is FleetMemberOptions {
  if (typeof unit !== 'object' || unit === null || typeof (unit as FleetUnit).prepare !== 'function' || typeof (unit as FleetUnit).status !== 'function') {
    throw new TypeError('fleetMember: expected a unit with `prepare()` and `status()` (a reloadable()) as the first argument');
  }
  if (typeof options !== 'object' || options === null) throw new TypeError('fleetMember: expected an options object');
  rejectUnknownKeys('fleetMember', options, KNOWN_KEYS);
  const o = options as FleetMemberOptions;
  if (typeof o.client !== 'object' || o.client === null || typeof o.client.lease !== 'function') throw new TypeError('fleetMember: expected `client` to be an etcd3 client');
  checkName('fleetMember', 'fleet', o.fleet);
  if (o.instance !== undefined) checkName('fleetMember', 'instance', o.instance);
  if (o.labels !== undefined && (typeof o.labels !== 'object' || o.labels === null || Object.values(o.labels).some((v) => typeof v !== 'string'))) {
    throw new TypeError('fleetMember: expected `labels` to be an object of strings');
  }
  if (o.leaseTtlS !== undefined && (!Number.isInteger(o.leaseTtlS) || o.leaseTtlS < 2)) throw new TypeError(`fleetMember: expected \`leaseTtlS\` to be an integer >= 2, got \`${String(o.leaseTtlS)}\``);
  if (o.prepareHoldMs !== undefined && (!Number.isFinite(o.prepareHoldMs) || o.prepareHoldMs <= 0)) throw new TypeError(`fleetMember: expected \`prepareHoldMs\` to be a number > 0, got \`${String(o.prepareHoldMs)}\``);
  if (o.onError !== undefined && typeof o.onError !== 'function') throw new TypeError('fleetMember: expected `onError` to be a function');
}

/**
 * Makes `unit` a member of `fleet`: registered, reporting, following rollouts and commands.
 *
 * @example
 * ```ts
 * const member = fleetMember(config, { client, fleet: 'api', labels: { zone: 'b' } });
 * await member.ready;
 * app.use((req, res, next) => { res.on('finish', () => member.reportHealth({ requests: 1, errors: res.statusCode >= 500 ? 1 : 0 })); next(); });
 * ```
 */
export function fleetMember(unit: FleetUnit, options: FleetMemberOptions): FleetMemberHandle {
  checkOptions(unit, options);
  const { client, fleet } = options;
  const instance = options.instance ?? `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9._:-]/g, '_');
  const holdMs = options.prepareHoldMs ?? 60_000;
  const keys = fleetKeys(fleet);
  const onError = (error: unknown) => {
    try {
      options.onError?.(error instanceof Error ? error : new Error(String(error)));
    } catch {
      // a throwing handler must not stop the member
    }
  };
  const stats: FleetMemberStats = { prepared: 0, rejected: 0, committed: 0, discarded: 0, rolledBack: 0, commands: 0 };
  let health: MemberHealth = { hash: null, requests: 0, errors: 0 };
  const host: Host = acquireHost(client, fleet, instance, options.labels ?? {}, options.leaseTtlS ?? 10, onError);
  host.add(unit as never, () => ({ health }));

  const records = new Map<string, RolloutRecord>();
  const held = new Map<string, { prepared: FleetPrepared; timer: ReturnType<typeof setTimeout> }>();
  /** Rollouts whose candidate this member committed (and for which it paused its source). */
  const serving = new Set<string>();
  /** Verdicts this process wrote, per rollout (a restarted member starts empty). */
  const said = new Map<string, VerdictKind>();
  const commandsSeen = new Set<string>();
  let chain: Promise<void> = Promise.resolve();
  let closed = false;

  const enqueue = (work: () => Promise<void>): Promise<void> => {
    chain = chain.then(() => (closed ? undefined : work())).catch(onError);
    return chain;
  };

  const writeVerdict = async (record: RolloutRecord, verdict: VerdictKind, extra: Partial<Verdict> = {}) => {
    const v: Verdict = { instance, unit: unit.name, verdict, at: Date.now(), ...extra };
    said.set(record.id, verdict);
    await batchedPut(client, keys.rollout(record.id), keys.verdict(record.id, instance), JSON.stringify(v));
  };

  const discard = async (id: string) => {
    const h = held.get(id);
    if (!h) return;
    held.delete(id);
    clearTimeout(h.timer);
    await h.prepared.discard();
    stats.discarded++;
  };

  const readCandidate = async (id: string): Promise<unknown> => {
    const text = await sharedCandidate(client, keys.candidate(id));
    if (text === null) throw new Error(`fleet rollout ${id}: its candidate key is missing`);
    return JSON.parse(text) as unknown;
  };

  const prepare = async (record: RolloutRecord): Promise<FleetPrepared | undefined> => {
    const prepared = await unit.prepare({ candidate: await readCandidate(record.id), timeoutMs: holdMs, reason: `fleet rollout ${record.id}`, actor: record.actor });
    const { result } = prepared;
    if (result.status === 'would-commit' || result.status === 'unchanged') {
      stats.prepared++;
      return prepared;
    }
    await prepared.discard();
    stats.rejected++;
    const code = result.error ? errorInfo(result.error).code : undefined;
    await writeVerdict(record, 'rejected', { ...(prepared.hash ? { hash: prepared.hash } : {}), ...(result.stage ? { stage: result.stage } : {}), ...(code ? { code } : {}) });
    return undefined;
  };

  const hold = (id: string, prepared: FleetPrepared) => {
    const timer = setTimeout(() => void enqueue(() => discard(id)), holdMs);
    timer.unref?.();
    held.set(id, { prepared, timer });
  };

  const commit = async (record: RolloutRecord) => {
    let prepared = held.get(record.id)?.prepared;
    if (prepared) {
      clearTimeout(held.get(record.id)!.timer);
      held.delete(record.id);
    } else {
      // A member that restarted after the commit decision, or a one-phase rollout: prepare now.
      prepared = await prepare(record);
      if (!prepared) return;
    }
    const result = prepared.result.status === 'unchanged' ? prepared.result : await prepared.commit({ reason: `fleet rollout ${record.id}`, actor: record.actor });
    if (prepared.result.status === 'unchanged') await prepared.discard();
    if (!result.ok) {
      const code = result.error ? errorInfo(result.error).code : undefined;
      await writeVerdict(record, 'commit-failed', { ...(result.stage ? { stage: result.stage } : {}), ...(code ? { code } : {}) });
      return;
    }
    stats.committed++;
    serving.add(record.id);
    // The canonical key still holds the previous config until the rollout is done: hold the
    // source's hints until then, so a watch event or a trigger cannot take the candidate away.
    unit.pause?.({ reason: `fleet rollout ${record.id}`, actor: record.actor });
    await writeVerdict(record, 'committed', unit.status().hash ? { hash: unit.status().hash! } : {});
  };

  const act = async (id: string) => {
    const record = records.get(id);
    if (!record || record.unit !== unit.name) return;
    if (TERMINAL.has(record.state)) {
      forgetCandidate(client, keys.candidate(id));
      await discard(id);
      records.delete(id);
      if (!serving.has(id)) return;
      serving.delete(id);
      if (record.state !== 'done') {
        await unit.rollback?.({ reason: `fleet rollout ${id} ${record.state}`, actor: record.actor });
        stats.rolledBack++;
        await writeVerdict(record, 'rolled-back');
      }
      // Done: the canonical key now holds the candidate, so the held reload finds it unchanged.
      await unit.resume?.({ actor: record.actor });
      return;
    }
    if (wantsCandidate(record, instance)) {
      if (serving.has(id)) {
        if (said.get(id) !== 'committed') await writeVerdict(record, 'committed');
        return;
      }
      await commit(record);
      return;
    }
    if (wantsPrepared(record, instance)) {
      if (held.has(id) || said.get(id) === 'rejected') return;
      const prepared = await prepare(record);
      if (!prepared) return;
      hold(id, prepared);
      await writeVerdict(record, 'prepared', prepared.hash ? { hash: prepared.hash } : {});
      return;
    }
    // The step went on without this member (it was late, or dead at the decision): let go.
    await discard(id);
  };

  const onCtl = (event: CtlEvent) => {
    if (closed) return;
    if (event.kind === 'rollout') {
      const record = parseJson<RolloutRecord>(event.value);
      if (!record) return;
      records.set(event.id, record);
      void enqueue(() => act(event.id));
      return;
    }
    const command = parseJson<FleetCommandRecord>(event.value);
    if (!command || command.unit !== unit.name || !command.targets.includes(instance) || commandsSeen.has(event.id)) return;
    commandsSeen.add(event.id);
    stats.commands++;
    void runCommand(client, keys, unit, instance, event.id, event.lease, command).catch(onError);
  };

  let unsubscribe: (() => Promise<void>) | undefined;
  const ready = (async () => {
    await host.started;
    unsubscribe = await subscribeCtl(client, fleet, onCtl);
    await chain;
  })();
  ready.catch(() => undefined);

  return {
    fleet,
    instance,
    unit: unit.name,
    ready,
    reportHealth({ requests, errors }) {
      if (!Number.isFinite(requests) || !Number.isFinite(errors) || requests < 0 || errors < 0) {
        throw new TypeError('reportHealth: expected `requests` and `errors` to be numbers >= 0');
      }
      const hash = unit.status().hash;
      if (health.hash !== hash) health = { hash, requests: 0, errors: 0 };
      health = { hash, requests: health.requests + requests, errors: health.errors + errors };
      host.reporter.refresh(unit.name);
    },
    stats: () => ({ ...stats }),
    async close() {
      if (closed) return;
      await chain;
      closed = true;
      for (const id of [...held.keys()]) await discard(id).catch(onError);
      await unsubscribe?.();
      await ready.catch(() => undefined);
      await host.remove(unit.name);
    },
  };
}
