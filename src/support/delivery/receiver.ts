/**
 * The receiving side every message trigger shares: one message's text in, one `Hint` (or
 * nothing) out.
 *
 * - An envelope goes through the gap tracker: a duplicate is dropped, a hole turns into
 *   `hint.gap`; its `keys` / `prefix` / `all` become the hint's.
 * - A foreign message (not from the publisher helpers) still works, without gap detection: by
 *   default it is a hint naming nothing ("something changed"; a unit re-reads); a `parse`
 *   function may map its text to `{ keys | prefix | all }`.
 * - A message that cannot be understood (a broken envelope, or `parse` threw) is reported to
 *   `onUndeliverable` once, with a reason but never its content, and delivers nothing.
 * - `reconnected()` is the hint a transport fires when it knows it lost messages (a pub/sub
 *   subscriber that reconnected): a `reconnect` gap, and the tracker is rebased.
 *
 * @module
 */
import { decodeEnvelope, type ChangeFields } from './envelope.js';
import { createGapTracker, type Gap, type GapTracker } from './gap-tracker.js';
import { DeliveryError } from '../../errors.js';

/** The hint a receiver produces: the shape of `Hint` (support imports no domain module). */
export interface Hint {
  kind: string;
  detail?: string;
  keys?: readonly string[];
  prefix?: string;
  all?: boolean;
  gap?: Gap;
}

/** Maps a foreign message's text to what changed; `null`/`undefined` means "something changed". */
export type ParseMessage = (text: string) => ChangeFields | null | undefined;

/** Options of {@link createReceiver}. */
export interface ReceiverOptions {
  /** `Hint.kind` of every hint. */
  kind: string;
  /** Names the transport in hint details and error messages (`redis channel inval`). */
  describe: string;
  parse?: ParseMessage;
  /** Called once per message that cannot be understood, with a reason (never its content). */
  onUndeliverable: (reason: string) => void;
  now?: () => number;
  /** Whether to detect gaps from sequence numbers (durable transports still dedupe). Default true. */
  detectGaps?: boolean;
}

/** See the module description. */
export interface Receiver {
  receive(text: string): Hint | undefined;
  reconnected(): Hint;
  readonly tracker: GapTracker;
}

function withChange(hint: Hint, fields: ChangeFields): Hint {
  if (fields.keys !== undefined) hint.keys = [...fields.keys];
  if (fields.prefix !== undefined) hint.prefix = fields.prefix;
  if (fields.all === true) hint.all = true;
  return hint;
}

function detailOf(describe: string, fields: ChangeFields, gap: Gap | undefined): string {
  const what = fields.all ? 'all' : fields.prefix !== undefined ? 'prefix' : fields.keys !== undefined ? `${fields.keys.length} key(s)` : (fields.change ?? 'changed');
  return `${describe}: ${what}${gap ? ` (gap: ${gap.reason})` : ''}`;
}

/**
 * Creates a receiver.
 *
 * @example
 * ```ts
 * const receiver = createReceiver({ kind: 'redis', describe: 'redis channel inval', onUndeliverable: (reason) => console.warn(reason) });
 * const hint = receiver.receive(text); // undefined for a duplicate or an undecodable message
 * if (hint) fire(hint);
 * ```
 */
export function createReceiver(options: ReceiverOptions): Receiver {
  const now = options.now ?? Date.now;
  const tracker = createGapTracker({ now });
  const detectGaps = options.detectGaps ?? true;
  const { kind, describe } = options;

  const fail = (reason: string): undefined => {
    options.onUndeliverable(reason);
    return undefined;
  };

  return {
    tracker,
    receive(text) {
      const decoded = decodeEnvelope(text);
      if (decoded.kind === 'invalid') return fail(decoded.reason);
      if (decoded.kind === 'foreign') {
        let fields: ChangeFields | null | undefined = {};
        if (options.parse) {
          try {
            fields = options.parse(text);
          } catch (error) {
            return fail(`parse threw${error instanceof Error && error.name ? ` (${error.name})` : ''}`);
          }
        }
        return withChange({ kind, detail: detailOf(describe, fields ?? {}, undefined) }, fields ?? {});
      }
      const { envelope } = decoded;
      const seen = tracker.observe(envelope);
      if (!seen.deliver) return undefined;
      const gap = detectGaps ? seen.gap : undefined;
      const hint = withChange({ kind, detail: detailOf(describe, envelope, gap) }, envelope);
      if (gap) hint.gap = gap;
      return hint;
    },
    reconnected() {
      tracker.rebase();
      return { kind, detail: `${describe}: reconnected (gap: reconnect)`, gap: { since: now(), reason: 'reconnect' } };
    },
  };
}

/**
 * The `onUndeliverable` of every shipped trigger: counts the message in `stats.undeliverable` and
 * reports one `DeliveryError` naming the transport and the reason, never the message's content.
 *
 * @example
 * ```ts
 * createReceiver({ kind: 'nats', describe, onUndeliverable: reportUndeliverable(describe, stats, onError) });
 * ```
 */
export function reportUndeliverable(
  describe: string,
  stats: { undeliverable: number },
  onError: (error: Error) => void,
  dropped = 'dropped',
): (reason: string) => void {
  return (reason) => {
    stats.undeliverable++;
    onError(new DeliveryError(`${describe}: ${dropped} a message that cannot be understood: ${reason}`, { source: describe }));
  };
}
