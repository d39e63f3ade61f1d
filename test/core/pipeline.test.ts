/**
 * Bad candidates at each stage: each is rejected at the right stage with a clear message, the
 * live generation is unchanged and the candidate's resource is disposed. Also timeouts, retries,
 * aborts and misuse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import * as v from 'valibot';
import {
  AbortedError,
  ClosedError,
  CreateError,
  HealthCheckError,
  LoadError,
  NotReadyError,
  TimeoutError,
  ValidationError,
  group,
  reloadable,
} from '../../src/index.js';
import { FakeClock } from '../../src/testing/clock.js';
import { MemorySource, ResourceTracker, deferred, flush } from './helpers.js';

const ZodConfig = z.object({ db: z.object({ host: z.string(), port: z.number() }), servers: z.array(z.object({ host: z.string() })).default([]) });
const ValibotConfig = v.object({ db: v.object({ host: v.string(), port: v.number() }), servers: v.optional(v.array(v.object({ host: v.string() })), []) });
const good = { db: { host: 'db1', port: 5432 }, servers: [{ host: 'a' }] };

for (const [vendor, schema] of [
  ['zod', ZodConfig],
  ['valibot', ValibotConfig],
] as const) {
  test(`schema (${vendor}): a bad candidate is rejected at validate with dotted paths; the live generation stays`, async () => {
    const source = new MemorySource<unknown>(good, 'file config.json');
    const tracker = new ResourceTracker();
    const unit = reloadable({ name: 'config', source, schema, retry: false, create: tracker.create, dispose: tracker.dispose });
    const gen = await unit.start();
    assert.equal(unit.current!.value.db.port, 5432);

    source.value = { db: { host: 'db1', port: '5432' }, servers: [{ host: 7 }] };
    const result = await unit.reload();
    assert.equal(result.status, 'rejected');
    assert.equal(result.ok, false);
    assert.equal(result.stage, 'validate');
    assert.ok(result.error instanceof ValidationError);
    assert.equal(result.error.code, 'RELOADKIT_VALIDATION');
    assert.deepEqual(result.error.issues.map((i) => i.path), ['db.port', 'servers.0.host']);
    const sep = vendor === 'zod' ? ', ' : ' but ';
    assert.equal(
      result.error.message,
      `[config] validation failed (file config.json): db.port: expected number${sep}received string; servers.0.host: expected string${sep}received number`,
    );
    assert.equal(unit.current, gen, 'live generation unchanged');
    assert.equal(tracker.created.length, 1, 'no create for an invalid candidate');
    assert.deepEqual(JSON.parse(JSON.stringify(result.error)), {
      name: 'ValidationError',
      code: 'RELOADKIT_VALIDATION',
      message: result.error.message,
      unit: 'config',
      stage: 'validate',
      issues: result.error.issues,
    });
    assert.deepEqual(unit.status().lastAttempt, { at: unit.status().lastAttempt!.at, outcome: 'rejected', stage: 'validate', error: { code: 'RELOADKIT_VALIDATION', message: result.error.message } });

    // The schema's output (defaults applied) is the value.
    source.value = { db: { host: 'db2', port: 1 } };
    assert.equal((await unit.reload()).status, 'committed');
    assert.deepEqual(unit.current!.value.servers, []);
    await unit.close();
  });
}

test('a throwing validate() rejects at validate with its message; a ValidationError keeps its issues', async () => {
  let replicas = 3;
  const unit = reloadable({
    name: 'config',
    load: () => ({ replicas }),
    retry: false,
    validate: (cfg) => {
      if (cfg.replicas > 5) throw new Error('replicas must be at most 5');
      if (cfg.replicas < 1) throw new ValidationError('x', [{ path: 'replicas', message: 'must be positive' }]);
    },
  });
  await unit.start();
  replicas = 9;
  const r1 = await unit.reload();
  assert.equal(r1.stage, 'validate');
  assert.equal(r1.error!.message, '[config] validation failed: replicas must be at most 5');
  replicas = 0;
  const r2 = await unit.reload();
  assert.ok(r2.error instanceof ValidationError);
  assert.deepEqual(r2.error.issues, [{ path: 'replicas', message: 'must be positive' }]);
  assert.equal(r2.error.message, '[config] validation failed: replicas: must be positive');
  assert.equal(unit.get().replicas, 3);
  await unit.close();
});

test('a throwing create() rejects at create with a CreateError; nothing is committed', async () => {
  let version = 1;
  const unit = reloadable({
    name: 'pool',
    load: () => ({ version }),
    retry: false,
    create: (cfg) => {
      if (cfg.version === 2) throw new Error('ECONNREFUSED 127.0.0.1:5432');
      return { version: cfg.version };
    },
  });
  await unit.start();
  version = 2;
  const result = await unit.reload();
  assert.equal(result.stage, 'create');
  assert.ok(result.error instanceof CreateError);
  assert.equal(result.error.code, 'RELOADKIT_CREATE');
  assert.equal(result.error.message, '[pool] create failed: ECONNREFUSED 127.0.0.1:5432');
  assert.equal(unit.get().version, 1);
  assert.equal(result.generation, 1);
  assert.equal(result.previous, 1);
  await unit.close();
});

test('a healthCheck that hangs past its timeout is rejected at health; its resource is disposed at once', async () => {
  const clock = new FakeClock();
  const tracker = new ResourceTracker();
  let version = 1;
  let healthSignal: AbortSignal | undefined;
  const unit = reloadable({
    name: 'pool',
    load: () => ({ version }),
    retry: false,
    clock,
    timeouts: { healthCheck: 2_000 },
    create: tracker.create,
    dispose: tracker.dispose,
    healthCheck: (r, ctx) => {
      if (r.version === 1) return true;
      healthSignal = ctx.signal;
      return new Promise(() => {}); // hangs forever
    },
  });
  await unit.start();
  version = 2;
  const pending = unit.reload();
  await clock.advanceAsync(1_999);
  let settled = false;
  void pending.then(() => (settled = true));
  await flush();
  assert.equal(settled, false);
  await clock.advanceAsync(1);
  const result = await pending;
  assert.equal(result.stage, 'health');
  assert.ok(result.error instanceof TimeoutError);
  assert.equal(result.error.stage, 'health');
  assert.equal(result.error.timeoutMs, 2_000);
  assert.equal(result.error.message, '[pool] health check timed out after 2000 ms');
  assert.equal(healthSignal!.aborted, true, 'the health check signal aborts on timeout');
  assert.equal(tracker.created[1]!.disposed, 1, 'candidate disposed');
  assert.equal(unit.get(), tracker.created[0]);
  assert.equal(tracker.created[0]!.disposed, 0);
  await unit.close();
});

test('a healthCheck returning false or throwing is a HealthCheckError', async () => {
  let mode = 'ok';
  const unit = reloadable({
    name: 'svc',
    load: () => ({ mode }),
    retry: false,
    healthCheck: (cfg) => {
      if (cfg.mode === 'false') return false;
      if (cfg.mode === 'throw') throw new Error('probe: 503');
      return true;
    },
  });
  await unit.start();
  mode = 'false';
  const r1 = await unit.reload();
  assert.ok(r1.error instanceof HealthCheckError);
  assert.equal(r1.error.message, '[svc] health check failed: it returned false');
  mode = 'throw';
  const r2 = await unit.reload();
  assert.equal(r2.error!.message, '[svc] health check failed: probe: 503');
  assert.equal(r2.error!.code, 'RELOADKIT_HEALTH');
  await unit.close();
});

test('a load that hangs past its timeout: TimeoutError at load, per attempt, retried with backoff on the clock', async () => {
  const clock = new FakeClock();
  let attempts = 0;
  const signals: AbortSignal[] = [];
  let hang = false;
  const unit = reloadable({
    name: 'config',
    source: {
      describe: () => 'http http://127.0.0.1/config',
      read: ({ signal }) => {
        attempts++;
        signals.push(signal);
        return hang ? new Promise(() => {}) : Promise.resolve({ ok: 1 });
      },
    },
    clock,
    timeouts: { load: 1_000 },
  });
  await unit.start();
  hang = true;
  attempts = 0;
  const pending = unit.reload();
  // Attempt 1 times out at 1000, backoff 100, attempt 2 times out at 2100, backoff 200, attempt 3 at 3300.
  await clock.advanceAsync(1_000);
  assert.equal(attempts, 1);
  await clock.advanceAsync(100);
  assert.equal(attempts, 2);
  await clock.advanceAsync(1_000);
  await clock.advanceAsync(200);
  assert.equal(attempts, 3);
  await clock.advanceAsync(1_000);
  const result = await pending;
  assert.equal(attempts, 3, 'default: 2 retries, 3 attempts');
  assert.equal(result.stage, 'load');
  assert.ok(result.error instanceof TimeoutError);
  assert.equal(result.error.stage, 'load');
  assert.equal(result.error.message, '[config] load timed out after 1000 ms (http http://127.0.0.1/config)');
  assert.ok(signals.slice(-3).every((s) => s.aborted), 'each timed-out attempt had its signal aborted');
  assert.deepEqual(unit.get(), { ok: 1 });
  await unit.close();
});

test('a failing load is retried (default 3 attempts) and reported as a LoadError naming unit, source and attempts', async () => {
  const clock = new FakeClock();
  let attempts = 0;
  let failing = false;
  const unit = reloadable({
    name: 'config',
    source: {
      describe: () => 'file config.json',
      read: async () => {
        attempts++;
        if (failing) throw new Error('ENOENT: no such file or directory');
        return { a: 1 };
      },
    },
    clock,
  });
  await unit.start();
  failing = true;
  attempts = 0;
  const pending = unit.reload();
  await clock.advanceAsync(1_000);
  const result = await pending;
  assert.equal(attempts, 3);
  assert.ok(result.error instanceof LoadError);
  assert.equal(result.error.message, '[config] load failed after 3 attempts (file config.json): ENOENT: no such file or directory');

  // A retry that succeeds commits; retry: false is a single attempt.
  attempts = 0;
  let failOnce = true;
  const flaky = reloadable({
    name: 'flaky',
    load: () => {
      attempts++;
      if (failOnce) {
        failOnce = false;
        throw new Error('blip');
      }
      return { b: 2 };
    },
    clock,
  });
  const started = flaky.start();
  await clock.advanceAsync(100);
  assert.deepEqual((await started).value, { b: 2 });
  assert.equal(attempts, 2);

  let single = 0;
  const once = reloadable({
    name: 'once',
    retry: false,
    load: () => {
      single++;
      throw new Error('down');
    },
  });
  await assert.rejects(once.start(), (e: Error) => e instanceof LoadError && e.message === '[once] load failed: down');
  assert.equal(single, 1);
  await Promise.all([unit.close(), flaky.close(), once.close()]);
});

test('a create that times out is rejected at create, and the resource it builds late is disposed', async () => {
  const clock = new FakeClock();
  const tracker = new ResourceTracker();
  let version = 1;
  const late = deferred();
  const unit = reloadable({
    name: 'pool',
    load: () => ({ version }),
    retry: false,
    clock,
    timeouts: { create: 500 },
    create: async (cfg) => {
      if (cfg.version === 2) await late.promise;
      return tracker.create(cfg);
    },
    dispose: tracker.dispose,
  });
  await unit.start();
  version = 2;
  const pending = unit.reload();
  await clock.advanceAsync(500);
  const result = await pending;
  assert.equal(result.stage, 'create');
  assert.ok(result.error instanceof TimeoutError);
  late.resolve();
  await flush();
  assert.equal(tracker.created.length, 2);
  assert.equal(tracker.created[1]!.disposed, 1, 'the late resource was disposed');
  await unit.close();
  assert.ok(tracker.created.every((r) => r.disposed === 1));
});

test('reload({ signal }) aborted: a rejected result with AbortedError, nothing committed', async () => {
  const gate = deferred();
  let version = 1;
  let loadSignal: AbortSignal | undefined;
  const unit = reloadable({
    name: 'config',
    retry: false,
    load: async ({ signal }) => {
      if (version > 1) {
        loadSignal = signal;
        await gate.promise;
      }
      return { version };
    },
  });
  await unit.start();
  version = 2;
  const controller = new AbortController();
  const pending = unit.reload({ signal: controller.signal });
  await flush();
  controller.abort();
  const result = await pending;
  assert.equal(result.status, 'rejected');
  assert.ok(result.error instanceof AbortedError);
  assert.equal(result.error.code, 'RELOADKIT_ABORTED');
  assert.equal(loadSignal!.aborted, true);
  assert.equal(unit.get().version, 1);
  gate.resolve();
  await unit.close();
});

test('misuse: get()/acquire()/use() before the first commit throw NotReadyError; anything after close() is ClosedError', async () => {
  const unit = reloadable({ name: 'config', load: () => ({ a: 1 }), retry: false });
  assert.throws(() => unit.get(), (e: Error) => e instanceof NotReadyError && e.message === '[config] not ready: get() before the first commit (await start() first)');
  assert.throws(() => unit.acquire(), NotReadyError);
  await assert.rejects(unit.use(() => 1), NotReadyError);
  assert.equal(unit.status().state, 'initializing');
  await unit.start();
  await unit.close();
  await unit.close(); // idempotent
  await assert.rejects(unit.reload(), (e: Error) => e instanceof ClosedError && e.message === '[config] closed: reload() after close()');
  await assert.rejects(unit.rollback(), ClosedError);
  await assert.rejects(unit.start(), ClosedError);
  assert.throws(() => unit.get(), ClosedError);
  assert.equal(unit.status().state, 'closed');
});

test('invalid options throw precise TypeErrors', () => {
  const load = () => ({});
  assert.throws(() => reloadable({ name: '', load }), /Expected `name` to be a non-empty string/);
  assert.throws(() => reloadable({ name: 'x' } as never), /exactly one of `load` or `source`/);
  assert.throws(() => reloadable({ name: 'x', load, source: { describe: () => 's', read: async () => 1 } } as never), /exactly one of `load` or `source`/);
  assert.throws(() => reloadable({ name: 'x', load, schema: {} as never }), /Standard Schema/);
  assert.throws(() => reloadable({ name: 'x', load, timeouts: { load: -1 } }), /`timeouts.load` to be a positive number, got -1/);
  assert.throws(() => reloadable({ name: 'x', load, history: 1.5 }), /`history` to be a non-negative integer, got 1.5/);
  assert.throws(() => reloadable({ name: 'x', load, retry: -2 }), /`retry` to be a non-negative integer/);
  assert.throws(() => reloadable({ name: 'x', load, triggers: [{} as never] }), /`triggers\[0\]` to be a Trigger/);
  assert.throws(() => reloadable({ name: 'x', load, audit: 42 as never }), /`audit` to be a function or an object with write/);
  assert.throws(() => reloadable({ name: 'x', load, verify: { windowMs: 1 } as never }), /`verify` to be \{ windowMs, check/);
  assert.throws(() => reloadable({ name: 'x', load, clock: {} as never }), /`clock` to be a Clock/);
  assert.throws(() => reloadable({ name: 'x', load, create: 'no' as never }), /`create` to be a function, got 'no'/);
});

test('reload(), rollback() and group().reload() reject bad call options with precise TypeErrors, and nothing runs', async () => {
  let loads = 0;
  const unit = reloadable({ name: 'config', retry: false, load: () => ({ n: ++loads }) });
  await unit.start();
  await assert.rejects(unit.reload(null as never), { name: 'TypeError', message: 'Expected reload() options to be an object, got null.' });
  await assert.rejects(unit.reload({ reason: 42 } as never), { name: 'TypeError', message: 'Expected `reason` to be a string, got 42.' });
  await assert.rejects(unit.reload({ actor: { id: 'x' } } as never), { name: 'TypeError', message: 'Expected `actor` to be a string, got an object.' });
  await assert.rejects(unit.reload({ force: 'yes' } as never), { name: 'TypeError', message: "Expected `force` to be a boolean, got 'yes'." });
  await assert.rejects(unit.reload({ signal: {} } as never), { name: 'TypeError', message: 'Expected `signal` to be an AbortSignal, got an object.' });
  await assert.rejects(unit.reload({ trigger: 'file' } as never), { name: 'TypeError', message: /Expected `trigger` to be a hint/ });
  await assert.rejects(unit.rollback({ reason: false } as never), { name: 'TypeError', message: 'Expected `reason` to be a string, got false.' });
  await assert.rejects(group([unit]).reload({ force: 1 } as never), { name: 'TypeError', message: 'Expected `force` to be a boolean, got 1.' });
  assert.equal(loads, 1, 'no bad call reached the pipeline');
  assert.equal((await unit.reload({ reason: 'ok', actor: 'me', force: true, signal: new AbortController().signal, trigger: { kind: 'test' } })).status, 'committed');
  await unit.close();
});

test('parse errors never echo the input: a JSON.parse snippet is removed from the message', async () => {
  const unit = reloadable({
    name: 'config',
    retry: false,
    load: () => JSON.parse('{"password": "hunter2", oops}') as unknown,
  });
  await assert.rejects(unit.start(), (e: Error) => e instanceof LoadError && !e.message.includes('hunter2') && /not valid JSON|JSON/.test(e.message));
  await unit.close();
});
