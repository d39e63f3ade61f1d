/**
 * The publishing side: `publishInvalidation(transport, { keys | prefix | all })` and
 * `publishChange(transport, { change? })` number each message (publisher id, epoch, sequence) and
 * hand the envelope's text to a transport. Each adapter makes its transports
 * (`redisPublisher`, `natsPublisher`, `jetStreamPublisher`, `amqpPublisher`); every transport
 * made once is one publisher: its epoch is drawn when it is made, its sequence counts from 1.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { checkChangeFields, encodeEnvelope, type ChangeFields } from './envelope.js';

/** Where envelopes go. Made by an adapter's `…Publisher()` factory. */
export interface DeliveryTransport {
  /** Publisher id put in every envelope. */
  readonly publisherId: string;
  /** Random per transport instance: a restarted publisher has a new one. */
  readonly epoch: string;
  /** The next sequence number to assign (1 for a new transport). Advanced by the publish helpers. */
  nextSeq(): number;
  /** Sends one encoded envelope. */
  send(text: string): Promise<void>;
  /** Names the transport in errors (`redis channel inval`). */
  describe(): string;
}

/** What a publish resolved with. */
export interface Published {
  seq: number;
}

/** A publisher id or epoch: short, random, URL-safe. */
export function randomId(): string {
  return randomBytes(9).toString('base64url');
}

/**
 * Builds the numbering part of a transport (id, epoch, counter) for an adapter's factory.
 *
 * @example
 * ```ts
 * const numbering = publisherNumbering('orders-api');
 * const transport = { ...numbering, send: (text) => client.publish(channel, text).then(() => undefined), describe: () => 'redis channel inval' };
 * ```
 */
export function publisherNumbering(id?: string): Pick<DeliveryTransport, 'publisherId' | 'epoch' | 'nextSeq'> {
  if (id !== undefined && (typeof id !== 'string' || id.length === 0 || id.length > 200)) {
    throw new TypeError('expected `id` to be a non-empty string of at most 200 characters');
  }
  let seq = 0;
  return { publisherId: id ?? randomId(), epoch: randomId(), nextSeq: () => ++seq };
}

function checkTransport(who: string, transport: unknown): asserts transport is DeliveryTransport {
  const t = transport as DeliveryTransport;
  if (typeof t !== 'object' || t === null || typeof t.send !== 'function' || typeof t.nextSeq !== 'function') {
    throw new TypeError(`${who}: expected a transport from redisPublisher(), natsPublisher(), jetStreamPublisher() or amqpPublisher()`);
  }
}

async function publish(transport: DeliveryTransport, fields: ChangeFields): Promise<Published> {
  const seq = transport.nextSeq();
  await transport.send(encodeEnvelope({ pub: transport.publisherId, epoch: transport.epoch, seq, ...fields }));
  return { seq };
}

/**
 * Publishes an invalidation: exactly one of `keys`, `prefix` or `all: true`. Subscribers that
 * miss it learn so from the next sequence number (or their reconnect) and repair.
 *
 * @throws {TypeError} when not exactly one of `keys`, `prefix`, `all` is given.
 * @example
 * ```ts
 * import { redisPublisher, publishInvalidation } from 'reloadkit/redis';
 * const bus = redisPublisher(client, { channel: 'users:inval' });
 * await db.updateUser(7, patch);
 * await publishInvalidation(bus, { keys: ['user:7'] });
 * ```
 */
export function publishInvalidation(transport: DeliveryTransport, target: { keys: readonly string[] } | { prefix: string } | { all: true }): Promise<Published> {
  checkTransport('publishInvalidation', transport);
  checkChangeFields('publishInvalidation', target);
  const given = (['keys', 'prefix', 'all'] as const).filter((f) => (target as Record<string, unknown>)[f] !== undefined);
  if (given.length !== 1 || ((target as { all?: boolean }).all !== undefined && (target as { all?: boolean }).all !== true)) {
    throw new TypeError('publishInvalidation: pass exactly one of `keys`, `prefix` or `all: true`');
  }
  const extra = Object.keys(target).filter((k) => !['keys', 'prefix', 'all'].includes(k));
  if (extra.length > 0) throw new TypeError(`publishInvalidation: unknown field \`${extra[0]}\``);
  return publish(transport, target);
}

/**
 * Publishes "the configuration changed" (a unit re-reads): optional `change` names it in hint
 * details (never a value).
 *
 * @example
 * ```ts
 * await etcd.put('/app/config').value(next);
 * await publishChange(bus, { change: 'app config' });
 * ```
 */
export function publishChange(transport: DeliveryTransport, fields: { change?: string } = {}): Promise<Published> {
  checkTransport('publishChange', transport);
  checkChangeFields('publishChange', fields);
  const extra = Object.keys(fields).filter((k) => k !== 'change');
  if (extra.length > 0) throw new TypeError(`publishChange: unknown field \`${extra[0]}\`; use publishInvalidation() for keys, prefix or all`);
  return publish(transport, fields);
}
