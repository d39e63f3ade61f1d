/**
 * `amqpPublisher(channel, { exchange, routingKey })`: a transport for `publishInvalidation` /
 * `publishChange` over a RabbitMQ exchange. Messages are persistent (they survive a broker
 * restart in a durable queue); with a confirm channel each publish waits for the broker's confirm.
 *
 * @module
 */
import type { Channel, ConfirmChannel } from 'amqplib';
import { publisherNumbering, type DeliveryTransport } from '../support/delivery/publisher.js';
import { expectNonEmptyString, expectObject } from '../support/check-option.js';
import { rejectUnknownKeys } from '../support/known-keys.js';

/** Options of {@link amqpPublisher}. */
export interface AmqpPublisherOptions {
  /**
   * The exchange to publish to.
   * @default none (required)
   * @example
   * ```ts
   * amqpPublisher(channel, { exchange: 'inval', routingKey: 'users' })
   * ```
   */
  exchange: string;
  /**
   * The routing key of every message.
   * @default none (required; '' for a fanout exchange)
   * @example
   * ```ts
   * amqpPublisher(channel, { exchange: 'inval', routingKey: 'users.profile' })
   * ```
   */
  routingKey: string;
  /**
   * Publisher id in every envelope (a service name is a good one).
   * @default a random id per publisher
   * @example
   * ```ts
   * amqpPublisher(channel, { exchange: 'inval', routingKey: 'users', id: 'users-api' })
   * ```
   */
  id?: string;
}

/**
 * A RabbitMQ transport for the publish helpers.
 *
 * @example
 * ```ts
 * const channel = await (await amqp.connect(url)).createConfirmChannel();
 * await publishInvalidation(amqpPublisher(channel, { exchange: 'inval', routingKey: 'users' }), { keys: ['user:7'] });
 * ```
 */
export function amqpPublisher(channel: Channel | ConfirmChannel, options: AmqpPublisherOptions): DeliveryTransport {
  if (typeof channel !== 'object' || channel === null || typeof channel.publish !== 'function') {
    throw new TypeError('amqpPublisher: expected an amqplib channel as the first argument');
  }
  expectObject('amqpPublisher', 'options', options);
  rejectUnknownKeys('amqpPublisher', options, ['exchange', 'routingKey', 'id']);
  expectNonEmptyString('amqpPublisher', 'exchange', options.exchange);
  if (typeof options.routingKey !== 'string') throw new TypeError('amqpPublisher: expected `routingKey` to be a string');
  let numbering;
  try {
    numbering = publisherNumbering(options.id);
  } catch (error) {
    throw new TypeError(`amqpPublisher: ${(error as Error).message}`);
  }
  const { exchange, routingKey } = options;
  return {
    ...numbering,
    describe: () => `amqp exchange ${exchange}`,
    async send(text) {
      channel.publish(exchange, routingKey, Buffer.from(text, 'utf8'), { persistent: true, contentType: 'application/json' });
      if (typeof (channel as ConfirmChannel).waitForConfirms === 'function') await (channel as ConfirmChannel).waitForConfirms();
    },
  };
}
