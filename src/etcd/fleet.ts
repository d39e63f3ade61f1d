/**
 * Fleet-wide rollout status in etcd. Each instance writes, under its own lease, one record per
 * unit: generation, hash, state, outcome of the last attempt and its error code. Never a value,
 * never an error message (messages are for the instance's own logs). When an instance dies its
 * lease expires and its records vanish, so the table only lists live instances.
 *
 * Key layout (`prefix` ends with `/` by convention):
 * - `<prefix><instanceId>`          → `{ instance, pid, host, startedAt, reportedAt }`
 * - `<prefix><instanceId>/<unit>`   → {@link FleetRecord}
 *
 * @module
 */
import { hostname } from 'node:os';
import type { Lease, Namespace } from 'etcd3';
import { errorInfo } from '../errors.js';
import type { RegistryMember, ReloadStatus, Stage, UnitStatus } from '../types.js';

/** One unit on one instance, as written to etcd. JSON-safe, hashes only. */
export interface FleetRecord {
  instance: string;
  unit: string;
  state: UnitStatus['state'];
  /** Live generation id (0 before the first commit). */
  generation: number;
  hash: string | null;
  committedAt: number | null;
  /** Outcome of the last attempt (`null` before any). */
  outcome: ReloadStatus | null;
  stage?: Stage;
  /** Error code of the last attempt when it was rejected (`RELOADKIT_VALIDATION`...). */
  errorCode?: string;
  /** Epoch ms of the last attempt. */
  attemptAt: number | null;
  /** Epoch ms when this record was written. */
  reportedAt: number;
}

/** One live instance, as written to etcd. */
export interface FleetInstance {
  instance: string;
  pid: number;
  host: string;
  startedAt: number;
  reportedAt: number;
}

/** What {@link readFleet} returns: live instances and their units' records, sorted. */
export interface FleetTable {
  instances: FleetInstance[];
  rows: FleetRecord[];
}

/** Options of {@link etcdFleetReporter}. */
export interface FleetReporterOptions {
  /** Key prefix shared by the fleet, e.g. `/reloadkit/fleet/`. */
  prefix: string;
  /** This instance's id, unique in the fleet; no `/`. Default: `<hostname>-<pid>`. */
  instanceId?: string;
  /** Lease TTL in seconds (records vanish this long after the instance dies). Default 10. */
  ttl?: number;
  /** Called when a write or a lease grant fails (the reporter retries by itself). */
  onError?: (error: Error) => void;
}

/** The running reporter. */
export interface FleetReporter {
  readonly instanceId: string;
  /** Grants the lease and writes every member's record. Idempotent. */
  start(): Promise<void>;
  /** Resolves once every pending record is written. */
  flush(): Promise<void>;
  /** Stops reporting and revokes the lease (the records vanish at once). Idempotent. */
  close(): Promise<void>;
}

/**
 * What the reporter needs of a registry (`createRegistry()` fits): its members, and optionally
 * an `added` event (members added later are reported too).
 */
export interface FleetRegistry {
  units(): Iterable<FleetMember>;
}

/** What the reporter needs of a member: its name, its status, and (at runtime) attempt events. */
export type FleetMember = Pick<RegistryMember, 'name' | 'status' | 'on'>;

type Listen = (event: string, fn: (payload: never) => void) => unknown;

interface AttemptEvent {
  result?: { status?: string; stage?: Stage; error?: unknown; generation?: number };
}

const ATTEMPT_EVENTS = ['committed', 'rejected', 'unchanged', 'rolled-back'] as const;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;

function checkOptions(registry: unknown, client: unknown, options: unknown): void {
  if (typeof registry !== 'object' || registry === null || typeof (registry as FleetRegistry).units !== 'function') {
    throw new TypeError('etcdFleetReporter: expected a registry (createRegistry()) as the first argument');
  }
  if (typeof client !== 'object' || client === null || typeof (client as Namespace).lease !== 'function') {
    throw new TypeError('etcdFleetReporter: expected an etcd3 client as the second argument');
  }
  if (typeof options !== 'object' || options === null) throw new TypeError('etcdFleetReporter: expected an options object');
  const { prefix, instanceId, ttl, onError } = options as FleetReporterOptions;
  if (typeof prefix !== 'string' || prefix.length === 0) {
    throw new TypeError(`etcdFleetReporter: expected \`prefix\` to be a non-empty string, got \`${typeof prefix}\``);
  }
  if (instanceId !== undefined && (typeof instanceId !== 'string' || instanceId.length === 0 || instanceId.includes('/'))) {
    throw new TypeError('etcdFleetReporter: expected `instanceId` to be a non-empty string without `/`');
  }
  if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 2)) {
    throw new TypeError(`etcdFleetReporter: expected \`ttl\` to be an integer number of seconds >= 2, got \`${String(ttl)}\``);
  }
  if (onError !== undefined && typeof onError !== 'function') {
    throw new TypeError(`etcdFleetReporter: expected \`onError\` to be a function, got \`${typeof onError}\``);
  }
}

