/**
 * The rollout view a terminal shows (src/fleet/progress-view.ts), from records built here: what
 * each line says at each phase, rejections listed first, the instance table cut to the terminal's
 * height and every line to its width, and the in-place redraw moving back over exactly the lines
 * it drew before.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inPlace, renderRolloutView } from '../../src/fleet/progress-view.js';
import type { RolloutInstance, RolloutRecord } from '../../src/fleet/record.js';

function record(overrides: Partial<RolloutRecord> = {}, instances: Record<string, RolloutInstance> = {}): RolloutRecord {
  return {
    version: 1,
    id: 'r-1',
    fleet: 'api',
    unit: 'config',
    key: '/reloadkit/api/config',
    candidateHash: 'sha256:0123456789abcdef0123',
    actor: 'ops',
    reason: 'raise pool size',
    createdAt: 1_000,
    strategy: { steps: [{ instances: 1, bakeMs: 30_000 }, { percent: 25, bakeMs: 30_000 }, { percent: 100 }], twoPhase: true, maxRejections: 0, phaseTimeoutMs: 10_000, minRequests: 0 },
    state: 'running',
    step: 0,
    phase: 'prepare',
    phaseStartedAt: 10_000,
    instances,
    decisions: [{ at: 10_000, step: 0, action: 'start', actor: 'ops', reason: 'raise pool size' }],
    ...overrides,
  };
}

describe('rollout terminal view', () => {
  it('names the rollout, marks the steps, counts the verdicts and shows the phase clock', () => {
    const preparing = renderRolloutView(record({}, { a: { step: 0 } }), {}, 12_500);
    assert.equal(preparing[0], 'rollout r-1  api/config  running  candidate 0123456789ab');
    assert.equal(preparing[1], 'steps   ▶ 1 (bake 30s)   · 25% (bake 30s)   · 100%');
    assert.equal(preparing[2], 'phase   step 1/3 prepare, for 2.5s');
    assert.equal(preparing[3], 'reached 1: 0 committed, 0 prepared, 1 waiting, 0 rejected');
    assert.equal(preparing[4], 'last    start (step 1) by ops: raise pool size');

    const baking = renderRolloutView(
      record({ step: 1, phase: 'bake', bakeUntil: 60_000, decisions: [{ at: 40_000, step: 1, action: 'bake' }] }, { a: { step: 0, verdict: 'committed', commit: true }, b: { step: 1, verdict: 'committed', commit: true }, c: { step: 1, verdict: 'prepared' } }),
      {},
      45_000,
    );
    assert.equal(baking[1], 'steps   ✔ 1 (bake 30s)   ▶ 25% (bake 30s)   · 100%');
    assert.equal(baking[2], 'phase   step 2/3 bake, 15s left');
    assert.equal(baking[3], 'reached 3: 2 committed, 1 prepared, 0 waiting, 0 rejected');
    assert.equal(baking[4], 'last    bake (step 2)');

    const stopped = renderRolloutView(record({ state: 'rolled-back', step: 1, cause: 'gate', endedAt: Date.UTC(2026, 11, 2) }, { a: { step: 0, verdict: 'rolled-back' } }));
    assert.equal(stopped[1], 'steps   ✔ 1 (bake 30s)   ✖ 25% (bake 30s)   · 100%');
    assert.equal(stopped[2], 'ended   2026-12-02T00:00:00.000Z (gate)');
    assert.match(stopped[3]!, /, 1 rolled back$/);
    const done = renderRolloutView(record({ state: 'done', step: 2, endedAt: 0 }));
    assert.equal(done[1], 'steps   ✔ 1 (bake 30s)   ✔ 25% (bake 30s)   ✔ 100%');
  });

  it('lists rejected instances first with stage and code, then by step and id', () => {
    const lines = renderRolloutView(record({ step: 1 }, {
      b: { step: 1, verdict: 'prepared' },
      a: { step: 0, verdict: 'committed', commit: true },
      z: { step: 1, verdict: 'rejected', stage: 'healthCheck', code: 'RELOADKIT_HEALTH_CHECK' },
      y: { step: 1, verdict: 'timeout' },
    }));
    const table = lines.slice(lines.indexOf('') + 1);
    assert.match(table[0]!, /^INSTANCE\s+STEP\s+VERDICT\s+COMMIT\s+STAGE\s+CODE$/);
    assert.deepEqual(table.slice(1).map((l) => l.split(/\s+/).slice(0, 4).join(' ')), ['y 2 timeout -', 'z 2 rejected -', 'a 1 committed yes', 'b 2 prepared -']);
    assert.match(table[2]!, /healthCheck\s+RELOADKIT_HEALTH_CHECK$/);
  });

  it('fits the terminal: rows beyond its height are summed up, lines cut to its width', () => {
    const instances = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`instance-${String(i).padStart(2, '0')}`, { step: 0, verdict: 'prepared' } as RolloutInstance]));
    const lines = renderRolloutView(record({}, instances), { rows: 20, columns: 30 });
    assert.equal(lines.length, 19, 'one line left free for the cursor');
    assert.equal(lines.at(-1), '… and 39 more');
    assert.ok(lines.every((l) => [...l].length <= 30), 'no line wider than the terminal');
    assert.equal(lines[0], 'rollout r-1  api/config  runn…');
    const roomy = renderRolloutView(record({}, instances), { rows: 80 });
    assert.equal(roomy.filter((l) => l.startsWith('instance-')).length, 50);
  });

  it('redraws in place: back over the previous block, clear, then the new block', () => {
    const writes: string[] = [];
    const view = inPlace((text) => writes.push(text));
    view.draw(['one', 'two', 'three']);
    view.draw(['four']);
    view.draw(['five', 'six']);
    assert.deepEqual(writes, ['one\ntwo\nthree', '\u001b[3A\r\u001b[0Jfour', '\u001b[1A\r\u001b[0Jfive\nsix']);
  });
});
