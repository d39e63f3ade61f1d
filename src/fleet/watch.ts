/**
 * One etcd watch per (client, fleet) in a process, on the fleet's `ctl/` prefix (rollout records,
 * candidates, locks, commands), shared by every member of every instance the process runs.
 * Level-triggered: each rollout event carries the whole record and members act on the latest one;
 * after a (re)connection the watch lists `ctl/` again so nothing that changed while it was away is
 * missed. A candidate that arrives on the watch is kept for the process's members (they then read
 * nothing); listings skip candidates, which a member that needs one reads by its key.
 *
 * @module
 */
import { Range, type IKeyValue, type Namespace, type Watcher } from 'etcd3';
import { forgetCandidate, primeCandidate } from './batch.js';
import { fleetKeys } from './keys.js';

export interface CtlEvent {
  kind: 'rollout' | 'command';
  id: string;
  /** `undefined` when the key was deleted. */
  value: string | undefined;
  /** The lease the key is attached to (`'0'` for none): a command's results use it. */
  lease: string;
}

export type CtlListener = (event: CtlEvent) => void;

interface Shared {
  listeners: Set<CtlListener>;
  watcher?: Watcher;
  opening?: Promise<void>;
  /** Count of watches this process opened for the fleet (a test reads it: it stays one). */
  opened: number;
}

const byClient = new WeakMap<Namespace, Map<string, Shared>>();

function classify(fleet: string, key: string): Omit<CtlEvent, 'value' | 'lease'> | undefined {
  const keys = fleetKeys(fleet);
  if (key.startsWith(keys.rollouts)) return { kind: 'rollout', id: key.slice(keys.rollouts.length) };
  if (key.startsWith(keys.commands)) return { kind: 'command', id: key.slice(keys.commands.length) };
  return undefined;
}

/**
 * `ctl/` without its candidates: `ctl/candidates/` sorts before every other part of `ctl/`, so
 * the listing starts after it (a member reads the one candidate it needs, not every kept one).
 */
function listCtl(client: Namespace, fleet: string) {
  const keys = fleetKeys(fleet);
  return client.getAll().inRange({ start: keys.commands, end: Range.prefix(keys.ctl).end }).exec();
}

async function relist(client: Namespace, fleet: string, shared: Shared): Promise<void> {
  const response = await listCtl(client, fleet);
  for (const kv of response.kvs) deliver(client, fleet, shared, kv, false);
}

function deliver(client: Namespace, fleet: string, shared: Shared, kv: IKeyValue, deleted: boolean): void {
  const key = kv.key.toString();
  if (key.startsWith(fleetKeys(fleet).candidates)) {
    if (deleted) forgetCandidate(client, key);
    else primeCandidate(client, key, kv.value.toString());
    return;
  }
  const what = classify(fleet, key);
  if (!what) return;
  const event: CtlEvent = { ...what, value: deleted ? undefined : kv.value.toString(), lease: String(kv.lease ?? '0') };
  for (const listener of [...shared.listeners]) listener(event);
}

/**
 * Subscribes to a fleet's control events; resolves once the shared watch is open and the current
 * state was delivered to `listener`. The returned function unsubscribes (the last one closes the watch).
 */
export async function subscribeCtl(client: Namespace, fleet: string, listener: CtlListener): Promise<() => Promise<void>> {
  let fleets = byClient.get(client);
  if (!fleets) byClient.set(client, (fleets = new Map()));
  let shared = fleets.get(fleet);
  if (!shared) fleets.set(fleet, (shared = { listeners: new Set(), opened: 0 }));
  const s = shared;
  s.listeners.add(listener);
  s.opening ??= (async () => {
    const watcher = await client.watch().prefix(fleetKeys(fleet).ctl).create();
    s.opened++;
    s.watcher = watcher;
    watcher.on('put', (kv) => deliver(client, fleet, s, kv, false));
    watcher.on('delete', (kv) => deliver(client, fleet, s, kv, true));
    // A reconnection may have missed events if the resume revision was compacted: list again.
    watcher.on('connected', () => void relist(client, fleet, s).catch(() => undefined));
    watcher.on('error', () => undefined); // etcd3 reconnects by itself
  })();
  try {
    await s.opening;
  } catch (error) {
    s.opening = undefined;
    s.listeners.delete(listener);
    throw error;
  }
  // This subscriber's own first view (the others already have theirs).
  const response = await listCtl(client, fleet);
  for (const kv of response.kvs) {
    const what = classify(fleet, kv.key.toString());
    if (what) listener({ ...what, value: kv.value.toString(), lease: String(kv.lease ?? '0') });
  }
  return async () => {
    s.listeners.delete(listener);
    if (s.listeners.size > 0) return;
    fleets.delete(fleet);
    await s.watcher?.cancel().catch(() => undefined);
  };
}

/** Watches this process opened on `fleet` through `client` and still shares (one, or none). */
export function ctlWatchCount(client: Namespace, fleet: string): number {
  const shared = byClient.get(client)?.get(fleet);
  return shared?.watcher ? 1 : 0;
}
