/**
 * Ended rollouts are kept up to `retainRollouts` per unit: a rollout that starts deletes the older
 * ones (record, candidate, verdicts, index entry) in etcd, so what every member lists on each
 * (re)connection stays bounded. One real member process, a real etcd.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fleetKeys, readRollout, rollout } from '../../src/fleet/index.js';
import { ROLLOUT_INDEX } from '../../src/fleet/keys.js';
import { haveBinary } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';
import { served, useFleetEnv } from './support.js';

const available = haveBinary('etcd');

describe('fleet: retention', { skip: available ? false : 'etcd not installed' }, () => {
  const env = useFleetEnv();

  it('a rollout that starts deletes the ended ones beyond retainRollouts, with their candidates and verdicts', async () => {
    const fleet = 'retain';
    const [member] = await env.fleetOf(fleet, 1);
    const keys = fleetKeys(fleet);
    const ids: string[] = [];
    for (const tag of ['v2', 'v3', 'v4']) {
      const handle = await rollout({
        client: env.client, fleet, unit: 'config', candidate: { tag, db: env.db1 }, actor: 'test', reason: tag,
        strategy: { steps: [{ percent: 100 }] }, retainRollouts: 1,
      });
      ids.push(handle.id);
      assert.equal((await handle.done).state, 'done');
      await waitFor(() => served(member!).at(-1) === tag, { message: `the member serves ${tag}` });
    }
    const [first, second, third] = ids as [string, string, string];
    // The third start kept one ended rollout (the second) and deleted the first, all of it.
    await waitFor(async () => (await env.client.get(keys.rollout(first)).string()) === null, { message: 'the first record is deleted' });
    assert.equal(await env.client.get(keys.candidate(first)).string(), null);
    assert.deepEqual(await env.client.getAll().prefix(keys.verdicts(first)).keys(), []);
    assert.equal(await env.client.get(`${ROLLOUT_INDEX}${first}`).string(), null);
    await assert.rejects(readRollout({ client: env.client, id: first }), /no such rollout/);
    for (const kept of [second, third]) {
      assert.equal((await readRollout({ client: env.client, id: kept })).state, 'done');
      assert.notEqual(await env.client.get(keys.candidate(kept)).string(), null);
    }
    assert.equal((await env.client.getAll().prefix(keys.rollouts).keys()).length, 2);
  });

  it('rejects a bad retainRollouts', async () => {
    const base = { client: env.client, fleet: 'retain', unit: 'config', candidate: {}, actor: 'a', reason: 'r', strategy: { steps: [{ percent: 100 }] } };
    await assert.rejects(rollout({ ...base, retainRollouts: -1 }), /expected `retainRollouts` to be an integer >= 0, got `-1`/);
    await assert.rejects(rollout({ ...base, retainRollouts: 1.5 }), /expected `retainRollouts` to be an integer >= 0/);
  });
});
