/**
 * `natsSubjectTrigger(nc, subject)`: hints from a core NATS subject.
 *
 * Core NATS is at-most-once: a message published while this client is disconnected (or dropped
 * because it was a slow consumer) is gone. The client resubscribes by itself after a reconnect;
 * once the server has the subscription again (a flush), the trigger fires a `reconnect` gap hint.
 * Messages from `publishInvalidation` carry a sequence number: a hole is a `sequence` gap. For
 * nothing missed at all, use `jetStreamTrigger`.
 *
 * @module
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { createReceiver, reportUndeliverable } from '../support/delivery/receiver.js';
import { checkMessageTriggerOptions, MESSAGE_TRIGGER_KEYS, warnOnce, type MessageTriggerOptions } from '../support/delivery/options.js';
import { expectNonEmptyString, expectObject } from '../support/check-option.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import type { Hint, Trigger } from '../types.js';

/** Options of {@link natsSubjectTrigger}. */
export type NatsSubjectTriggerOptions = MessageTriggerOptions;

/** A NATS subject trigger. `stats` counts what it received (never contents). */
export interface NatsSubjectTrigger extends Trigger {
  readonly stats: { messages: number; gaps: number; undeliverable: number; reconnects: number };
}

export function checkNatsConnection(who: string, nc: unknown): asserts nc is NatsConnection {
  const c = nc as NatsConnection;
  if (typeof c !== 'object' || c === null || typeof c.subscribe !== 'function' || typeof c.status !== 'function') {
    throw new TypeError(`${who}: expected a NatsConnection (connect() of @nats-io/transport-node) as the first argument`);
  }
}

/**
 * A trigger fed by a core NATS subject (wildcards allowed), with a gap hint after every reconnect.
 *
 * @example
 * ```ts
 * import { connect } from '@nats-io/transport-node';
 * import { natsSubjectTrigger } from 'reloadkit/nats';
 * const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
 * const users = reloadableCache({ name: 'users', load, invalidateOn: [invalidationTrigger({ from: natsSubjectTrigger(nc, 'inval.users') })] });
 * ```
 */
export function natsSubjectTrigger(nc: NatsConnection, subject: string, options: NatsSubjectTriggerOptions = {}): NatsSubjectTrigger {
  checkNatsConnection('natsSubjectTrigger', nc);
  expectNonEmptyString('natsSubjectTrigger', 'subject', subject);
  expectObject('natsSubjectTrigger', 'options', options);
  rejectUnknownKeys('natsSubjectTrigger', options, MESSAGE_TRIGGER_KEYS);
  checkMessageTriggerOptions('natsSubjectTrigger', options);
  const onError = options.onError ?? warnOnce;
  const describe = `nats subject ${subject}`;
  const stats = { messages: 0, gaps: 0, undeliverable: 0, reconnects: 0 };
  let running: { sub: Subscription; statuses: { stop?: () => void } } | undefined;

  return {
    stats,
    async start(fire: (hint: Hint) => void) {
      if (running) return;
      const receiver = createReceiver({
        kind: 'nats',
        describe,
        parse: options.parse,
        onUndeliverable: reportUndeliverable(describe, stats, onError),
      });
      let active = true;
      const emit = (hint: Hint | undefined) => {
        if (!hint || !active) return;
        if (hint.gap) stats.gaps++;
        fire(hint);
      };
      const sub = nc.subscribe(subject, {
        callback: (error, msg) => {
          if (error) return; // a permissions error ends the subscription: nothing to deliver
          stats.messages++;
          emit(receiver.receive(msg.string()));
        },
      });
      const statuses = nc.status() as AsyncIterable<{ type: string }> & { stop?: () => void };
      running = {
        sub,
        statuses: {
          stop: () => {
            active = false;
            statuses.stop?.();
          },
        },
      };
      void (async () => {
        try {
          for await (const status of statuses) {
            if (!active) break;
            if (status.type !== 'reconnect') continue;
            stats.reconnects++;
            // The client re-sent SUB on reconnect; a flush proves the server has it before we say
            // "re-read now", so nothing published after the repair hint is missed.
            try {
              await nc.flush();
            } catch {
              continue; // disconnected again: the next reconnect reports
            }
            emit(receiver.reconnected());
          }
        } catch {
          // the connection closed
        }
      })();
      // The subscription is live on the server once a flush returns: no message after start() is missed.
      await nc.flush().catch(() => undefined);
    },
    stop() {
      const current = running;
      running = undefined;
      if (!current) return;
      current.statuses.stop?.();
      current.sub.unsubscribe();
    },
  };
}
