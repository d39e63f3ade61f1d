/**
 * `traceUnits(target, options)`: OpenTelemetry spans for the reloads of a registry's members (or
 * of some units), built from the core's diagnostics channels, and, opt-in, the generation that
 * served each request on the request's own span. Depends on `@opentelemetry/api` only.
 *
 * @module
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { trace } from '@opentelemetry/api';
import type { Tracer } from '@opentelemetry/api';
import { CHANNELS } from '../core/diagnostics.js';
import type { CacheLookupMessage, LeaseMessage } from '../core/diagnostics.js';
import { describeValue } from '../support/describe-value.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { cacheHitAttribute, generationAttribute, hashAttribute, hashPrefix } from './tracing-names.js';
import { AttemptSpans } from './tracing-spans.js';

export { TRACE_ATTRIBUTES, TRACE_NAMES, hashPrefix } from './tracing-names.js';
export { CHANNELS as DIAGNOSTICS_CHANNELS } from '../core/diagnostics.js';
export type {
  AttemptEndMessage,
  AttemptStartMessage,
  KeyFields,
  CacheLookupMessage,
  CommitMessage,
  LeaseMessage,
  LoadRetryMessage,
  ReloadRequestMessage,
  ResourceMessage,
  StageStartMessage,
} from '../core/diagnostics.js';

/** Something with a name: a unit, a cache, any registry member. */
export interface TracedMember {
  readonly name: string;
}

/** A registry as `traceUnits` sees it: its members now, and an `added` event for later ones. */
export interface TracedRegistry {
  units(): readonly TracedMember[];
  on?(event: 'added', fn: (e: { member: TracedMember }) => void): unknown;
  off?(event: 'added', fn: (e: { member: TracedMember }) => void): unknown;
}

/** What to trace: a registry (members added later included), a list of members, or one member. */
export type TraceTarget = TracedRegistry | readonly TracedMember[] | TracedMember;

/** Options of `traceUnits`. */
export interface TraceUnitsOptions {
  /**
   * The tracer to start spans on.
   *
   * @default trace.getTracer('reloadkit') (the global tracer provider's)
   * @example
   * ```ts
   * traceUnits(registry, { tracer: provider.getTracer('my-service') });
   * ```
   */
  tracer?: Tracer;
  /**
   * Tag the caller's active span on every `use()`, `acquire()` and `pin()` with
   * `reloadkit.generation.<unit>` (the generation id) and `reloadkit.hash.<unit>` (a hash prefix),
   * and on every cache lookup with `reloadkit.cache.<cache>.hit`; so a trace backend can find the
   * requests a generation served. Off, `use()` pays one `hasSubscribers` check and `get()` nothing.
   *
   * @default false
   * @example
   * ```ts
   * traceUnits(registry, { annotateRequests: true });
   * // a request span: { 'reloadkit.generation.pricing': 7, 'reloadkit.hash.pricing': 'sha256:9f86d081884c' }
   * ```
   */
  annotateRequests?: boolean;
}

/** The handle returned by `traceUnits`. */
export interface UnitTracing {
  /** Stops tracing: unsubscribes, and ends any span still open. Idempotent. */
  stop(): void;
}

const KNOWN_KEYS = ['tracer', 'annotateRequests'] as const;

/**
 * Traces the reloads of `target`'s members: one span `reloadkit.reload <unit>` per attempt (kind
 * internal) with a child per stage (`reloadkit.load` with its retries as events,
 * `reloadkit.validate`, `reloadkit.create`, `reloadkit.health`, `reloadkit.commit`), and
 * `reloadkit.drain` / `reloadkit.dispose` spans for the generation it retired. A reload called
 * inside a span (an instrumented admin request) is that span's child; a hint (file change, store
 * event, signal) starts a short `reloadkit.hint <kind>` span the attempt links to; coalesced
 * callers are links. Spans carry ids, stages, outcomes, hash prefixes, error codes and counts,
 * never a value. A context manager must be registered for parents to be seen (as for any tracing).
 *
 * @throws {TypeError} for a bad target or options.
 * @example
 * ```ts
 * import { traceUnits } from 'reloadkit/opentelemetry';
 * const tracing = traceUnits(registry, { annotateRequests: true });
 * // ... on shutdown
 * tracing.stop();
 * ```
 */
