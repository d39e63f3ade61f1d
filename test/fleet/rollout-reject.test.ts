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
    const rejected = Object.entries(final.instances).filter(([, e]) => e.verdict === 'rejected').map(([id, e]) => ({ id, stage: e.stage, code: e.code }));
    assert.deepEqual(rejected.sort((a, b) => a.id.localeCompare(b.id)), [
      { id: 'zoneb-m1', stage: 'health', code: 'RELOADKIT_HEALTH' },
      { id: 'zoneb-m4', stage: 'health', code: 'RELOADKIT_HEALTH' },
    ]);
    assert.deepEqual(final.decisions.at(-1)!.instances?.sort(), ['zoneb-m1', 'zoneb-m4']);
    for (const m of members) {
      await waitFor(() => counts(m, 'v2').created === counts(m, 'v2').disposed, { message: `${m.id} disposed its prepared v2` });
      assert.deepEqual(served(m), ['v1'], `${m.id} never served v2`);
      assert.equal(counts(m, 'v2').created, 1, `${m.id} prepared v2 once`);
    }
    assert.equal(await env.client.get(fleetKeys(fleet).canonical('config')).string().then((t) => JSON.parse(t!).tag), 'v1', 'the canonical key is untouched');
  });
});