/** Builds a member's record from its status and the result of its latest attempt event. */
export function fleetRecord(instance: string, status: UnitStatus, latest: AttemptEvent['result'] | undefined, now = Date.now()): FleetRecord {
  const attempt = status.lastAttempt;
  const record: FleetRecord = {
    instance,
    unit: status.name,
    state: status.state,
    generation: status.generation,
    hash: status.hash,
    committedAt: status.committedAt,
    outcome: attempt?.outcome ?? null,
    attemptAt: attempt?.at ?? null,
    reportedAt: now,
  };
  if (attempt?.stage) record.stage = attempt.stage;
  if (attempt?.error) record.errorCode = attempt.error.code;
  // The event's result is the freshest word on the attempt (status may be updated after emit).
  if (latest?.status === 'committed' || latest?.status === 'unchanged' || latest?.status === 'rejected') {
    record.outcome = latest.status;
    delete record.stage;
    delete record.errorCode;
    if (latest.stage) record.stage = latest.stage;
    if (latest.error) record.errorCode = errorInfo(latest.error).code;
  }
  return record;
}

/**
 * Reports every member of `registry` to etcd under a lease, so operators can see which instances
 * converged on a new config and which rejected it, and why (error code and stage). Records are
 * rewritten after every attempt (committed, unchanged, rejected, rolled back).
 *
 * @example
 * ```ts
 * const reporter = etcdFleetReporter(registry, client, { prefix: '/reloadkit/fleet/', instanceId: 'api-1', ttl: 10 });
 * await reporter.start();
 * // elsewhere: console.log(formatFleetTable(await readFleet(client, '/reloadkit/fleet/')));
 * ```
 */
