/**
 * One etcd watch per (client, key or prefix), shared by every source on it: 20 units reading one
 * prefix cost etcd one watcher, not 20. The hub turns watch events into hints for its
 * subscribers and keeps the watch alive:
 *
 * - **No lost change between read and watch.** A watch opened after a source has read starts at
 *   that read's revision + 1. When the watch was opened first (the unit starts watches before
 *   its initial read), each read reports its revision; a read older than the revision the watch
 *   delivers from gets a hint, so the gap is re-read.
 * - **Reconnect.** etcd3 re-attaches the watch stream with its `watchBackoff` and resumes from the
 *   last revision it saw; on every reconnection the hub also hints every subscriber (a re-read is
 *   cheap, the hash decides), so a resume edge case can never hide a change.
 * - **Compaction.** A watch whose start revision was compacted is cancelled by etcd. The hub
 *   re-opens it from the current revision and hints every subscriber: a full re-read.
 * - **Values, decoded once.** Each watch response is decoded once (key, value text, revision)
 *   and handed to every subscriber with the connection it came on (`epoch`) before the hint, so
 *   a source can apply the change itself instead of reading it back. `covers(epoch, revision)`
 *   says whether that connection delivers every change after `revision`: a reconnect, a re-open
 *   or a read older than the watch start breaks it, and the source reads again.
 *
 * @module
 */
import type { IKeyValue, IWatchResponse, Namespace, Watcher } from 'etcd3';
import type { Hint } from '../types.js';

/** What a source watches: one key, or every key under a prefix. */
export type EtcdTarget = { key: string } | { prefix: string };

/** One change from a watch response, decoded once for every subscriber. */
export interface HubChange {
  type: 'put' | 'delete';
  /** The full etcd key. */
  key: string;
  /** The stored text (`''` for a delete). */
  value: string;
  /** The revision of this change (the key's `mod_revision`). */
  revision: bigint;
}

/** A subscriber of a hub: one watching source. */
export interface HubSubscriber {
  hint(h: Hint): void;
  /**
   * The changes of one watch response, in revision order, received on connection `epoch` of
   * `hub`; called before `hint`.
   */
  changes?(hub: EtcdWatchHub, epoch: number, changes: readonly HubChange[]): void;
}

/** Counters of a client's hubs, for tests and operators. */
export interface EtcdWatchStats {
  /** Hubs alive on this client (one per watched key or prefix). */
  hubs: number;
  /** etcd watchers opened by those hubs and still open. */
  watchers: number;
  /** Sources subscribed across those hubs. */
  subscribers: number;
  /** Watches re-opened after etcd cancelled them (compaction...), since the hubs were created. */
  recoveries: number;
}

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 10_000;

function targetId(target: EtcdTarget): string {
  return 'key' in target ? `key:${target.key}` : `prefix:${target.prefix}`;
}

/** Describes a target without its values: `key /app/config` or `prefix /app/`. */
export function describeTarget(target: EtcdTarget): string {
  return 'key' in target ? `key ${target.key}` : `prefix ${target.prefix}`;
}

/** The changes of one watch response, decoded once (etcd sends them in revision order). */
function decodeChanges(res: IWatchResponse): HubChange[] {
  const changes: HubChange[] = [];
  for (const event of res.events) {
    const kv: IKeyValue | undefined = event.kv;
    if (!kv) continue;
    const type = event.type === 'Delete' ? 'delete' : 'put';
    changes.push({ type, key: kv.key.toString('utf8'), value: type === 'put' ? kv.value.toString('utf8') : '', revision: BigInt(kv.mod_revision) });
  }
  return changes;
}

function isCompaction(error: unknown): boolean {
  const text = error instanceof Error ? `${error.name} ${error.message}` : String(error);
  return /compact/i.test(text);
}

/** The shared watch of one (client, target). Created and disposed by {@link subscribeHub}. */
export class EtcdWatchHub {
  readonly subscribers = new Set<HubSubscriber>();
  /** Re-opens after a cancellation (compaction or other server-side cancel). */
  recoveries = 0;
  private watcher: Watcher | undefined;
  private connected = false;
  /** Counts connections (first connect, reconnects, re-opens): a change of epoch is a possible gap. */
  private epoch = 0;
  /** The current connection delivers every change at or after this revision. */
  private coveredFrom: bigint | undefined;
  /** Every change at or after this revision reaches the subscribers (set once connected). */
  private deliversFrom: bigint | undefined;
  /** Highest revision any source on this target has read. */
  private knownRevision: bigint | undefined;
  /** Reads that finished before the watch was connected: checked against `deliversFrom` then. */
  private readonly pendingReads = new Map<HubSubscriber, bigint>();
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retryMs = RETRY_MIN_MS;
  private closed = false;

