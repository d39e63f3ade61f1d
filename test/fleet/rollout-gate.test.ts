/**
 * A candidate that commits fine but raises the error rate (members report health with
 * `reportHealth`): the gate rolls it back after the first step; only the canary ever served it,
 * and the canary refuses its hash afterwards.
 *
 * Six member processes or fewer per file rather than twenty: the suite runs files in parallel on
 * a 2-core machine (bench/fleet.ts runs the 20- and 100-member cases).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cohortOrder, rollout } from '../../src/fleet/index.js';
import { waitFor } from '../helpers/wait.js';
import { ask, counts, served, useFleetEnv } from './support.js';
import { haveBinary } from '../helpers/servers.js';

const available = haveBinary('etcd');

describe('fleet: rollout-gate', { skip: available ? false : 'etcd not installed' }, () => {
  const env = useFleetEnv();

  it('a candidate that raises the error rate is rolled back after the first step: only the canary served it, and it refuses its hash', async () => {
    const fleet = 'errors';
    const members = await env.fleetOf(fleet, 6);
    const handle = await rollout({
      client: env.client, fleet, unit: 'config', candidate: { tag: 'v2', db: env.db1, failRate: 0.5 }, actor: 'test', reason: 'bad v2',
      strategy: { steps: [{ instances: 1, bakeMs: 60_000 }, { percent: 100 }], errorRateThreshold: 0.1, minRequests: 20 },
    });
    const final = await handle.done;
    assert.equal(final.state, 'rolled-back');
    assert.equal(final.cause, 'gate');
    assert.equal(final.step, 0);
    const canary = cohortOrder(members.map((m) => m.id))[0]!;
    for (const m of members) {
      if (m.id === canary) {
        await waitFor(() => served(m).length === 3, { message: 'the canary rolled back' });
        assert.deepEqual(served(m), ['v1', 'v2', 'v1']);
        const status = await ask<{ refused?: string[]; hash: string }>(m, 'status');
        const v2hash = m.lines.find((l) => l.startsWith('serve ') && l.endsWith(' v2'))!.split(' ')[1]!;
        assert.ok(status.refused?.includes(v2hash), 'the canary refuses the candidate hash');
      } else {
        assert.deepEqual(served(m), ['v1'], `${m.id} never served v2`);
        assert.equal(counts(m, 'v2').created, 0, `${m.id} never even prepared v2`);
      }
    }
  });
});
