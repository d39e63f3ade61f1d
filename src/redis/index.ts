/**
 * `reloadkit/redis`: units fed by a Redis key (string or hash), with hints from keyspace
 * notifications or a pub/sub channel, and a fresh read after every reconnect; invalidation and
 * change hints over a pub/sub channel (gap detection) or a Stream (resumes from the last id).
 *
 * `ioredis` is an optional peer dependency: install it to use this entry point.
 *
 * @module
 */
export { redisSource, missingKeyspaceFlags } from './source.js';
export type { RedisSourceOptions } from './source.js';
export { redisChannelTrigger } from './channel-trigger.js';
export type { RedisChannelTrigger, RedisChannelTriggerOptions } from './channel-trigger.js';
export { redisStreamTrigger } from './stream-trigger.js';
export type { RedisStreamTrigger, RedisStreamTriggerOptions } from './stream-trigger.js';
export { redisPublisher } from './publisher.js';
export type { RedisPublisherOptions } from './publisher.js';
export { publishInvalidation, publishChange } from '../support/delivery/publisher.js';
export type { DeliveryTransport, Published } from '../support/delivery/publisher.js';
export type { MessageTriggerOptions } from '../support/delivery/options.js';
