/**
 * `jetStreamTrigger(js, { stream, subject? })`: hints from a JetStream stream through an ordered
 * consumer. The consumer tracks the last stream sequence it delivered; after a reconnect, a
 * server restart or a lost consumer it is recreated from the next one, so nothing published in
 * between is missed. (Messages the stream itself discarded by its limits are: envelopes number
 * them, and the hole is a `sequence` gap.)
 *
 * @module
 */
import type { ConsumerMessages, JetStreamClient } from '@nats-io/jetstream';
import { DeliveryError } from '../errors.js';
import { createReceiver, reportUndeliverable } from '../support/delivery/receiver.js';
import { backoffDelay, checkMessageTriggerOptions, interruptibleSleep, MESSAGE_TRIGGER_KEYS, warnOnce, type MessageTriggerOptions } from '../support/delivery/options.js';
import { expectNonEmptyString, expectObject } from '../support/check-option.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { safeMessage } from '../support/safe-message.js';
import type { Hint, Trigger } from '../types.js';

/** Options of {@link jetStreamTrigger}. */
export interface JetStreamTriggerOptions extends MessageTriggerOptions {
  /**
   * The stream to read (it must exist; create it with `jetstreamManager(nc).streams.add`).
   * @default none (required)
   * @example
   * ```ts
   * jetStreamTrigger(js, { stream: 'INVAL' })
   * ```
   */
  stream: string;
  /**
   * Only messages on this subject (wildcards allowed).
   * @default every subject of the stream
   * @example
   * ```ts
   * jetStreamTrigger(js, { stream: 'INVAL', subject: 'inval.users' })
   * ```
   */
  subject?: string;
  /**
   * First delay before trying again when the consumer cannot be created, doubled up to 5 s.
   * @default 100
   * @example
   * ```ts
   * jetStreamTrigger(js, { stream: 'INVAL', retryMs: 250 })
   * ```
   */
  retryMs?: number;
}

const KNOWN_KEYS = [...MESSAGE_TRIGGER_KEYS, 'stream', 'subject', 'retryMs'] as const;
const RETRY_MAX_MS = 5000;
/**
 * Each pull request's lifetime. The client derives the idle heartbeat from it (half), and a
 * consumer stalled without an error is noticed after two missed heartbeats: 10 s, not 30 s.
 */
const EXPIRES_MS = 10_000;
/** Notifications after which the client would recreate the ordered consumer itself. */
const RECREATION = new Set(['reset', 'consumer_deleted', 'consumer_not_found']);

/**
 * Ends `messages` when the client is about to recreate its ordered consumer, so `consume()`
 * returns and the loop makes a fresh one after the last delivered sequence. Why not let the
 * client do it: its recreation keeps the previous pull's outstanding message count, so the first
 * pull of the new consumer asks for fewer messages than it should (often none), and the consumer
 * then waits for two missed heartbeats before pulling again. That stall was seen after a
 * reconnect with messages pending, one time in three. A consumer the client was already
 * recreating when we stepped in gets no pulls, so the server removes it after its inactivity
 * threshold, like every ordered consumer.
 */
async function takeOverRecreation(messages: ConsumerMessages): Promise<void> {
  try {
    for await (const status of messages.status()) {
      if (RECREATION.has(status.type)) {
        await messages.close();
        return;
      }
    }
  } catch {
    // The status iterator ends with the messages: nothing left to watch.
  }
}

/** A JetStream trigger; `lastSeq` is the stream sequence of the last message delivered. */
export interface JetStreamTrigger extends Trigger {
  readonly lastSeq: number;
  readonly stats: { messages: number; gaps: number; undeliverable: number; errors: number };
}

/**
 * A trigger fed by a JetStream stream (messages published after `start()`), resuming after the
 * last delivered sequence whatever happens to the connection.
 *
 * @example
 * ```ts
 * import { jetstream } from '@nats-io/jetstream';
 * import { jetStreamTrigger, jetStreamPublisher, publishInvalidation } from 'reloadkit/nats';
 * const js = jetstream(nc);
 * const users = reloadableCache({ name: 'users', load, invalidateOn: [invalidationTrigger({ from: jetStreamTrigger(js, { stream: 'INVAL' }) })] });
 * await publishInvalidation(jetStreamPublisher(js, 'inval.users'), { keys: ['user:7'] });
 * ```
 */
