// An admin-triggered reload is a child of the admin request's server span: a real admin server
// (startAdminServer), instrumented by @opentelemetry/instrumentation-http, and a real request
// carrying a W3C traceparent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { startAdminServer } from '../../src/http/server.js';
import { traceUnits } from '../../src/metrics/opentelemetry.js';
import { AUTH, TOKENS, call, makeFixture } from '../http/fixtures.js';
import { waitFor } from '../helpers/wait.js';
import { attemptSpans, childNames, instrumentHttp, otel, spans } from './helpers.js';

const { exporter, provider } = otel();
instrumentHttp();

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

test('POST /units/:name/reload: the attempt span is a child of the admin request span, in the caller trace', async (t) => {
  exporter.reset();
  const fx = await makeFixture(['config', 'db']);
  const tracing = traceUnits(fx.registry, { tracer: provider.getTracer('reloadkit-test') });
  const admin = await startAdminServer({ registry: fx.registry, auth: AUTH, port: 0 });
  t.after(async () => {
    tracing.stop();
    await admin.close();
    await fx.registry.close();
  });
  fx.sources.set('config', { password: 'changed-password', port: 6000 });
  const answer = await call(admin.url, 'POST', '/units/config/reload', {
    token: TOKENS.admin,
    body: { reason: 'deploy' },
    headers: { traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` },
  });
  assert.equal(answer.status, 200);
  await waitFor(() => spans().some((s) => s.kind === SpanKind.SERVER), { message: 'server span' });

  const server = spans().find((s) => s.kind === SpanKind.SERVER)!;
  assert.equal(server.spanContext().traceId, TRACE_ID, 'the server span continues the caller trace');
  assert.equal(server.parentSpanContext?.spanId, CALLER_SPAN);
  const [attempt, ...others] = attemptSpans('config').filter((s) => s.attributes['reloadkit.action'] === 'reload');
  assert.equal(others.length, 0);
  assert.ok(attempt);
  assert.equal(attempt.spanContext().traceId, TRACE_ID);
  assert.equal(attempt.parentSpanContext?.spanId, server.spanContext().spanId, 'child of the admin request');
  assert.equal(attempt.attributes['reloadkit.trigger.kind'], 'http');
  assert.equal(attempt.attributes['reloadkit.outcome'], 'committed');
  assert.equal(attempt.status.code, SpanStatusCode.UNSET);
  assert.deepEqual(childNames(attempt).slice(0, 3), ['reloadkit.load', 'reloadkit.validate', 'reloadkit.commit']);
  assert.equal(attemptSpans('db').filter((s) => s.attributes['reloadkit.action'] === 'reload').length, 0, 'the other unit did nothing');
});

test('POST /reload and POST /units/:name/rollback: every member attempt and the rollback are children of their requests; a refused request makes none', async (t) => {
  exporter.reset();
  const fx = await makeFixture(['config', 'db']);
  const tracing = traceUnits(fx.registry, { tracer: provider.getTracer('reloadkit-test') });
  const admin = await startAdminServer({ registry: fx.registry, auth: AUTH, port: 0 });
  t.after(async () => {
    tracing.stop();
    await admin.close();
    await fx.registry.close();
  });
  fx.sources.set('config', { password: 'x', port: 7000 });
  fx.sources.set('db', { password: 'y', port: 7001 });
  assert.equal((await call(admin.url, 'POST', '/reload', { token: TOKENS.admin })).status, 200);
  assert.equal((await call(admin.url, 'POST', '/units/config/rollback', { token: TOKENS.admin })).status, 200);
  assert.equal((await call(admin.url, 'POST', '/units/db/reload', { token: TOKENS.reader })).status, 403);
  await waitFor(() => spans().filter((s) => s.kind === SpanKind.SERVER).length === 3, { message: 'three server spans' });

  const servers = spans().filter((s) => s.kind === SpanKind.SERVER);
  const byTrace = (traceId: string) => servers.find((s) => s.spanContext().traceId === traceId);
  const reloads = [...attemptSpans('config'), ...attemptSpans('db')].filter((s) => s.attributes['reloadkit.action'] !== 'start');
  assert.equal(reloads.length, 3, 'two reloads and one rollback, nothing for the refused request');
  for (const span of reloads) {
    const server = byTrace(span.spanContext().traceId);
    assert.ok(server, `${span.name} is in a request trace`);
    assert.equal(span.parentSpanContext?.spanId, server.spanContext().spanId);
  }
  const rollback = reloads.find((s) => s.attributes['reloadkit.action'] === 'rollback')!;
  assert.equal(rollback.attributes['reloadkit.outcome'], 'committed');
  const reloadAll = reloads.filter((s) => s.attributes['reloadkit.action'] === 'reload');
  assert.equal(new Set(reloadAll.map((s) => s.parentSpanContext?.spanId)).size, 1, 'both members under the one POST /reload');
});
