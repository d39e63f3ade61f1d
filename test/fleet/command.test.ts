/**
 * `fleetCommand` with a selector reaches exactly the selected live members; a member SIGKILLed a
 * moment before is named as not answering; each member process shares one fleet watch.
 *
 * Six member processes or fewer per file rather than twenty: the suite runs files in parallel on
 * a 2-core machine (bench/fleet.ts runs the 20- and 100-member cases).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ctlWatchCount, fleetCommand, readFleetStatus } from '../../src/fleet/index.js';
import { waitFor } from '../helpers/wait.js';
import { ask, useFleetEnv } from './support.js';
import { haveBinary } from '../helpers/servers.js';

const available = haveBinary('etcd');

describe('fleet: command', { skip: available ? false : 'etcd not installed' }, () => {
  const env = useFleetEnv();

  it('fleetCommand reaches exactly the selected live members; a dead member is named as not answering; one watch per process', async () => {
    const fleet = 'cmd';
    // A 10 s lease: the killed member is still registered when the second command goes out.
    const members = await env.fleetOf(fleet, 4, new Set([0, 2]), { LEASE_TTL_S: '10' });
    const result = await fleetCommand({ client: env.client, fleet, unit: 'config', action: 'reload', selector: { zone: 'b' }, args: { force: true }, timeoutMs: 10_000 });
    assert.deepEqual(result.targets, ['cmd-m0', 'cmd-m2']);
    assert.deepEqual(Object.keys(result.results).sort(), ['cmd-m0', 'cmd-m2']);
    assert.ok(Object.values(result.results).every((r) => r.ok && r.status === 'committed'));
    assert.deepEqual(result.missing, []);
    for (const m of members) {
      const stats = await ask<{ commands: number; watches: number }>(m, 'stats');
      assert.equal(stats.watches, 1, `${m.id} shares one fleet watch`);
      assert.equal(stats.commands, m.id === 'cmd-m0' || m.id === 'cmd-m2' ? 1 : 0, `${m.id} ran the command or not`);
    }
    // A member killed without warning stays registered until its lease expires: it is targeted and named.
    members[2]!.child.kill('SIGKILL');
    await members[2]!.exited;
    const second = await fleetCommand({ client: env.client, fleet, unit: 'config', action: 'reload', selector: { zone: 'b' }, timeoutMs: 1_500 });
    assert.deepEqual(second.targets, ['cmd-m0', 'cmd-m2']);
    assert.deepEqual(second.missing, ['cmd-m2']);
    assert.deepEqual(Object.keys(second.results), ['cmd-m0']);
    // And once the lease expired, it is no longer a member at all.
    await waitFor(async () => !(await readFleetStatus({ client: env.client, fleet })).rows.some((r) => r.instance === 'cmd-m2'), { message: 'the dead member vanished with its lease', timeoutMs: 30_000 });
    assert.equal(ctlWatchCount(env.client, fleet), 0, 'this (controller) process opened no member watch');
  });
});