export function traceUnits(target: TraceTarget, options: TraceUnitsOptions = {}): UnitTracing {
  const traced = tracedNames(target);
  if (options === null || typeof options !== 'object') throw new TypeError(`traceUnits: expected \`options\` to be an object, got ${describeValue(options)}`);
  rejectUnknownKeys('traceUnits', options, KNOWN_KEYS);
  const { tracer = trace.getTracer('reloadkit'), annotateRequests = false } = options;
  if (typeof tracer?.startSpan !== 'function') throw new TypeError(`traceUnits: expected \`tracer\` to be an OpenTelemetry Tracer, got ${describeValue(tracer)}`);
  if (typeof annotateRequests !== 'boolean') throw new TypeError(`traceUnits: expected \`annotateRequests\` to be a boolean, got ${describeValue(annotateRequests)}`);

  const spans = new AttemptSpans(tracer);
  const handlers: Array<[string, (message: unknown) => void]> = [];
  /** A subscriber that throws would resurface as an uncaught exception: tracing must never do that. */
  const on = <M extends { unit?: string; cache?: string }>(name: string, fn: (m: M) => void): void => {
    const handler = (message: unknown): void => {
      try {
        const m = message as M;
        if (traced.has((m.unit ?? m.cache)!)) fn(m);
      } catch {}
    };
    handlers.push([name, handler]);
    subscribe(name, handler);
  };

  on(CHANNELS.request, (m) => spans.causes.request(m as never));
  on(CHANNELS.attemptStart, (m) => spans.attemptStart(m as never));
  on(CHANNELS.stageStart, (m) => spans.stageStart(m as never));
  on(CHANNELS.loadRetry, (m) => spans.loadRetry(m as never));
  on(CHANNELS.commit, (m) => spans.commit(m as never));
  on(CHANNELS.attemptEnd, (m) => spans.attemptEnd(m as never));
  on(CHANNELS.drain, (m) => spans.drain(m as never));
  on(CHANNELS.disposeStart, (m) => spans.disposeStart(m as never));
  on(CHANNELS.disposeEnd, (m) => spans.disposeEnd(m as never));
  if (annotateRequests) {
    on<LeaseMessage>(CHANNELS.lease, (m) => {
      const span = trace.getActiveSpan();
      if (span === undefined || !span.isRecording()) return;
      span.setAttribute(generationAttribute(m.unit), m.generation);
      span.setAttribute(hashAttribute(m.unit), hashPrefix(m.hash));
    });
    on<CacheLookupMessage>(CHANNELS.cacheLookup, (m) => trace.getActiveSpan()?.setAttribute(cacheHitAttribute(m.cache), m.hit));
  }

  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      for (const [name, handler] of handlers) unsubscribe(name, handler);
      traced.detach();
      spans.close();
    },
  };
}

/** The names of the traced members, kept current for a registry. */
function tracedNames(target: TraceTarget): { has(name: string): boolean; detach(): void } {
  if (target === null || typeof target !== 'object') {
    throw new TypeError(`traceUnits: expected a registry, a unit or an array of units, got ${describeValue(target)}`);
  }
  const names = new Set<string>();
  const add = (member: TracedMember): void => {
    if (typeof member?.name !== 'string') throw new TypeError(`traceUnits: expected every member to have a string \`name\`, got ${describeValue(member)}`);
    names.add(member.name);
  };
  if (typeof (target as TracedRegistry).units === 'function') {
    const registry = target as TracedRegistry;
    registry.units().forEach(add);
    const onAdded = (e: { member: TracedMember }): void => {
      if (typeof e?.member?.name === 'string') names.add(e.member.name);
    };
    registry.on?.('added', onAdded);
    return { has: (name) => names.has(name), detach: () => void registry.off?.('added', onAdded) };
  }
  if (Array.isArray(target)) (target as readonly TracedMember[]).forEach(add);
  else add(target as TracedMember);
  return { has: (name) => names.has(name), detach() {} };
}
