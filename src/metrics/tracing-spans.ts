/**
 * Turns the core's diagnostics messages into spans: one `reloadkit.reload <unit>` per attempt,
 * a child per stage (a stage ends when the next one begins, or with the attempt), a short commit
 * span, and drain and dispose spans under the attempt that retired the generation. A cache's
 * per-key loads are attempts too (`reloadkit.cache.load <cache>`, several at once).
 *
 * @module
 * @internal
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import type { AttemptEndMessage, AttemptStartMessage, CommitMessage, LoadRetryMessage, ResourceMessage, StageStartMessage } from '../core/diagnostics.js';
import { RunCauses, currentCause, parentAndLinks } from './tracing-causes.js';
import { TRACE_ATTRIBUTES as A, TRACE_NAMES, hashPrefix } from './tracing-names.js';

interface OpenAttempt {
  unit: string;
  attempt: number;
  span: Span;
  /** The attempt span as a parent context for its children. */
  ctx: Context;
  stage: { name: string; span: Span } | undefined;
}

/** The code of a group member's attempt discarded because another member failed. */
const GROUP_DISCARD = 'RELOADKIT_GROUP';

/**
 * Open attempts kept at most: an attempt whose end is never published (a cache load superseded by
 * an invalidation ends unreported) must not be kept forever; the oldest is ended as incomplete.
 */
const MAX_OPEN = 4096;

/** Retired generations remembered for their drain and dispose spans; bounds keepPrevious leftovers. */
const MAX_RETIRING = 256;

/**
 * The span state of every traced unit.
 *
 * @example
 * ```ts
 * const spans = new AttemptSpans(tracer);
 * subscribe(CHANNELS.attemptStart, (m) => spans.attemptStart(m));
 * ```
 */
export class AttemptSpans {
  readonly causes: RunCauses;
  readonly #tracer: Tracer;
  /** Open attempts by unit and attempt id (a cache loads several keys at once). */
  readonly #open = new Map<string, OpenAttempt>();
  /** The latest attempt of each unit: stage, retry and commit messages are its (a unit's attempts never overlap). */
  readonly #current = new Map<string, OpenAttempt>();
  /** `unit/generation` → the attempt that replaced it: the parent of its drain and dispose. */
  readonly #retiredBy = new Map<string, Context>();
  readonly #drains = new Map<string, Span>();
  /** Several never-committed candidates (generation 0) may dispose at once: a queue per key. */
  readonly #disposals = new Map<string, Span[]>();

  constructor(tracer: Tracer) {
    this.#tracer = tracer;
    this.causes = new RunCauses(tracer);
  }

