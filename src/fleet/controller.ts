/**
 * The controller loop of one rollout: it holds the fleet+unit lock under its lease, watches the
 * fleet (members, verdicts, the record) into a {@link FleetView}, and on every change or timer
 * observes the view, calls the pure `decide`, and writes the next record guarded by the record's
 * mod revision. A tick reads etcd only at start and after a reconnection or a failed tick. A
 * controller that crashes leaves a record any other process continues from (`resumeRollout`).
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import type { IKeyValue, Lease, Namespace, Watcher } from 'etcd3';
import { control, decide } from './decide.js';
import { gateSnapshot, judge, type Gate } from './gate.js';
import { fleetKeys } from './keys.js';
import { matchesSelector, TERMINAL, type RolloutDecision, type RolloutRecord } from './record.js';
import { readRecord, writeRecord } from './store.js';
import { FleetView } from './view.js';

/** One progress event: a decision the controller wrote (or saw written, e.g. a pause by id). */
export interface RolloutProgress {
  id: string;
  decision: RolloutDecision;
  state: RolloutRecord['state'];
  step: number;
  phase: RolloutRecord['phase'];
}

/** An audit record of a rollout decision: who, what, which step; hashes and ids, never values. */
export interface FleetAuditRecord {
  at: number;
  kind: 'rollout';
  action: RolloutDecision['action'];
  id: string;
  fleet: string;
  unit: string;
  step: number;
  candidateHash: string;
  actor: string;
  reason?: string;
  instances?: string[];
}

export interface RolloutHandle {
  readonly id: string;
  /** The latest record this controller wrote or read. */
  record(): RolloutRecord;
  on(event: 'progress', fn: (p: RolloutProgress) => void): this;
  off(event: 'progress', fn: (p: RolloutProgress) => void): this;
  /** Resolves with the final record (`done`, `rejected`, `rolled-back`, `aborted`). */
  readonly done: Promise<RolloutRecord>;
  pause(opts?: { actor?: string; reason?: string }): Promise<void>;
  resume(opts?: { actor?: string }): Promise<void>;
  abort(opts?: { actor?: string; reason?: string }): Promise<void>;
  /** Stops this controller without ending the rollout (another process resumes it). */
  detach(): Promise<void>;
}

export interface ControllerContext {
  client: Namespace;
  record: RolloutRecord;
  lease: Lease;
  /** The fleet watch, when the caller opened it already ({@link openFleetWatch}); else `start()` opens it. */
  watcher?: Watcher;
  gate: Gate | undefined;
  writeCanonical: boolean;
  onAudit: ((record: FleetAuditRecord) => void) | undefined;
}

/**
 * A record version that only folds in verdicts (no decision) waits this long after the previous
 * write: each version wakes every member, so a fleet answering one by one would otherwise be woken
 * once per answer, and the decision that matters would queue behind those writes. Status readers
 * see verdicts at most this late in the record (and at once under `verdicts/`).
 */
const FOLD_SPACING_MS = 1000;

class Controller extends EventEmitter {
  current: RolloutRecord;
  done: Promise<RolloutRecord>;
  private settle!: (r: RolloutRecord) => void;
  private fail!: (e: Error) => void;
  private watcher: Watcher | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private again = false;
  private stopped = false;
  private seenDecisions: number;
  private readonly view: FleetView;
  /** The view must be read from etcd before the next decision (start, reconnection, failed tick). */
  private mustRead = true;
  /** Mod revision of `current` (0 for the record handed in at start). */
  private revision = 0n;
  /** When this controller last wrote the record (construction: the record was just written, or resumed). */
  private wroteAt = Date.now();

  constructor(private readonly ctx: ControllerContext) {
    super();
    this.current = ctx.record;
    this.seenDecisions = 0;
    this.view = new FleetView(fleetKeys(ctx.record.fleet), ctx.record.id);
    this.done = new Promise((resolve, reject) => {
      this.settle = resolve;
      this.fail = reject;
    });
    this.done.catch(() => undefined);
  }

  async start(): Promise<void> {
    this.watcher = this.ctx.watcher ?? (await openFleetWatch(this.ctx.client, this.current.fleet));
    // An event carries the key's new version: the view takes it, and a tick decides on it.
    const moved = (kv: IKeyValue, deleted: boolean) => {
      if (this.view.apply(kv, deleted)) this.kick();
    };
    this.watcher.on('put', (kv) => moved(kv, false));
    this.watcher.on('delete', (kv) => moved(kv, true));
    this.watcher.on('connected', () => this.kick(true)); // events may have been missed: read it all
    this.watcher.on('error', () => {
      this.mustRead = true; // etcd3 reconnects by itself; what it missed meanwhile is read back
    });
    this.ctx.lease.on('lost', () => {
      // Without the lease the lock is gone: another controller may take over. Stop deciding.
      void this.stop(new Error(`rollout ${this.current.id}: the controller lost its lease (the lock); resume it with resumeRollout()`));
    });
    this.kick();
  }

