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
export { natsSubjectTrigger } from './subject-trigger.js';
export type { NatsSubjectTrigger, NatsSubjectTriggerOptions } from './subject-trigger.js';
export { jetStreamTrigger } from './jetstream-trigger.js';
export type { JetStreamTrigger, JetStreamTriggerOptions } from './jetstream-trigger.js';
export { natsPublisher, jetStreamPublisher } from './publisher.js';
export type { NatsPublisherOptions } from './publisher.js';
export { publishInvalidation, publishChange } from '../support/delivery/publisher.js';
export type { DeliveryTransport, Published } from '../support/delivery/publisher.js';
export type { MessageTriggerOptions } from '../support/delivery/options.js';
