// Span trees of reload attempts, built by traceUnits from the core's diagnostics channels, read
// back from the real OpenTelemetry SDK (in-memory exporter).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_CONTEXT, SpanStatusCode, context as otelContext, trace } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { z } from 'zod';
import { reloadable } from '../../src/core/unit.js';
import { createRegistry } from '../../src/compose/registry.js';
import { group } from '../../src/compose/group.js';
import { traceUnits, hashPrefix } from '../../src/metrics/opentelemetry.js';
import type { Hint, Trigger } from '../../src/types.js';
import { deferred } from '../core/helpers.js';
import { waitFor } from '../helpers/wait.js';
import { attemptSpans, childNames, childrenOf, otel, spans, statusOf } from './helpers.js';

const { exporter, provider } = otel();
const tracer = provider.getTracer('reloadkit-test');
const Config = z.object({ version: z.number(), db: z.object({ host: z.string(), port: z.number() }) });

function configUnit(name: string, over: Record<string, any> = {}) {
  const source = { value: { version: 1, db: { host: 'a', port: 1 } } as unknown, loads: 0, fail: 0 };
  const disposed: number[] = [];
  const unit = reloadable({
    name,
    schema: Config,
    retry: false,
    load: async () => {
      source.loads++;
      if (source.fail > 0) {
        source.fail--;
        throw new Error('store unreachable');
      }
      return structuredClone(source.value);
    },
    create: (value: z.infer<typeof Config>) => ({ version: value.version }),
    healthCheck: () => true,
    dispose: (resource: { version: number }) => void disposed.push(resource.version),
    ...over,
  } as Parameters<typeof reloadable>[0]);
  return { unit, source, disposed };
}

test('a committed reload: one attempt span with a child per stage, the commit, then drain and dispose of the retired generation', async (t) => {
  exporter.reset();
  const { unit, source } = configUnit('committed');
  const tracing = traceUnits(unit, { tracer });
  t.after(async () => {
    tracing.stop();
    await unit.close();
  });
  await unit.start();
  const lease = unit.acquire(); // holds generation 1: its retirement drains
  source.value = { version: 2, db: { host: 'b', port: 2 } };
  const result = await unit.reload();
  assert.equal(result.status, 'committed');
  lease.release();
  await waitFor(() => spans().some((s) => s.name === 'reloadkit.dispose' && s.attributes['reloadkit.generation'] === 1), { message: 'dispose span' });

  const [start, reload] = attemptSpans('committed');
  assert.ok(start && reload);
  assert.equal(start.attributes['reloadkit.action'], 'start');
  assert.equal(start.attributes['reloadkit.trigger.kind'], 'start');
  assert.deepEqual(childNames(start), ['reloadkit.load', 'reloadkit.validate', 'reloadkit.create', 'reloadkit.health', 'reloadkit.commit']);

  assert.equal(reload.kind, 0 /* INTERNAL */);
  assert.equal(reload.attributes['reloadkit.unit'], 'committed');
  assert.equal(reload.attributes['reloadkit.action'], 'reload');
  assert.equal(reload.attributes['reloadkit.trigger.kind'], 'manual');
  assert.equal(reload.attributes['reloadkit.outcome'], 'committed');
  assert.equal(reload.attributes['reloadkit.generation.from'], 1);
  assert.equal(reload.attributes['reloadkit.generation.to'], 2);
  assert.equal(reload.attributes['reloadkit.hash'], hashPrefix(unit.current!.hash));
  assert.match(String(reload.attributes['reloadkit.hash']), /^sha256:[0-9a-f]{12}$/);
  assert.equal(reload.attributes['reloadkit.changed_paths.count'], 3, 'version, db.host and db.port changed');
  assert.equal(reload.attributes['reloadkit.callers'], 1);
  assert.equal(statusOf(reload), SpanStatusCode.UNSET);
  assert.equal(reload.parentSpanContext, undefined, 'a manual reload outside any span is a root');
  assert.deepEqual(childNames(reload), ['reloadkit.load', 'reloadkit.validate', 'reloadkit.create', 'reloadkit.health', 'reloadkit.commit', 'reloadkit.drain', 'reloadkit.dispose']);
  for (const child of childrenOf(reload)) assert.equal(statusOf(child), SpanStatusCode.UNSET, child.name);
  const commit = childrenOf(reload).find((s) => s.name === 'reloadkit.commit')!;
  assert.deepEqual([commit.attributes['reloadkit.generation.from'], commit.attributes['reloadkit.generation.to']], [1, 2]);
  const drain = childrenOf(reload).find((s) => s.name === 'reloadkit.drain')!;
  assert.equal(drain.attributes['reloadkit.generation'], 1);
  assert.equal(drain.attributes['reloadkit.leases'], 1);
  assert.deepEqual(drain.events, [], 'the lease was released before the drain timeout');
});