  attemptStart(m: AttemptStartMessage): void {
    const run = m.run === undefined ? undefined : this.causes.take(m.unit, m.run);
    const { parent, links } = parentAndLinks(run === undefined ? currentCause() : run.causes);
    const attributes: Attributes = {
      [A.unit]: m.unit,
      [A.action]: m.action,
      [A.attempt]: m.attempt,
      [A.triggerKind]: m.trigger,
    };
    if (run !== undefined && run.callers > 0) attributes[A.callers] = run.callers;
    if (m.keyHash !== undefined) {
      attributes[A.cache] = m.unit;
      attributes[A.cacheKeyHash] = m.keyHash;
      if (m.key !== undefined) attributes[A.cacheKey] = m.key;
    }
    const name = `${m.keyHash === undefined ? TRACE_NAMES.attempt : TRACE_NAMES.cacheLoad} ${m.unit}`;
    const span = this.#tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes, links, root: parent === ROOT_CONTEXT }, parent);
    const open: OpenAttempt = { unit: m.unit, attempt: m.attempt, span, ctx: trace.setSpan(ROOT_CONTEXT, span), stage: undefined };
    if (this.#open.size >= MAX_OPEN) this.#abandon(this.#open.keys().next().value as string, 'never ended');
    this.#open.set(attemptKey(m.unit, m.attempt), open);
    this.#current.set(m.unit, open);
  }

  stageStart(m: StageStartMessage): void {
    const open = this.#current.get(m.unit);
    if (open === undefined) return;
    open.stage?.span.end();
    const span = this.#tracer.startSpan(`reloadkit.${m.stage}`, { kind: SpanKind.INTERNAL, attributes: { [A.unit]: m.unit, [A.stage]: m.stage } }, open.ctx);
    open.stage = { name: m.stage, span };
  }

  loadRetry(m: LoadRetryMessage): void {
    const stage = this.#current.get(m.unit)?.stage;
    if (stage?.name === 'load') stage.span.addEvent(TRACE_NAMES.loadRetry, { [A.loadTry]: m.try });
  }

  commit(m: CommitMessage): void {
    const open = this.#current.get(m.unit);
    if (open === undefined) return;
    open.stage?.span.end();
    open.stage = undefined;
    const attributes: Attributes = { [A.unit]: m.unit, [A.to]: m.to, [A.hash]: hashPrefix(m.hash), [A.changedPaths]: m.changedPaths };
    if (m.from !== undefined) attributes[A.from] = m.from;
    this.#tracer.startSpan(TRACE_NAMES.commit, { kind: SpanKind.INTERNAL, attributes }, open.ctx).end();
    open.span.setAttribute(A.changedPaths, m.changedPaths);
    if (m.from !== undefined) this.#remember(`${m.unit}/${m.from}`, open.ctx);
  }

  attemptEnd(m: AttemptEndMessage): void {
    const key = attemptKey(m.unit, m.attempt);
    const open = this.#open.get(key);
    if (open === undefined) return;
    this.#open.delete(key);
    if (this.#current.get(m.unit) === open) this.#current.delete(m.unit);
    const span = open.span;
    span.setAttribute(A.outcome, m.outcome);
    if (m.from !== undefined) span.setAttribute(A.from, m.from);
    if (m.to !== undefined) span.setAttribute(A.to, m.to);
    if (m.hash !== undefined) span.setAttribute(A.hash, hashPrefix(m.hash));
    if (m.target !== undefined) span.setAttribute(A.target, m.target);
    const stage = open.stage;
    if (m.outcome === 'rejected') {
      const code = m.code ?? 'RELOADKIT_UNKNOWN';
      const error = { [A.errorCode]: code, [A.errorType]: code };
      if (m.stage !== undefined) span.setAttribute(A.stage, m.stage);
      span.setAttributes(error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: code });
      // A group discard (RELOADKIT_GROUP) names another member's stage: this unit's own stage did not fail.
      if (stage !== undefined && stage.name === m.stage && code !== GROUP_DISCARD) {
        stage.span.setAttributes(error);
        stage.span.setStatus({ code: SpanStatusCode.ERROR, message: code });
      }
    }
    stage?.span.end();
    span.end();
  }

  drain(m: ResourceMessage): void {
    const key = `${m.unit}/${m.generation}`;
    const parent = this.#retiredBy.get(key) ?? ROOT_CONTEXT;
    this.#drains.get(key)?.end();
    this.#drains.set(key, this.#tracer.startSpan(TRACE_NAMES.drain, { kind: SpanKind.INTERNAL, attributes: resourceAttributes(m), root: parent === ROOT_CONTEXT }, parent));
  }

  disposeStart(m: ResourceMessage): void {
    const key = `${m.unit}/${m.generation}`;
    const drain = this.#drains.get(key);
    if (drain !== undefined) {
      this.#drains.delete(key);
      if (m.leases > 0) drain.addEvent(TRACE_NAMES.drainTimeout, { [A.leases]: m.leases });
      drain.end();
    }
    // A candidate that never committed is disposed inside its own attempt.
    const parent = (m.generation === 0 ? this.#current.get(m.unit)?.ctx : this.#retiredBy.get(key)) ?? ROOT_CONTEXT;
    const span = this.#tracer.startSpan(TRACE_NAMES.dispose, { kind: SpanKind.INTERNAL, attributes: resourceAttributes(m), root: parent === ROOT_CONTEXT }, parent);
    const queue = this.#disposals.get(key);
    if (queue === undefined) this.#disposals.set(key, [span]);
    else queue.push(span);
  }

  disposeEnd(m: ResourceMessage): void {
    const key = `${m.unit}/${m.generation}`;
    const queue = this.#disposals.get(key);
    const span = queue?.shift();
    if (queue !== undefined && queue.length === 0) this.#disposals.delete(key);
    span?.end();
    if (m.generation !== 0) this.#retiredBy.delete(key);
  }

  /** Ends every open span (tracing stops) and forgets everything. */
  close(): void {
    for (const key of [...this.#open.keys()]) this.#abandon(key, 'tracing stopped');
    for (const span of this.#drains.values()) span.end();
    for (const queue of this.#disposals.values()) for (const span of queue) span.end();
    this.#drains.clear();
    this.#disposals.clear();
    this.#retiredBy.clear();
    this.causes.clear();
  }

  /** Ends an attempt whose end will not be seen. */
  #abandon(key: string, why: string): void {
    const open = this.#open.get(key);
    if (open === undefined) return;
    this.#open.delete(key);
    if (this.#current.get(open.unit) === open) this.#current.delete(open.unit);
    open.span.setAttribute(A.incomplete, why);
    open.stage?.span.end();
    open.span.end();
  }

  #remember(key: string, ctx: Context): void {
    if (this.#retiredBy.size >= MAX_RETIRING) this.#retiredBy.delete(this.#retiredBy.keys().next().value as string);
    this.#retiredBy.set(key, ctx);
  }
}

function attemptKey(unit: string, attempt: number): string {
  return `${unit}\u0000${attempt}`;
}

function resourceAttributes(m: ResourceMessage): Attributes {
  return { [A.unit]: m.unit, [A.generation]: m.generation, [A.leases]: m.leases };
}
