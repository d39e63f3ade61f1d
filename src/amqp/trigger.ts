/**
 * `amqpTrigger(connection, { exchange, routingKey | bindingKeys, queue? })`: hints from a RabbitMQ
 * (AMQP 0-9-1) exchange, with `amqplib`.
 *
 * - Without `queue`, each subscriber gets its own exclusive, auto-delete queue bound to the
 *   exchange (broadcast: every process sees every message). Such a queue dies with its
 *   connection, so a reconnect is a `reconnect` gap hint.
 * - With `queue`, a named durable queue is consumed with acknowledgements: messages published
 *   while this process was away wait in the queue and are delivered after the reconnect, so no
 *   gap is reported (share the name between processes and they compete for the messages instead).
 * - The connection is re-established with backoff after any loss (a broker restart, a network
 *   cut), the queue declared and bound again.
 * - A message that cannot be understood is acknowledged (so it never comes back) and reported
 *   once to `onError`; it never crashes the trigger or loops.
 *
 * @module
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { DeliveryError } from '../errors.js';
import { createReceiver, reportUndeliverable, type Receiver } from '../support/delivery/receiver.js';
import { backoffDelay, checkMessageTriggerOptions, interruptibleSleep, MESSAGE_TRIGGER_KEYS, warnOnce, type MessageTriggerOptions } from '../support/delivery/options.js';
import { expectNonEmptyString, expectObject } from '../support/check-option.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { safeMessage } from '../support/safe-message.js';
import type { Hint, Trigger } from '../types.js';
import { openConnection, type AmqpConnectionSpec } from './connection.js';

/** Options of {@link amqpTrigger}. */
export interface AmqpTriggerOptions extends MessageTriggerOptions {
  /**
   * The exchange to bind to.
   * @default none (required)
   * @example
   * ```ts
   * amqpTrigger(url, { exchange: 'inval', routingKey: 'users' })
   * ```
   */
  exchange: string;
  /**
   * The exchange's type: the trigger declares it (durable) with this type, so it exists after a
   * broker that lost its definitions comes back. `false`: never declare it (it must exist).
   * @default 'topic'
   * @example
   * ```ts
   * amqpTrigger(url, { exchange: 'inval', exchangeType: 'fanout', routingKey: '' })
   * ```
   */
  exchangeType?: 'topic' | 'direct' | 'fanout' | 'headers' | false;
  /**
   * One binding key (a topic pattern such as `users.*` on a topic exchange).
   * @default none (give `routingKey` or `bindingKeys`)
   * @example
   * ```ts
   * amqpTrigger(url, { exchange: 'inval', routingKey: 'users.#' })
   * ```
   */
  routingKey?: string;
  /**
   * Several binding keys.
   * @default none (give `routingKey` or `bindingKeys`)
   * @example
   * ```ts
   * amqpTrigger(url, { exchange: 'inval', bindingKeys: ['users.#', 'orgs.#'] })
   * ```
   */
  bindingKeys?: readonly string[];
  /**
   * A named durable queue to consume (resumes where it stopped, across reconnects and restarts).
   * @default an exclusive auto-delete queue per subscriber (broadcast, gap hint on reconnect)
   * @example
   * ```ts
   * amqpTrigger(url, { exchange: 'inval', routingKey: 'users.#', queue: 'users-cache.host-1' })
   * ```
   */
  queue?: string;
  /**
   * Messages in flight unacknowledged per subscriber.
   * @default 100
   * @example
   * ```ts
   * amqpTrigger(url, { exchange: 'inval', routingKey: '#', prefetch: 500 })
   * ```
   */
  prefetch?: number;
  /**
   * First reconnect delay (ms), doubled per failure up to `retryMaxMs`.
   * @default 100
   * @example
   * ```ts
   * amqpTrigger(url, { exchange: 'inval', routingKey: '#', retryMs: 250 })
   * ```
   */
  retryMs?: number;
  /**
   * Longest reconnect delay (ms).
   * @default 5000
   * @example
   * ```ts
   * amqpTrigger(url, { exchange: 'inval', routingKey: '#', retryMaxMs: 30_000 })
   * ```
   */
  retryMaxMs?: number;
}

const KNOWN_KEYS = [...MESSAGE_TRIGGER_KEYS, 'exchange', 'exchangeType', 'routingKey', 'bindingKeys', 'queue', 'prefetch', 'retryMs', 'retryMaxMs'] as const;