test('a drain that times out: the drain span ends with a drain.timeout event and the leases still open, then the dispose span', async (t) => {
  exporter.reset();
  const { unit, source, disposed } = configUnit('drain-timeout', { timeouts: { drain: 20 } });
  const tracing = traceUnits(unit, { tracer });
  t.after(async () => {
    tracing.stop();
    await unit.close();
  });
  await unit.start();
  const lease = unit.acquire(); // never released before the drain timeout
  source.value = { version: 2, db: { host: 'b', port: 2 } };
  await unit.reload();
  await waitFor(() => disposed.includes(1) && spans().some((s) => s.name === 'reloadkit.dispose'), { message: 'forced dispose' });
  lease.release();
  const reload = attemptSpans('drain-timeout')[1]!;
  const drain = childrenOf(reload).find((s) => s.name === 'reloadkit.drain')!;
  assert.deepEqual(
    drain.events.map((e) => [e.name, e.attributes?.['reloadkit.leases']]),
    [['reloadkit.drain.timeout', 1]],
  );
  const dispose = childrenOf(reload).find((s) => s.name === 'reloadkit.dispose')!;
  assert.equal(dispose.attributes['reloadkit.generation'], 1);
  assert.equal(dispose.attributes['reloadkit.leases'], 1, 'disposed while still leased');
});

test('load retries are events on the load span; an unchanged reload stops after validate', async (t) => {
  exporter.reset();
  const { unit, source } = configUnit('retries', { retry: { retries: 3, minTimeout: 1, factor: 1 } });
  const tracing = traceUnits([unit], { tracer });
  t.after(async () => {
    tracing.stop();
    await unit.close();
  });
  await unit.start();
  source.fail = 2;
  const result = await unit.reload();
  assert.equal(result.status, 'unchanged');
  const reload = attemptSpans('retries')[1]!;
  assert.equal(reload.attributes['reloadkit.outcome'], 'unchanged');
  assert.equal(reload.attributes['reloadkit.generation.from'], 1);
  assert.equal(reload.attributes['reloadkit.generation.to'], undefined);
  assert.deepEqual(childNames(reload), ['reloadkit.load', 'reloadkit.validate']);
  const load = childrenOf(reload)[0]!;
  assert.deepEqual(
    load.events.map((e) => [e.name, e.attributes?.['reloadkit.load.try']]),
    [
      ['reloadkit.load.retry', 2],
      ['reloadkit.load.retry', 3],
    ],
  );
});

const REJECTIONS = [
  { stage: 'load', code: 'RELOADKIT_LOAD', arrange: (c: ReturnType<typeof configUnit>) => void (c.source.fail = 1), children: ['reloadkit.load'] },
  { stage: 'validate', code: 'RELOADKIT_VALIDATION', arrange: (c: ReturnType<typeof configUnit>) => void (c.source.value = { version: 'two' }), children: ['reloadkit.load', 'reloadkit.validate'] },
  {
    stage: 'create',
    code: 'RELOADKIT_CREATE',
    arrange: (c: ReturnType<typeof configUnit>) => void (c.source.value = { version: 13, db: { host: 'x', port: 1 } }),
    children: ['reloadkit.load', 'reloadkit.validate', 'reloadkit.create'],
  },
  {
    stage: 'health',
    code: 'RELOADKIT_HEALTH',
    arrange: (c: ReturnType<typeof configUnit>) => void (c.source.value = { version: 66, db: { host: 'x', port: 1 } }),
    // The rejected candidate's resource is disposed inside its attempt (generation 0).
    children: ['reloadkit.load', 'reloadkit.validate', 'reloadkit.create', 'reloadkit.health', 'reloadkit.dispose'],
  },
] as const;

