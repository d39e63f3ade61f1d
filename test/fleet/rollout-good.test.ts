/**
 * A good fleet rollout with a real etcd and twenty real member processes
 * (test/fleet/member-worker.ts): three steps (1, 25%, 100%) with bake; every member converges on
 * the candidate, the canonical key holds it, the fleet table shows one hash, audit records name
 * every decision and its actor.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cohortOrder, fleetKeys, readFleetStatus, formatFleetStatus, rollout, type FleetAuditRecord } from '../../src/fleet/index.js';
import { waitFor } from '../helpers/wait.js';
import { counts, served, useFleetEnv } from './support.js';
import { haveBinary } from '../helpers/servers.js';

const available = haveBinary('etcd');

describe('fleet: rollout-good', { skip: available ? false : 'etcd not installed' }, () => {
  const env = useFleetEnv();

  it('twenty member processes: a good rollout through three steps with bake: all converge, the canonical key holds the candidate, the table shows one hash', async () => {
    const fleet = 'good';
    const members = await env.fleetOf(fleet, 20);
    const audit: FleetAuditRecord[] = [];
    const candidate = { tag: 'v2', db: env.db1 };
    const handle = await rollout({
      client: env.client, fleet, unit: 'config', candidate, actor: 'test:alice', reason: 'v2',
      strategy: { steps: [{ instances: 1, bakeMs: 200 }, { percent: 25, bakeMs: 200 }, { percent: 100 }], errorRateThreshold: 0.1 },
      onAudit: (r) => audit.push(r),
    });
    const final = await handle.done;
    assert.equal(final.state, 'done');
    // The steps reached the instances in cohort order: 1, then 5 (25% of 20), then all 20.
    const order = cohortOrder(members.map((m) => m.id));
    const byStep = [0, 1, 2].map((s) => Object.entries(final.instances).filter(([, e]) => e.step === s).map(([id]) => id).sort());
    assert.deepEqual(byStep, [order.slice(0, 1).sort(), order.slice(1, 5).sort(), order.slice(5).sort()]);
    assert.deepEqual(audit.map((a) => a.action), ['start', 'commit', 'bake', 'step', 'commit', 'bake', 'step', 'commit', 'bake', 'done']);
    assert.ok(audit.every((a) => a.actor === 'test:alice' && a.candidateHash === final.candidateHash));

    assert.deepEqual(JSON.parse((await env.client.get(fleetKeys(fleet).canonical('config')).string())!), candidate);
    const status = await waitFor(async () => {
      const s = await readFleetStatus({ client: env.client, fleet });
      return s.rows.length === 20 && s.hashes.config?.length === 1 ? s : undefined;
    }, { message: 'the fleet table shows one hash' });
    const v2hash = members[0]!.lines.find((l) => l.startsWith('serve ') && l.endsWith(' v2'))?.split(' ')[1];
    assert.deepEqual(status.hashes.config, [v2hash]);
    assert.match(formatFleetStatus(status), /^INSTANCE\s+LABELS\s+UNIT\s+GEN\s+HASH\s+STATE\s+LAST/);
    for (const m of members) {
      assert.deepEqual(served(m), ['v1', 'v2'], `${m.id} served v1 then v2, once each`);
      // Exactly one v2 resource, never disposed: the warm prepared one is the one that went live.
      assert.deepEqual(counts(m, 'v2'), { created: 1, disposed: 0 });
    }
  });
});
