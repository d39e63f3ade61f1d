/**
 * One dedicated test per core invariant (docs/architecture.md lists them with their owning
 * modules). Each would fail if the behaviour it names broke.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { reloadable, type Hint, type Trigger } from '../../src/index.js';
import { FakeClock } from '../../src/testing/clock.js';
import { MemorySource, ResourceTracker, deferred, flush, type TrackedResource } from './helpers.js';

const Config = z.object({ version: z.number().int().positive(), mode: z.enum(['ok', 'bad-validate', 'bad-create', 'bad-health']) });
type Config = z.infer<typeof Config>;

test('1. validate before swap: readers only ever see generations that passed schema, validate, create and healthCheck', async () => {
  const tracker = new ResourceTracker();
  const source = new MemorySource<unknown>({ version: 1, mode: 'ok' });
  const seen = new Set<TrackedResource>();
  const modes = new WeakMap<TrackedResource, string>();
  const unit = reloadable({
    name: 'semantic-1',
    source,
    retry: false,
    schema: Config,
    validate: (cfg) => {
      if (cfg.mode === 'bad-validate') throw new Error('mode rejected');
    },
    create: (cfg: Config) => {
      if (cfg.mode === 'bad-create') throw new Error('cannot build');
      const r = tracker.create(cfg);
      modes.set(r, cfg.mode);
      return r;
    },
    healthCheck: async (r) => {
      // While the candidate is being checked it must not be visible to readers.
      assert.notEqual(unit.current?.resource, r, 'a candidate is visible before its health check passed');
      await flush();
      assert.notEqual(unit.current?.resource, r);
      if ((r.version as number) % 7 === 0) return false; // every 7th version fails its probe
      if (modes.get(r) === 'bad-health') throw new Error('probe failed');
      r.healthChecked = true;
    },
    dispose: tracker.dispose,
  });
  await unit.start();
  seen.add(unit.get());

  // A reader that samples the live resource between every macrotask of the run below.
  let reading = true;
  const reader = (async () => {
    while (reading) {
      seen.add(unit.get());
      await flush();
    }
  })();

  const candidates: unknown[] = [];
  for (let v = 2; v <= 40; v++) {
    const modes = ['ok', 'bad-validate', 'bad-create', 'bad-health'] as const;
    candidates.push(v % 5 === 0 ? { version: String(v), mode: 'ok' } : { version: v, mode: modes[v % 4] });
  }
  try {
    for (const candidate of candidates) {
      source.value = candidate;
      const result = await unit.reload();
      seen.add(unit.get());
      const c = candidate as { version: unknown; mode: string };
      const shouldPass = typeof c.version === 'number' && c.mode === 'ok' && c.version % 7 !== 0;
      assert.equal(result.status, shouldPass ? 'committed' : 'rejected', `candidate ${JSON.stringify(candidate)}`);
    }
  } finally {
    // Stop the reader even when an assertion failed, so a failure reports instead of hanging.
    reading = false;
  }
  await reader;

  for (const r of seen) {
    if (r.id === 1) continue; // the initial generation (checked before the reader started)
    assert.ok(r.healthChecked, `reader saw resource ${r.id} (version ${String(r.version)}) that never passed its health check`);
  }
  assert.ok(seen.size > 5);
  await unit.close();
});

test('2. atomic commit: the live generation and get() change together, in one synchronous step', async () => {
  let version = 0;
  const unit = reloadable({
    name: 'semantic-2',
    load: async () => ({ version: ++version }),
    retry: false,
    create: async (cfg) => {
      await flush();
      return { version: cfg.version };
    },
  });
  await unit.start();
  let checks = 0;
  let mismatches = 0;
  let running = true;
  // Check consistency on many consecutive microtask turns (bounded, so macrotasks still run).
  const spin = (hops: number): void => {
    if (!running || hops === 0) return;
    checks++;
    const gen = unit.current!;
    if (unit.get() !== gen.resource || unit.status().generation !== gen.id || gen.resource.version !== gen.value.version) mismatches++;
    queueMicrotask(() => spin(hops - 1));
  };
  const observer = setInterval(() => spin(200), 0);
  // Listeners run right after the swap, in the same synchronous section: the new generation is
  // already what every reader gets. (Recorded, not asserted here: a listener's throw is contained.)
  let listenerChecks = 0;
  const listenerMismatches: string[] = [];
  unit.on('committed', ({ current }) => {
    listenerChecks++;
    if (unit.get() !== current.resource) listenerMismatches.push(`get() is not generation ${current.id}'s resource`);
    if (unit.current !== current) listenerMismatches.push(`current is not generation ${current.id}`);
    if (unit.status().generation !== current.id) listenerMismatches.push(`status().generation is not ${current.id}`);
  });
  const results = [];
  try {
    for (let i = 0; i < 50; i++) {
      const before = unit.current!;
      const pending = unit.reload();
      assert.equal(unit.current, before, 'reload() must not change anything synchronously before load');
      results.push(await pending);
      assert.equal(unit.get().version, unit.current!.value.version);
    }
  } finally {
    running = false;
    clearInterval(observer);
  }
  assert.ok(results.every((r) => r.status === 'committed'));
  assert.ok(checks > 0);
  assert.equal(mismatches, 0);
  assert.equal(listenerChecks, 50);
  assert.deepEqual(listenerMismatches, []);
  await unit.close();
});

test('3. coalescing: calls arriving during a reload share one follow-up run whose load began after them; 10,000 calls cause at most 2 loads', async () => {
  let loads = 0;
  const loadStarts: number[] = [];
  let seq = 0;
  let gate = deferred();
  const unit = reloadable({
    name: 'semantic-3',
    retry: false,
    load: async () => {
      loads++;
      loadStarts.push(++seq);
      const started = seq;
      await gate.promise;
      return { loadStartedAt: started };
    },
  });
  gate.resolve();
  await unit.start();
  loads = 0;

  // a) A reload is running; calls arriving now share exactly one follow-up.
  gate = deferred();
  const first = unit.reload();
  await flush(); // the first load is now in flight
  assert.equal(loads, 1);
  const callMarks: number[] = [];
  const followers = Array.from({ length: 5 }, () => {
    callMarks.push(++seq);
    return unit.reload({ force: true });
  });
  gate.resolve();
  const [r0, ...rs] = await Promise.all([first, ...followers]);
  assert.equal(loads, 2, 'one follow-up load for all callers that arrived meanwhile');
  assert.ok(rs.every((r) => r === rs[0]), 'followers share one result');
  assert.notEqual(rs[0], r0);
  const followUpLoadStart = unit.current!.value.loadStartedAt;
  for (const mark of callMarks) assert.ok(followUpLoadStart > mark, 'the follow-up load began after every call it answers');

  // b) 10,000 concurrent calls: at most 2 loads.
  loads = 0;
  gate = deferred();
  gate.resolve();
  const many = await Promise.all(Array.from({ length: 10_000 }, () => unit.reload({ force: true })));
  assert.ok(loads <= 2, `10,000 concurrent reloads caused ${loads} loads`);
  assert.ok(loads >= 1);
  assert.ok(many.every((r) => r.ok));
  await unit.close();
});

test('4. idempotent: a candidate whose hash equals the live one is unchanged (no create, no dispose, no commit event); force bypasses', async () => {
  const tracker = new ResourceTracker();
  const source = new MemorySource<Record<string, unknown>>({ version: 1, a: 1, b: { c: 2 } });
  const unit = reloadable({ name: 'semantic-4', source, retry: false, create: tracker.create, dispose: tracker.dispose });
  let commits = 0;
  let unchanged = 0;
  unit.on('committed', () => commits++);
  unit.on('unchanged', () => unchanged++);
  await unit.start();
  const firstHash = unit.current!.hash;
  assert.match(firstHash, /^sha256:[0-9a-f]{64}$/);

  // Same content with its keys in another order: canonical JSON makes the hash equal.
  source.value = { b: { c: 2 }, a: 1, version: 1 };
  const r1 = await unit.reload();
  assert.equal(r1.status, 'unchanged');
  assert.equal(r1.ok, true);
  assert.equal(r1.generation, 1);
  assert.equal(tracker.created.length, 1, 'no create for an unchanged candidate');
  assert.equal(tracker.created[0]!.disposed, 0, 'no dispose for an unchanged candidate');
  assert.equal(commits, 1);
  assert.equal(unchanged, 1);

  const r2 = await unit.reload({ force: true });
  assert.equal(r2.status, 'committed');
  assert.equal(r2.generation, 2);
  assert.equal(tracker.created.length, 2);
  assert.equal(commits, 2);
  assert.equal(unit.current!.hash, firstHash);

  // A custom hash decides identity too.
  const custom = reloadable({ name: 'semantic-4b', load: () => ({ version: 1, noise: Math.random() }), hash: (v) => `v${v.version}`, retry: false });
  await custom.start();
  assert.equal((await custom.reload()).status, 'unchanged');
  assert.equal(custom.current!.hash, 'v1');
  await Promise.all([unit.close(), custom.close()]);
});

test('5. drain, then dispose: retired resources wait for their leases or the drain timeout; rejected ones go at once; never twice, never the live one', async () => {
  const clock = new FakeClock();
  const tracker = new ResourceTracker();
  let version = 1;
  let failHealth = false;
  const unit = reloadable({
    name: 'semantic-5',
    load: () => ({ version }),
    retry: false,
    clock,
    timeouts: { drain: 5_000 },
    create: tracker.create,
    healthCheck: () => !failHealth,
    dispose: tracker.dispose,
  });
  const drainTimeouts: Array<{ leases: number; id: number }> = [];
  unit.on('drain-timeout', (e) => drainTimeouts.push({ leases: e.leases, id: e.generation.id }));
  await unit.start();
  const [r1] = tracker.created;

  // A lease holds generation 1 across a commit.
  const lease = unit.acquire();
  version = 2;
  await unit.reload();
  assert.equal(r1!.disposed, 0, 'a leased retired resource is not disposed');
  assert.equal(unit.status().draining, 1);
  lease.release();
  lease.release(); // idempotent
  assert.equal(r1!.disposed, 1, 'disposed once its last lease is released');
  assert.equal(unit.status().draining, 0);

  // A lease that is never released: the drain timeout disposes anyway, once.
  const stuck = unit.acquire();
  const r2 = stuck.value;
  version = 3;
  await unit.reload();
  assert.equal(r2.disposed, 0);
  clock.advance(4_999);
  assert.equal(r2.disposed, 0);
  clock.advance(1);
  assert.equal(r2.disposed, 1, 'disposed when the drain timeout fires');
  assert.deepEqual(drainTimeouts, [{ leases: 1, id: 2 }]);
  stuck.release();
  assert.equal(r2.disposed, 1, 'releasing after the drain timeout does not dispose again');

  // A rejected candidate's resource is disposed at once.
  failHealth = true;
  version = 4;
  const rejected = await unit.reload();
  assert.equal(rejected.status, 'rejected');
  assert.equal(rejected.stage, 'health');
  const candidate = tracker.created.at(-1)!;
  assert.equal(candidate.version, 4);
  assert.equal(candidate.disposed, 1);

  // The live resource is never disposed while live.
  const live = unit.get();
  assert.equal(live.disposed, 0);
  await unit.close();
  assert.equal(live.disposed, 1);
  for (const r of tracker.created) assert.equal(r.disposed, 1, `resource ${r.id} disposed exactly once`);
});

test('6. failure is contained: throwing listeners, dispose, audit sink and triggers become error events; the pipeline carries on', async () => {
  const errors: Array<{ where: string; message: string }> = [];
  let version = 1;
  let fire: ((h: Hint) => void) | undefined;
  const throwingTrigger: Trigger = {
    start: (f) => {
      fire = f;
      throw new Error('trigger start exploded');
    },
    stop: () => {
      throw new Error('trigger stop exploded');
    },
  };
  const unit = reloadable({
    name: 'semantic-6',
    load: () => ({ version }),
    retry: false,
    triggers: [throwingTrigger],
    dispose: () => {
      throw new Error('dispose exploded');
    },
    audit: () => {
      throw new Error('audit exploded');
    },
  });
  unit.on('error', (e) => errors.push({ where: e.where, message: e.error.message }));
  unit.on('committed', () => {
    throw new Error('listener exploded');
  });
  unit.on('committed', async () => {
    throw new Error('async listener exploded');
  });
  let laterListenerRan = 0;
  unit.on('committed', () => laterListenerRan++);

  await unit.start();
  version = 2;
  const result = await unit.reload();
  assert.equal(result.status, 'committed');
  assert.equal(unit.get().version, 2);
  assert.equal(laterListenerRan, 2, 'listeners after a throwing one still run');
  // Hints from the trigger still work even though its start() threw after registering.
  version = 3;
  fire!({ kind: 'test' });
  for (let i = 0; i < 50 && unit.current!.id < 3; i++) await flush();
  assert.equal(unit.get().version, 3);
  await unit.close();

  const wheres = new Set(errors.map((e) => e.where));
  for (const where of ['trigger.start', 'trigger.stop', 'dispose', 'audit', 'listener:committed']) assert.ok(wheres.has(where), `missing error event from ${where}: ${[...wheres].join(', ')}`);
  assert.ok(errors.some((e) => e.message === 'async listener exploded'));
  assert.ok(unit.status().errors as number >= 5);

  // A source whose watch() throws, or whose unwatch rejects: error events, the unit still works.
  const watchErrors: string[] = [];
  let sourceVersion = 1;
  const brokenWatch = reloadable({
    name: 'semantic-6-watch',
    retry: false,
    source: {
      describe: () => 'broken watch',
      read: async () => ({ version: sourceVersion }),
      watch: () => {
        throw new Error('watch exploded');
      },
    },
  });
  const rejectingUnwatch = reloadable({
    name: 'semantic-6-unwatch',
    retry: false,
    source: { describe: () => 'rejecting unwatch', read: async () => ({ version: sourceVersion }), watch: () => () => Promise.reject(new Error('unwatch exploded')) },
  });
  for (const u of [brokenWatch, rejectingUnwatch]) u.on('error', (e) => watchErrors.push(`${e.unit} ${e.where}: ${e.error.message}`));
  await Promise.all([brokenWatch.start(), rejectingUnwatch.start()]);
  sourceVersion = 2;
  assert.equal((await brokenWatch.reload()).status, 'committed');
  assert.equal((await rejectingUnwatch.reload()).status, 'committed');
  await Promise.all([brokenWatch.close(), rejectingUnwatch.close()]);
  assert.deepEqual(watchErrors.sort(), ['semantic-6-unwatch source.unwatch: unwatch exploded', 'semantic-6-watch source.watch: watch exploded']);
});

test('7. watch before read: source watches and triggers start before the initial load, so a change in between is not lost', async () => {
  const order: string[] = [];
  const source = new MemorySource<{ version: number }>({ version: 1 });
  const read = source.read.bind(source);
  source.read = async () => {
    order.push('read');
    const value = await read();
    if (value.version === 1) {
      // The config changes right after the initial read: only an already-running watch sees it.
      source.value = { version: 2 };
      source.hint({ kind: 'memory', detail: 'changed during start' });
    }
    return value;
  };
  const trigger: Trigger = {
    start: () => {
      order.push('trigger.start');
    },
    stop: () => {
      order.push('trigger.stop');
    },
  };
  const unit = reloadable({ name: 'semantic-7', source, retry: false, triggers: [trigger] });
  assert.deepEqual(order, [], 'nothing is loaded or watched before start()');
  assert.equal(source.watchers.size, 0);
  const gen = await unit.start();
  assert.equal(gen.value.version, 1);
  assert.deepEqual(order.slice(0, 2), ['trigger.start', 'read']);
  for (let i = 0; i < 100 && unit.current!.value.version !== 2; i++) await flush();
  assert.equal(unit.current!.value.version, 2, 'the change between watch and read was picked up');
  await unit.close();
  assert.equal(source.watchers.size, 0, 'close() stops the watch');
  assert.equal(order.at(-1), 'trigger.stop');
});
