/**
 * Delivery of change and invalidation messages: the envelope, the gap tracker, the receiver every
 * message trigger shares, and the publisher helpers. Pure logic: adapters bring the transports.
 *
 * @module
 */
export { encodeEnvelope, decodeEnvelope, checkChangeFields, ENVELOPE_MARKER, ENVELOPE_VERSION } from './envelope.js';
export type { ChangeFields, DeliveryEnvelope, Decoded } from './envelope.js';
export { createGapTracker } from './gap-tracker.js';
export type { Gap, GapReason, GapTracker, GapTrackerOptions, Observation } from './gap-tracker.js';
export { createReceiver } from './receiver.js';
export type { Receiver, ReceiverOptions, ParseMessage } from './receiver.js';
export { publishInvalidation, publishChange, publisherNumbering, randomId } from './publisher.js';
export type { DeliveryTransport, Published } from './publisher.js';
export { MESSAGE_TRIGGER_KEYS, checkMessageTriggerOptions, warnOnce, backoffDelay, interruptibleSleep } from './options.js';
export type { MessageTriggerOptions } from './options.js';
