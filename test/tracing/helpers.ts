// The real OpenTelemetry SDK for the tracing tests: one tracer provider with an in-memory exporter
// and an AsyncLocalStorage context manager, registered once per test process, and helpers that
// read the exported spans as a tree.
import { context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { createRequire } from 'node:module';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';

export interface Otel {
  exporter: InMemorySpanExporter;
  provider: BasicTracerProvider;
}

let shared: Otel | undefined;

/**
 * Start order of every span. Span start times come from `Date.now()` plus a monotonic offset
 * taken per span, so two spans started within a millisecond may compare in either order.
 */
const started = new Map<string, number>();
const startOrder: SpanProcessor = {
  onStart: (span: Span) => void started.set(span.spanContext().spanId, started.size),
  onEnd() {},
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};

/** The process's SDK: spans are exported synchronously as they end. */
export function otel(): Otel {
  if (shared) return shared;
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [startOrder, new SimpleSpanProcessor(exporter)] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  shared = { exporter, provider };
  return shared;
}

export function spans(): ReadableSpan[] {
  return otel().exporter.getFinishedSpans();
}

/** The finished spans of one trace, or with `unit`, the attempt spans of that unit. */
export function attemptSpans(unit: string): ReadableSpan[] {
  return spans().filter((s) => s.name === `reloadkit.reload ${unit}`);
}

export function childrenOf(parent: ReadableSpan, all: readonly ReadableSpan[] = spans()): ReadableSpan[] {
  const id = parent.spanContext().spanId;
  return all
    .filter((s) => s.parentSpanContext?.spanId === id)
    .sort((a, b) => started.get(a.spanContext().spanId)! - started.get(b.spanContext().spanId)!);
}

export function childNames(parent: ReadableSpan, all?: readonly ReadableSpan[]): string[] {
  return childrenOf(parent, all).map((s) => s.name);
}

/** The span's status code (UNSET 0, OK 1, ERROR 2). */
export function statusOf(span: ReadableSpan): SpanStatusCode {
  return span.status.code;
}

/** Every string a span exports: name, attribute keys and values, events, links, status. */
export function exportedStrings(span: ReadableSpan): string[] {
  const out: string[] = [span.name, span.status.message ?? ''];
  const attrs = (a: Record<string, unknown> | undefined): void => {
    for (const [k, v] of Object.entries(a ?? {})) out.push(k, JSON.stringify(v));
  };
  attrs(span.attributes);
  for (const event of span.events) {
    out.push(event.name);
    attrs(event.attributes);
  }
  for (const link of span.links) attrs(link.attributes);
  attrs(span.resource.attributes);
  return out;
}

let http: HttpInstrumentation | undefined;

/**
 * The real `@opentelemetry/instrumentation-http`, patching `node:http` servers created from now on
 * (its hook patches `http.Server.prototype`, which ESM imports share; requiring the module once
 * is what applies it).
 */
export function instrumentHttp(): void {
  if (http) return;
  const { provider } = otel();
  http = new HttpInstrumentation();
  http.setTracerProvider(provider);
  http.enable();
  createRequire(import.meta.url)('node:http');
}
