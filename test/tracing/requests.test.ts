// Request attribution (annotateRequests): the span of a request made through use(), acquire() or
// pin() carries the generation that served it. A real instrumented HTTP server serves requests
// while the unit rotates; the count per generation on the server spans equals what it saw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpanKind } from '@opentelemetry/api';
import { reloadable } from '../../src/core/unit.js';
import { pin } from '../../src/compose/pin.js';
import { hashPrefix, traceUnits } from '../../src/metrics/opentelemetry.js';
import { waitFor } from '../helpers/wait.js';
import { instrumentHttp, otel, spans } from './helpers.js';

const { exporter, provider } = otel();
instrumentHttp();
const tracer = provider.getTracer('reloadkit-test');

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

test('during a rotation every request span carries exactly the generation that served it', async (t) => {
  exporter.reset();
  let version = 0;
  const unit = reloadable({
    name: 'pricing',
    retry: false,
    load: () => ({ version: ++version }),
    create: (value: { version: number }) => ({ ...value }),
  });
  const tracing = traceUnits(unit, { tracer, annotateRequests: true });
  const seen = new Map<number, { count: number; hash: string }>();
  const server = createServer((req, res) => {
    void unit.use(async (resource, generation) => {
      const entry = seen.get(generation.id) ?? { count: 0, hash: generation.hash };
      entry.count++;
      seen.set(generation.id, entry);
      // Held across awaits, so reloads commit while requests are still being served by older generations.
      await sleep(1 + (resource.version % 3));
      res.end(String(generation.id));
    });
  });
  const port = await listen(server);
  t.after(async () => {
    tracing.stop();
    await new Promise((resolve) => server.close(resolve));
    await unit.close();
  });
  await unit.start();

  const ROUNDS = 6;
  const PER_ROUND = 12;
  for (let round = 0; round < ROUNDS; round++) {
    const inFlight = Array.from({ length: PER_ROUND }, (_, i) => get(port, `/price?i=${i}`));
    // A commit lands while this round's requests are served.
    const reloading = unit.reload();
    await Promise.all([...inFlight, reloading]);
  }
  await waitFor(() => spans().filter((s) => s.kind === SpanKind.SERVER).length === ROUNDS * PER_ROUND, { message: 'every server span' });

  const onSpans = new Map<number, number>();
  for (const span of spans().filter((s) => s.kind === SpanKind.SERVER)) {
    const id = span.attributes['reloadkit.generation.pricing'];
    assert.equal(typeof id, 'number', 'every request span names its generation');
    onSpans.set(id as number, (onSpans.get(id as number) ?? 0) + 1);
    assert.equal(span.attributes['reloadkit.hash.pricing'], hashPrefix(seen.get(id as number)!.hash));
  }
  const expected = new Map([...seen].map(([id, { count }]) => [id, count]));
  assert.deepEqual(onSpans, expected);
  assert.ok(seen.size >= 2, `requests were served by several generations (${[...seen.keys()].join(', ')})`);
});

test('acquire() and pin() annotate the active span with each unit; off (or untraced), nothing is set', async (t) => {
  exporter.reset();
  const a = reloadable({ name: 'svc-a', load: () => ({ a: 1 }) });
  const b = reloadable({ name: 'svc-b', load: () => ({ b: 1 }) });
  const c = reloadable({ name: 'svc-c', load: () => ({ c: 1 }) });
  await Promise.all([a.start(), b.start(), c.start()]);
  const annotated = traceUnits([a, b], { tracer, annotateRequests: true });
  const plain = traceUnits(c, { tracer });
  t.after(async () => {
    annotated.stop();
    plain.stop();
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  await tracer.startActiveSpan('pinned', async (span) => {
    await pin({ a, b, c }, () => undefined);
    span.end();
  });
  tracer.startActiveSpan('acquired', (span) => {
    a.acquire().release();
    span.end();
  });
  await tracer.startActiveSpan('used-c', async (span) => {
    await c.use(() => undefined);
    span.end();
  });
  const byName = (name: string) => spans().find((s) => s.name === name)!;
  const pinned = byName('pinned').attributes;
  assert.equal(pinned['reloadkit.generation.svc-a'], 1);
  assert.equal(pinned['reloadkit.generation.svc-b'], 1);
  assert.equal(pinned['reloadkit.hash.svc-a'], hashPrefix(a.current!.hash));
  assert.equal(pinned['reloadkit.generation.svc-c'], undefined, 'c is traced without annotateRequests');
  assert.equal(byName('acquired').attributes['reloadkit.generation.svc-a'], 1);
  assert.deepEqual(Object.keys(byName('used-c').attributes), []);

  annotated.stop();
  await tracer.startActiveSpan('after-stop', async (span) => {
    await a.use(() => undefined);
    span.end();
  });
  assert.deepEqual(Object.keys(byName('after-stop').attributes), [], 'stop() ends annotation');
});
