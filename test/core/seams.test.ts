/**
 * Unit tests of the core seams on their own, without a unit around them: the pipeline stages and
 * their error normalizer, the generation store, the lease tracker, the scheduler and the report.
 * Each asserts the seam's contract so that a change breaking it fails here, not only far away.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { AbortedError, LoadError, TimeoutError, ValidationError, type AuditRecord, type GenerationInfo } from '../../src/index.js';
import { Generations, ResourceCell } from '../../src/core/generations.js';
import { LeaseTracker } from '../../src/core/leases.js';
import { StartOnce, Watches } from '../../src/core/lifecycle.js';
import { hashCandidate, loadCandidate, runPipeline, stageError, validateCandidate, type PipelineSpec } from '../../src/core/pipeline.js';
import { Reporter } from '../../src/core/report.js';
import { Scheduler } from '../../src/core/scheduler.js';
import { StageAbort } from '../../src/core/timeout.js';
import { withProvenance } from '../../src/support/provenance.js';
import { FakeClock } from '../../src/testing/clock.js';
import { deferred, flush } from './helpers.js';

const INFO: GenerationInfo = { id: 0, hash: 'h', committedAt: 0, trigger: { kind: 'test' } };

// ─── pipeline ───────────────────────────────────────────────────────────────────────────────

test('pipeline: loadCandidate retries on the clock, times each attempt out, and normalizes what it throws', async () => {
  const clock = new FakeClock();
  const where = { unit: 'users', source: 'key sha256:ab' };
  let calls = 0;
  const failing = loadCandidate({ where, retry: { retries: 2, minTimeout: 100, factor: 2 }, timeoutMs: 1_000, clock }, new StageAbort(), () => {
    calls++;
    throw new Error('ECONNREFUSED');
  });
  failing.catch(() => undefined);
  await clock.advanceAsync(299);
  assert.equal(calls, 2, 'second attempt after 100 ms, third due at 300 ms');
  await clock.advanceAsync(1);
  await assert.rejects(failing, (e: Error) => e instanceof LoadError && e.message === '[users] load failed after 3 attempts (key sha256:ab): ECONNREFUSED' && e.stage === 'load');
  assert.equal(calls, 3);

  const hanging = loadCandidate({ where, retry: undefined, timeoutMs: 50, clock }, new StageAbort(), () => new Promise(() => undefined));
  hanging.catch(() => undefined);
  await clock.advanceAsync(50);
  await assert.rejects(hanging, TimeoutError);

  const abort = new StageAbort();
  const aborted = loadCandidate({ where, retry: { retries: 5, minTimeout: 100 }, timeoutMs: 1_000, clock }, abort, () => Promise.reject(new Error('down')));
  aborted.catch(() => undefined);
  await flush();
  abort.abort(new Error('closing'));
  await assert.rejects(aborted, AbortedError);
});

test('pipeline: validateCandidate and hashCandidate share one error shape; provenance names the layer; an empty hash is refused', async () => {
  const where = { unit: 'config' };
  const schema = z.object({ port: z.number() });
  assert.deepEqual(await validateCandidate(where, { port: 1 }, schema), { port: 1 });
  const raw = withProvenance({ port: 'x' }, { port: 'env PORT' });
  await assert.rejects(validateCandidate(where, raw, schema), (e: ValidationError) => e.issues[0]!.message === 'expected number, received string (from env PORT)' && e.stage === 'validate');
  await assert.rejects(
    validateCandidate(where, { port: 1 }, schema, () => {
      throw Object.assign(new Error('port is reserved'), { path: 'port' });
    }),
    (e: ValidationError) => e instanceof ValidationError && e.issues[0]!.path === 'port' && e.message === '[config] validation failed: port: port is reserved',
  );
  assert.throws(() => hashCandidate(where, () => '', 1), (e: ValidationError) => e instanceof ValidationError && /empty string/.test(e.message));
  assert.throws(() => hashCandidate(where, () => 42 as never, 1), /a number, expected a non-empty string/);
  assert.equal(hashCandidate(where, () => 'sha256:x', 1), 'sha256:x');
  // The normalizer passes through what is already a stage error, and wraps the rest.
  const timeout = new TimeoutError('t', 1, {});
  assert.equal(stageError('create', timeout, where), timeout);
  assert.equal(stageError('create', new Error('boom'), where).message, '[config] create failed: boom');
  assert.equal(stageError('health', 'no', where).message, '[config] health check failed: no');
});

test('pipeline: runPipeline dedupes by hash, builds otherwise, and disposes a candidate that fails its health check', async () => {
  const discarded: ResourceCell<string>[] = [];
  let healthy = true;
  const spec: PipelineSpec<{ v: number }, string, ResourceCell<string>> = {
    where: { unit: 'pool' },
    load: () => ({ v: 1 }),
    schema: undefined,
    validate: undefined,
    hash: (value) => `h${value.v}`,
    create: (value) => `resource ${value.v}`,
    healthCheck: () => healthy,
    retry: undefined,
    timeouts: { load: 1_000, create: 1_000, healthCheck: 1_000 },
    clock: new FakeClock(),
    cell: (resource, info) => new ResourceCell(resource, info),
    discard: (cell) => void discarded.push(cell),
  };
  const input = { abort: new StageAbort(), trigger: { kind: 'test' }, force: false };
  const first = await runPipeline(spec, { ...input, previous: undefined });
  assert.equal(first.kind, 'candidate');
  const previous = { id: 1, hash: 'h1', value: { v: 1 }, resource: 'resource 1', committedAt: 0, trigger: { kind: 'test' }, toJSON: () => INFO };
  assert.deepEqual(await runPipeline(spec, { ...input, previous }), { kind: 'unchanged', hash: 'h1' });
  assert.equal((await runPipeline(spec, { ...input, previous, force: true })).kind, 'candidate', 'force builds an equal hash');
  healthy = false;
  const rejected = await runPipeline(spec, { ...input, previous: undefined });
  assert.equal(rejected.kind === 'rejected' && rejected.stage, 'health');
  assert.deepEqual(discarded.map((c) => c.resource), ['resource 1'], 'the unhealthy resource is discarded, never committed');
  // A given raw candidate (lastKnownGood) skips the load.
  let loaded = false;
  healthy = true;
  const fromRecord = await runPipeline({ ...spec, load: () => ((loaded = true), { v: 9 }) }, { ...input, previous: undefined }, { v: 2 });
  assert.equal(fromRecord.kind === 'candidate' && fromRecord.hash, 'h2');
  assert.equal(loaded, false);
});

// ─── generations ────────────────────────────────────────────────────────────────────────────

function candidate(n: number) {
  return { raw: { n }, value: { n }, hash: `h${n}`, cell: new ResourceCell(`r${n}`, INFO), provenance: undefined };
}

test('generations: ids increase, history is bounded, current is the live slot, and the previous cell leaves at commit', () => {
  const gens = new Generations<{ n: number }, string>({ history: 1, keepPrevious: false });
  assert.equal(gens.current, undefined);
  const c1 = candidate(1);
  const first = gens.commit(c1, { kind: 'start' }, 10);
  assert.equal(first.slot.gen.id, 1);
  assert.deepEqual(first.leaving, []);
  assert.equal(gens.current, first.slot.gen, 'current is derived from the live slot');
  const second = gens.commit(candidate(2), { kind: 'manual' }, 20);
  assert.deepEqual(second.leaving, [c1.cell], 'without keepPrevious the previous cell leaves');
  gens.commit(candidate(3), { kind: 'manual' }, 30);
  assert.deepEqual(gens.history().map((g) => g.id), [3, 2], 'history: 1 keeps the live one and one earlier');
  assert.equal(JSON.stringify(gens.history()).includes('"n"'), false, 'history serializes without values');
  const back = gens.rollbackTarget(undefined);
  assert.ok(typeof back === 'object' && 'gen' in back && back.gen.id === 2);
  assert.equal(gens.rollbackTarget(3), 'live');
  const missing = gens.rollbackTarget(1);
  assert.ok(typeof missing === 'object' && 'missing' in missing && /generation 1 is not retained \(retained: 3, 2; history: 1\)/.test(missing.missing));
  const cells = gens.clear();
  assert.equal(cells.length, 1);
  assert.equal(gens.current, undefined);
  assert.equal(gens.last?.id, 3, 'the last generation stays visible to status()');
});

test('generations: keepPrevious keeps the previous cell warm and retires the one it displaces', () => {
  const gens = new Generations<{ n: number }, string>({ history: 5, keepPrevious: true });
  const c1 = candidate(1);
  const c2 = candidate(2);
  gens.commit(c1, { kind: 'start' }, 1);
  assert.deepEqual(gens.commit(c2, { kind: 'manual' }, 2).leaving, [], 'generation 1 stays warm');
  assert.equal(gens.warm?.cell, c1.cell);
  const target = gens.rollbackTarget(undefined);
  assert.ok(typeof target === 'object' && 'gen' in target && gens.isWarm(target));
  assert.deepEqual(gens.commit(candidate(3), { kind: 'manual' }, 3).leaving, [c1.cell], 'the old warm cell leaves when a newer one takes its place');
});

// ─── leases ─────────────────────────────────────────────────────────────────────────────────

interface Cell {
  name: string;
  leases: number;
  retired: boolean;
  disposed: boolean;
}

function tracker(clock: FakeClock | undefined, log: string[], dispose?: (cell: Cell) => unknown) {
  return new LeaseTracker<Cell>({
    clock: clock ?? new FakeClock(),
    unit: 'pool',
    drainMs: 1_000,
    disposeTimeoutMs: 100,
    dispose: dispose ?? ((cell) => void log.push(`dispose ${cell.name}`)),
    onDisposed: (cell) => log.push(`disposed ${cell.name}`),
    onDrainTimeout: (cell, leases) => log.push(`drain-timeout ${cell.name} ${leases}`),
    onError: (error, where) => log.push(`error ${where}: ${error.message}`),
  });
}
const cell = (name: string): Cell => ({ name, leases: 0, retired: false, disposed: false });

test('leases: a retired cell is disposed exactly once, when its last lease is released or its drain timer fires', async () => {
  const clock = new FakeClock();
  const log: string[] = [];
  const leases = tracker(clock, log);
  const a = cell('a');
  const lease = leases.lease(a, 'value', { toJSON: () => INFO } as never);
  leases.hold(a);
  assert.equal(leases.leases, 2);
  leases.retire(a);
  leases.retire(a);
  assert.equal(leases.draining, 1);
  lease.release();
  lease.release();
  assert.equal(a.leases, 1, 'release() is idempotent');
  assert.deepEqual(log, []);
  leases.release(a);
  await flush();
  assert.deepEqual(log, ['dispose a', 'disposed a']);
  assert.equal(leases.draining, 0);

  const b = cell('b');
  leases.hold(b);
  leases.retire(b);
  await clock.advanceAsync(1_000);
  assert.deepEqual(log.slice(2), ['drain-timeout b 1', 'dispose b', 'disposed b']);
  leases.release(b);
  leases.dispose(b);
  await flush();
  assert.equal(log.length, 5, 'a late release or dispose never disposes twice');
});

test('leases: dispose failures and timeouts are contained; settle() waits for every drain and dispose', async () => {
  const clock = new FakeClock();
  const log: string[] = [];
  const leases = tracker(clock, log, (c) => (c.name === 'bad' ? Promise.reject(new Error('close failed')) : new Promise(() => undefined)));
  leases.retire(cell('bad'));
  await flush();
  assert.deepEqual(log, ['error dispose: close failed', 'disposed bad']);
  const hung = cell('hung');
  leases.hold(hung);
  leases.retire(hung);
  let settled = false;
  const settling = leases.settle().then(() => (settled = true));
  await clock.advanceAsync(1_000); // drain timeout: dispose starts and hangs
  assert.equal(settled, false);
  await clock.advanceAsync(100); // dispose timeout
  await settling;
  assert.ok(log.includes('drain-timeout hung 1'));
  assert.ok(log.some((l) => /^error dispose: \[pool\] dispose timed out after 100 ms/.test(l)));
});

test('leases: one unref policy: a drain timer does not hold the process open, except while settle() waits for it', async () => {
  const log: string[] = [];
  const real = new LeaseTracker<Cell>({ clock: { now: Date.now, setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) }, unit: 'pool', drainMs: 60_000, disposeTimeoutMs: 100, onError: () => undefined, onDisposed: (c) => log.push(c.name) });
  const handles: NodeJS.Timeout[] = [];
  const original = globalThis.setTimeout;
  globalThis.setTimeout = ((fn: () => void, ms: number) => {
    const h = original(fn, ms);
    handles.push(h);
    return h;
  }) as typeof setTimeout;
  const c = cell('c');
  try {
    real.hold(c);
    real.retire(c);
  } finally {
    globalThis.setTimeout = original;
  }
  assert.equal(handles.length, 1);
  assert.equal(handles[0]!.hasRef(), false, 'unref while draining');
  const settling = real.settle();
  assert.equal(handles[0]!.hasRef(), true, 'ref while settle() waits');
  real.release(c);
  await settling;
  assert.deepEqual(log, ['c']);
});

// ─── scheduler ──────────────────────────────────────────────────────────────────────────────

const ok = (id: number) => ({ id, unit: 's', status: 'committed' as const, ok: true, generation: id, durationMs: 0 });

test('scheduler: callers before the load begins share one run; later ones share one follow-up', async () => {
  const clock = new FakeClock();
  const s = new Scheduler({ clock, minIntervalMs: 0 });
  const gate = deferred();
  let runs = 0;
  const execute = async () => {
    runs++;
    if (runs === 1) await gate.promise;
    return ok(runs);
  };
  const failed = () => ok(-1);
  const a = s.reload({}, execute, failed);
  const b = s.reload({}, execute, failed);
  await flush();
  const c = s.reload({}, execute, failed);
  const d = s.reload({ force: true }, execute, failed);
  gate.resolve();
  const results = await Promise.all([a, b, c, d]);
  assert.deepEqual(results.map((r) => r.id), [1, 1, 2, 2]);
  assert.equal(runs, 2);
});

test('scheduler: the throttle waits before the lock (exclusive work passes), and close() ends the wait at once', async () => {
  const clock = new FakeClock();
  const s = new Scheduler({ clock, minIntervalMs: 500 });
  const order: string[] = [];
  await s.exclusive(async () => void order.push('start'), { load: true });
  const reload = s.reload({}, async () => (order.push(`reload at ${clock.now()}`), ok(1)), () => ok(-1));
  await flush();
  await s.exclusive(async () => void order.push('rollback'));
  assert.deepEqual(order, ['start', 'rollback'], 'the exclusive section did not wait behind the throttled reload');
  const waiting = s.reload({}, async () => ok(2), () => ok(-1));
  assert.equal(waiting, reload, 'still waiting: the same run');
  s.close(new Error('closed'));
  await reload;
  assert.equal(order.length, 3, 'close() released the throttled run without advancing the clock');
});

test('scheduler: holdAll takes every lock in one global order, so two overlapping groups never deadlock', async () => {
  const clock = new FakeClock();
  const x = new Scheduler({ clock, minIntervalMs: 0 });
  const y = new Scheduler({ clock, minIntervalMs: 0 });
  // Both locks busy, then two groups naming the members in opposite orders queue up: taken in
  // the order given, each would get one lock and wait forever for the other.
  const [hx, hy] = [await x.hold(), await y.hold()];
  const done: string[] = [];
  const g1 = Scheduler.holdAll([y, x]).then((holds) => {
    done.push('g1');
    holds.forEach((h) => h.release());
  });
  const g2 = Scheduler.holdAll([x, y]).then((holds) => {
    done.push('g2');
    holds.forEach((h) => h.release());
  });
  await flush();
  hy!.release();
  hx!.release();
  for (let i = 0; i < 20 && done.length < 2; i++) await flush();
  assert.deepEqual(done.sort(), ['g1', 'g2'], 'both groups got every lock, one after the other');
  await Promise.all([g1, g2]);
});

test('scheduler: a shared run is aborted only once every caller aborted', async () => {
  const s = new Scheduler({ clock: new FakeClock(), minIntervalMs: 0 });
  const gate = deferred();
  let abort: StageAbort | undefined;
  const execute = async (run: { abort: StageAbort }) => {
    abort = run.abort;
    await gate.promise;
    return ok(1);
  };
  const one = new AbortController();
  const two = new AbortController();
  const p = s.reload({ signal: one.signal }, execute, () => ok(-1));
  void s.reload({ signal: two.signal }, execute, () => ok(-1));
  await flush();
  one.abort();
  assert.equal(abort!.aborted, false);
  two.abort();
  assert.equal(abort!.aborted, true);
  gate.resolve();
  await p;
});

// ─── report ─────────────────────────────────────────────────────────────────────────────────

test('report: an attempt ends once, with its result, last attempt and one audit record; a cause overrides the audit stage', () => {
  const clock = new FakeClock();
  const records: AuditRecord[] = [];
  const errors: string[] = [];
  const report = new Reporter({ unit: 'config', clock, emitError: (e) => errors.push(`${e.where}: ${e.error.message}`) });
  report.attachAudit((r) => void records.push(r));
  const a = report.begin('reload', { kind: 'manual' }, { actor: 'ops', reason: 'deploy' });
  clock.advance(5);
  const emitted: number[] = [];
  const result = report.end(a, { status: 'rejected', generation: 2, previous: 2, stage: 'load', error: new LoadError('[config] load failed: x', { stage: 'load' }), hash: 'sha256:1' }, (r) => emitted.push(r.id));
  assert.deepEqual({ ...result, error: undefined }, { id: 1, unit: 'config', status: 'rejected', ok: false, generation: 2, previous: 2, stage: 'load', durationMs: 5, error: undefined, hash: 'sha256:1' });
  assert.deepEqual(emitted, [1]);
  assert.deepEqual(report.lastAttempt, { at: clock.now(), outcome: 'rejected', stage: 'load', error: { code: 'RELOADKIT_LOAD', message: '[config] load failed: x' } });
  assert.equal(records.length, 1);
  assert.equal(records[0]!.actor, 'ops');
  assert.equal(records[0]!.stage, 'load');
  assert.throws(() => report.end(a, { status: 'committed', generation: 3 }), /ended twice/);
  assert.equal(records.length, 1, 'the second end delivered nothing');

  const rollback = report.begin('rollback', { kind: 'verify' }, {});
  const verifyError = new ValidationError('v', [], {});
  report.end(rollback, { status: 'committed', generation: 3, previous: 2, cause: { stage: 'verify', error: verifyError }, detail: { target: 1 } });
  assert.equal(records[1]!.outcome, 'committed');
  assert.equal(records[1]!.stage, 'verify');
  assert.deepEqual(records[1]!.detail, { target: 1 });
  assert.equal(report.lastAttempt!.outcome, 'committed');
  assert.equal(report.lastAttempt!.stage, undefined, 'a committed attempt has no stage in lastAttempt');
  report.error(new Error('sink down'), 'audit');
  assert.equal(report.errors, 1);
  assert.deepEqual(errors, ['audit: sink down']);
});

// ─── lifecycle ──────────────────────────────────────────────────────────────────────────────

test('lifecycle: watch before read, a failed trigger is retried by the next start, stop() reaches every attempted trigger', async () => {
  const log: string[] = [];
  const fire = (): void => undefined;
  const watches = new Watches(fire, (error, where) => log.push(`${where}: ${(error as Error).message}`));
  let failStart = true;
  watches.add({ start: () => void log.push('good start'), stop: () => void log.push('good stop') });
  watches.add({
    start: () => {
      log.push('flaky start');
      if (failStart) throw new Error('no');
    },
    stop: () => void log.push('flaky stop'),
  });
  await watches.start({ describe: () => 's', read: async () => 1, watch: () => (log.push('watch'), () => void log.push('unwatch')) });
  failStart = false;
  await watches.start();
  assert.deepEqual(log, ['watch', 'good start', 'flaky start', 'trigger.start: no', 'flaky start']);
  await watches.stop();
  await watches.stop();
  assert.deepEqual(log.slice(5), ['unwatch', 'good stop', 'flaky stop']);

  let runs = 0;
  const once = new StartOnce(async () => {
    runs++;
    if (runs === 1) throw new Error('first fails');
    return runs;
  });
  const before: string[] = [];
  once.before(async () => void before.push('parent'));
  await assert.rejects(Promise.all([once.run(), once.run()]), /first fails/);
  assert.equal(runs, 1, 'concurrent callers share one start');
  assert.equal(await once.run(), 2, 'after a failure the next run starts afresh');
  assert.equal(await once.run(), 2);
  assert.deepEqual(before, ['parent', 'parent']);
});
