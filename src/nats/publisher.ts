/**
 * `natsPublisher(nc, subject)` and `jetStreamPublisher(js, subject)`: transports for
 * `publishInvalidation` / `publishChange` over a core NATS subject or a JetStream stream (the
 * publish resolves once the stream has stored the message).
 *
 * @module
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { publisherNumbering, type DeliveryTransport } from '../support/delivery/publisher.js';
import { expectNonEmptyString, expectObject } from '../support/check-option.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { checkNatsConnection } from './subject-trigger.js';

/** Options of the NATS publishers. */
export interface NatsPublisherOptions {
  /**
   * Publisher id in every envelope (a service name is a good one).
   * @default a random id per publisher
   * @example
   * ```ts
   * natsPublisher(nc, 'inval.users', { id: 'users-api' })
   * ```
   */
  id?: string;
}

function numbering(who: string, options: NatsPublisherOptions) {
  expectObject(who, 'options', options);
  rejectUnknownKeys(who, options, ['id']);
  try {
    return publisherNumbering(options.id);
  } catch (error) {
    throw new TypeError(`${who}: ${(error as Error).message}`);
  }
}

/**
 * A core NATS transport (at most once: use `jetStreamPublisher` for durability).
 *
 * @example
 * ```ts
 * await publishInvalidation(natsPublisher(nc, 'inval.users'), { prefix: 'user:' });
 * ```
 */
export function natsPublisher(nc: NatsConnection, subject: string, options: NatsPublisherOptions = {}): DeliveryTransport {
  checkNatsConnection('natsPublisher', nc);
  expectNonEmptyString('natsPublisher', 'subject', subject);
  const n = numbering('natsPublisher', options);
  return { ...n, describe: () => `nats subject ${subject}`, send: async (text) => nc.publish(subject, text) };
}

/**
 * A JetStream transport: each publish waits for the stream's acknowledgement.
 *
 * @example
 * ```ts
 * await publishInvalidation(jetStreamPublisher(jetstream(nc), 'inval.users'), { keys: ['user:7'] });
 * ```
 */
export function jetStreamPublisher(js: JetStreamClient, subject: string, options: NatsPublisherOptions = {}): DeliveryTransport {
  if (typeof js !== 'object' || js === null || typeof (js as JetStreamClient).publish !== 'function') {
    throw new TypeError('jetStreamPublisher: expected a JetStreamClient (jetstream(nc) of @nats-io/jetstream) as the first argument');
  }
  expectNonEmptyString('jetStreamPublisher', 'subject', subject);
  const n = numbering('jetStreamPublisher', options);
  return {
    ...n,
    describe: () => `nats jetstream ${subject}`,
    async send(text) {
      await js.publish(subject, text);
    },
  };
}
