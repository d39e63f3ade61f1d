/**
 * Cache spans: one `reloadkit.cache.load <cache>` (or `.refresh`) per key load, under the context
 * that asked for it, carrying the key label the cache published (its hash unless `keys: 'plain'`).
 *
 * @module
 * @internal
 */
import { SpanKind, SpanStatusCode, context as otelContext } from '@opentelemetry/api';
import type { Span, Tracer } from '@opentelemetry/api';
import type { CacheLoadMessage } from '../core/diagnostics.js';
import { TRACE_ATTRIBUTES as A, TRACE_NAMES } from './tracing-names.js';

/**
 * Open cache load spans. A cache loads one key at most once at a time (single flight), but a load
 * and a refresh of one key may overlap, so spans are keyed by cache, kind and key.
 *
 * @example
 * ```ts
 * const loads = new CacheLoadSpans(tracer);
 * loads.start({ cache: 'prices', key: 'sha256:…', kind: 'load' });
 * loads.end({ cache: 'prices', key: 'sha256:…', kind: 'load', outcome: 'ok' });
 * ```
 */
export class CacheLoadSpans {
  readonly #tracer: Tracer;
  readonly #open = new Map<string, Span[]>();

  constructor(tracer: Tracer) {
    this.#tracer = tracer;
  }

  start(m: CacheLoadMessage): void {
    const span = this.#tracer.startSpan(
      `${TRACE_NAMES.cache}.${m.kind} ${m.cache}`,
      { kind: SpanKind.INTERNAL, attributes: { [A.cache]: m.cache, [A.cacheKey]: m.key } },
      otelContext.active(),
    );
    const key = loadKey(m);
    const queue = this.#open.get(key);
    if (queue === undefined) this.#open.set(key, [span]);
    else queue.push(span);
  }

  end(m: CacheLoadMessage): void {
    const key = loadKey(m);
    const queue = this.#open.get(key);
    const span = queue?.shift();
    if (queue !== undefined && queue.length === 0) this.#open.delete(key);
    if (span === undefined) return;
    span.setAttribute(A.cacheOutcome, m.outcome ?? 'ok');
    if (m.outcome === 'error') {
      const code = m.code ?? 'ERR_UNKNOWN';
      span.setAttributes({ [A.errorCode]: code, [A.errorType]: code });
      span.setStatus({ code: SpanStatusCode.ERROR, message: code });
    }
    span.end();
  }

  close(): void {
    for (const queue of this.#open.values()) for (const span of queue) span.end();
    this.#open.clear();
  }
}

function loadKey(m: CacheLoadMessage): string {
  return `${m.cache}\u0000${m.kind}\u0000${m.key}`;
}