for (const r of REJECTIONS) {
  test(`a rejection at ${r.stage}: the attempt and the failing stage span are errors with the code; no later stage, no commit`, async (t) => {
    exporter.reset();
    const name = `reject-${r.stage}`;
    const c = configUnit(name, {
      create: (value: { version: number }) => {
        if (value.version === 13) throw new Error('cannot build');
        return { version: value.version };
      },
      healthCheck: (resource: { version: number }) => resource.version !== 66,
    });
    const tracing = traceUnits(c.unit, { tracer });
    t.after(async () => {
      tracing.stop();
      await c.unit.close();
    });
    await c.unit.start();
    r.arrange(c);
    const result = await c.unit.reload();
    assert.equal(result.status, 'rejected');
    assert.equal(result.stage, r.stage);
    await waitFor(() => !r.children.includes('reloadkit.dispose' as never) || spans().some((s) => s.name === 'reloadkit.dispose'), { message: 'candidate dispose' });

    const reload = attemptSpans(name)[1]!;
    assert.equal(reload.attributes['reloadkit.outcome'], 'rejected');
    assert.equal(reload.attributes['reloadkit.stage'], r.stage);
    assert.equal(reload.attributes['reloadkit.error.code'], r.code);
    assert.equal(reload.attributes['error.type'], r.code);
    assert.equal(reload.attributes['reloadkit.generation.to'], undefined);
    assert.deepEqual(reload.status, { code: SpanStatusCode.ERROR, message: r.code });
    assert.deepEqual(childNames(reload), [...r.children]);
    for (const child of childrenOf(reload)) {
      const failing = child.name === `reloadkit.${r.stage}`;
      assert.equal(statusOf(child), failing ? SpanStatusCode.ERROR : SpanStatusCode.UNSET, child.name);
      if (failing) assert.equal(child.attributes['reloadkit.error.code'], r.code);
    }
    if (r.stage === 'health') assert.equal(childrenOf(reload).at(-1)!.attributes['reloadkit.generation'], 0);
    assert.equal(c.unit.current!.id, 1, 'the live generation stayed');
  });
}

test('a rollback: action and trigger rollback, the target generation, create/health/commit children', async (t) => {
  exporter.reset();
  const { unit, source } = configUnit('rollback', { history: 2 });
  const tracing = traceUnits(unit, { tracer });
  t.after(async () => {
    tracing.stop();
    await unit.close();
  });
  await unit.start();
  source.value = { version: 2, db: { host: 'b', port: 1 } };
  await unit.reload();
  const result = await unit.rollback({ reason: 'bad deploy' });
  assert.equal(result.status, 'committed');
  const rollback = attemptSpans('rollback').find((s) => s.attributes['reloadkit.action'] === 'rollback')!;
  assert.ok(rollback);
  assert.equal(rollback.attributes['reloadkit.trigger.kind'], 'rollback');
  assert.equal(rollback.attributes['reloadkit.outcome'], 'committed');
  assert.equal(rollback.attributes['reloadkit.rollback.target'], 1);
  assert.equal(rollback.attributes['reloadkit.generation.from'], 2);
  assert.equal(rollback.attributes['reloadkit.generation.to'], 3);
  assert.equal(rollback.attributes['reloadkit.hash'], hashPrefix(unit.history().find((g) => g.id === 1)!.hash));
  const names = childNames(rollback);
  assert.deepEqual(names.slice(0, 3), ['reloadkit.create', 'reloadkit.health', 'reloadkit.commit']);
  assert.ok(!names.includes('reloadkit.load'), 'a rollback loads nothing');
  // A rollback with nothing to go back to is a rejected attempt span too.
  await unit.rollback({ to: 99 });
  const failed = attemptSpans('rollback').at(-1)!;
  assert.deepEqual(failed.status, { code: SpanStatusCode.ERROR, message: 'RELOADKIT_ROLLBACK' });
  assert.deepEqual(childNames(failed), []);
});