/** A RabbitMQ trigger. `stats` counts what it received (never contents). */
export interface AmqpTrigger extends Trigger {
  readonly connected: boolean;
  readonly stats: { messages: number; gaps: number; undeliverable: number; connects: number; connectionLosses: number };
}

function checkOptions(options: AmqpTriggerOptions): string[] {
  expectObject('amqpTrigger', 'options', options);
  rejectUnknownKeys('amqpTrigger', options, KNOWN_KEYS);
  checkMessageTriggerOptions('amqpTrigger', options);
  expectNonEmptyString('amqpTrigger', 'exchange', options.exchange);
  const { exchangeType, routingKey, bindingKeys, queue, prefetch, retryMs, retryMaxMs } = options;
  if (exchangeType !== undefined && exchangeType !== false && !['topic', 'direct', 'fanout', 'headers'].includes(exchangeType)) {
    throw new TypeError("amqpTrigger: expected `exchangeType` to be 'topic', 'direct', 'fanout', 'headers' or false");
  }
  if ((routingKey === undefined) === (bindingKeys === undefined)) throw new TypeError('amqpTrigger: pass exactly one of `routingKey` or `bindingKeys`');
  if (routingKey !== undefined && typeof routingKey !== 'string') throw new TypeError('amqpTrigger: expected `routingKey` to be a string');
  if (bindingKeys !== undefined && (!Array.isArray(bindingKeys) || bindingKeys.length === 0 || !bindingKeys.every((k) => typeof k === 'string'))) {
    throw new TypeError('amqpTrigger: expected `bindingKeys` to be a non-empty array of strings');
  }
  if (queue !== undefined) expectNonEmptyString('amqpTrigger', 'queue', queue);
  for (const [name, value] of [['prefetch', prefetch], ['retryMs', retryMs], ['retryMaxMs', retryMaxMs]] as const) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value <= 0)) throw new TypeError(`amqpTrigger: expected \`${name}\` to be a positive integer`);
  }
  return routingKey !== undefined ? [routingKey] : [...bindingKeys!];
}

/**
 * A trigger fed by a RabbitMQ exchange. `connection` is an AMQP URL, `amqplib` connect options,
 * or a function returning a connected `ChannelModel` (called again for every reconnect): the
 * trigger owns the connections it opens and closes them in `stop()`.
 *
 * @example
 * ```ts
 * import { amqpTrigger } from 'reloadkit/amqp';
 * const users = reloadableCache({
 *   name: 'users',
 *   load,
 *   invalidateOn: [invalidationTrigger({ from: amqpTrigger('amqp://127.0.0.1', { exchange: 'inval', routingKey: 'users.#' }) })],
 * });
 * ```
 */
