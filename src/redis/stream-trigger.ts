/**
 * `redisStreamTrigger(client, stream)`: hints from a Redis Stream, read with `XREAD` from the
 * last entry id seen. A reconnect loses nothing: the next `XREAD` continues after that id, so
 * the entries added meanwhile are delivered then. (A stream trimmed past that id by `MAXLEN`,
 * or a server restarted without persistence, does lose entries: envelopes from
 * `publishInvalidation` number them, and the hole is a `sequence` gap.)
 *
 * @module
 */
import type { Redis } from 'ioredis';
import { DeliveryError } from '../errors.js';
import { createReceiver, reportUndeliverable } from '../support/delivery/receiver.js';
import { backoffDelay, checkMessageTriggerOptions, interruptibleSleep, MESSAGE_TRIGGER_KEYS, warnOnce, type MessageTriggerOptions } from '../support/delivery/options.js';
import { expectNonEmptyString, expectObject } from '../support/check-option.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { safeMessage } from '../support/safe-message.js';
import type { Hint, Trigger } from '../types.js';
import { checkRedisClient } from './channel-trigger.js';

/** The entry field `redisPublisher({ stream })` writes the envelope to. */
export const STREAM_FIELD = 'm';

/** Options of {@link redisStreamTrigger}. */
export interface RedisStreamTriggerOptions extends MessageTriggerOptions {
  /**
   * Where to start: `'$'` (entries added after `start()`), `'0'` (the whole stream) or an entry id.
   * @default '$'
   * @example
   * ```ts
   * redisStreamTrigger(client, 'inval', { from: '0' })
   * ```
   */
  from?: string;
  /**
   * How long one `XREAD` blocks (ms) before it is issued again.
   * @default 5000
   * @example
   * ```ts
   * redisStreamTrigger(client, 'inval', { blockMs: 1000 })
   * ```
   */
  blockMs?: number;
  /**
   * First delay before reading again after an error, doubled up to 5 s.
   * @default 100
   * @example
   * ```ts
   * redisStreamTrigger(client, 'inval', { retryMs: 250 })
   * ```
   */
  retryMs?: number;
}

const KNOWN_KEYS = [...MESSAGE_TRIGGER_KEYS, 'from', 'blockMs', 'retryMs'] as const;
const RETRY_MAX_MS = 5000;

/** A Redis Streams trigger; `lastId` is the last entry id delivered. */
export interface RedisStreamTrigger extends Trigger {
  readonly lastId: string | undefined;
  readonly stats: { messages: number; gaps: number; undeliverable: number; errors: number };
}

type XReadReply = [stream: string, entries: [id: string, fields: string[]][]][] | null;

/**
 * A trigger fed by a Redis Stream on its own connection (a `duplicate()` of `client`: a blocking
 * `XREAD` holds its connection), resuming from the last id after any error or reconnect.
 *
 * @example
 * ```ts
 * import { redisStreamTrigger, redisPublisher, publishInvalidation } from 'reloadkit/redis';
 * const users = reloadableCache({ name: 'users', load, invalidateOn: [redisStreamTrigger(client, 'users:inval')] });
 * await publishInvalidation(redisPublisher(client, { stream: 'users:inval' }), { keys: ['user:7'] });
 * ```
 */
export function redisStreamTrigger(client: Redis, stream: string, options: RedisStreamTriggerOptions = {}): RedisStreamTrigger {
  checkRedisClient('redisStreamTrigger', client);
  expectNonEmptyString('redisStreamTrigger', 'stream', stream);
  expectObject('redisStreamTrigger', 'options', options);
  rejectUnknownKeys('redisStreamTrigger', options, KNOWN_KEYS);
  checkMessageTriggerOptions('redisStreamTrigger', options);
  const { from = '$', blockMs = 5000, retryMs = 100 } = options;
  expectNonEmptyString('redisStreamTrigger', 'from', from);
  for (const [name, value] of [['blockMs', blockMs], ['retryMs', retryMs]] as const) {
    if (!Number.isFinite(value) || value <= 0) throw new TypeError(`redisStreamTrigger: expected \`${name}\` to be a positive number`);
  }
  const onError = options.onError ?? warnOnce;
  const describe = `redis stream ${stream}`;
  const stats = { messages: 0, gaps: 0, undeliverable: 0, errors: 0 };
  let lastId: string | undefined;
  let running: { reader: Redis; controller: AbortController; loop: Promise<void> } | undefined;

  /** `$` is resolved once to the id of the newest entry, so no entry between start and the first XREAD is skipped. */
  const resolveStart = async (reader: Redis): Promise<string> => {
    if (from !== '$') return from;
    const newest = (await reader.xrevrange(stream, '+', '-', 'COUNT', 1)) as [string, string[]][];
    return newest[0]?.[0] ?? '0-0';
  };

  return {
    get lastId() {
      return lastId;
    },
    stats,
    async start(fire: (hint: Hint) => void) {
      if (running) return;
      const receiver = createReceiver({
        kind: 'redis',
        describe,
        parse: options.parse,
        onUndeliverable: reportUndeliverable(describe, stats, onError),
      });
      const reader = client.duplicate({ maxRetriesPerRequest: null });
      reader.on('error', () => undefined); // the loop below retries
      const controller = new AbortController();
      const { signal } = controller;
      if (lastId === undefined) {
        try {
          lastId = await resolveStart(reader);
        } catch {
          // Redis is down at start: the loop resolves the start id once it can.
        }
      }
      const loop = async () => {
        let failures = 0;
        while (!signal.aborted) {
          try {
            lastId ??= await resolveStart(reader);
            const reply = (await reader.xread('COUNT', 500, 'BLOCK', blockMs, 'STREAMS', stream, lastId)) as XReadReply;
            failures = 0;
            for (const [, entries] of reply ?? []) {
              for (const [id, fields] of entries) {
                lastId = id;
                stats.messages++;
                const hint = receiver.receive(entryText(fields));
                if (hint && !signal.aborted) {
                  if (hint.gap) stats.gaps++;
                  fire(hint);
                }
              }
            }
          } catch (error) {
            if (signal.aborted) break;
            stats.errors++;
            if (failures === 0) onError(new DeliveryError(`${describe}: read failed, retrying from the last id: ${safeMessage(error)}`, { source: describe }));
            await interruptibleSleep(backoffDelay(failures++, retryMs, RETRY_MAX_MS), signal);
          }
        }
      };
      running = { reader, controller, loop: loop() };
    },
    async stop() {
      const current = running;
      running = undefined;
      if (!current) return;
      current.controller.abort();
      current.reader.disconnect(); // ends a blocking XREAD at once
      await current.loop;
    },
  };
}

/** The envelope text of an entry: its `m` field, or (foreign entries) the fields as a JSON object. */
function entryText(fields: string[]): string {
  const object: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === STREAM_FIELD) return fields[i + 1]!;
    object[fields[i]!] = fields[i + 1]!;
  }
  return JSON.stringify(object);
}