test('a reload called inside a span is its child; coalesced callers in other spans are links; the caller count is exact', async (t) => {
  exporter.reset();
  const gate = deferred();
  const loading = deferred();
  let block = false;
  const unit = reloadable({
    name: 'coalesced',
    retry: false,
    load: async () => {
      if (block) {
        loading.resolve();
        await gate.promise;
      }
      return { n: 1 };
    },
  });
  const tracing = traceUnits(unit, { tracer });
  t.after(async () => {
    tracing.stop();
    await unit.close();
  });
  await unit.start();
  block = true;
  // A first reload holds the lock; the next three coalesce into one follow-up run.
  const first = unit.reload();
  await loading.promise;
  const callers = ['admin-a', 'admin-b'].map((n) => tracer.startSpan(n));
  const promises = callers.map((span) => withContext(trace.setSpan(ROOT_CONTEXT, span), () => unit.reload()));
  promises.push(unit.reload()); // a third caller, outside any span
  gate.resolve();
  await first;
  const results = await Promise.all(promises);
  assert.equal(new Set(results.map((r) => r.id)).size, 1, 'one shared attempt');
  for (const span of callers) span.end();

  const followUp = attemptSpans('coalesced').find((s) => s.attributes['reloadkit.attempt'] === results[0]!.id)!;
  assert.equal(followUp.parentSpanContext?.spanId, callers[0]!.spanContext().spanId, 'the first caller inside a span is the parent');
  assert.equal(followUp.spanContext().traceId, callers[0]!.spanContext().traceId);
  assert.deepEqual(
    followUp.links.map((l) => l.context.spanId),
    [callers[1]!.spanContext().spanId],
  );
  assert.equal(followUp.attributes['reloadkit.callers'], 3);
});

test('a hint starts a short root span the attempt links to; the attempt is not parented under whatever context the watcher inherited', async (t) => {
  exporter.reset();
  let fire!: (hint: Hint) => void;
  const trigger: Trigger = { start: (f) => void (fire = f), stop() {} };
  let version = 1;
  const unit = reloadable({ name: 'hinted', retry: false, load: () => ({ version }), triggers: [trigger] });
  const tracing = traceUnits(unit, { tracer });
  t.after(async () => {
    tracing.stop();
    await unit.close();
  });
  // Started inside a span: every later hint runs in a context that descends from it.
  const startup = tracer.startSpan('startup');
  await withContext(trace.setSpan(otelActive(), startup), () => unit.start());
  startup.end();
  version = 2;
  withContext(trace.setSpan(otelActive(), startup), () => fire({ kind: 'file', detail: 'config.json' }));
  await waitFor(() => unit.current?.id === 2, { message: 'hinted commit' });
  await waitFor(() => attemptSpans('hinted').length === 2, { message: 'attempt span' });

  const hint = spans().find((s) => s.name === 'reloadkit.hint file')!;
  assert.ok(hint, 'a hint span');
  assert.equal(hint.parentSpanContext, undefined, 'a root');
  assert.equal(hint.attributes['reloadkit.trigger.kind'], 'file');
  assert.equal(hint.attributes['reloadkit.unit'], 'hinted');
  assert.deepEqual(hint.links.map((l) => l.context.spanId), [startup.spanContext().spanId], 'linked to the context it fired in');
  const attempt = attemptSpans('hinted')[1]!;
  assert.equal(attempt.parentSpanContext, undefined);
  assert.equal(attempt.attributes['reloadkit.trigger.kind'], 'file');
  assert.deepEqual(attempt.links.map((l) => l.context.spanId), [hint.spanContext().spanId]);
  assert.ok(!Object.values(hint.attributes).includes('config.json'), 'the trigger detail stays off spans');
});

