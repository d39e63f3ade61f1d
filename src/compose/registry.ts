/**
 * `createRegistry()`: the set of a process's reloadable members (units and caches), reloaded,
 * reported and closed together. The HTTP admin, the metrics adapters and the fleet reporter all
 * read a registry.
 *
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import { ClosedError, ReloadkitError, errorInfo } from '../errors.js';
import { StartOnce, Watches } from '../core/lifecycle.js';
import { isReady, memberHooks } from '../core/member.js';
import type { AuditSink, Hint, RegistryMember, ReloadOptions, ReloadResult, Trigger, UnitStatus } from '../types.js';
import { describeValue } from '../support/describe-value.js';
import { rejectUnknownKeys } from '../support/known-keys.js';

/** Members by name, for a registry typed by its members (`createRegistry({ members: { db, cache } })`). */
export type RegistryMembers = Record<string, RegistryMember>;

/** Options of `createRegistry`. */
export interface RegistryOptions<Members extends RegistryMembers = Record<never, never>> {
  /**
   * Receives the audit records of every member (attached when the member is added): a function or
   * an object with `write(record)`, such as `jsonlAudit(path)`.
   * @default undefined (no audit trail)
   * @example
   * ```ts
   * const registry = createRegistry({ audit: jsonlAudit('/var/log/myapp/reloads.jsonl') });
   * ```
   */
  audit?: AuditSink;
  /**
   * Members added at once, in key order, keyed by their names (each key must equal the member's
   * `name`, or a `TypeError` says which). The registry is then typed by them: `get('db')` returns
   * `typeof db`, with every event and method of a unit, not only `RegistryMember`.
   * @default {} (add members later with `add()`)
   * @example
   * ```ts
   * const registry = createRegistry({ members: { config, pool } });
   * registry.get('pool').on('committed', ({ generation }) => log.info(`pool generation ${generation.id}`));
   * ```
   */
  members?: Members;
}

/** The options `createRegistry` reads; any other key is a typo and throws. */
const KNOWN_KEYS = ['audit', 'members'] as const;

/** `registry.status()`: JSON-safe, hashes only. */
export interface RegistryStatus {
  /** One status per member, in the order they were added. */
  units: UnitStatus[];
  /** True when every member reports `ready` (serving a committed generation). */
  ready: boolean;
}

/** `registry.reloadAll()`: one result per member, in the order they were added. */
export interface ReloadAllResult {
  /** True when every member committed or was unchanged. */
  ok: boolean;
  results: ReloadResult[];
}

/** Events of a registry. */
export interface RegistryEvents {
  /** A member was added (metrics adapters attach to it). */
  added: [{ member: RegistryMember }];
  /** A member's `error` event, a trigger that failed to start or stop, or a member that failed to start late. */
  error: [{ unit?: string; error: Error; where: string }];
}

/**
 * A registry of units and caches. `Members` are the members given to `createRegistry({ members })`:
 * `get()` of one of their names is typed as that member.
 */
export interface Registry<Members extends RegistryMembers = Record<never, never>> extends EventEmitter<RegistryEvents> {
  /** Adds a member; starts it if the registry is already started. Returns the member (with its own type). */
  add<M extends RegistryMember>(member: M): M;
  /**
   * A member given to `createRegistry({ members })`, with its own type (never `undefined`).
   *
   * @example
   * ```ts
   * const registry = createRegistry({ members: { flags } });
   * registry.get('flags').get().beta; // typed as flags is
   * ```
   */
  get<K extends keyof Members & string>(name: K): Members[K];
  /**
   * The member with this name, or `undefined`. Name its type when you know it (`get<typeof db>('db')`):
   * the type argument is trusted, not checked, so prefer `createRegistry({ members })` where you can.
   *
   * @example
   * ```ts
   * registry.add(db);
   * registry.get<typeof db>('db')?.on('committed', () => {}); // every event of a unit, not only `error`
   * ```
   */
  get<M extends RegistryMember = RegistryMember>(name: string): M | undefined;
  /** Every member, in the order added (a copy: mutating it changes nothing). */
  units(): RegistryMember[];
  /** Reloads every member concurrently (each independently; see `group()` for all-or-none). */
  reloadAll(opts?: ReloadOptions): Promise<ReloadAllResult>;
  status(): RegistryStatus;
  /**
   * Adds a trigger whose hints reload every member (coalesced: hints arriving during a
   * `reloadAll` share one follow-up). Started now if the registry is started. Returns a function
   * that stops and removes it.
   */
  addTrigger(trigger: Trigger): () => Promise<void>;
  /** Starts the triggers, then every member. Idempotent; after a failure a new call retries. */
  start(): Promise<void>;
  /** Stops the triggers and closes every member. Idempotent. */
  close(): Promise<void>;
  readonly closed: boolean;
}

