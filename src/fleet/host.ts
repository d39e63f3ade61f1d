/**
 * One instance's registration in a fleet: its lease, its `members/<instance>` record (labels) and
 * every unit's state record, written by the `etcdFleetReporter` engine of reloadkit/etcd (the same
 * records, so `readFleet` shows both). Several units of one instance share one host: one lease.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import type { Namespace } from 'etcd3';
import { etcdFleetReporter, type FleetMember, type FleetReporter } from '../etcd/fleet.js';
import { fleetKeys } from './keys.js';

export interface Host {
  readonly instance: string;
  readonly reporter: FleetReporter;
  add(member: FleetMember, extra: () => Record<string, unknown> | undefined): void;
  remove(name: string): Promise<void>;
  started: Promise<void>;
}

interface HostEntry {
  host: Host;
  names: Set<string>;
}

const hosts = new WeakMap<Namespace, Map<string, HostEntry>>();

/** The host of (client, fleet, instance), created on first use. */
export function acquireHost(
  client: Namespace,
  fleet: string,
  instance: string,
  labels: Record<string, string>,
  leaseTtlS: number,
  onError: (error: Error) => void,
): Host {
  let map = hosts.get(client);
  if (!map) hosts.set(client, (map = new Map()));
  const id = `${fleet}\0${instance}`;
  const existing = map.get(id);
  if (existing) return existing.host;

  const members = new Map<string, FleetMember>();
  const extras = new Map<string, () => Record<string, unknown> | undefined>();
  const events = new EventEmitter();
  const registry = {
    units: () => members.values(),
    on: (event: string, fn: (payload: never) => void) => events.on(event, fn as (...args: unknown[]) => void),
    off: (event: string, fn: (payload: never) => void) => events.off(event, fn as (...args: unknown[]) => void),
  };
  const reporter = etcdFleetReporter(registry, client, {
    prefix: fleetKeys(fleet).members,
    instanceId: instance,
    ttl: leaseTtlS,
    labels,
    extra: (unit) => extras.get(unit)?.(),
    onError,
  });
  const entry: HostEntry = {
    names: new Set(),
    host: {
      instance,
      reporter,
      started: reporter.start(),
      add(member, extra) {
        entry.names.add(member.name);
        members.set(member.name, member);
        extras.set(member.name, extra);
        events.emit('added', { member });
      },
      async remove(name) {
        entry.names.delete(name);
        members.delete(name);
        if (entry.names.size > 0) {
          await client.delete().key(fleetKeys(fleet).state(instance, name)).exec().catch(() => undefined);
          return;
        }
        map.delete(id);
        await reporter.close();
      },
    },
  };
  map.set(id, entry);
  return entry.host;
}