export function amqpTrigger(connection: AmqpConnectionSpec, options: AmqpTriggerOptions): AmqpTrigger {
  if (typeof connection !== 'string' && typeof connection !== 'function' && (typeof connection !== 'object' || connection === null)) {
    throw new TypeError('amqpTrigger: expected an AMQP URL, amqplib connect options or a function returning a connection as the first argument');
  }
  const keys = checkOptions(options);
  const { exchange, queue, exchangeType = 'topic', prefetch = 100, retryMs = 100, retryMaxMs = 5000 } = options;
  const onError = options.onError ?? warnOnce;
  const describe = `amqp exchange ${exchange}${queue ? ` queue ${queue}` : ''}`;
  const stats = { messages: 0, gaps: 0, undeliverable: 0, connects: 0, connectionLosses: 0 };
  let running: { controller: AbortController; loop: Promise<void>; model?: ChannelModel } | undefined;
  let connected = false;

  /** One connected session: resolves when the connection or channel is lost (or the trigger stops). */
  const session = async (model: ChannelModel, receiver: Receiver, emit: (hint: Hint | undefined) => void, signal: AbortSignal, resumed: boolean) => {
    const lost = new Promise<void>((resolve) => {
      model.once('close', () => resolve());
      model.on('error', () => undefined); // 'close' follows; the loop reconnects
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
    const channel: Channel = await model.createChannel();
    channel.on('error', () => undefined);
    const channelLost = new Promise<void>((resolve) => channel.once('close', () => resolve()));
    if (exchangeType !== false) await channel.assertExchange(exchange, exchangeType, { durable: true });
    const declared = queue
      ? await channel.assertQueue(queue, { durable: true })
      : await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    for (const key of keys) await channel.bindQueue(declared.queue, exchange, key);
    await channel.prefetch(prefetch);
    await channel.consume(
      declared.queue,
      (msg: ConsumeMessage | null) => {
        if (msg === null) return; // the queue was deleted: the channel closes and we reconnect
        // Stopping: leave it unacknowledged, so the broker gives it to the next consumer when the
        // channel closes, instead of acking a message nobody will act on.
        if (signal.aborted) return;
        stats.messages++;
        // Acknowledged first, whatever it holds: a message we cannot use must never come back.
        channel.ack(msg);
        emit(receiver.receive(msg.content.toString('utf8')));
      },
      { noAck: false },
    );
    connected = true;
    stats.connects++;
    // A fresh exclusive queue missed whatever was published while we had none.
    if (resumed && !queue) emit(receiver.reconnected());
    await Promise.race([lost, channelLost]);
    if (signal.aborted) await closeChannelFirst(channel, channelLost);
    connected = false;
    if (!signal.aborted) stats.connectionLosses++;
  };

  return {
    get connected() {
      return connected;
    },
    stats,
    async start(fire: (hint: Hint) => void) {
      if (running) return;
      const receiver = createReceiver({
        kind: 'amqp',
        describe,
        parse: options.parse,
        // A durable queue redelivers nothing it has acked: sequence holes there are real losses too.
        onUndeliverable: reportUndeliverable(describe, stats, onError, 'acknowledged and dropped'),
      });
      const controller = new AbortController();
      const { signal } = controller;
      const state: { controller: AbortController; loop: Promise<void>; model?: ChannelModel } = { controller, loop: Promise.resolve() };
      running = state;
      const emit = (hint: Hint | undefined) => {
        if (!hint || signal.aborted) return;
        if (hint.gap) stats.gaps++;
        fire(hint);
      };
      let firstSession: (() => void) | undefined;
      const firstConnected = new Promise<void>((resolve) => (firstSession = resolve));
      state.loop = (async () => {
        let failures = 0;
        let everConnected = false;
        while (!signal.aborted) {
          let model: ChannelModel | undefined;
          try {
            model = await openConnection(connection);
            state.model = model;
            if (signal.aborted) break;
            const before = stats.connects;
            const ready = session(model, receiver, emit, signal, everConnected);
            everConnected = true;
            firstSession?.();
            await ready;
            // A session that consumed and was lost later starts the backoff from the bottom.
            if (stats.connects > before) failures = 0;
          } catch (error) {
            if (signal.aborted) break;
            if (failures === 0) onError(new DeliveryError(`${describe}: connection failed, reconnecting: ${safeMessage(error)}`, { source: describe }));
          } finally {
            connected = false;
            state.model = undefined;
            await model?.close().catch(() => undefined);
          }
          if (!signal.aborted) await interruptibleSleep(backoffDelay(failures++, retryMs, retryMaxMs), signal);
        }
        firstSession?.();
      })();
      // start() returns once the first queue consumes (or the broker is unreachable: the loop keeps trying).
      await Promise.race([firstConnected.then(() => waitConnected(() => connected, signal, 2000)), interruptibleSleep(5000, signal)]);
    },
    async stop() {
      const current = running;
      running = undefined;
      if (!current) return;
      current.controller.abort();
      // A consuming session closes its channel, then the loop its connection (in that order: see
      // closeChannelFirst). Otherwise close the connection now, to cut a connect or a declare short.
      if (!connected) await current.model?.close().catch(() => undefined);
      await current.loop;
    },
  };
}

/** Longest wait for the broker to confirm a channel close on stop (a dead peer must not hang `stop()`). */
const CHANNEL_CLOSE_TIMEOUT_MS = 5000;

/**
 * Closes the channel before its connection. `stop()` is often called right behind an ack (from
 * inside the hint of the last message): a `connection.close` sent in the same moment tears the
 * channel down before the broker has settled that ack, so it requeues the message and hands it
 * to the next consumer of a durable queue (a message handled twice). Frames of one channel are
 * handled in order, and the broker answers `channel.close` only after the acks sent before it.
 */
async function closeChannelFirst(channel: Channel, channelLost: Promise<void>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, CHANNEL_CLOSE_TIMEOUT_MS)));
  await Promise.race([channel.close().catch(() => undefined), channelLost, bound]);
  clearTimeout(timer);
}

async function waitConnected(isConnected: () => boolean, signal: AbortSignal, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!isConnected() && !signal.aborted && Date.now() < deadline) await interruptibleSleep(10, signal);
}


