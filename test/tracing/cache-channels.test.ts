// The cache side of the diagnostics contract: what a cache publishes through the core's helpers
// (a key label that is the key's hash unless `keys: 'plain'`) becomes load and refresh spans under
// the caller's span, with hit/miss on the caller's span when annotating.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanStatusCode } from '@opentelemetry/api';
import { cacheLoadEnded, cacheLoadStarted, cacheLooked } from '../../src/core/diagnostics.js';
import { LoadError } from '../../src/errors.js';
import { traceUnits } from '../../src/metrics/opentelemetry.js';
import { otel, spans } from './helpers.js';

const { exporter, provider } = otel();
const tracer = provider.getTracer('reloadkit-test');

test('cache loads and refreshes are spans under the caller, with the published key label and the error code', (t) => {
  exporter.reset();
  const tracing = traceUnits({ name: 'prices' }, { tracer, annotateRequests: true });
  t.after(() => tracing.stop());
  tracer.startActiveSpan('request', (request) => {
    cacheLooked('prices', 'sha256:aaaa', false);
    cacheLoadStarted('prices', 'sha256:aaaa', 'load');
    cacheLoadStarted('prices', 'sha256:bbbb', 'refresh');
    cacheLoadEnded('prices', 'sha256:bbbb', 'refresh', new LoadError('load failed: boom', { unit: 'prices' }));
    cacheLoadEnded('prices', 'sha256:aaaa', 'load');
    cacheLooked('other-cache', 'k', true); // not traced
    request.end();
  });
  const request = spans().find((s) => s.name === 'request')!;
  assert.equal(request.attributes['reloadkit.cache.prices.hit'], false);
  assert.equal(request.attributes['reloadkit.cache.other-cache.hit'], undefined);
  const load = spans().find((s) => s.name === 'reloadkit.cache.load prices')!;
  const refresh = spans().find((s) => s.name === 'reloadkit.cache.refresh prices')!;
  for (const span of [load, refresh]) assert.equal(span.parentSpanContext?.spanId, request.spanContext().spanId);
  assert.equal(load.attributes['reloadkit.cache.key'], 'sha256:aaaa');
  assert.equal(load.attributes['reloadkit.cache.outcome'], 'ok');
  assert.equal(load.status.code, SpanStatusCode.UNSET);
  assert.equal(refresh.attributes['reloadkit.cache.key'], 'sha256:bbbb');
  assert.deepEqual(refresh.status, { code: SpanStatusCode.ERROR, message: 'RELOADKIT_LOAD' });
  assert.ok(!JSON.stringify(refresh.attributes).includes('boom'), 'the error message stays off the span');
  assert.equal(spans().length, 3);
});
