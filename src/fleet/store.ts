/**
 * Reading and writing rollout records. Every write is a transaction guarded by the record's mod
 * revision: a decision based on a stale record fails and is taken again on the fresh one, so two
 * controllers (or a controller and an operator's pause) can never both move a rollout.
 *
 * @module
 */
import type { Namespace } from 'etcd3';
import { fleetKeys, ROLLOUT_INDEX } from './keys.js';
import { parseJson, TERMINAL, type RolloutRecord } from './record.js';

export interface StoredRecord {
  record: RolloutRecord;
  modRevision: string;
}

/** The fleet a rollout id belongs to, from the rollout index. */
export async function rolloutFleet(client: Namespace, id: string): Promise<string> {
  const fleet = await client.get(`${ROLLOUT_INDEX}${id}`).string();
  if (fleet === null) throw new Error(`rollout ${id}: no such rollout`);
  return fleet;
}

export async function readRecord(client: Namespace, fleet: string, id: string): Promise<StoredRecord> {
  const { kvs } = await client.get(fleetKeys(fleet).rollout(id)).exec();
  const kv = kvs[0];
  const record = parseJson<RolloutRecord>(kv?.value.toString());
  if (!kv || !record) throw new Error(`rollout ${id}: its record is missing from etcd`);
  return { record, modRevision: kv.mod_revision };
}

/**
 * Writes `next` if the record is still at `modRevision`. When `next` is `done`, the candidate goes
 * to the canonical key in the same transaction (unless `writeCanonical` is false); a terminal
 * record also releases the lock if it still names this rollout. Resolves with the record's new mod
 * revision, or false when another write came first.
 */
export async function writeRecord(client: Namespace, next: RolloutRecord, modRevision: string, writeCanonical: boolean): Promise<string | false> {
  const keys = fleetKeys(next.fleet);
  const ops = [client.put(keys.rollout(next.id)).value(JSON.stringify(next))];
  if (next.state === 'done' && writeCanonical) {
    const raw = await client.get(keys.candidate(next.id)).string();
    if (raw === null) throw new Error(`rollout ${next.id}: its candidate key is missing`);
    ops.push(client.put(next.key).value(raw));
  }
  const result = await client.if(keys.rollout(next.id), 'Mod', '==', modRevision).then(...ops).commit();
  if (result.succeeded && TERMINAL.has(next.state)) {
    await client.if(keys.lock(next.unit), 'Value', '==', next.id).then(client.delete().key(keys.lock(next.unit))).commit();
  }
  return result.succeeded ? result.header.revision : false;
}

/** Creates a rollout: lock (under `leaseId`), record, candidate, index, in one transaction; false when the unit is locked. */
export async function createRecord(client: Namespace, record: RolloutRecord, raw: string, leaseId: string): Promise<boolean> {
  const keys = fleetKeys(record.fleet);
  const result = await client
    .if(keys.lock(record.unit), 'Create', '==', 0)
    .then(
      client.put(keys.lock(record.unit)).value(record.id).lease(leaseId),
      // The candidate before the record: a member's watch delivers it first, so it reads nothing.
      client.put(keys.candidate(record.id)).value(raw),
      client.put(keys.rollout(record.id)).value(JSON.stringify(record)),
      client.put(`${ROLLOUT_INDEX}${record.id}`).value(record.fleet),
    )
    .commit();
  return result.succeeded;
}

/** Takes the unit's lock for an existing rollout (after its controller died and the lock expired). */
export async function takeLock(client: Namespace, record: RolloutRecord, leaseId: string): Promise<'taken' | 'held'> {
  const keys = fleetKeys(record.fleet);
  const result = await client.if(keys.lock(record.unit), 'Create', '==', 0).then(client.put(keys.lock(record.unit)).value(record.id).lease(leaseId)).commit();
  return result.succeeded ? 'taken' : 'held';
}

/**
 * Deletes the ended rollouts of `unit` beyond the `keep` newest (record, candidate, verdicts, index
 * entry, one transaction each); returns their ids. Runs under the unit's lock, when a rollout
 * starts, so the records members list on every (re)connection stay bounded.
 */
export async function pruneRollouts(client: Namespace, fleet: string, unit: string, keep: number): Promise<string[]> {
  const keys = fleetKeys(fleet);
  const ended: RolloutRecord[] = [];
  for (const text of Object.values(await client.getAll().prefix(keys.rollouts).strings())) {
    const record = parseJson<RolloutRecord>(text);
    if (record && record.unit === unit && TERMINAL.has(record.state)) ended.push(record);
  }
  const old = ended.sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id)).slice(keep);
  for (const record of old) {
    await client
      .if(keys.rollout(record.id), 'Create', '>', 0)
      .then(
        client.delete().key(keys.rollout(record.id)),
        client.delete().key(keys.candidate(record.id)),
        client.delete().prefix(keys.verdicts(record.id)),
        client.delete().key(`${ROLLOUT_INDEX}${record.id}`),
      )
      .commit();
  }
  return old.map((r) => r.id);
}

/** Who holds the unit's lock now (a rollout id), if anyone. */
export async function lockHolder(client: Namespace, fleet: string, unit: string): Promise<string | null> {
  return client.get(fleetKeys(fleet).lock(unit)).string();
}
