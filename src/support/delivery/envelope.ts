/**
 * The delivery envelope: what reloadkit's publisher helpers put on a wire (a Redis channel or
 * stream, a NATS subject, a RabbitMQ exchange) so that a subscriber can tell a lost message from
 * a quiet publisher. An envelope is one JSON object:
 *
 * ```json
 * { "reloadkit": 1, "pub": "orders-api", "epoch": "k2f9…", "seq": 42, "keys": ["user:1"] }
 * ```
 *
 * - `pub`: the publisher's id (stable if the user names it, random otherwise);
 * - `epoch`: random per publisher instance, so a restarted publisher (whose `seq` starts again at
 *   1) is told apart from a duplicate;
 * - `seq`: 1, 2, 3… per (pub, epoch);
 * - then what changed: `keys`, `prefix`, `all`, or only `change` (a free-form name, never a value).
 *
 * Pure logic, no domain state: every adapter decodes with it, none imports another adapter.
 *
 * @module
 */

/** What a message says changed. Every field is optional: none means "something changed". */
export interface ChangeFields {
  /** Keys that changed (cache keys, or whatever the subscriber maps them to). */
  keys?: readonly string[];
  /** Every key under this prefix may have changed. */
  prefix?: string;
  /** Everything may have changed. */
  all?: boolean;
  /** A free-form name of the change (`config`, `pricing v7`): shown as hint detail. Never a value. */
  change?: string;
}

/** A decoded envelope. */
export interface DeliveryEnvelope extends ChangeFields {
  pub: string;
  epoch: string;
  seq: number;
}

/** The marker field and version of an envelope. */
export const ENVELOPE_MARKER = 'reloadkit';
export const ENVELOPE_VERSION = 1;

/** Longest id, epoch, change or key accepted, and the most keys in one message. */
const MAX_TEXT = 512;
const MAX_KEYS = 10_000;

/** The outcome of decoding one message. */
export type Decoded =
  | { kind: 'envelope'; envelope: DeliveryEnvelope }
  /** Not an envelope: a message from a publisher that does not use the helpers. */
  | { kind: 'foreign'; text: string }
  /** Looks like an envelope but is not a valid one: `reason` names what is wrong (never a value). */
  | { kind: 'invalid'; reason: string };

/**
 * Encodes an envelope as JSON text.
 *
 * @example
 * ```ts
 * encodeEnvelope({ pub: 'api', epoch: 'e1', seq: 1, keys: ['user:1'] });
 * // '{"reloadkit":1,"pub":"api","epoch":"e1","seq":1,"keys":["user:1"]}'
 * ```
 */
export function encodeEnvelope(envelope: DeliveryEnvelope): string {
  const out: Record<string, unknown> = { [ENVELOPE_MARKER]: ENVELOPE_VERSION, pub: envelope.pub, epoch: envelope.epoch, seq: envelope.seq };
  if (envelope.keys !== undefined) out.keys = [...envelope.keys];
  if (envelope.prefix !== undefined) out.prefix = envelope.prefix;
  if (envelope.all === true) out.all = true;
  if (envelope.change !== undefined) out.change = envelope.change;
  return JSON.stringify(out);
}

/**
 * Checks the change fields a caller gives a publisher helper; a precise `TypeError` otherwise.
 *
 * @example
 * ```ts
 * checkChangeFields('publishInvalidation', { keys: ['a'] }); // ok
 * checkChangeFields('publishInvalidation', { keys: 'a' });   // TypeError
 * ```
 */
export function checkChangeFields(who: string, fields: unknown): asserts fields is ChangeFields {
  if (typeof fields !== 'object' || fields === null) throw new TypeError(`${who}: expected an object such as { keys }, { prefix } or { all: true }`);
  const problem = changeFieldsProblem(fields as Record<string, unknown>);
  if (problem !== undefined) throw new TypeError(`${who}: ${problem}`);
}

function changeFieldsProblem(o: Record<string, unknown>): string | undefined {
  if (o.keys !== undefined) {
    if (!Array.isArray(o.keys)) return 'expected `keys` to be an array of strings';
    if (o.keys.length > MAX_KEYS) return `expected at most ${MAX_KEYS} keys in one message`;
    if (!o.keys.every((k) => typeof k === 'string' && k.length > 0 && k.length <= MAX_TEXT)) {
      return `expected every key to be a non-empty string of at most ${MAX_TEXT} characters`;
    }
  }
  if (o.prefix !== undefined && (typeof o.prefix !== 'string' || o.prefix.length === 0 || o.prefix.length > MAX_TEXT)) {
    return 'expected `prefix` to be a non-empty string';
  }
  if (o.all !== undefined && typeof o.all !== 'boolean') return 'expected `all` to be a boolean';
  if (o.change !== undefined && (typeof o.change !== 'string' || o.change.length > MAX_TEXT)) return 'expected `change` to be a short string';
  return undefined;
}

/**
 * Decodes one message. A JSON object carrying the `reloadkit` marker must be a valid envelope
 * (else `invalid`); anything else is `foreign`.
 *
 * @example
 * ```ts
 * decodeEnvelope('{"reloadkit":1,"pub":"a","epoch":"e","seq":3,"all":true}'); // { kind: 'envelope', … }
 * decodeEnvelope('user:1');                                                     // { kind: 'foreign', text: 'user:1' }
 * decodeEnvelope('{"reloadkit":1,"seq":"x"}');                                  // { kind: 'invalid', reason: … }
 * ```
 */
export function decodeEnvelope(text: string): Decoded {
  // Cheap test first: most foreign messages are not JSON objects with the marker at all.
  if (!text.startsWith('{') || !text.includes(`"${ENVELOPE_MARKER}"`)) return { kind: 'foreign', text };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { kind: 'invalid', reason: 'an envelope that is not valid JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !Object.hasOwn(parsed, ENVELOPE_MARKER)) {
    return { kind: 'foreign', text };
  }
  const o = parsed as Record<string, unknown>;
  if (o[ENVELOPE_MARKER] !== ENVELOPE_VERSION) return { kind: 'invalid', reason: `an envelope of unknown version (expected ${ENVELOPE_VERSION})` };
  if (typeof o.pub !== 'string' || o.pub.length === 0 || o.pub.length > MAX_TEXT) return { kind: 'invalid', reason: 'an envelope without a publisher id (`pub`)' };
  if (typeof o.epoch !== 'string' || o.epoch.length === 0 || o.epoch.length > MAX_TEXT) return { kind: 'invalid', reason: 'an envelope without an `epoch`' };
  if (typeof o.seq !== 'number' || !Number.isSafeInteger(o.seq) || o.seq < 1) return { kind: 'invalid', reason: 'an envelope whose `seq` is not a positive integer' };
  const problem = changeFieldsProblem(o);
  if (problem !== undefined) return { kind: 'invalid', reason: `an envelope with bad change fields (${problem})` };
  const envelope: DeliveryEnvelope = { pub: o.pub, epoch: o.epoch, seq: o.seq };
  if (o.keys !== undefined) envelope.keys = o.keys as string[];
  if (o.prefix !== undefined) envelope.prefix = o.prefix as string;
  if (o.all === true) envelope.all = true;
  if (o.change !== undefined) envelope.change = o.change as string;
  return { kind: 'envelope', envelope };
}
