/**
 * Why an attempt ran, as trace context: the callers of a coalesced run captured where each called
 * `reload()` (an attempt may begin later, in another context, once the lock is free), and hints
 * turned into short spans of their own that the attempt links to.
 *
 * @module
 * @internal
 */
import { ROOT_CONTEXT, SpanKind, context as otelContext, isSpanContextValid, trace } from '@opentelemetry/api';
import type { Context, Link, SpanContext, Tracer } from '@opentelemetry/api';
import type { ReloadRequestMessage } from '../core/diagnostics.js';
import { TRACE_ATTRIBUTES, TRACE_NAMES } from './tracing-names.js';

/** One caller of a run: a context to parent under, or only a span to link to. */
export interface Cause {
  /** Set when the caller ran inside a span: the attempt may become its child. */
  parent?: Context;
  span: SpanContext;
}

/** The callers of one run. */
export interface RunRequests {
  callers: number;
  causes: Cause[];
}

/** Runs not started yet are few (one per unit at most); this bounds a leak if a start is never seen. */
const MAX_PENDING_RUNS = 1024;

/**
 * The causes of pending runs, keyed by unit and run id.
 *
 * @example
 * ```ts
 * const causes = new RunCauses(tracer);
 * causes.request(message);           // inside reload()'s caller
 * causes.take('config', 7);          // when run 7 of config begins its attempt
 * ```
 */
export class RunCauses {
  readonly #tracer: Tracer;
  readonly #pending = new Map<string, RunRequests>();

  constructor(tracer: Tracer) {
    this.#tracer = tracer;
  }

  /** Records one `reload()` call and its cause, if any. Runs in the caller's context. */
  request(m: ReloadRequestMessage): void {
    const key = runKey(m.unit, m.run);
    let run = this.#pending.get(key);
    if (run === undefined) {
      if (this.#pending.size >= MAX_PENDING_RUNS) this.#pending.delete(this.#pending.keys().next().value as string);
      run = { callers: 0, causes: [] };
      this.#pending.set(key, run);
    }
    run.callers++;
    const cause = this.#causeOf(m);
    if (cause !== undefined) run.causes.push(cause);
  }

  /** Run `run` of `unit`: how many callers it had and their causes, forgotten once taken. */
  take(unit: string, run: number): RunRequests {
    const key = runKey(unit, run);
    const found = this.#pending.get(key) ?? { callers: 0, causes: [] };
    this.#pending.delete(key);
    return found;
  }

  clear(): void {
    this.#pending.clear();
  }

  #causeOf(m: ReloadRequestMessage): Cause | undefined {
    const active = otelContext.active();
    const span = trace.getSpanContext(active);
    const inSpan = span !== undefined && isSpanContextValid(span);
    // A caller inside a span (an admin request) is the parent. A hint is not: whatever context its
    // watcher inherited is not its cause, so it starts a short span of its own, linked from the attempt.
    if (inSpan && !m.hint) return { parent: active, span };
    if (!m.hint && m.trigger === 'manual') return undefined;
    const links: Link[] = inSpan ? [{ context: span }] : [];
    const hint = this.#tracer.startSpan(
      `${TRACE_NAMES.hint} ${m.trigger}`,
      { kind: SpanKind.INTERNAL, root: true, links, attributes: { [TRACE_ATTRIBUTES.unit]: m.unit, [TRACE_ATTRIBUTES.triggerKind]: m.trigger } },
      ROOT_CONTEXT,
    );
    hint.end();
    return { span: hint.spanContext() };
  }
}

/**
 * The cause of an attempt that no run carries (start, rollback, a group's staged reload): the
 * context it began in, which is its caller's.
 *
 * @example
 * ```ts
 * const causes = m.run === undefined ? currentCause() : runs.take(m.unit, m.run).causes;
 * ```
 */
export function currentCause(): Cause[] {
  const active = otelContext.active();
  const span = trace.getSpanContext(active);
  return span !== undefined && isSpanContextValid(span) ? [{ parent: active, span }] : [];
}

/**
 * The parent context and links of an attempt: the first caller inside a span is the parent, every
 * other cause is a link (each span once).
 *
 * @example
 * ```ts
 * const { parent, links } = parentAndLinks(causes);
 * tracer.startSpan('reloadkit.reload config', { links }, parent);
 * ```
 */
export function parentAndLinks(causes: readonly Cause[]): { parent: Context; links: Link[] } {
  const parentCause = causes.find((c) => c.parent !== undefined);
  const seen = new Set<string>();
  if (parentCause) seen.add(parentCause.span.spanId);
  const links: Link[] = [];
  for (const cause of causes) {
    if (seen.has(cause.span.spanId)) continue;
    seen.add(cause.span.spanId);
    links.push({ context: cause.span });
  }
  return { parent: parentCause?.parent ?? ROOT_CONTEXT, links };
}

function runKey(unit: string, run: number): string {
  return `${unit}\u0000${run}`;
}
