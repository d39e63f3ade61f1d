// Caches traced through the same channels: each per-key load is a `reloadkit.cache.load <cache>`
// span under the request that missed (key hash only, the key itself with `keys: 'plain'`), a whole
// cache reload is a `reloadkit.reload <cache>` span, and with annotateRequests a lookup sets
// `reloadkit.cache.<cache>.hit` on the request span. The real reloadable cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanStatusCode } from '@opentelemetry/api';
import { keyHash, reloadableCache } from '../../src/cache/index.js';
import { traceUnits } from '../../src/metrics/opentelemetry.js';
import { exportedStrings, otel, spans } from './helpers.js';

const { exporter, provider } = otel();
const tracer = provider.getTracer('reloadkit-test');
const SECRET = 'card-4111-1111';

test('a miss loads under the request span: key hash only, outcome, and hit/miss on the request', async (t) => {
  exporter.reset();
  let fail = false;
  const users = reloadableCache({
    name: 'users',
    retry: false,
    load: (key: string) => {
      if (fail) throw new Error(`backend refused ${key} ${SECRET}`);
      return { id: key, card: SECRET };
    },
  });
  const tracing = traceUnits(users, { tracer, annotateRequests: true });
  t.after(async () => {
    tracing.stop();
    await users.close();
  });
  await users.start();
  const inRequest = (name: string, fn: () => Promise<unknown>) =>
    tracer.startActiveSpan(name, async (span) => {
      try {
        await fn();
      } catch {}
      span.end();
    });
  await inRequest('miss', () => users.get('user:42'));
  await inRequest('hit', () => users.get('user:42'));
  fail = true;
  await inRequest('failed', () => users.get('user:7'));

  const byName = (name: string) => spans().filter((s) => s.name === name);
  const [miss] = byName('miss');
  const [hit] = byName('hit');
  const [failed] = byName('failed');
  assert.equal(miss!.attributes['reloadkit.cache.users.hit'], false);
  assert.equal(hit!.attributes['reloadkit.cache.users.hit'], true);
  assert.equal(failed!.attributes['reloadkit.cache.users.hit'], false);

  const loads = byName('reloadkit.cache.load users');
  assert.equal(loads.length, 2, 'one load per miss, none for the hit');
  const [ok, rejected] = loads;
  assert.equal(ok!.parentSpanContext?.spanId, miss!.spanContext().spanId);
  assert.equal(ok!.attributes['reloadkit.cache.key_hash'], keyHash('user:42'));
  assert.equal(ok!.attributes['reloadkit.cache.key'], undefined, 'never the key without keys: plain');
  assert.equal(ok!.attributes['reloadkit.cache'], 'users');
  assert.equal(ok!.attributes['reloadkit.outcome'], 'committed');
  assert.equal(ok!.attributes['reloadkit.trigger.kind'], 'miss');
  assert.equal(rejected!.parentSpanContext?.spanId, failed!.spanContext().spanId);
  assert.equal(rejected!.attributes['reloadkit.cache.key_hash'], keyHash('user:7'));
  assert.deepEqual(rejected!.status, { code: SpanStatusCode.ERROR, message: 'RELOADKIT_LOAD' });
  for (const span of spans()) {
    for (const text of exportedStrings(span)) assert.ok(!text.includes('user:') && !text.includes(SECRET), `${span.name} exports ${text}`);
  }
});

test("keys: 'plain' puts the key on load spans; a cache reload is one attempt span with a load span per key", async (t) => {
  exporter.reset();
  let version = 1;
  const tenants = reloadableCache({ name: 'tenants', keys: 'plain', retry: false, load: (key: string) => ({ key, version }) });
  const tracing = traceUnits([tenants], { tracer });
  t.after(async () => {
    tracing.stop();
    await tenants.close();
  });
  await tenants.start();
  await tenants.get('tenant:1');
  await tenants.get('tenant:2');
  version = 2;
  await tracer.startActiveSpan('nightly', async (span) => {
    await tenants.reload({ reason: 'nightly' });
    span.end();
  });
  const loads = spans().filter((s) => s.name === 'reloadkit.cache.load tenants');
  assert.deepEqual(loads.map((s) => s.attributes['reloadkit.cache.key']).sort(), ['tenant:1', 'tenant:1', 'tenant:2', 'tenant:2']);
  const reload = spans().find((s) => s.name === 'reloadkit.reload tenants')!;
  assert.ok(reload, 'the cache reload is an attempt span');
  assert.equal(reload.attributes['reloadkit.action'], 'reload');
  assert.equal(reload.attributes['reloadkit.outcome'], 'committed');
  assert.equal(reload.parentSpanContext?.spanId, spans().find((s) => s.name === 'nightly')!.spanContext().spanId);
});
