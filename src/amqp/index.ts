/**
 * `reloadkit/amqp`: change and invalidation hints over RabbitMQ (AMQP 0-9-1): a broadcast queue
 * per subscriber (gap hint after a reconnect) or a named durable queue (resumes where it
 * stopped), reconnect with backoff, undecodable messages acknowledged and reported once.
 *
 * `amqplib` is an optional peer dependency: install it to use this entry point.
 *
 * @module
 */
export { amqpTrigger } from './trigger.js';
export type { AmqpTrigger, AmqpTriggerOptions } from './trigger.js';
export type { AmqpConnectionSpec } from './connection.js';
export { amqpPublisher } from './publisher.js';
export type { AmqpPublisherOptions } from './publisher.js';
export { publishInvalidation, publishChange } from '../support/delivery/publisher.js';
export type { DeliveryTransport, Published } from '../support/delivery/publisher.js';
export type { MessageTriggerOptions } from '../support/delivery/options.js';
