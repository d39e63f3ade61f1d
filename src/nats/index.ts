/**
 * `reloadkit/nats`: units fed by a NATS JetStream KV key, with a watch that resumes from the last
 * revision after a reconnect.
 *
 * `@nats-io/transport-node` and `@nats-io/kv` are optional peer dependencies.
 *
 * @module
 */
export { natsKvSource } from './source.js';
export type { NatsKvSource, NatsKvSourceOptions } from './source.js';
