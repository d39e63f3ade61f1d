/**
 * The rollout controller (test/fleet/controller-worker.ts, a real process) SIGKILLed during
 * bake: `resumeRollout` finishes the rollout from its record, the bake going on to its recorded
 * end; every prepared resource is committed or disposed, counted from each member's own log.
 *
 * Three member processes (a 2-core machine running the suite in parallel); every crash is a SIGKILL.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readRollout, resumeRollout } from '../../src/fleet/index.js';
import { haveBinary } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';
import { consistent, served, spawnProc, useFleetEnv } from './support.js';

const available = haveBinary('etcd');
const CONTROLLER = fileURLToPath(new URL('./controller-worker.ts', import.meta.url));

describe('fleet: crash-bake', { skip: available ? false : 'etcd not installed' }, () => {
  const env = useFleetEnv();

  const record = (id: string) => readRollout({ client: env.client, id });

  it('the controller SIGKILLed during bake: resumeRollout finishes it', async () => {
    const fleet = 'bake';
    const members = await env.fleetOf(fleet, 3);
    // 2. Killed during bake.
    const second = spawnProc(CONTROLLER, [env.etcd.url, fleet, JSON.stringify({ tag: 'v2', db: env.db1 }), JSON.stringify([{ instances: 1, bakeMs: 2000 }, { percent: 100 }])], 'controller-2');
    env.procs.push(second);
    const id2 = (await waitFor(() => second.lines.find((l) => l.startsWith('id ')), { message: 'the second rollout started', timeoutMs: 60_000 })).slice(3);
    await waitFor(() => second.lines.includes('progress bake 0'), { message: 'the first step bakes' });
    second.child.kill('SIGKILL');
    await second.exited;
    const baking = await record(id2);
    assert.equal(baking.phase, 'bake');
    assert.equal(baking.state, 'running');
    const final2 = await (await resumeRollout({ client: env.client, id: id2, lockWaitMs: 30_000 })).done;
    assert.equal(final2.state, 'done');
    await consistent(final2, members, 'v2', 'v1');
    for (const m of members) assert.deepEqual(served(m), ['v1', 'v2']);
  });
});
