/**
 * Property-based test: random interleavings of reload, rollback, acquire, release, use, failing
 * load, failing create, invalid candidates, hanging healthCheck (with timeout), virtual time and
 * close, on a fake clock. After every step and at the end it checks that:
 *   - the live generation always passed validation and its health check, and is not disposed;
 *   - generation ids strictly increase (by one per commit);
 *   - every created resource is disposed exactly once, never while live, and never while leased
 *     unless its drain timed out;
 *   - every promise the unit returned settles;
 *   - nothing is left undisposed (and no timer is left) after close().
 * Runs RELOADKIT_PROPERTY_RUNS schedules (default 1,000), and with 1,000 or more also checks that
 * the schedules really produced each situation (commits, unchanged, rejections at load, validate,
 * create and a health-check timeout, rollbacks, drain timeouts, closes with leases held), so a
 * generator change cannot quietly stop exercising an invariant.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { z } from 'zod';
import { ClosedError, reloadable, type Lease } from '../../src/index.js';
import { FakeClock } from '../../src/testing/clock.js';

const RUNS = Number(process.env.RELOADKIT_PROPERTY_RUNS ?? 1_000);

/** How often each situation occurred across all schedules: the test fails if one never did. */
const coverage = new Map<string, number>();
const seen = (what: string): void => void coverage.set(what, (coverage.get(what) ?? 0) + 1);

const Schema = z.object({ version: z.number().int(), createFail: z.boolean().optional(), hang: z.boolean().optional() });

type Mode = 'ok' | 'same' | 'invalid' | 'load-fail' | 'create-fail' | 'hang-health';

interface Res {
  id: number;
  version: number;
  healthy: boolean;
  disposed: number;
}

type Command =
  | { kind: 'reload'; force: boolean; wait: boolean }
  | { kind: 'rollback'; to: number | undefined; wait: boolean }
  | { kind: 'acquire' }
  | { kind: 'use' }
  | { kind: 'release'; index: number }
  | { kind: 'tick'; ms: number }
  | { kind: 'flush' }
  | { kind: 'close' };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 7, arbitrary: fc.record({ kind: fc.constant('reload' as const), force: fc.boolean(), wait: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('rollback' as const), to: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }), wait: fc.boolean() }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'acquire' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'use' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('release' as const), index: fc.nat(20) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 120 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'flush' as const }) },
);

const mode: fc.Arbitrary<Mode> = fc.constantFrom('ok', 'ok', 'ok', 'ok', 'same', 'invalid', 'load-fail', 'create-fail', 'hang-health');

function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

