// No value or secret on any span: a secret planted in the config, in every error a stage throws,
// in a reload's reason and in a hint's detail never appears in a span name, attribute, event,
// link or status, across commits, rejections at each stage, a rollback, drains and annotated requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { reloadable } from '../../src/core/unit.js';
import { traceUnits } from '../../src/metrics/opentelemetry.js';
import type { Hint } from '../../src/types.js';
import { waitFor } from '../helpers/wait.js';
import { exportedStrings, otel, spans } from './helpers.js';

const { exporter, provider } = otel();
const tracer = provider.getTracer('reloadkit-test');
const SECRET = 'S3cr3t-planted-7f2b9c';

test('a planted secret reaches no span, whatever the outcome', async (t) => {
  exporter.reset();
  let fire!: (hint: Hint) => void;
  const state = { mode: 'ok' as 'ok' | 'load' | 'validate' | 'create' | 'health', port: 1 };
  const unit = reloadable({
    name: 'vault',
    retry: { retries: 1, minTimeout: 1 },
    schema: z.object({ password: z.string().startsWith('S3cr3t'), port: z.number() }),
    triggers: [{ start: (f) => void (fire = f), stop() {} }],
    load: () => {
      if (state.mode === 'load') throw new Error(`cannot reach vault with ${SECRET}`);
      if (state.mode === 'validate') return { password: `not-${SECRET}`, port: state.port };
      return { password: SECRET, port: state.port };
    },
    validate: (value) => {
      if (value.port === 13) throw new Error(`port rejected for ${value.password}`);
    },
    create: (value) => {
      if (state.mode === 'create') throw new Error(`login failed: ${value.password}`);
      return { dsn: `postgres://app:${value.password}@db/${value.port}` };
    },
    healthCheck: (resource) => {
      if (state.mode === 'health') throw new Error(`ping ${resource.dsn} failed`);
      return true;
    },
    dispose: (resource) => {
      throw new Error(`close ${resource.dsn} failed`);
    },
    history: 3,
  });
  unit.on('error', () => {}); // the failing dispose is a contained error
  const tracing = traceUnits(unit, { tracer, annotateRequests: true });
  t.after(async () => {
    tracing.stop();
    await unit.close();
  });
  await unit.start();
  for (const port of [2, 3]) {
    state.port = port;
    const lease = unit.acquire();
    await unit.reload({ reason: `rotate ${SECRET}`, actor: SECRET });
    lease.release();
  }
  for (const mode of ['load', 'validate', 'create', 'health'] as const) {
    state.mode = mode;
    state.port++;
    assert.equal((await unit.reload({ trigger: { kind: 'deploy', detail: SECRET } })).stage, mode);
  }
  state.mode = 'ok';
  state.port = 13;
  assert.equal((await unit.reload()).stage, 'validate');
  state.port = 14;
  fire({ kind: 'file', detail: `/etc/${SECRET}.json` });
  await waitFor(() => unit.current?.id === 4, { message: 'hinted commit' });
  assert.equal((await unit.rollback({ reason: SECRET })).status, 'committed');
  await tracer.startActiveSpan('request', async (span) => {
    await unit.use(() => undefined);
    span.end();
  });
  await waitFor(() => spans().filter((s) => s.name === 'reloadkit.dispose').length >= 4, { message: 'disposals' });

  const all = spans();
  assert.ok(all.length > 40, `a full scenario was traced (${all.length} spans)`);
  const outcomes = new Set(all.map((s) => s.attributes['reloadkit.outcome']).filter(Boolean));
  assert.deepEqual([...outcomes].sort(), ['committed', 'rejected']);
  for (const span of all) {
    for (const text of exportedStrings(span)) {
      assert.ok(!text.includes(SECRET) && !text.includes('S3cr3t'), `span ${span.name} exports ${text}`);
      assert.ok(!text.includes('postgres://'), `span ${span.name} exports a resource: ${text}`);
    }
  }
  // Every error status carries a code, never a message.
  for (const span of all.filter((s) => s.status.code === 2)) assert.match(span.status.message ?? '', /^RELOADKIT_[A-Z_]+$/);
});
