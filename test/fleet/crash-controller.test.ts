/**
 * The rollout controller (test/fleet/controller-worker.ts, a real process) SIGKILLed between
 * prepare and commit: `resumeRollout` finishes the rollout from its record (test/fleet/
 * crash-bake.test.ts kills it during bake); every prepared resource is committed or disposed, counted from each member's own log.
 *
 * Three member processes (a 2-core machine running the suite in parallel); every crash is a SIGKILL.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { fleetKeys, readRollout, resumeRollout } from '../../src/fleet/index.js';
import { haveBinary } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';
import { consistent, counts, spawnProc, useFleetEnv } from './support.js';

const available = haveBinary('etcd');
const CONTROLLER = fileURLToPath(new URL('./controller-worker.ts', import.meta.url));

describe('fleet: crash-controller', { skip: available ? false : 'etcd not installed' }, () => {
  const env = useFleetEnv();

  const record = (id: string) => readRollout({ client: env.client, id });
  const verdicts = async (fleet: string, id: string) => Object.values(await env.client.getAll().prefix(fleetKeys(fleet).verdicts(id)).strings()).map((t) => JSON.parse(t) as { instance: string; verdict: string });

  it('the controller SIGKILLed between prepare and commit: resumeRollout commits the prepared resources', async () => {
    const fleet = 'ctl';
    const holdKey = '/test/ctl/hold';
    const members = await env.fleetOf(fleet, 3, new Set(), { HOLD_KEY: holdKey, HOLD_TAG: 'v2' });

    // 1. Killed between prepare and commit: the members hold their prepare until the controller is dead.
    const first = spawnProc(CONTROLLER, [env.etcd.url, fleet, JSON.stringify({ tag: 'v2', db: env.db1 }), JSON.stringify([{ percent: 100 }])], 'controller-1');
    env.procs.push(first);
    const idLine = await waitFor(() => first.lines.find((l) => l.startsWith('id ')), { message: 'the controller started a rollout', timeoutMs: 60_000 });
    const id = idLine.slice(3);
    await waitFor(() => members.every((m) => m.lines.includes('holding v2')), { message: 'every member is preparing' });
    first.child.kill('SIGKILL');
    await first.exited;
    await env.client.put(holdKey).value('go');
    await waitFor(async () => (await verdicts(fleet, id)).filter((v) => v.verdict === 'prepared').length === 3, { message: 'every member prepared' });
    const beforeResume = await record(id);
    assert.equal(beforeResume.phase, 'prepare', 'nobody decided the commit while the controller was dead');
    assert.ok(Object.values(beforeResume.instances).every((e) => !e.commit));
    const resumed = await resumeRollout({ client: env.client, id, lockWaitMs: 30_000 });
    const final = await resumed.done;
    assert.equal(final.state, 'done');
    await consistent(final, members, 'v2', 'v1');
    for (const m of members) assert.deepEqual(counts(m, 'v2'), { created: 1, disposed: 0 }, `${m.id} committed the prepared v2 itself`);

  });
});
