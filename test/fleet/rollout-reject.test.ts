/**
 * A candidate that passes the schema but fails `healthCheck` on the zone=b members (a real TCP
 * dial to a port their "firewall" blocks): rejected at prepare, before any process served it
 * (each process's own log says so); the rejections name instance, stage and code.
 *
 * Six member processes or fewer per file rather than twenty: the suite runs files in parallel on
 * a 2-core machine (bench/fleet.ts runs the 20- and 100-member cases).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fleetKeys, rollout } from '../../src/fleet/index.js';
import { waitFor } from '../helpers/wait.js';
import { counts, served, useFleetEnv } from './support.js';
import { haveBinary } from '../helpers/servers.js';

const available = haveBinary('etcd');

describe('fleet: rollout-reject', { skip: available ? false : 'etcd not installed' }, () => {
  const env = useFleetEnv();

  it('a candidate whose dependency zone=b cannot reach is rejected at prepare: nobody ever served it, rejections name instance, stage, code', async () => {
    const fleet = 'zoneb';
    const members = await env.fleetOf(fleet, 6, new Set([1, 4]));
    const handle = await rollout({
      client: env.client, fleet, unit: 'config', candidate: { tag: 'v2', db: env.db2 }, actor: 'test', reason: 'move to db2',
      strategy: { steps: [{ percent: 100 }] },
    });
    const final = await handle.done;
    assert.equal(final.state, 'rejected');
    // The controller ends the rollout at the first rejection past maxRejections; every zone=b
    // member's own verdict names its stage and code, and the record names the ones it saw.
    const verdicts = await waitFor(async () => {
      const all = Object.values(await env.client.getAll().prefix(fleetKeys(fleet).verdicts(final.id)).strings()).map((t) => JSON.parse(t) as { instance: string; verdict: string; stage?: string; code?: string });
      const rejections = all.filter((v) => v.verdict === 'rejected');
      return rejections.length === 2 ? rejections : undefined;
    }, { message: 'both zone=b members reported their rejection' });
    assert.deepEqual(verdicts.map((v) => ({ id: v.instance, stage: v.stage, code: v.code })).sort((a, b) => a.id.localeCompare(b.id)), [
      { id: 'zoneb-m1', stage: 'health', code: 'RELOADKIT_HEALTH' },
      { id: 'zoneb-m4', stage: 'health', code: 'RELOADKIT_HEALTH' },
    ]);
    const named = final.decisions.at(-1)!.instances ?? [];
    assert.ok(named.length >= 1 && named.every((id) => id === 'zoneb-m1' || id === 'zoneb-m4'), `the reject decision names zone=b members: ${named.join(', ')}`);
    for (const id of named) assert.deepEqual([final.instances[id]!.stage, final.instances[id]!.code], ['health', 'RELOADKIT_HEALTH']);
    for (const m of members) {
      await waitFor(() => counts(m, 'v2').created === counts(m, 'v2').disposed, { message: `${m.id} disposed its prepared v2` });
      assert.deepEqual(served(m), ['v1'], `${m.id} never served v2`);
      assert.ok(counts(m, 'v2').created <= 1, `${m.id} prepared v2 at most once`);
    }
    assert.equal(await env.client.get(fleetKeys(fleet).canonical('config')).string().then((t) => JSON.parse(t!).tag), 'v1', 'the canonical key is untouched');
  });
});
