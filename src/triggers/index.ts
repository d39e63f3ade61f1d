/**
 * The core triggers: signals, intervals and manual firing. Sources with their own change feeds
 * (files, etcd, Redis, NATS) bring their own watches; see docs/triggers.md.
 *
 * @module
 */
export { signalTrigger, type SignalTrigger } from './signal.js';
export { intervalTrigger, type IntervalTrigger, type IntervalTriggerOptions } from './interval.js';
export { manualTrigger, type ManualTrigger } from './manual.js';