export function jetStreamTrigger(js: JetStreamClient, options: JetStreamTriggerOptions): JetStreamTrigger {
  if (typeof js !== 'object' || js === null || typeof (js as JetStreamClient).consumers?.get !== 'function') {
    throw new TypeError('jetStreamTrigger: expected a JetStreamClient (jetstream(nc) of @nats-io/jetstream) as the first argument');
  }
  expectObject('jetStreamTrigger', 'options', options);
  rejectUnknownKeys('jetStreamTrigger', options, KNOWN_KEYS);
  checkMessageTriggerOptions('jetStreamTrigger', options);
  expectNonEmptyString('jetStreamTrigger', 'stream', options.stream);
  if (options.subject !== undefined) expectNonEmptyString('jetStreamTrigger', 'subject', options.subject);
  const retryMs = options.retryMs ?? 100;
  if (!Number.isFinite(retryMs) || retryMs <= 0) throw new TypeError('jetStreamTrigger: expected `retryMs` to be a positive number');
  const onError = options.onError ?? warnOnce;
  const describe = `nats jetstream ${options.stream}${options.subject ? ` ${options.subject}` : ''}`;
  const stats = { messages: 0, gaps: 0, undeliverable: 0, errors: 0 };
  let lastSeq = 0;
  let running: { controller: AbortController; messages?: ConsumerMessages; loop: Promise<void> } | undefined;

  return {
    get lastSeq() {
      return lastSeq;
    },
    stats,
    async start(fire: (hint: Hint) => void) {
      if (running) return;
      const receiver = createReceiver({
        kind: 'nats',
        describe,
        parse: options.parse,
        onUndeliverable: reportUndeliverable(describe, stats, onError),
      });
      const controller = new AbortController();
      const { signal } = controller;
      const state: { controller: AbortController; messages?: ConsumerMessages; loop: Promise<void> } = { controller, loop: Promise.resolve() };
      running = state;
      // Where to start: after the stream's last message now (messages published after start()).
      if (lastSeq === 0) {
        try {
          const info = await (await js.streams.get(options.stream)).info();
          lastSeq = info.state.last_seq;
        } catch {
          // The stream or the server is not there yet: the loop starts from the first message it can read.
        }
      }
      const consume = async () => {
        // An ordered consumer recreates itself (from the next sequence) after a reset or a lost
        // connection; we recreate it too if it ends, from the last sequence we delivered.
        const consumer = await js.consumers.get(options.stream, {
          ...(options.subject ? { filter_subjects: options.subject } : {}),
          ...(lastSeq > 0 ? { deliver_policy: 'by_start_sequence' as never, opt_start_seq: lastSeq + 1 } : { deliver_policy: 'all' as never }),
        });
        const messages = await consumer.consume({ expires: EXPIRES_MS });
        state.messages = messages;
        if (signal.aborted) {
          await messages.close();
          return;
        }
        void takeOverRecreation(messages);
        for await (const m of messages) {
          if (m.seq <= lastSeq) continue; // redelivered after a recreation
          lastSeq = m.seq;
          stats.messages++;
          const hint = receiver.receive(m.string());
          if (hint && !signal.aborted) {
            if (hint.gap) stats.gaps++;
            fire(hint);
          }
        }
      };
      state.loop = (async () => {
        let failures = 0;
        while (!signal.aborted) {
          try {
            await consume();
            failures = 0;
          } catch (error) {
            if (signal.aborted) break;
            stats.errors++;
            if (failures === 0) onError(new DeliveryError(`${describe}: consumer failed, resuming after sequence ${lastSeq}: ${safeMessage(error)}`, { source: describe }));
          }
          if (!signal.aborted) await interruptibleSleep(backoffDelay(failures++, retryMs, RETRY_MAX_MS), signal);
        }
      })();
    },
    async stop() {
      const current = running;
      running = undefined;
      if (!current) return;
      current.controller.abort();
      await current.messages?.close().catch(() => undefined);
      await current.loop;
    },
  };
}
