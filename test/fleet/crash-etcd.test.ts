/**
 * etcd itself SIGKILLed and restarted mid-rollout (during bake): the rollout ends done, consistent
 * with its record; every member serves its hash, none flapped.
 *
 * Three member processes (a 2-core machine running the suite in parallel); every crash is a SIGKILL.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readRollout, rollout } from '../../src/fleet/index.js';
import { haveBinary } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';
import { consistent, served, useFleetEnv } from './support.js';

const available = haveBinary('etcd');

describe('fleet: crash-etcd', { skip: available ? false : 'etcd not installed' }, () => {
  const env = useFleetEnv();

  const record = (id: string) => readRollout({ client: env.client, id });

  it('etcd SIGKILLed and restarted mid-rollout: the rollout ends done and every member serves its hash', async () => {
    const fleet = 'etcd';
    const members = await env.fleetOf(fleet, 3);
    const progress: string[] = [];
    const handle = await rollout({ client: env.client, fleet, unit: 'config', candidate: { tag: 'v2', db: env.db1 }, actor: 'test', reason: 'etcd crash', strategy: { steps: [{ instances: 1, bakeMs: 1000 }, { percent: 100 }] } });
    handle.on('progress', (p) => progress.push(`${p.decision.action} ${p.decision.step}`));
    await waitFor(() => progress.includes('bake 0'), { message: 'the first step bakes' });
    await env.etcd.kill();
    await env.etcd.restart();
    const final = await handle.done;
    assert.equal(final.state, 'done');
    assert.deepEqual(await record(final.id).then((r) => r.state), 'done');
    await consistent(final, members, 'v2', 'v1');
    for (const m of members) assert.deepEqual(served(m), ['v1', 'v2'], `${m.id}: no split state, no flapping`);
  });
});
