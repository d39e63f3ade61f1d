/**
 * `reloadkit/zookeeper`: units fed by a ZooKeeper znode (its data, or its children as an
 * object), with one-shot watches re-armed on every event and every new session, and reads
 * ordered by transaction id (`mzxid`).
 *
 * `node-zookeeper-client` is an optional peer dependency: install it to use this entry point.
 *
 * @module
 */
export { zookeeperSource } from './source.js';
export type { ZookeeperSource, ZookeeperSourceOptions } from './source.js';
export type { ZkClient, ZkClientSpec, ZkStat, ZkEvent } from './client.js';