  constructor(
    private readonly client: Namespace,
    private readonly target: EtcdTarget,
    private readonly onClosed: () => void,
  ) {}

  /** True while an etcd watcher is open (connected or reconnecting). */
  get watching(): boolean {
    return this.watcher !== undefined;
  }

  /** The current connection, or `undefined` while there is none. */
  get connection(): number | undefined {
    return this.connected ? this.epoch : undefined;
  }

  /**
   * True if connection `epoch` is still up and delivers every change after `revision`: state
   * known as of `revision` stays current by applying the changes this hub hands on.
   */
  covers(epoch: number, revision: bigint): boolean {
    return this.connected && epoch === this.epoch && this.coveredFrom !== undefined && revision + 1n >= this.coveredFrom;
  }

  subscribe(subscriber: HubSubscriber): () => Promise<void> {
    this.subscribers.add(subscriber);
    if (!this.watcher && !this.retryTimer) this.open(this.knownRevision === undefined ? undefined : this.knownRevision + 1n, false);
    return () => this.unsubscribe(subscriber);
  }

  /** A source read the target at `revision`: make sure nothing after it can be missed. */
  noteRead(subscriber: HubSubscriber | undefined, revision: bigint): void {
    if (this.knownRevision === undefined || revision > this.knownRevision) this.knownRevision = revision;
    if (!subscriber || !this.subscribers.has(subscriber)) return;
    if (this.connected && this.deliversFrom !== undefined) {
      if (revision + 1n < this.deliversFrom) this.hintOne(subscriber, 'gap between read and watch');
      return;
    }
    const pending = this.pendingReads.get(subscriber);
    if (pending === undefined || revision > pending) this.pendingReads.set(subscriber, revision);
  }

  private open(startRevision: bigint | undefined, hintOnConnect: boolean): void {
    if (this.closed) return;
    let builder = this.client.watch();
    builder = 'key' in this.target ? builder.key(this.target.key) : builder.prefix(this.target.prefix);
    if (startRevision !== undefined) builder = builder.startRevision(String(startRevision));
    // `watcher()` returns the watcher synchronously, so every listener (notably `error`, which
    // would otherwise throw) is attached before anything can be emitted.
    const watcher = builder.watcher();
    this.watcher = watcher;
    this.connected = false;
    let everConnected = false;

    watcher.on('connected', (res: IWatchResponse) => {
      if (this.watcher !== watcher) return;
      this.connected = true;
      this.epoch += 1;
      this.retryMs = RETRY_MIN_MS;
      // A resumed watch replays from the last revision etcd3 saw, at or before this header.
      this.coveredFrom = everConnected ? BigInt(res.header.revision) + 1n : (startRevision ?? BigInt(res.header.revision) + 1n);
      if (!everConnected) {
        everConnected = true;
        this.deliversFrom = this.coveredFrom;
        for (const [subscriber, revision] of this.pendingReads) {
          if (revision + 1n < this.deliversFrom) this.hintOne(subscriber, 'gap between read and watch');
        }
        this.pendingReads.clear();
        if (hintOnConnect) this.hintAll('watch re-opened');
      } else {
        // Notifications cannot be lost on resume in theory; a re-read makes sure in practice.
        this.hintAll('watch reconnected');
      }
    });
    watcher.on('disconnected', () => {
      if (this.watcher === watcher) this.connected = false;
    });
    watcher.on('data', (res: IWatchResponse) => {
      if (this.watcher !== watcher || res.events.length === 0 || !this.connected) return;
      const changes = decodeChanges(res);
      const first = changes[0];
      const detail = first ? `${first.type} ${first.key}` : 'change';
      const epoch = this.epoch;
      for (const subscriber of [...this.subscribers]) {
        try {
          subscriber.changes?.(this, epoch, changes);
        } catch {
          // Same as a hint: one subscriber's failure must not stop the others.
        }
      }
      this.hintAll(detail);
    });
    watcher.on('error', (error: unknown) => {
      // etcd cancelled this watch (it is already detached from the stream).
      if (this.watcher !== watcher) return;
      this.watcher = undefined;
      this.connected = false;
      this.deliversFrom = undefined;
      this.coveredFrom = undefined;
      this.recoveries += 1;
      // Compacted: the revision we wanted is gone, so watch from now and re-read everything.
      // Anything else: retry with backoff, then re-read as well.
      const delay = isCompaction(error) ? 0 : this.retryMs;
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        if (this.subscribers.size > 0) this.open(undefined, true);
      }, delay);
    });
  }

  private hintOne(subscriber: HubSubscriber, detail: string): void {
    try {
      subscriber.hint({ kind: 'etcd', detail: `${describeTarget(this.target)}: ${detail}` });
    } catch {
      // A subscriber's failure must not stop the others (the unit reports its own errors).
    }
  }

  private hintAll(detail: string): void {
    for (const subscriber of [...this.subscribers]) this.hintOne(subscriber, detail);
  }

  private async unsubscribe(subscriber: HubSubscriber): Promise<void> {
    if (!this.subscribers.delete(subscriber)) return;
    this.pendingReads.delete(subscriber);
    if (this.subscribers.size > 0) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.onClosed();
    const watcher = this.watcher;
    const wasConnected = this.connected;
    this.watcher = undefined;
    this.connected = false;
    if (watcher) await cancelWatcher(watcher, wasConnected);
  }
}

