/**
 * `redisChannelTrigger(client, channel)`: hints from a Redis pub/sub channel.
 *
 * Redis pub/sub keeps nothing for a disconnected subscriber: every message published while the
 * subscriber's connection is down is gone. So each time the subscriber is subscribed again after
 * a reconnect, the trigger fires a `reconnect` gap hint (a unit re-reads; a cache refreshes what
 * it loaded before the gap). Messages from `publishInvalidation` carry a sequence number: a hole
 * in it (a message dropped without the connection noticing) is a `sequence` gap.
 *
 * @module
 */
import type { Redis } from 'ioredis';
import { createReceiver, reportUndeliverable } from '../support/delivery/receiver.js';
import { checkMessageTriggerOptions, MESSAGE_TRIGGER_KEYS, warnOnce, type MessageTriggerOptions } from '../support/delivery/options.js';
import { expectNonEmptyString, expectObject } from '../support/check-option.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import type { Hint, Trigger } from '../types.js';

/** Options of {@link redisChannelTrigger}. */
export interface RedisChannelTriggerOptions extends MessageTriggerOptions {
  /**
   * How long `start()` waits for the first subscription before it returns anyway (Redis may be
   * down at start); when the subscription becomes active later, a `reconnect` gap hint is fired.
   * @default 2000
   * @example
   * ```ts
   * redisChannelTrigger(client, 'inval', { startWaitMs: 500 })
   * ```
   */
  startWaitMs?: number;
}

const KNOWN_KEYS = [...MESSAGE_TRIGGER_KEYS, 'startWaitMs'] as const;

/** A Redis pub/sub trigger. `stats` counts what it received (never contents). */
export interface RedisChannelTrigger extends Trigger {
  readonly stats: { messages: number; gaps: number; undeliverable: number; reconnects: number };
}

export function checkRedisClient(who: string, client: unknown): asserts client is Redis {
  if (typeof client !== 'object' || client === null || typeof (client as Redis).duplicate !== 'function') {
    throw new TypeError(`${who}: expected an ioredis client as the first argument`);
  }
}

/**
 * A trigger fed by one Redis pub/sub channel, on its own subscriber connection (a `duplicate()`
 * of `client`), with a gap hint after every reconnect.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { redisChannelTrigger } from 'reloadkit/redis';
 *
 * const client = new Redis('redis://127.0.0.1:6379');
 * const users = reloadableCache({ name: 'users', load, invalidateOn: [redisChannelTrigger(client, 'users:inval')] });
 * ```
 */
export function redisChannelTrigger(client: Redis, channel: string, options: RedisChannelTriggerOptions = {}): RedisChannelTrigger {
  checkRedisClient('redisChannelTrigger', client);
  expectNonEmptyString('redisChannelTrigger', 'channel', channel);
  expectObject('redisChannelTrigger', 'options', options);
  rejectUnknownKeys('redisChannelTrigger', options, KNOWN_KEYS);
  checkMessageTriggerOptions('redisChannelTrigger', options);
  const { startWaitMs = 2000 } = options;
  if (!Number.isFinite(startWaitMs) || startWaitMs < 0) throw new TypeError('redisChannelTrigger: expected `startWaitMs` to be a non-negative number');
  const onError = options.onError ?? warnOnce;
  const describe = `redis channel ${channel}`;
  const stats = { messages: 0, gaps: 0, undeliverable: 0, reconnects: 0 };
  let subscriber: Redis | undefined;

  return {
    stats,
    async start(fire: (hint: Hint) => void) {
      if (subscriber) return;
      const receiver = createReceiver({
        kind: 'redis',
        describe,
        parse: options.parse,
        onUndeliverable: reportUndeliverable(describe, stats, onError),
      });
      const own = client.duplicate();
      subscriber = own;
      const emit = (hint: Hint | undefined) => {
        if (!hint || subscriber !== own) return;
        if (hint.gap) stats.gaps++;
        fire(hint);
      };
      own.on('message', (received: string, text: string) => {
        if (received !== channel) return;
        stats.messages++;
        emit(receiver.receive(text));
      });
      own.on('error', () => undefined); // the reconnect logic below handles connection errors
      let firstSettled = false;
      let subscribedOnce = false;
      let late = false;
      own.on('ready', () => {
        // The first subscription is still in flight on this connection: it reports itself.
        if (!firstSettled) return;
        stats.reconnects++;
        // Subscribed again (ioredis resubscribes too; SUBSCRIBE twice is harmless): whatever was
        // published while the connection was down is lost, say so.
        own
          .subscribe(channel)
          .then(() => emit(receiver.reconnected()))
          .catch(() => undefined); // the next 'ready' tries again
      });
      const first = own.subscribe(channel).then(
        () => {
          firstSettled = true;
          subscribedOnce = true;
          if (late) emit(receiver.reconnected());
        },
        () => {
          firstSettled = true; // the next 'ready' subscribes and reports the gap
        },
      );
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([first, new Promise<void>((resolve) => (timer = setTimeout(resolve, startWaitMs)))]);
      clearTimeout(timer);
      if (!subscribedOnce) late = true;
    },
    stop() {
      const own = subscriber;
      subscriber = undefined;
      own?.disconnect();
    },
  };
}