test('a registry trigger hint outside any span gets a hint span too; members added later are traced; others are not; stop() ends it', async (t) => {
  exporter.reset();
  let fire!: (hint: Hint) => void;
  const registry = createRegistry();
  registry.addTrigger({ start: (f) => void (fire = f), stop() {} });
  let version = 1;
  const a = registry.add(reloadable({ name: 'reg-a', retry: false, load: () => ({ version }) }));
  const tracing = traceUnits(registry, { tracer });
  const late = registry.add(reloadable({ name: 'reg-late', retry: false, load: () => ({ version }) }));
  const untraced = reloadable({ name: 'untraced', retry: false, load: () => ({ version }) });
  t.after(async () => {
    tracing.stop();
    await registry.close();
    await untraced.close();
  });
  await registry.start();
  await untraced.start();
  version = 2;
  fire({ kind: 'signal', detail: 'SIGHUP' });
  await waitFor(() => a.current?.id === 2 && late.current?.id === 2, { message: 'both committed' });
  await untraced.reload();
  const hints = spans().filter((s) => s.name === 'reloadkit.hint signal');
  assert.deepEqual(hints.map((s) => s.attributes['reloadkit.unit']).sort(), ['reg-a', 'reg-late']);
  for (const unit of ['reg-a', 'reg-late']) {
    const attempt = attemptSpans(unit)[1]!;
    assert.equal(attempt.attributes['reloadkit.trigger.kind'], 'signal');
    assert.equal(attempt.links.length, 1);
  }
  assert.equal(attemptSpans('untraced').length, 0, 'a unit outside the target is not traced');

  tracing.stop();
  tracing.stop();
  const before = spans().length;
  version = 3;
  await a.reload();
  assert.equal(spans().length, before, 'nothing after stop()');
});

test('a group commit traces each member with its stages; a group rejection marks only the failing member stage', async (t) => {
  exporter.reset();
  let bad = false;
  const x = reloadable({ name: 'grp-x', retry: false, load: () => ({ v: bad ? 2 : 1 }) });
  const y = reloadable({ name: 'grp-y', retry: false, load: () => ({ v: bad ? 2 : 1 }), validate: (v: { v: number }) => { if (v.v === 2) throw new Error('no'); } });
  const g = group({ x, y });
  const tracing = traceUnits([x, y], { tracer });
  t.after(async () => {
    tracing.stop();
    await Promise.all([x.close(), y.close()]);
  });
  await Promise.all([x.start(), y.start()]);
  bad = true;
  const result = await g.reload();
  assert.equal(result.ok, false);
  const xa = attemptSpans('grp-x').at(-1)!;
  const ya = attemptSpans('grp-y').at(-1)!;
  assert.equal(ya.attributes['reloadkit.stage'], 'validate');
  assert.equal(statusOf(childrenOf(ya).find((s) => s.name === 'reloadkit.validate')!), SpanStatusCode.ERROR);
  assert.equal(xa.attributes['reloadkit.outcome'], 'rejected', 'a discarded member is rejected');
  for (const child of childrenOf(xa)) assert.notEqual(statusOf(child), SpanStatusCode.ERROR, `${child.name} of the healthy member did not fail`);
});

test('traceUnits rejects bad targets and options precisely', () => {
  const unit = reloadable({ name: 'opts', load: () => 1 });
  assert.throws(() => traceUnits(null as never), /traceUnits: expected a registry, a unit or an array of units, got null/);
  assert.throws(() => traceUnits(unit, { tracr: tracer } as never), /traceUnits: unknown option `tracr`; did you mean `tracer`\?/);
  assert.throws(() => traceUnits(unit, { tracer: {} as never }), /expected `tracer` to be an OpenTelemetry Tracer/);
  assert.throws(() => traceUnits(unit, { annotateRequests: 'yes' as never }), /expected `annotateRequests` to be a boolean/);
  assert.throws(() => traceUnits([{ name: 1 }] as never), /expected every member to have a string `name`/);
});

function otelActive(): Context {
  return otelContext.active();
}

function withContext<X>(ctx: Context, fn: () => X): X {
  return otelContext.with(ctx, fn);
}