/**
 * Cancels a watcher without waiting forever: etcd3's `cancel()` on a watcher that never got its id
 * (etcd refused the create: permission denied) waits for a `connected` or `disconnected` event that
 * never comes. Such a watcher is cancelled without waiting; a connected one is raced with its own
 * `error` / `end`.
 */
async function cancelWatcher(watcher: Watcher, connected: boolean): Promise<void> {
  if (!connected) {
    watcher.cancel().catch(() => undefined);
    return;
  }
  let settle!: () => void;
  const gone = new Promise<void>((resolve) => (settle = resolve));
  watcher.once('error', settle);
  watcher.once('end', settle);
  try {
    await Promise.race([watcher.cancel().catch(() => undefined), gone]);
  } finally {
    watcher.off('error', settle);
    watcher.off('end', settle);
  }
}

const hubsByClient = new WeakMap<object, Map<string, EtcdWatchHub>>();
const recoveriesByClient = new WeakMap<object, number>();

/**
 * Subscribes to the shared hub of (client, target), creating it on first use. `readRevision`:
 * the revision the subscriber last read at, if any (a new watch then starts right after it).
 * Returns the hub and the unsubscribe function (the hub closes with its last subscriber).
 */
export function subscribeHub(
  client: Namespace,
  target: EtcdTarget,
  subscriber: HubSubscriber,
  readRevision?: bigint,
): { hub: EtcdWatchHub; unsubscribe: () => Promise<void> } {
  let hubs = hubsByClient.get(client);
  if (!hubs) {
    hubs = new Map();
    hubsByClient.set(client, hubs);
  }
  const id = targetId(target);
  let hub = hubs.get(id);
  if (!hub) {
    const created: EtcdWatchHub = new EtcdWatchHub(client, target, () => {
      recoveriesByClient.set(client, (recoveriesByClient.get(client) ?? 0) + created.recoveries);
      if (hubs.get(id) === created) hubs.delete(id);
    });
    hub = created;
    hubs.set(id, hub);
  }
  // Known before the watch opens, so a new watch starts at the read's revision + 1 and delivers
  // a change made between the read and the watch as an ordinary event.
  if (readRevision !== undefined) hub.noteRead(undefined, readRevision);
  return { hub, unsubscribe: hub.subscribe(subscriber) };
}

/**
 * How many watch hubs and etcd watchers the sources on `client` use: 20 units on one prefix
 * show `{ hubs: 1, watchers: 1, subscribers: 20 }`.
 *
 * @example
 * ```ts
 * const { watchers } = etcdWatchStats(client);
 * ```
 */
export function etcdWatchStats(client: Namespace): EtcdWatchStats {
  const hubs = [...(hubsByClient.get(client)?.values() ?? [])];
  return {
    hubs: hubs.length,
    watchers: hubs.filter((hub) => hub.watching).length,
    subscribers: hubs.reduce((sum, hub) => sum + hub.subscribers.size, 0),
    recoveries: (recoveriesByClient.get(client) ?? 0) + hubs.reduce((sum, hub) => sum + hub.recoveries, 0),
  };
}
