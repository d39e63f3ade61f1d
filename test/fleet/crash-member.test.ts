/**
 * A member SIGKILLed mid-prepare: the step goes on without it once its lease expires, the rollout
 * ends consistent with its record, and the member restarted later serves the record's hash.
 *
 * Three member processes (a 2-core machine running the suite in parallel); every crash is a SIGKILL.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rollout } from '../../src/fleet/index.js';
import { haveBinary } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';
import { allReady, consistent, served, spawnMember, useFleetEnv } from './support.js';

const available = haveBinary('etcd');

describe('fleet: crash-member', { skip: available ? false : 'etcd not installed' }, () => {
  const env = useFleetEnv();


  it('a member SIGKILLed mid-prepare: the step goes on without it once its lease expires, and it rejoins on the record\'s hash', async () => {
    const fleet = 'member';
    const holdKey = '/test/member/hold';
    const members = await env.fleetOf(fleet, 3, new Set(), { HOLD_KEY: holdKey, HOLD_TAG: 'v2' });
    const handle = await rollout({ client: env.client, fleet, unit: 'config', candidate: { tag: 'v2', db: env.db1 }, actor: 'test', reason: 'member crash', strategy: { steps: [{ percent: 100 }] } });
    await waitFor(() => members.every((m) => m.lines.includes('holding v2')), { message: 'every member is preparing' });
    const victim = members[1]!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    await env.client.put(holdKey).value('go');
    const final = await handle.done;
    assert.equal(final.state, 'done');
    assert.equal(final.instances[victim.id]!.commit, undefined, 'the dead member was not told to commit');
    const alive = members.filter((m) => m !== victim);
    await consistent(final, alive, 'v2', 'v1');
    // Restarted, it reads the canonical key the done transaction wrote: the record's hash.
    const again = spawnMember(env.etcd.url, fleet, victim.id, {});
    env.procs.push(again);
    await allReady([again]);
    assert.deepEqual(served(again), ['v2']);
  });
});
