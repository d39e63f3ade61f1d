/**
 * The options every message trigger shares (Redis channel and stream, NATS subject and
 * JetStream, RabbitMQ), their checks, and the reconnect backoff they use.
 *
 * @module
 */
import type { ParseMessage } from './receiver.js';

/** Options every message trigger accepts. */
export interface MessageTriggerOptions {
  /**
   * Maps a message that is not a reloadkit envelope (from a publisher that does not use
   * `publishInvalidation`) to what changed. Such messages get no gap detection. Throwing marks
   * the message undeliverable (reported to `onError`, dropped).
   * @default every foreign message is a hint naming nothing: "something changed"
   * @example
   * ```ts
   * parse: (text) => ({ keys: text.split(',') })
   * ```
   */
  parse?: ParseMessage;
  /**
   * Told once per message that cannot be understood (a `DeliveryError`, `RELOADKIT_DELIVERY`;
   * never the message's content) and of connection trouble the trigger is repairing.
   * @default process.emitWarning
   * @example
   * ```ts
   * onError: (error) => log.warn({ code: error.code }, error.message)
   * ```
   */
  onError?: (error: Error & { code?: string }) => void;
}

/** The keys of {@link MessageTriggerOptions}, for `rejectUnknownKeys`. */
export const MESSAGE_TRIGGER_KEYS = ['parse', 'onError'] as const;

/** Checks the shared options; a precise `TypeError` otherwise. */
export function checkMessageTriggerOptions(who: string, options: MessageTriggerOptions): void {
  if (options.parse !== undefined && typeof options.parse !== 'function') throw new TypeError(`${who}: expected \`parse\` to be a function`);
  if (options.onError !== undefined && typeof options.onError !== 'function') throw new TypeError(`${who}: expected \`onError\` to be a function`);
}

/** The default `onError`: a process warning (value-free: only the message and code). */
export function warnOnce(error: Error & { code?: string }): void {
  process.emitWarning(error.message, { code: error.code ?? 'RELOADKIT_DELIVERY' });
}

/**
 * Reconnect delays: `min`, doubled per failed attempt up to `max`, with ±20 % jitter so a fleet
 * does not reconnect in lockstep.
 *
 * @example
 * ```ts
 * backoffDelay(0, 100, 5000); // ~100
 * backoffDelay(6, 100, 5000); // ~5000
 * ```
 */
export function backoffDelay(attempt: number, min: number, max: number, random: () => number = Math.random): number {
  const base = Math.min(max, min * 2 ** Math.min(attempt, 30));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** A sleep that a stop can cut short. */
export function interruptibleSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
