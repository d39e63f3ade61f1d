/**
 * Audit fan-out: a unit's own sink plus the ones a registry attaches. A sink that throws or
 * rejects is reported (the unit turns it into an `error` event); it never blocks or breaks the
 * pipeline, because delivery is fire-and-forget.
 *
 * @module
 */
import type { AuditRecord, AuditSink } from '../types.js';

/**
 * Checks that `sink` is a function or an object with `write`, with a precise `TypeError`.
 *
 * @example
 * ```ts
 * assertAuditSink((record) => console.log(record), 'audit');
 * ```
 */
export function assertAuditSink(sink: unknown, name: string): asserts sink is AuditSink {
  if (typeof sink === 'function') return;
  if (typeof sink === 'object' && sink !== null && typeof (sink as { write?: unknown }).write === 'function') return;
  throw new TypeError(`Expected \`${name}\` to be a function or an object with write(record), got ${sink === null ? 'null' : typeof sink}.`);
}

/**
 * Delivers records to every attached sink.
 *
 * @example
 * ```ts
 * const audit = new AuditFanout((error) => console.error(error));
 * const detach = audit.attach((record) => console.log(record.outcome));
 * audit.deliver(record);
 * detach();
 * ```
 */
export class AuditFanout {
  #sinks: AuditSink[] = [];
  readonly #onError: (error: unknown) => void;

  constructor(onError: (error: unknown) => void) {
    this.#onError = onError;
  }

  /** True when at least one sink is attached: callers skip building records otherwise. */
  get active(): boolean {
    return this.#sinks.length > 0;
  }

  attach(sink: AuditSink): () => void {
    assertAuditSink(sink, 'sink');
    this.#sinks = [...this.#sinks, sink];
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      const i = this.#sinks.indexOf(sink);
      if (i >= 0) this.#sinks = [...this.#sinks.slice(0, i), ...this.#sinks.slice(i + 1)];
    };
  }

  deliver(record: AuditRecord): void {
    for (const sink of this.#sinks) {
      try {
        const out = typeof sink === 'function' ? sink(record) : sink.write(record);
        if (out !== undefined && out !== null && typeof (out as PromiseLike<void>).then === 'function') {
          (out as PromiseLike<void>).then(undefined, (error: unknown) => this.#onError(error));
        }
      } catch (error) {
        this.#onError(error);
      }
    }
  }
}
