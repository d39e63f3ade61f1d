/**
 * The controller's decision logic as a pure state machine (src/fleet/decide.ts), and the cohort
 * selection: example cases, then a fast-check property over interleavings of verdict arrivals,
 * member crashes and restarts, gate outcomes, clock ticks and operator controls.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cohortOrder, cohortTargets, parseSteps, stepCount, type RolloutStep } from '../../src/fleet/cohort.js';
import { control, decide, startRecord, wantsCandidate } from '../../src/fleet/decide.js';
import type { RolloutRecord, Verdict, VerdictKind } from '../../src/fleet/record.js';

function base(steps: RolloutStep[], opts: { twoPhase?: boolean; maxRejections?: number } = {}) {
  return {
    id: 'r1', fleet: 'f', unit: 'config', key: '/k', candidateHash: 'sha256:c', actor: 'test', reason: 'test', createdAt: 0,
    strategy: { steps, twoPhase: opts.twoPhase ?? true, maxRejections: opts.maxRejections ?? 0, phaseTimeoutMs: 1000, minRequests: 1 },
  };
}
const ids = (n: number) => Array.from({ length: n }, (_, i) => `i${i}`);
const verdict = (instance: string, kind: VerdictKind, extra: Partial<Verdict> = {}): Verdict => ({ instance, unit: 'config', verdict: kind, at: 0, ...extra });

describe('fleet cohorts', () => {
  it('orders instances by a stable hash: the same canaries on every run, whatever the input order', () => {
    const a = cohortOrder(ids(20));
    const b = cohortOrder([...ids(20)].reverse());
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, ids(20), 'not the input order');
    assert.deepEqual(cohortTargets(ids(20), { instances: 1 }, new Set()), [a[0]]);
  });

  it('property: steps are cumulative prefixes of one order, each instance reached once', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.stringMatching(/^[a-z0-9-]{1,8}$/), { minLength: 1, maxLength: 40 }), fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 4 }), (instances, percents) => {
        const steps: RolloutStep[] = [...percents.sort((x, y) => x - y).map((percent) => ({ percent })), { percent: 100 }];
        const reached = new Set<string>();
        const order = cohortOrder(instances);
        for (const step of steps) {
          const added = cohortTargets(instances, step, reached);
          for (const id of added) {
            assert.ok(!reached.has(id));
            reached.add(id);
          }
          assert.deepEqual([...reached].sort(), order.slice(0, Math.max(reached.size, stepCount(step, instances.length))).sort());
        }
        assert.equal(reached.size, instances.length, 'the last step reaches everyone');
      }),
    );
  });

  it('parses the CLI step list', () => {
    assert.deepEqual(parseSteps('1,25%,100%', 30_000), [{ instances: 1, bakeMs: 30_000 }, { percent: 25, bakeMs: 30_000 }, { percent: 100, bakeMs: 0 }]);
    assert.throws(() => parseSteps('1,x', 0), /cannot read step `x`/);
  });
});

describe('fleet controller decisions', () => {
  const steps: RolloutStep[] = [{ instances: 1, bakeMs: 100 }, { percent: 100 }];

  it('prepares the canary, commits it only once it prepared, bakes, then reaches everyone and ends done', () => {
    const eligible = new Set(ids(4));
    let r = startRecord(base(steps), eligible, 0);
    const canary = Object.keys(r.instances)[0]!;
    assert.deepEqual(Object.keys(r.instances), [cohortOrder(ids(4))[0]]);
    assert.equal(r.phase, 'prepare');
    let d = decide(r, { now: 1, eligible, verdicts: {}, gate: 'unknown' });
    assert.equal(d.changed, false);
    assert.equal(d.wakeAt, 1000, 'wakes at the phase deadline');
    r = decide(r, { now: 2, eligible, verdicts: { [canary]: verdict(canary, 'prepared') }, gate: 'unknown' }).record;
    assert.equal(r.phase, 'commit');
    assert.equal(r.instances[canary]!.commit, true);
    r = decide(r, { now: 3, eligible, verdicts: { [canary]: verdict(canary, 'committed') }, gate: 'pass' }).record;
    assert.equal(r.phase, 'bake');
    assert.equal(r.bakeUntil, 103);
    d = decide(r, { now: 50, eligible, verdicts: { [canary]: verdict(canary, 'committed') }, gate: 'pass' });
    assert.equal(d.changed, false);
    assert.equal(d.wakeAt, 103);
    r = decide(r, { now: 103, eligible, verdicts: { [canary]: verdict(canary, 'committed') }, gate: 'pass' }).record;
    assert.equal(r.step, 1);
    assert.equal(Object.keys(r.instances).length, 4);
    const all = Object.fromEntries(ids(4).map((i) => [i, verdict(i, 'prepared')]));
    r = decide(r, { now: 104, eligible, verdicts: all, gate: 'pass' }).record;
    r = decide(r, { now: 105, eligible, verdicts: Object.fromEntries(ids(4).map((i) => [i, verdict(i, 'committed')])), gate: 'pass' }).record;
    assert.equal(r.state, 'done');
    assert.deepEqual(r.decisions.map((x) => x.action), ['start', 'commit', 'bake', 'step', 'commit', 'bake', 'done']);
  });

  it('a rejection at prepare ends the rollout rejected with the instance, stage and code, nobody committed', () => {
    const eligible = new Set(ids(3));
    let r = startRecord(base([{ percent: 100 }]), eligible, 0);
    r = decide(r, { now: 1, eligible, verdicts: { i0: verdict('i0', 'prepared'), i1: verdict('i1', 'rejected', { stage: 'health', code: 'RELOADKIT_HEALTH' }) }, gate: 'unknown' }).record;
    assert.equal(r.state, 'rejected');
    assert.deepEqual(r.decisions.at(-1)!.instances, ['i1']);
    assert.deepEqual(r.instances.i1, { step: 0, verdict: 'rejected', stage: 'health', code: 'RELOADKIT_HEALTH' });
    assert.ok(Object.values(r.instances).every((e) => !e.commit));
    assert.ok(ids(3).every((i) => !wantsCandidate(r, i)));
  });

  it('a failed gate during bake rolls back: the committed instances no longer want the candidate', () => {
    const eligible = new Set(ids(4));
    let r = startRecord(base(steps), eligible, 0);
    const canary = Object.keys(r.instances)[0]!;
    r = decide(r, { now: 1, eligible, verdicts: { [canary]: verdict(canary, 'prepared') }, gate: 'unknown' }).record;
    r = decide(r, { now: 2, eligible, verdicts: { [canary]: verdict(canary, 'committed') }, gate: 'unknown' }).record;
    assert.ok(wantsCandidate(r, canary));
    r = decide(r, { now: 3, eligible, verdicts: { [canary]: verdict(canary, 'committed') }, gate: 'fail' }).record;
    assert.equal(r.state, 'rolled-back');
    assert.equal(r.cause, 'gate');
    assert.equal(wantsCandidate(r, canary), false);
  });

  it('a pending verdict times out as a rejection; a dead target does not block', () => {
    const eligible = new Set(ids(3));
    let r = startRecord(base([{ percent: 100 }], { maxRejections: 1 }), eligible, 0);
    const alive = new Set(['i0', 'i1']); // i2 died
    r = decide(r, { now: 10, eligible: alive, verdicts: { i0: verdict('i0', 'prepared') }, gate: 'unknown' }).record;
    assert.equal(r.phase, 'prepare', 'i1 is still pending');
    r = decide(r, { now: 1000, eligible: alive, verdicts: { i0: verdict('i0', 'prepared') }, gate: 'unknown' }).record;
    assert.equal(r.instances.i1!.verdict, 'timeout');
    assert.equal(r.phase, 'commit');
    assert.deepEqual(Object.entries(r.instances).filter(([, e]) => e.commit).map(([id]) => id), ['i0']);
  });

  it('a version that only folds in verdicts waits for `foldAfter`; a decision is written at once, every verdict folded in', () => {
    const eligible = new Set(ids(3));
    const start = startRecord(base([{ percent: 100 }]), eligible, 0);
    const some = { i0: verdict('i0', 'prepared'), i1: verdict('i1', 'prepared') };
    // Two of three answered: nothing to decide, so no version before foldAfter, and a wake then.
    const held = decide(start, { now: 10, eligible, verdicts: some, gate: 'unknown', foldAfter: 500 });
    assert.equal(held.changed, false);
    assert.equal(held.record, start, 'the record handed in, not the folded one');
    assert.equal(held.wakeAt, 500);
    // The wake is the earlier of foldAfter and the phase deadline.
    assert.equal(decide(start, { now: 10, eligible, verdicts: some, gate: 'unknown', foldAfter: 5000 }).wakeAt, 1000);
    // From foldAfter on, the folded version is written.
    const folded = decide(start, { now: 500, eligible, verdicts: some, gate: 'unknown', foldAfter: 500 });
    assert.equal(folded.changed, true);
    assert.equal(folded.record.phase, 'prepare');
    assert.equal(folded.record.instances.i1!.verdict, 'prepared');
    // The last answer decides: written before foldAfter, with the other answers in it.
    const all = { ...some, i2: verdict('i2', 'prepared') };
    const decided = decide(start, { now: 20, eligible, verdicts: all, gate: 'unknown', foldAfter: 500 });
    assert.equal(decided.changed, true);
    assert.equal(decided.record.phase, 'commit');
    assert.deepEqual(ids(3).map((i) => decided.record.instances[i]!.verdict), ['prepared', 'prepared', 'prepared']);
    // So is a rejection that ends the rollout.
    const rejected = decide(start, { now: 20, eligible, verdicts: { i0: verdict('i0', 'rejected', { stage: 'health', code: 'RELOADKIT_HEALTH' }) }, gate: 'unknown', foldAfter: 500 });
    assert.equal(rejected.changed, true);
    assert.equal(rejected.record.state, 'rejected');
  });

  it('pause freezes, resume continues, abort ends; none of them applies to a finished rollout', () => {
    const eligible = new Set(ids(2));
    let r = startRecord(base([{ percent: 100 }]), eligible, 0);
    r = control(r, 'pause', 'ops', 1).record;
    assert.equal(decide(r, { now: 2, eligible, verdicts: { i0: verdict('i0', 'prepared'), i1: verdict('i1', 'prepared') }, gate: 'unknown' }).changed, false);
    r = control(r, 'resume', 'ops', 3).record;
    r = decide(r, { now: 4, eligible, verdicts: { i0: verdict('i0', 'prepared'), i1: verdict('i1', 'prepared') }, gate: 'unknown' }).record;
    assert.equal(r.phase, 'commit');
    r = control(r, 'abort', 'ops', 5, 'changed my mind').record;
    assert.equal(r.state, 'aborted');
    assert.equal(control(r, 'resume', 'ops', 6).changed, false);
    assert.deepEqual(r.decisions.filter((d) => d.actor === 'ops').map((d) => d.action), ['pause', 'resume', 'abort']);
  });
});

type Event =
  | { kind: 'verdict'; i: number; v: VerdictKind }
  | { kind: 'crash'; i: number }
  | { kind: 'restart'; i: number }
  | { kind: 'tick'; ms: number }
  | { kind: 'gate'; fail: boolean }
  | { kind: 'control'; action: 'pause' | 'resume' | 'abort' };

const N = 6;
const eventArb: fc.Arbitrary<Event> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('verdict' as const), i: fc.nat(N - 1), v: fc.constantFrom<VerdictKind>('prepared', 'prepared', 'committed', 'committed', 'rejected', 'commit-failed') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), i: fc.nat(N - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), i: fc.nat(N - 1) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 700 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('gate' as const), fail: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('control' as const), action: fc.constantFrom<'pause' | 'resume' | 'abort'>('pause', 'resume', 'abort') }) },
);

describe('fleet controller decisions: property over interleavings', () => {
  it('never commits an unprepared instance, never ends done past a failed policy, terminal states hold, history only grows', () => {
    fc.assert(
      fc.property(
        fc.array(eventArb, { maxLength: 80 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 1 }),
        fc.boolean(),
        (events, twoPhase, maxRejections, spaceFolds) => {
          const all = ids(N);
          const alive = new Set(all);
          const verdicts: Record<string, Verdict> = {};
          let now = 0;
          let gate: 'pass' | 'fail' = 'pass';
          // As the controller does: a version that only folds verdicts waits 300 ms after the last write.
          let wroteAt = 0;
          let r: RolloutRecord = startRecord(base([{ instances: 1, bakeMs: 200 }, { percent: 50, bakeMs: 200 }, { percent: 100 }], { twoPhase, maxRejections }), alive, now);
          const rejectedEver = new Map<number, Set<string>>();
          for (const e of events) {
            if (e.kind === 'verdict') {
              if (!alive.has(all[e.i]!)) continue;
              verdicts[all[e.i]!] = verdict(all[e.i]!, e.v);
            } else if (e.kind === 'crash') alive.delete(all[e.i]!);
            else if (e.kind === 'restart') alive.add(all[e.i]!);
            else if (e.kind === 'tick') now += e.ms;
            else if (e.kind === 'gate') gate = e.fail ? 'fail' : 'pass';
            const before = r;
            const next: ReturnType<typeof decide> = e.kind === 'control' ? control(r, e.action, 'op', now) : decide(r, { now, eligible: new Set(alive), verdicts: { ...verdicts }, gate: r.phase === 'bake' ? gate : 'unknown', ...(spaceFolds ? { foldAfter: wroteAt + 300 } : {}) });
            r = next.record;
            if (next.changed && e.kind !== 'control') {
              assert.equal(r.updatedAt, now, 'a new version carries the time it was decided');
              // A version with no new decision only folds verdicts in: never sooner than foldAfter.
              if (spaceFolds && r.decisions.length === before.decisions.length) assert.ok(now >= wroteAt + 300, `a fold-only version ${now - wroteAt} ms after the last write`);
            }
            if (next.changed) wroteAt = now;
            // History only grows; instances are never dropped; a commit decision is never unmade.
            assert.deepEqual(r.decisions.slice(0, before.decisions.length), before.decisions);
            for (const [id, entry] of Object.entries(before.instances)) {
              assert.ok(r.instances[id], `${id} kept`);
              if (entry.commit) assert.equal(r.instances[id]!.commit, true);
            }
            assert.ok(r.step >= before.step);
            // A terminal record does not move.
            if (['done', 'rejected', 'rolled-back', 'aborted'].includes(before.state)) assert.equal(next.changed, false);
            // Two-phase: a new commit decision only names instances that were prepared and alive.
            if (twoPhase) {
              for (const [id, entry] of Object.entries(r.instances)) {
                if (entry.commit && !before.instances[id]?.commit) {
                  assert.equal(verdicts[id]?.verdict, 'prepared', `${id} committed without a prepared verdict`);
                  assert.ok(alive.has(id));
                }
              }
            }
            for (const [id, entry] of Object.entries(r.instances)) {
              if (entry.verdict === 'rejected' || entry.verdict === 'timeout') (rejectedEver.get(entry.step) ?? rejectedEver.set(entry.step, new Set()).get(entry.step)!).add(id);
            }
            if (r.state === 'rejected') assert.ok(Object.values(r.instances).every((x) => !x.commit), 'rejected means nobody committed');
            if (r.state === 'done') {
              assert.equal(r.step, 2);
              assert.ok(Object.values(r.instances).every((x) => x.verdict !== 'commit-failed' && x.verdict !== 'rolled-back'));
              if (twoPhase) for (const set of rejectedEver.values()) assert.ok(set.size <= maxRejections, 'done past a step that had too many rejections');
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
