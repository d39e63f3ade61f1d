/**
 * A controller's view of the part of a fleet one rollout depends on: its record, the members table
 * and the rollout's verdicts, kept current from the controller's one watch on the fleet. A tick
 * decides from this view without reading etcd.
 *
 * Every key keeps the revision it was last seen at, deletions included, so a full read (at start,
 * after a reconnection) and the watch's events may arrive in any order: a version older than the
 * one kept is ignored, and the view ends as etcd has it. Each of the three ranges (record, members,
 * verdicts) also keeps the revision of the newest full read of it: that read listed every key of
 * the range alive then, so any version at or below it, of a key listed or not (a key whose delete
 * the view never saw), is already stale. A view that is behind costs nothing worse
 * than a retry: every record write is guarded by the record's mod revision (store.ts).
 *
 * @module
 * @internal
 */
import type { IKeyValue, IRangeResponse, Namespace } from 'etcd3';
import { fleetTableOf } from '../etcd/fleet-table.js';
import type { FleetTable } from '../etcd/fleet.js';
import type { FleetKeys } from './keys.js';
import { parseJson, type RolloutRecord, type Verdict } from './record.js';
import type { StoredRecord } from './store.js';

interface Entry {
  revision: bigint;
  /** `undefined`: deleted at `revision`. */
  value: string | undefined;
}

export class FleetView {
  readonly #keys: FleetKeys;
  readonly #recordKey: string;
  readonly #verdictPrefix: string;
  readonly #entries = new Map<string, Entry>();
  /** Per range (by its prefix, or the record key): the header revision of its newest full read. */
  readonly #readAt = new Map<string, bigint>();
  #table: FleetTable | undefined;

  constructor(keys: FleetKeys, id: string) {
    this.#keys = keys;
    this.#recordKey = keys.rollout(id);
    this.#verdictPrefix = keys.verdicts(id);
  }

  /** Takes a watch event; false when the key is not one the view keeps. */
  apply(kv: IKeyValue, deleted: boolean): boolean {
    const key = kv.key.toString();
    if (key !== this.#recordKey && !key.startsWith(this.#keys.members) && !key.startsWith(this.#verdictPrefix)) return false;
    this.#set(key, BigInt(kv.mod_revision), deleted ? undefined : kv.value.toString());
    return true;
  }

  /** Takes the record this controller just wrote (its event will say the same, later). */
  wrote(record: RolloutRecord, revision: string): void {
    this.#set(this.#recordKey, BigInt(revision), JSON.stringify(record));
  }

  /** Reads the record, the members and the verdicts from etcd and merges them in. */
  async read(client: Namespace): Promise<void> {
    const [record, members, verdicts] = await Promise.all([
      client.get(this.#recordKey).exec(),
      client.getAll().prefix(this.#keys.members).exec(),
      client.getAll().prefix(this.#verdictPrefix).exec(),
    ]);
    this.#merge(record, this.#recordKey);
    this.#merge(members, this.#keys.members);
    this.#merge(verdicts, this.#verdictPrefix);
  }

  /** The record and its mod revision, or `undefined` when etcd has none. */
  record(): StoredRecord | undefined {
    const entry = this.#entries.get(this.#recordKey);
    const record = parseJson<RolloutRecord>(entry?.value);
    return entry && record ? { record, modRevision: String(entry.revision) } : undefined;
  }

  /** The members table, as `readFleet` would return it now. */
  table(): FleetTable {
    this.#table ??= fleetTableOf(this.#keys.members, this.#live(this.#keys.members));
    return this.#table;
  }

  /** The rollout's verdicts by instance. */
  verdicts(): Record<string, Verdict> {
    const verdicts: Record<string, Verdict> = {};
    for (const [, text] of this.#live(this.#verdictPrefix)) {
      const v = parseJson<Verdict>(text);
      if (v) verdicts[v.instance] = v;
    }
    return verdicts;
  }

  *#live(prefix: string): Iterable<[string, string]> {
    for (const [key, entry] of this.#entries) if (entry.value !== undefined && key.startsWith(prefix)) yield [key, entry.value];
  }

  /** The range a kept key belongs to (its prefix, or the record key). */
  #rangeOf(key: string): string {
    if (key === this.#recordKey) return key;
    return key.startsWith(this.#verdictPrefix) ? this.#verdictPrefix : this.#keys.members;
  }

  #set(key: string, revision: bigint, value: string | undefined): void {
    if (revision <= (this.#readAt.get(this.#rangeOf(key)) ?? -1n)) return; // a full read already saw past it
    const kept = this.#entries.get(key);
    if (kept && kept.revision >= revision) return;
    this.#entries.set(key, { revision, value });
    if (key.startsWith(this.#keys.members)) this.#table = undefined;
  }

  /**
   * A range read at revision R: what it lists is current at R, and what it does not list was gone
   * by R. A read no newer than one already merged says nothing new (reads and events may land in
   * any order) and is dropped whole.
   */
  #merge(response: IRangeResponse, range: string): void {
    const at = BigInt(response.header.revision);
    if (at <= (this.#readAt.get(range) ?? -1n)) return;
    const covers = (key: string) => (range === this.#recordKey ? key === range : key.startsWith(range));
    const listed = new Set<string>();
    for (const kv of response.kvs) {
      const key = kv.key.toString();
      listed.add(key);
      this.#set(key, BigInt(kv.mod_revision), kv.value.toString());
    }
    for (const key of [...this.#entries.keys()]) {
      if (covers(key) && !listed.has(key)) this.#set(key, at, undefined);
    }
    this.#readAt.set(range, at);
  }
}