/**
 * Creates a registry.
 *
 * @throws {TypeError} for invalid options: an unknown key, a bad `audit`, a `members` entry that is
 *   not a unit or whose key is not its name.
 * @example
 * ```ts
 * import { createRegistry, jsonlAudit, signalTrigger } from 'reloadkit';
 * const registry = createRegistry({ audit: jsonlAudit('audit.jsonl') });
 * registry.add(config);
 * registry.add(pool);
 * registry.addTrigger(signalTrigger('SIGHUP'));  // kill -HUP reloads every member
 * await registry.start();
 * registry.status();   // { ready: true, units: [{ name: 'config', generation: 1, hash: 'sha256:…', … }, …] }
 * await registry.close();
 * ```
 */
export function createRegistry<const Members extends RegistryMembers = Record<never, never>>(options: RegistryOptions<Members> = {}): Registry<Members> {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`createRegistry: expected \`options\` to be an object, got ${describeValue(options)}`);
  }
  rejectUnknownKeys('createRegistry', options, KNOWN_KEYS);
  const { audit, members: initial } = options;
  if (audit !== undefined && typeof audit !== 'function' && typeof (audit as { write?: unknown })?.write !== 'function') {
    throw new TypeError(`createRegistry: expected \`audit\` to be a function or an object with write(), got ${describeValue(audit)}`);
  }
  const initialMembers = checkInitialMembers(initial);

  const registry = new EventEmitter<RegistryEvents>() as Registry<Members>;
  const members: RegistryMember[] = [];
  const byName = new Map<string, RegistryMember>();
  const detachers = new Map<RegistryMember, () => void>();
  let started = false;
  let closing: Promise<void> | undefined;

  const report = (error: unknown, where: string, unit?: string): void => {
    const e = error instanceof Error ? error : new Error(String(error));
    try {
      registry.emit('error', unit === undefined ? { error: e, where } : { unit, error: e, where });
    } catch {
      // A throwing listener must not break the registry (failure is contained).
    }
  };

  const reloadOne = async (member: RegistryMember, opts: ReloadOptions): Promise<ReloadResult> => {
    const began = performance.now();
    try {
      return await member.reload(opts);
    } catch (error) {
      // reload() rejects only for misuse (closed member...): report it as a rejected result.
      const status = safeStatus(member);
      const e = error instanceof Error ? error : new Error(String(error));
      return { id: 0, unit: member.name, status: 'rejected', ok: false, generation: status?.generation ?? 0, error: e, durationMs: performance.now() - began };
    }
  };

  const reloadAll = async (opts: ReloadOptions = {}): Promise<ReloadAllResult> => {
    if (closing) throw new ClosedError('[registry] reloadAll() after close()');
    const results = await Promise.all([...members].map((m) => reloadOne(m, opts)));
    return { ok: results.every((r) => r.ok), results };
  };

  // Trigger hints coalesce: while a reloadAll runs, any number of hints share one follow-up.
  let running: Promise<unknown> | undefined;
  let followUp: Hint | undefined;
  // A hint that arrives while the members start (triggers start first) runs once they have.
  let beforeStart: Hint | undefined;
  const fire = (hint: Hint): void => {
    if (closing) return;
    if (!started) {
      beforeStart = hint;
      return;
    }
    if (running) {
      followUp = hint;
      return;
    }
    const run = (h: Hint): void => {
      running = reloadAll({ trigger: { kind: h.kind, ...(h.detail === undefined ? {} : { detail: h.detail }) } })
        .catch((error) => report(error, 'trigger'))
        .finally(() => {
          running = undefined;
          const next = followUp;
          followUp = undefined;
          if (next && !closing) run(next);
        });
    };
    run(hint);
  };

  const watches = new Watches(fire, (error, where) => report(error, where));

  Object.defineProperty(registry, 'closed', { get: () => closing !== undefined, enumerable: true });

  registry.add = <M extends RegistryMember>(member: M): M => {
    if (closing) throw new ClosedError('[registry] add() after close()');
    assertMember(member);
    if (byName.has(member.name)) {
      throw new ReloadkitError('RELOADKIT_DUPLICATE_NAME', `[registry] a member named "${member.name}" is already registered: unit names must be unique per registry`, { unit: member.name });
    }
    members.push(member);
    byName.set(member.name, member);
    if (audit !== undefined) {
      const attach = memberHooks(member)?.attachAudit;
      if (attach) detachers.set(member, attach(audit));
    }
    member.on('error', (e) => report(e.error, e.where, e.unit ?? member.name));
    try {
      registry.emit('added', { member });
    } catch (error) {
      report(error, 'added listener', member.name);
    }
    if (started) member.start().catch((error: unknown) => report(error, 'start', member.name));
    return member;
  };

  registry.get = ((name: string) => byName.get(name)) as Registry<Members>['get'];
  registry.units = () => [...members];
  registry.reloadAll = reloadAll;

  registry.status = (): RegistryStatus => {
    const units = members.map((m) => safeStatus(m) ?? brokenStatus(m));
    return { units, ready: units.every(isReady) };
  };

  registry.addTrigger = (trigger: Trigger) => {
    if (closing) throw new ClosedError('[registry] addTrigger() after close()');
    if (trigger === null || typeof trigger !== 'object' || typeof trigger.start !== 'function' || typeof trigger.stop !== 'function') {
      throw new TypeError(`registry.addTrigger: expected a trigger with start() and stop(), got ${describeValue(trigger)}`);
    }
    if (!watches.add(trigger)) throw new TypeError('registry.addTrigger: this trigger is already added');
    return () => watches.remove(trigger);
  };

  const starting = new StartOnce(async () => {
    // Watch before read: triggers first, so nothing that changes during the first loads is lost.
    await watches.start();
    const settled = await Promise.allSettled([...members].map((m) => m.start()));
    const failures = settled.flatMap((s, i) => (s.status === 'rejected' ? [{ name: members[i]!.name, error: s.reason as unknown }] : []));
    if (failures.length === 1) throw failures[0]!.error;
    if (failures.length > 1) {
      throw new AggregateError(
        failures.map((f) => f.error),
        `[registry] ${failures.length} members failed to start: ${failures.map((f) => `${f.name} (${errorInfo(f.error).code})`).join(', ')}`,
      );
    }
    started = true;
    const hint = beforeStart;
    beforeStart = undefined;
    if (hint) fire(hint);
  });
  registry.start = (): Promise<void> => (closing ? Promise.reject(new ClosedError('[registry] start() after close()')) : starting.run());

  registry.close = (): Promise<void> => {
    closing ??= (async () => {
      await watches.stop();
      await running?.catch(() => {});
      const settled = await Promise.allSettled(members.map((m) => m.close()));
      settled.forEach((s, i) => {
        if (s.status === 'rejected') report(s.reason, 'close', members[i]!.name);
      });
      for (const detach of detachers.values()) {
        try {
          detach();
        } catch {}
      }
      detachers.clear();
      const flush = (audit as { flush?: () => Promise<void> } | undefined)?.flush;
      if (typeof flush === 'function') await flush.call(audit).catch((error: unknown) => report(error, 'audit'));
    })();
    return closing;
  };

  for (const member of initialMembers) registry.add(member);
  return registry;
}

