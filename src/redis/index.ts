/**
 * `reloadkit/redis`: units fed by a Redis key (string or hash), with hints from keyspace
 * notifications or a pub/sub channel, and a fresh read after every reconnect.
 *
 * `ioredis` is an optional peer dependency: install it to use this entry point.
 *
 * @module
 */
export { redisSource, missingKeyspaceFlags } from './source.js';
export type { RedisSourceOptions } from './source.js';