async function runSchedule(modes: Mode[], schedule: Command[], keepPrevious: boolean, history: number, closeAt: number | undefined): Promise<void> {
  // An early close() lands at a random point in a quarter of the schedules; later commands then meet a closed unit.
  const commands: Command[] = closeAt === undefined ? schedule : [...schedule.slice(0, closeAt), { kind: 'close' }, ...schedule.slice(closeAt)];
  const clock = new FakeClock();
  const created: Res[] = [];
  const leaseCount = new Map<Res, number>();
  const byGeneration = new Map<number, Res>();
  const drainTimedOut = new Set<Res>();
  const violations: string[] = [];
  const promises: Array<{ settled: boolean; label: string }> = [];
  let loads = 0;
  let version = 0;
  let lastCommittedId = 0;

  const track = <X>(label: string, p: Promise<X>): Promise<X> => {
    const entry = { settled: false, label };
    promises.push(entry);
    p.then(
      () => (entry.settled = true),
      () => (entry.settled = true),
    );
    return p;
  };

  const unit = reloadable({
    name: 'prop',
    clock,
    schema: Schema,
    keepPrevious,
    history,
    retry: { retries: 1, minTimeout: 10 },
    timeouts: { load: 200, create: 200, healthCheck: 50, drain: 80, dispose: 50 },
    load: async () => {
      const m = modes[loads++ % modes.length] ?? 'ok';
      await Promise.resolve();
      if (m === 'load-fail') throw new Error('source down');
      if (m === 'invalid') return { version: 'not a number' };
      if (m !== 'same') version++;
      return { version, createFail: m === 'create-fail' || undefined, hang: m === 'hang-health' || undefined };
    },
    create: async (cfg): Promise<Res> => {
      await Promise.resolve();
      if (cfg.createFail) throw new Error('cannot create');
      const res: Res = { id: created.length + 1, version: cfg.version, healthy: false, disposed: 0 };
      created.push(res);
      return res;
    },
    healthCheck: (res) => {
      // Some first probes hang until the healthCheck timeout (a rollback re-probes a healthy resource).
      if (created.length % 7 === 3 && !res.healthy) return new Promise(() => {});
      res.healthy = true;
      return true;
    },
    dispose: (res) => {
      res.disposed++;
      if (res.disposed > 1) violations.push(`resource ${res.id} disposed ${res.disposed} times`);
      if (unit.current?.resource === res) violations.push(`resource ${res.id} disposed while live`);
      if ((leaseCount.get(res) ?? 0) > 0 && !drainTimedOut.has(res)) violations.push(`resource ${res.id} disposed while leased without a drain timeout`);
    },
  });
  unit.on('committed', ({ current }) => {
    if (current.id <= lastCommittedId) violations.push(`generation id ${current.id} after ${lastCommittedId}`);
    if (current.id !== lastCommittedId + 1) violations.push(`generation id jumped from ${lastCommittedId} to ${current.id}`);
    lastCommittedId = current.id;
    byGeneration.set(current.id, current.resource);
    // At the very moment it goes live (not only between commands), the generation is valid and healthy.
    if (!Schema.safeParse(current.value).success) violations.push(`generation ${current.id} committed without passing validation`);
    if (!current.resource.healthy) violations.push(`generation ${current.id} committed without passing its health check`);
    if (current.resource.disposed > 0) violations.push(`generation ${current.id} committed a disposed resource`);
  });
  unit.on('drain-timeout', ({ generation }) => {
    const res = byGeneration.get(generation.id);
    if (res) drainTimedOut.add(res);
    seen('drain-timeout');
  });
  unit.on('committed', ({ result }) => seen(result.id === 1 ? 'committed:start' : 'committed'));
  unit.on('unchanged', () => seen('unchanged'));
  unit.on('rejected', ({ stage, error }) => seen(`rejected:${stage}${error.code === 'RELOADKIT_TIMEOUT' ? ':timeout' : ''}`));
  unit.on('rolled-back', () => seen('rolled-back'));

  const checkLive = (): void => {
    const gen = unit.current;
    if (!gen) return;
    if (!Schema.safeParse(gen.value).success) violations.push(`live generation ${gen.id} failed validation`);
    if (!gen.resource.healthy) violations.push(`live generation ${gen.id} never passed its health check`);
    if (gen.resource.disposed > 0) violations.push(`live generation ${gen.id} is disposed`);
    if (gen.resource.version !== gen.value.version) violations.push(`live generation ${gen.id}: resource and value disagree`);
  };

  const leases: Array<{ res: Res; release: () => void }> = [];
  const addLease = (res: Res, release: () => void): void => {
    leaseCount.set(res, (leaseCount.get(res) ?? 0) + 1);
    let done = false;
    leases.push({
      res,
      release: () => {
        if (done) return;
        done = true;
        leaseCount.set(res, (leaseCount.get(res) ?? 1) - 1);
        release();
      },
    });
  };

  let closed = false;
  const start = track('start', unit.start());
  await clock.advanceAsync(300);
  await start.catch(() => undefined);
  checkLive();

  for (const cmd of commands) {
    switch (cmd.kind) {
      case 'reload': {
        const p = track('reload', unit.reload({ force: cmd.force }));
        if (closed) await assert.rejects(p, ClosedError);
        else if (cmd.wait) {
          await clock.advanceAsync(300);
          const r = await p;
          if (r.status === 'committed' && unit.current!.id < r.generation) violations.push('result generation ahead of live');
        }
        break;
      }
      case 'rollback': {
        const p = track('rollback', unit.rollback(cmd.to === undefined ? {} : { to: cmd.to }));
        if (closed) await assert.rejects(p, ClosedError);
        else if (cmd.wait) {
          await clock.advanceAsync(300);
          await p;
        }
        break;
      }
      case 'acquire': {
        let lease: Lease<Res>;
        try {
          lease = unit.acquire();
        } catch (error) {
          if (!(error instanceof Error) || !/RELOADKIT_(NOT_READY|CLOSED)/.test((error as { code?: string }).code ?? '')) throw error;
          break;
        }
        if (lease.value.disposed > 0) violations.push('acquired a disposed resource');
        addLease(lease.value, () => lease.release());
        break;
      }
      case 'use': {
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        let seen: Res | undefined;
        const p = track(
          'use',
          unit.use(async (res) => {
            seen = res;
            await gate;
            if (res.disposed > 0 && !drainTimedOut.has(res)) violations.push(`use() saw resource ${res.id} disposed`);
          }),
        );
        p.catch(() => undefined);
        if (seen) addLease(seen, release);
        else release();
        break;
      }
      case 'release': {
        if (leases.length === 0) break;
        const [lease] = leases.splice(cmd.index % leases.length, 1);
        lease!.release();
        break;
      }
      case 'tick':
        await clock.advanceAsync(cmd.ms);
        break;
      case 'flush':
        await flush();
        break;
      case 'close':
        closed = true;
        seen(leases.length > 0 ? 'early close with leases held' : 'early close');
        track('close', unit.close());
        break;
    }
    checkLive();
  }

  // Finish: close, let virtual time run until everything settles.
  if (leases.length > 0) seen('final close with leases held');
  if (leases.some((l) => l.res.disposed === 0 && l.res !== unit.current?.resource)) seen('retired resource still leased at close');
  let closeDone = false;
  track('final close', unit.close()).then(() => (closeDone = true));
  for (let i = 0; i < 50 && !closeDone; i++) await clock.runAllAsync();
  for (const lease of leases) lease.release();
  for (let i = 0; i < 5; i++) await clock.runAllAsync();

  const unsettled = promises.filter((p) => !p.settled).map((p) => p.label);
  if (unsettled.length > 0) violations.push(`unsettled promises: ${unsettled.join(', ')}`);
  for (const res of created) if (res.disposed !== 1) violations.push(`resource ${res.id} disposed ${res.disposed} times after close`);
  if (unit.status().state !== 'closed') violations.push(`state ${unit.status().state} after close`);
  if (unit.status().draining !== 0) violations.push('still draining after close');
  if (clock.pending !== 0) violations.push(`${clock.pending} timers left after close`);
  assert.deepEqual(violations, []);
}


test(`property: ${RUNS} random schedules keep every invariant`, async () => {
  let schedules = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(mode, { minLength: 1, maxLength: 8 }),
      fc.array(command, { minLength: 5, maxLength: 30, size: 'max' }),
      fc.boolean(),
      fc.integer({ min: 0, max: 3 }),
      fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.nat(30) }),
      async (modes, commands, keepPrevious, history, closeAt) => {
        schedules++;
        await runSchedule(modes, commands, keepPrevious, history, closeAt);
      },
    ),
    { numRuns: RUNS },
  );
  assert.equal(schedules, RUNS);
  // The schedules really exercised every situation the invariants are about.
  if (RUNS >= 1_000) {
    const expected = [
      'committed:start',
      'committed',
      'unchanged',
      'rejected:load',
      'rejected:validate',
      'rejected:create',
      'rejected:health:timeout',
      'rolled-back',
      'drain-timeout',
      'early close',
      'early close with leases held',
      'final close with leases held',
      'retired resource still leased at close',
    ];
    const missing = expected.filter((what) => (coverage.get(what) ?? 0) < 5);
    assert.deepEqual(missing, [], `situations seldom or never exercised: ${JSON.stringify(Object.fromEntries(coverage))}`);
  }
});
