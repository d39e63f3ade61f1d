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
      client.put(keys.rollout(record.id)).value(JSON.stringify(record)),
      client.put(keys.candidate(record.id)).value(raw),
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

/** Who holds the unit's lock now (a rollout id), if anyone. */
export async function lockHolder(client: Namespace, fleet: string, unit: string): Promise<string | null> {
  return client.get(fleetKeys(fleet).lock(unit)).string();
}
