/**
 * `reloadkit/etcd`: units fed by etcd keys or prefixes, and fleet-wide rollout status.
 *
 * - {@link etcdSource}: read a key (or a prefix as an object), hints from one shared watch per
 *   (client, key or prefix), resume after reconnects, recovery from compaction.
 * - {@link etcdPrefixTrigger}: invalidation hints naming the keys changed under a prefix.
 * - {@link etcdFleetReporter}: every instance reports each unit's generation, hash and last
 *   outcome under a lease; {@link readFleet} / {@link formatFleetTable} show the fleet. It is the
 *   engine `fleetMember()` of `reloadkit/fleet` registers and reports with (same records, plus
 *   labels and health); use `fleetMember` when the fleet should also follow rollouts and commands.
 *
 * `etcd3` is an optional peer dependency: install it to use this entry point.
 *
 * @module
 */
export { etcdSource } from './source.js';
export type { EtcdSource, EtcdSourceOptions, EtcdDeletePolicy } from './source.js';
export { etcdPrefixTrigger } from './prefix-trigger.js';
export type { EtcdPrefixTrigger, EtcdPrefixTriggerOptions } from './prefix-trigger.js';
export { etcdWatchStats } from './hub.js';
export type { EtcdWatchStats, EtcdTarget } from './hub.js';
export { etcdFleetReporter, fleetRecord } from './fleet.js';
export { readFleet, summarizeFleet, formatFleetTable } from './fleet-table.js';
export type { FleetRecord, FleetInstance, FleetTable, FleetReporter, FleetReporterOptions, FleetRegistry, FleetMember } from './fleet.js';
export type { FleetSummary } from './fleet-table.js';