/** Checks `members` before anything is added: an object of units, each under its own name. */
function checkInitialMembers(members: unknown): RegistryMember[] {
  if (members === undefined) return [];
  if (members === null || typeof members !== 'object' || Array.isArray(members)) {
    throw new TypeError(`createRegistry: expected \`members\` to be an object of units keyed by their names, got ${describeValue(members)}`);
  }
  return Object.entries(members).map(([key, member]) => {
    try {
      assertMember(member);
    } catch (error) {
      throw new TypeError(`createRegistry: \`members.${key}\`: ${(error as Error).message.replace(/^registry\.add: /, '')}`);
    }
    if (member.name !== key) {
      throw new TypeError(`createRegistry: \`members.${key}\` is named "${member.name}": key each member by its name (\`{ '${member.name}': … }\`) so that get('${key}') finds it`);
    }
    return member;
  });
}

function assertMember(member: unknown): asserts member is RegistryMember {
  const m = member as Partial<RegistryMember> | null;
  if (m === null || typeof m !== 'object') throw new TypeError(`registry.add: expected a unit or cache, got ${describeValue(member)}`);
  if (typeof m.name !== 'string' || m.name === '') throw new TypeError(`registry.add: expected the member to have a non-empty string \`name\`, got ${describeValue(m.name)}`);
  for (const method of ['start', 'reload', 'status', 'close', 'on'] as const) {
    if (typeof m[method] !== 'function') throw new TypeError(`registry.add: member "${m.name}" has no ${method}() method: it is not a unit or cache`);
  }
}

function safeStatus(member: RegistryMember): UnitStatus | undefined {
  try {
    return member.status();
  } catch {
    return undefined;
  }
}

/** What status() reports for a member whose own status() threw: visible, never hidden. */
function brokenStatus(member: RegistryMember): UnitStatus {
  return {
    name: member.name,
    state: 'failed',
    ready: false,
    generation: 0,
    hash: null,
    committedAt: null,
    lastAttempt: null,
    leases: 0,
    draining: 0,
    reason: 'status() threw',
  };
}
