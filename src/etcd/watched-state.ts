/**
 * What an `etcdSource` knows of its key or prefix between reads: the stored texts as of one etcd
 * revision, kept current by the changes its watch hub hands on, so the read that follows a watch
 * event is answered without a round trip to etcd.
 *
 * The rules that keep it correct:
 * - **Only on a covering connection.** The view is kept current only while the hub's connection
 *   delivers every change after the view's revision (`hub.covers`). A read establishes that; a
 *   reconnect, a re-open after compaction or a read older than the watch start breaks it, and
 *   then the view is dropped: the next read goes to etcd.
 * - **Newer only.** A change at or below the view's revision is already in it and is ignored, so
 *   an older revision never replaces a newer one.
 * - **Nothing lost during a read.** Changes that arrive while a read is in flight are kept and
 *   applied on top of its result when they are newer than the revision it read at.
 * - **Only unread changes are served.** `takeUnread()` answers only when a change was applied
 *   since the last read; any other read (a manual `reload()`, a retry) goes to etcd, so it sees
 *   every put that finished before it.
 *
 * @module
 * @internal
 */
import type { EtcdWatchHub, HubChange } from './hub.js';

/** Changes received while one read was in flight, with the connection they came on. */
interface Buffered {
  hub: EtcdWatchHub;
  epoch: number;
  changes: readonly HubChange[];
}

/** A read in flight (from `beginRead` to `finishRead` or `abandonRead`). */
export interface ReadToken {
  readonly buffered: Buffered[];
}

/** Entries (rest of key → stored text) in key order. */
export type Entries = ReadonlyArray<readonly [string, string]>;

export class WatchedState {
  /** Rest of key → stored text, as of `#revision`; `undefined` when nothing is known. */
  #entries: Map<string, string> | undefined;
  #revision: bigint | undefined;
  /** Insertion order is key order (false once a change added a key at the end). */
  #sorted = true;
  /** The connection that keeps the view current, if any. */
  #hub: EtcdWatchHub | undefined;
  #epoch = 0;
  /** A change was applied since the last read was answered. */
  #unread = false;
  readonly #inFlight = new Set<ReadToken>();

  /** `restOf(key)`: the entry name of a full etcd key, `undefined` for a key outside the target. */
  constructor(private readonly restOf: (key: string) => string | undefined) {}

  /** The revision the view is current as of (the last read, or the last applied change). */
  get revision(): bigint | undefined {
    return this.#revision;
  }

  /**
   * The view, if changes were applied since the last read and the connection that delivered them
   * still covers it; marks them read. `undefined`: read from etcd.
   */
  takeUnread(): Entries | undefined {
    if (!this.#unread || !this.#entries || this.#revision === undefined || !this.#hub?.covers(this.#epoch, this.#revision)) return undefined;
    this.#unread = false;
    return this.#ordered();
  }

  beginRead(): ReadToken {
    const token: ReadToken = { buffered: [] };
    this.#inFlight.add(token);
    return token;
  }

  abandonRead(token: ReadToken): void {
    this.#inFlight.delete(token);
  }

  /**
   * A read at `revision` returned `kvs` (full keys). Returns its entries. The view becomes that
   * read plus the newer changes that arrived meanwhile, unless it already is newer.
   */
  finishRead(token: ReadToken, revision: bigint, kvs: ReadonlyArray<readonly [string, string]>, hub: EtcdWatchHub | undefined): Entries {
    this.#inFlight.delete(token);
    const read: Array<[string, string]> = [];
    for (const [key, text] of kvs) {
      const rest = this.restOf(key);
      if (rest !== undefined) read.push([rest, text]);
    }
    const epoch = hub?.connection;
    const covered = hub !== undefined && epoch !== undefined && hub.covers(epoch, revision);
    // A view newer than this read (a later read finished first, or changes applied meanwhile) stays.
    if (this.#entries && this.#revision !== undefined && this.#revision > revision) return read;
    this.#entries = new Map(read);
    this.#revision = revision;
    this.#sorted = true;
    this.#unread = false;
    this.#hub = covered ? hub : undefined;
    this.#epoch = covered ? epoch : 0;
    if (covered) {
      for (const batch of token.buffered) {
        if (batch.hub === hub && batch.epoch === epoch) this.#applyNewer(batch.changes);
      }
    }
    return read;
  }

  /** The changes of one watch response, on connection `epoch` of `hub`. */
  apply(hub: EtcdWatchHub, epoch: number, changes: readonly HubChange[]): void {
    for (const token of this.#inFlight) token.buffered.push({ hub, epoch, changes });
    if (!this.#entries || this.#revision === undefined) return;
    if (this.#hub !== hub || this.#epoch !== epoch) {
      // A connection we have not followed yet: usable only if it delivers everything after the
      // view (the first connection, after a read made while it was connecting). Else: re-read.
      if (!hub.covers(epoch, this.#revision)) {
        this.#drop();
        return;
      }
      this.#hub = hub;
      this.#epoch = epoch;
    }
    this.#applyNewer(changes);
  }

  /** No watch left: nothing keeps the view current, so every read goes to etcd. */
  unwatched(): void {
    this.#hub = undefined;
    this.#unread = false;
  }

  #applyNewer(changes: readonly HubChange[]): void {
    const entries = this.#entries!;
    for (const change of changes) {
      if (change.revision <= this.#revision!) continue;
      const rest = this.restOf(change.key);
      if (rest === undefined) continue;
      if (change.type === 'delete') {
        entries.delete(rest);
      } else {
        if (this.#sorted && !entries.has(rest)) this.#sorted = false;
        entries.set(rest, change.value);
      }
      this.#revision = change.revision;
      this.#unread = true;
    }
  }

  #drop(): void {
    this.#entries = undefined;
    this.#hub = undefined;
    this.#unread = false;
  }

  #ordered(): Entries {
    const entries = [...this.#entries!];
    if (!this.#sorted) {
      entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      this.#entries = new Map(entries);
      this.#sorted = true;
    }
    return entries;
  }
}
