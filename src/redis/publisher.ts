/**
 * `redisPublisher(client, { channel } | { stream })`: a transport for `publishInvalidation` and
 * `publishChange` over a Redis pub/sub channel (PUBLISH) or a Redis Stream (XADD, trimmed to
 * about `maxLen` entries).
 *
 * @module
 */
import type { Redis } from 'ioredis';
import { publisherNumbering, type DeliveryTransport } from '../support/delivery/publisher.js';
import { expectNonEmptyString, expectObject } from '../support/check-option.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { checkRedisClient } from './channel-trigger.js';
import { STREAM_FIELD } from './stream-trigger.js';

/** Options of {@link redisPublisher}: exactly one of `channel` or `stream`. */
export interface RedisPublisherOptions {
  /**
   * PUBLISH to this pub/sub channel (subscribers: `redisChannelTrigger`).
   * @default none (give `channel` or `stream`)
   * @example
   * ```ts
   * redisPublisher(client, { channel: 'users:inval' })
   * ```
   */
  channel?: string;
  /**
   * XADD to this stream (subscribers: `redisStreamTrigger`).
   * @default none (give `channel` or `stream`)
   * @example
   * ```ts
   * redisPublisher(client, { stream: 'users:inval' })
   * ```
   */
  stream?: string;
  /**
   * With `stream`: trim it to about this many entries (`MAXLEN ~`), so it never grows unbounded.
   * A subscriber away for longer than that many messages sees a `sequence` gap.
   * @default 10000
   * @example
   * ```ts
   * redisPublisher(client, { stream: 'users:inval', maxLen: 100_000 })
   * ```
   */
  maxLen?: number;
  /**
   * Publisher id in every envelope (a service name is a good one).
   * @default a random id per publisher
   * @example
   * ```ts
   * redisPublisher(client, { channel: 'users:inval', id: 'users-api' })
   * ```
   */
  id?: string;
}

const KNOWN_KEYS = ['channel', 'stream', 'maxLen', 'id'] as const;

/**
 * A Redis transport for the publish helpers.
 *
 * @example
 * ```ts
 * import { redisPublisher, publishInvalidation } from 'reloadkit/redis';
 * const bus = redisPublisher(client, { channel: 'users:inval', id: 'users-api' });
 * await publishInvalidation(bus, { keys: ['user:7'] });
 * ```
 */
export function redisPublisher(client: Redis, options: RedisPublisherOptions): DeliveryTransport {
  checkRedisClient('redisPublisher', client);
  expectObject('redisPublisher', 'options', options);
  rejectUnknownKeys('redisPublisher', options, KNOWN_KEYS);
  const { channel, stream, maxLen = 10_000, id } = options;
  if ((channel === undefined) === (stream === undefined)) throw new TypeError('redisPublisher: pass exactly one of `channel` or `stream`');
  if (channel !== undefined) expectNonEmptyString('redisPublisher', 'channel', channel);
  if (stream !== undefined) expectNonEmptyString('redisPublisher', 'stream', stream);
  if (!Number.isSafeInteger(maxLen) || maxLen < 1) throw new TypeError('redisPublisher: expected `maxLen` to be a positive integer');
  let numbering;
  try {
    numbering = publisherNumbering(id);
  } catch (error) {
    throw new TypeError(`redisPublisher: ${(error as Error).message}`);
  }
  const target = channel !== undefined ? `redis channel ${channel}` : `redis stream ${stream}`;
  return {
    ...numbering,
    describe: () => target,
    async send(text) {
      if (channel !== undefined) await client.publish(channel, text);
      else await client.xadd(stream!, 'MAXLEN', '~', maxLen, '*', STREAM_FIELD, text);
    },
  };
}