export function etcdFleetReporter(registry: FleetRegistry, client: Namespace, options: FleetReporterOptions): FleetReporter {
  checkOptions(registry, client, options);
  const prefix = options.prefix;
  const instanceId = options.instanceId ?? `${hostname()}-${process.pid}`;
  const ttl = options.ttl ?? 10;
  const startedAt = Date.now();

  const members = new Map<string, FleetMember>();
  const latest = new Map<string, AttemptEvent['result']>();
  const detach: Array<() => void> = [];
  const dirty = new Set<string>();
  let instanceDirty = true;
  let lease: Lease | undefined;
  let writing: Promise<void> | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let retryMs = RETRY_MIN_MS;
  let starting: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  const idle: Array<() => void> = [];

  const reportError = (error: unknown): void => {
    try {
      options.onError?.(error instanceof Error ? error : new Error(String(error)));
    } catch {
      // A throwing error handler must not stop reporting.
    }
  };

  let leaseTimer: ReturnType<typeof setTimeout> | undefined;
  let leaseRetryMs = RETRY_MIN_MS;

  /**
   * Per lease, what each record said when last written under it, minus its timestamps: records
   * that did not change are not written again (a new lease starts empty, so it gets them all).
   */
  const writtenUnder = new WeakMap<Lease, Map<string, string>>();

  const markAllDirty = (): void => {
    instanceDirty = true;
    for (const name of members.keys()) dirty.add(name);
  };

  /** Grants a lease (kept alive by etcd3); when it is lost, grants another after a backoff. */
  const grantLease = (): Lease => {
    const created = client.lease(ttl, { autoKeepAlive: true });
    lease = created;
    created.on('lost', (error) => {
      if (lease !== created || closing) return;
      // Expired or revoked (etcd down past the TTL, an operator's `lease revoke`): the records
      // went with it. Stop writing to it, grant a new one, then write everything again.
      reportError(error);
      lease = undefined;
      created.release();
      leaseTimer = setTimeout(() => {
        leaseTimer = undefined;
        if (!closing) grantLease();
      }, leaseRetryMs);
      leaseRetryMs = Math.min(leaseRetryMs * 2, RETRY_MAX_MS);
    });
    created.grant().then(
      () => {
        if (lease !== created || closing) return;
        leaseRetryMs = RETRY_MIN_MS;
        markAllDirty();
        schedule();
      },
      () => undefined, // reported through `lost`
    );
    return created;
  };

  const writeAll = async (): Promise<void> => {
    const current = lease;
    if (!current) return;
    if (instanceDirty) {
      instanceDirty = false;
      const info: FleetInstance = { instance: instanceId, pid: process.pid, host: hostname(), startedAt, reportedAt: Date.now() };
      try {
        await current.put(`${prefix}${instanceId}`).value(JSON.stringify(info)).exec();
      } catch (error) {
        instanceDirty = true;
        throw error;
      }
    }
    let written = writtenUnder.get(current);
    if (!written) {
      written = new Map();
      writtenUnder.set(current, written);
    }
    const names = [...dirty];
    dirty.clear();
    const failed: string[] = [];
    let firstError: unknown;
    await Promise.all(
      names.map(async (name) => {
        const member = members.get(name);
        if (!member) return;
        try {
          const record = fleetRecord(instanceId, member.status(), latest.get(name));
          // A periodic trigger's `unchanged` results would rewrite identical records forever:
          // only what an operator can see change (generation, hash, outcome, code...) is written.
          const { attemptAt: _attemptAt, reportedAt: _reportedAt, ...meaningful } = record;
          const signature = JSON.stringify(meaningful);
          if (written.get(name) === signature) return;
          await current.put(`${prefix}${instanceId}/${name}`).value(JSON.stringify(record)).exec();
          written.set(name, signature);
        } catch (error) {
          failed.push(name);
          firstError ??= error;
        }
      }),
    );
    if (failed.length > 0) {
      for (const name of failed) dirty.add(name);
      throw firstError;
    }
  };

  const settleIdle = (): void => {
    if (writing || retryTimer || dirty.size > 0 || instanceDirty) return;
    for (const resolve of idle.splice(0)) resolve();
  };

  function schedule(): void {
    if (closing || writing || retryTimer || !lease) return;
    writing = writeAll().then(
      () => {
        retryMs = RETRY_MIN_MS;
      },
      (error: unknown) => {
        reportError(error);
        retryTimer = setTimeout(() => {
          retryTimer = undefined;
          schedule();
        }, retryMs);
        retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
      },
    );
    void writing.finally(() => {
      writing = undefined;
      if (dirty.size > 0 || instanceDirty) schedule();
      else settleIdle();
    });
  }

  const markDirty = (name: string): void => {
    dirty.add(name);
    // Let the unit finish updating its status after emitting, then write.
    setImmediate(schedule);
  };

  const attach = (member: FleetMember): void => {
    if (members.has(member.name)) return;
    members.set(member.name, member);
    for (const event of ATTEMPT_EVENTS) {
      const listener = (payload: AttemptEvent) => {
        if (payload?.result) latest.set(member.name, payload.result);
        markDirty(member.name);
      };
      // Units and caches emit these events; `RegistryMember` only promises `error`.
      (member.on as unknown as Listen).call(member, event, listener as (payload: never) => void);
      const off = (member as unknown as { off?: Listen }).off;
      detach.push(() => off?.call(member, event, listener as (payload: never) => void));
    }
    dirty.add(member.name);
  };

  const onAdded = ({ member }: { member: FleetMember }) => {
    attach(member);
    setImmediate(schedule);
  };

  return {
    instanceId,
    start() {
      if (closing) return Promise.reject(new Error('etcdFleetReporter: start() after close()'));
      starting ??= (async () => {
        for (const member of registry.units()) attach(member);
        (registry as unknown as { on?: Listen }).on?.call(registry, 'added', onAdded as (payload: never) => void);
        const first = grantLease();
        try {
          await first.grant();
        } catch (error) {
          // Nothing reported yet: fail start() cleanly so the caller sees etcd is unreachable.
          if (lease === first) lease = undefined;
          if (leaseTimer) clearTimeout(leaseTimer);
          leaseTimer = undefined;
          first.release();
          starting = undefined;
          throw error;
        }
        await new Promise<void>((resolve) => {
          idle.push(resolve);
          schedule();
        });
      })();
      return starting;
    },
    flush() {
      return new Promise<void>((resolve) => {
        idle.push(resolve);
        settleIdle();
      });
    },
    close() {
      closing ??= (async () => {
        (registry as unknown as { off?: Listen }).off?.call(registry, 'added', onAdded as (payload: never) => void);
        for (const undo of detach.splice(0)) undo();
        if (retryTimer) clearTimeout(retryTimer);
        retryTimer = undefined;
        if (leaseTimer) clearTimeout(leaseTimer);
        leaseTimer = undefined;
        await writing?.catch(() => undefined);
        for (const resolve of idle.splice(0)) resolve();
        const current = lease;
        lease = undefined;
        if (current) {
          try {
            await current.revoke();
          } catch {
            // etcd unreachable: the lease expires after its TTL anyway.
            current.release();
          }
        }
      })();
      return closing;
    },
  };
}