  /** Kicks a tick; `read`: read the view from etcd first (a reconnection, a failed tick). */
  kick(read = false): void {
    if (this.stopped) return;
    if (read) this.mustRead = true;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.tick()
      .catch(() => {
        // etcd unreachable: try again shortly (the record in etcd is the truth, nothing is lost).
        this.mustRead = true;
        this.wake(Date.now() + 200, true);
      })
      .finally(() => {
        this.running = false;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  private wake(at: number, read = false): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(read), Math.max(0, at - Date.now()));
  }

  /** Takes `record` as the latest unless a newer one (a higher mod revision) was already taken. */
  private adopt(record: RolloutRecord, modRevision: string): void {
    const revision = BigInt(modRevision);
    if (revision < this.revision) return;
    this.revision = revision;
    this.current = record;
  }

  private emitNew(record: RolloutRecord): void {
    for (const decision of record.decisions.slice(this.seenDecisions)) {
      this.emit('progress', { id: record.id, decision, state: record.state, step: record.step, phase: record.phase } satisfies RolloutProgress);
      if (this.ctx.onAudit) {
        const audit: FleetAuditRecord = {
          at: decision.at, kind: 'rollout', action: decision.action, id: record.id, fleet: record.fleet, unit: record.unit,
          step: decision.step, candidateHash: record.candidateHash, actor: decision.actor ?? record.actor,
        };
        if (decision.reason) audit.reason = decision.reason;
        if (decision.instances) audit.instances = decision.instances;
        try {
          this.ctx.onAudit(audit);
        } catch {
          // an audit sink that throws must not stop the rollout
        }
      }
    }
    this.seenDecisions = Math.max(this.seenDecisions, record.decisions.length);
  }

  private async tick(): Promise<void> {
    const { client } = this.ctx;
    if (this.mustRead) {
      this.mustRead = false;
      await this.view.read(client);
    }
    const stored = this.view.record();
    if (!stored) throw new Error(`rollout ${this.current.id}: its record is missing from etcd`);
    this.adopt(stored.record, stored.modRevision);
    // The newest record known: the view's, or the one this controller wrote (its event may lag).
    const record = this.current;
    const modRevision = String(this.revision);
    this.emitNew(record);
    if (TERMINAL.has(record.state)) return this.finish(record);
    const table = this.view.table();
    const verdicts = this.view.verdicts();
    const running = new Set(table.rows.filter((r) => r.unit === record.unit).map((r) => r.instance));
    const eligible = new Set(table.instances.filter((i) => running.has(i.instance) && matchesSelector(i.labels ?? {}, record.selector)).map((i) => i.instance));
    const gate = record.phase === 'bake' && record.state === 'running' ? await judge(gateSnapshot(record, table), record, this.ctx.gate) : 'unknown';
    const next = decide(record, { now: Date.now(), eligible, verdicts, gate, foldAfter: this.wroteAt + FOLD_SPACING_MS });
    if (next.changed) {
      const written = await writeRecord(client, next.record, modRevision, this.ctx.writeCanonical);
      if (written) {
        this.wroteAt = Date.now();
        this.view.wrote(next.record, written);
        this.adopt(next.record, written);
        this.emitNew(next.record);
        if (TERMINAL.has(next.record.state)) return this.finish(next.record);
      }
      // Beaten by another write (a pause by id): its event brings the fresh record; read anyway.
      if (!written) this.mustRead = true;
      this.again = true;
      return;
    }
    if (next.wakeAt !== undefined) this.wake(next.wakeAt);
    // During bake the gate is re-read as health arrives (watch events) and at least every second.
    if (record.phase === 'bake' && record.state === 'running') this.wake(Math.min(next.wakeAt ?? Infinity, Date.now() + 1000));
  }

  private finish(record: RolloutRecord): void {
    this.settle(record);
    void this.stop();
  }

  async stop(error?: Error): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (error) this.fail(error);
    await this.watcher?.cancel().catch(() => undefined);
    await this.ctx.lease.revoke().catch(() => this.ctx.lease.release());
  }

  async control(action: 'pause' | 'resume' | 'abort', actor: string | undefined, reason?: string): Promise<void> {
    for (;;) {
      const { record, modRevision } = await readRecord(this.ctx.client, this.current.fleet, this.current.id);
      const next = control(record, action, actor, Date.now(), reason);
      if (!next.changed) return;
      const written = await writeRecord(this.ctx.client, next.record, modRevision, false);
      if (written) {
        this.wroteAt = Date.now();
        // The handle shows the control at once (`await handle.pause()` then `record().state` is 'paused').
        this.adopt(next.record, written);
        this.kick();
        return;
      }
    }
  }
}

/** The controller's one watch on the whole fleet: members come and go, verdicts arrive, an operator pauses. */
export function openFleetWatch(client: Namespace, fleet: string): Promise<Watcher> {
  return client.watch().prefix(fleetKeys(fleet).base).create();
}

/** Starts the loop for a record whose lock `ctx.lease` holds; returns its handle. */
export async function runController(ctx: ControllerContext): Promise<RolloutHandle> {
  const controller = new Controller(ctx);
  await controller.start();
  const handle: RolloutHandle = {
    id: ctx.record.id,
    record: () => controller.current,
    on(event, fn) {
      controller.on(event, fn);
      return handle;
    },
    off(event, fn) {
      controller.off(event, fn);
      return handle;
    },
    done: controller.done,
    pause: (opts = {}) => controller.control('pause', opts.actor, opts.reason),
    resume: (opts = {}) => controller.control('resume', opts.actor),
    abort: (opts = {}) => controller.control('abort', opts.actor, opts.reason),
    detach: () => controller.stop(new Error(`rollout ${ctx.record.id}: detached (resume it with resumeRollout())`)),
  };
  return handle;
}
