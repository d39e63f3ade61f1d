/**
 * What the members of one process write and read about one rollout, shared between them.
 *
 * - **Verdicts** issued in the same turn of the event loop go out as one transaction per rollout
 *   (guarded by the rollout record still existing), not one put per member: a process with ten
 *   members that all prepared costs etcd one raft entry, and the controller one watch event.
 * - **Candidates** are immutable once a rollout is created, so one copy serves every member of the
 *   process: the one the shared watch delivered with the rollout's creation, or else one read. The
 *   text is shared and each member parses its own copy (a unit may keep the object).
 *
 * @module
 * @internal
 */
import type { Namespace } from 'etcd3';

/** etcd refuses transactions of more than 128 operations by default (`--max-txn-ops`). */
const MAX_OPS = 100;

interface Batch {
  guard: string;
  puts: Map<string, string>;
  waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }>;
}

const pendingByClient = new WeakMap<Namespace, Map<string, Batch>>();

async function flush(client: Namespace, batch: Batch): Promise<void> {
  const entries = [...batch.puts];
  for (let i = 0; i < entries.length; i += MAX_OPS) {
    const ops = entries.slice(i, i + MAX_OPS).map(([key, value]) => client.put(key).value(value));
    // A rollout whose record is gone (cleaned up) takes no more verdicts.
    await client.if(batch.guard, 'Create', '>', 0).then(...ops).commit();
  }
}

/**
 * Puts `key` = `value` in the next transaction guarded by `guardKey` existing; resolves once that
 * transaction committed. Puts to the same key in one turn keep the last value.
 *
 * @example
 * ```ts
 * await batchedPut(client, keys.rollout(id), keys.verdict(id, instance), JSON.stringify(verdict));
 * ```
 */
export function batchedPut(client: Namespace, guardKey: string, key: string, value: string): Promise<void> {
  let pending = pendingByClient.get(client);
  if (!pending) pendingByClient.set(client, (pending = new Map()));
  const byGuard = pending;
  let batch = byGuard.get(guardKey);
  if (!batch) {
    const fresh: Batch = { guard: guardKey, puts: new Map(), waiters: [] };
    batch = fresh;
    byGuard.set(guardKey, fresh);
    setImmediate(() => {
      byGuard.delete(guardKey);
      flush(client, fresh).then(
        () => fresh.waiters.forEach((w) => w.resolve()),
        (error: unknown) => fresh.waiters.forEach((w) => w.reject(error)),
      );
    });
  }
  batch.puts.set(key, value);
  const joined = batch;
  return new Promise((resolve, reject) => joined.waiters.push({ resolve, reject }));
}

const candidatesByClient = new WeakMap<Namespace, Map<string, Promise<string | null>>>();
/** Candidates kept per client: a process follows few rollouts at once. */
const MAX_CANDIDATES = 16;

/**
 * The text at `key` (a rollout's candidate), read once per process while it is kept; a failed
 * read is not kept. `null` when the key does not exist (not kept either).
 *
 * @example
 * ```ts
 * const text = await sharedCandidate(client, keys.candidate(id));
 * ```
 */
export function sharedCandidate(client: Namespace, key: string): Promise<string | null> {
  let cache = candidatesByClient.get(client);
  if (!cache) candidatesByClient.set(client, (cache = new Map()));
  const kept = cache;
  const hit = kept.get(key);
  if (hit) return hit;
  const read = client.get(key).string();
  kept.set(key, read);
  while (kept.size > MAX_CANDIDATES) kept.delete(kept.keys().next().value!);
  read.then(
    (text) => {
      if (text === null && kept.get(key) === read) kept.delete(key);
    },
    () => {
      if (kept.get(key) === read) kept.delete(key);
    },
  );
  return read;
}

/**
 * Keeps `text` as the candidate at `key`, as the shared watch delivered it (the rollout's creating
 * transaction writes the candidate before the record, so members find it here and read nothing).
 *
 * @example
 * ```ts
 * primeCandidate(client, kv.key.toString(), kv.value.toString());
 * ```
 */
export function primeCandidate(client: Namespace, key: string, text: string): void {
  let cache = candidatesByClient.get(client);
  if (!cache) candidatesByClient.set(client, (cache = new Map()));
  cache.delete(key);
  cache.set(key, Promise.resolve(text));
  while (cache.size > MAX_CANDIDATES) cache.delete(cache.keys().next().value!);
}

/** Forgets a kept candidate (its rollout ended, or its key was deleted). */
export function forgetCandidate(client: Namespace, key: string): void {
  candidatesByClient.get(client)?.delete(key);
}
