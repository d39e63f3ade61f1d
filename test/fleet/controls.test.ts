/**
 * Rollout controls and prepare holds with a real etcd and real member processes:
 * - paused in its first bake, a rollout stays on its step past the bake time (the other members
 *   never serve the candidate), and `resume()` takes it to done;
 * - aborted in its bake, it rolls the canary back (its own commit log: v1, v2, v1), the canary
 *   refuses the candidate's hash afterwards, and no other member ever served it;
 * - a prepared resource not committed within `prepareHoldMs` is disposed (counted in the member's
 *   own log); when the commit decision comes later, the member prepares again and commits;
 *   meanwhile the record is rewritten for the verdicts alone at most once a second, and it is.
 *
 * Three member processes per test (a 2-core machine runs the suite in parallel).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { fleetKeys, rollout } from '../../src/fleet/index.js';
import type { RolloutRecord } from '../../src/fleet/index.js';
import { haveBinary } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';
import { allReady, ask, counts, served, spawnMember, useFleetEnv } from './support.js';

const available = haveBinary('etcd');

describe('fleet: controls', { skip: available ? false : 'etcd not installed' }, () => {
  const env = useFleetEnv();

  it('pause holds a rollout on its step past the bake time; resume takes it to done', async () => {
    const fleet = 'pause';
    const members = await env.fleetOf(fleet, 3);
    const bakeMs = 800;
    const handle = await rollout({
      client: env.client, fleet, unit: 'config', candidate: { tag: 'v2', db: env.db1 }, actor: 'test', reason: 'pause',
      strategy: { steps: [{ instances: 1, bakeMs }, { percent: 100 }] },
    });
    await waitFor(() => handle.record().phase === 'bake', { message: 'the first step bakes', timeoutMs: 60_000 });
    await handle.pause({ actor: 'test:ops', reason: 'look first' });
    assert.equal(handle.record().state, 'paused');
    await sleep(bakeMs * 3); // well past the bake: a running rollout would have moved on
    assert.equal(handle.record().step, 0, 'no step while paused');
    const canary = Object.keys(handle.record().instances).filter((id) => handle.record().instances[id]!.commit !== undefined);
    assert.equal(canary.length, 1);
    for (const m of members) assert.deepEqual(served(m), m.id === canary[0] ? ['v1', 'v2'] : ['v1'], `${m.id} while paused`);

    await handle.resume({ actor: 'test:ops' });
    const final = await handle.done;
    assert.equal(final.state, 'done');
    assert.deepEqual(final.decisions.map((d) => d.action).filter((a) => a === 'pause' || a === 'resume'), ['pause', 'resume']);
    assert.equal(final.decisions.find((d) => d.action === 'pause')?.actor, 'test:ops');
    for (const m of members) await waitFor(() => served(m).at(-1) === 'v2', { message: `${m.id} serves v2` });
  });

  it('abort in the bake rolls the canary back, which refuses the hash; nobody else served it', async () => {
    const fleet = 'abort';
    const members = await env.fleetOf(fleet, 3);
    const handle = await rollout({
      client: env.client, fleet, unit: 'config', candidate: { tag: 'v2', db: env.db1 }, actor: 'test', reason: 'abort',
      strategy: { steps: [{ instances: 1, bakeMs: 60_000 }, { percent: 100 }] },
    });
    await waitFor(() => handle.record().phase === 'bake', { message: 'the first step bakes', timeoutMs: 60_000 });
    await handle.abort({ actor: 'test:ops', reason: 'wrong ticket' });
    const final = await handle.done;
    assert.equal(final.state, 'aborted');
    const canaryId = Object.keys(final.instances).find((id) => final.instances[id]!.commit !== undefined)!;
    const canary = members.find((m) => m.id === canaryId)!;
    await waitFor(() => served(canary).length === 3, { message: 'the canary rolled back' });
    assert.deepEqual(served(canary), ['v1', 'v2', 'v1']);
    const v2hash = canary.lines.find((l) => l.startsWith('serve ') && l.endsWith(' v2'))!.split(' ')[1]!;
    const status = await ask<{ refused: string[] }>(canary, 'status');
    assert.deepEqual(status.refused, [v2hash], 'the canary refuses the aborted hash');
    for (const m of members.filter((x) => x !== canary)) assert.deepEqual(served(m), ['v1'], `${m.id} never served v2`);
  });

  it('one rollout per fleet and unit: a second start fails with the holder named and takes nothing with it', async () => {
    const fleet = 'locked';
    await env.fleetOf(fleet, 1);
    const start = (tag: string) => rollout({ client: env.client, fleet, unit: 'config', candidate: { tag, db: env.db1 }, actor: 'test', reason: 'lock', strategy: { steps: [{ percent: 100, bakeMs: 60_000 }] } });
    const first = await start('v2');
    await assert.rejects(start('v3'), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'RELOADKIT_ROLLOUT_LOCKED');
      assert.ok(error.message.includes(first.record().id), error.message);
      return true;
    });
    // The failed start did not touch the lock: the first rollout holds it still.
    assert.equal(await env.client.get(fleetKeys(fleet).lock('config')).string(), first.record().id);
    await first.abort({ actor: 'test' });
    assert.equal((await first.done).state, 'aborted');
  });

  it('a prepared resource not committed within prepareHoldMs is disposed; a later commit decision prepares again; verdicts alone are folded into the record at most once a second', async (t) => {
    const fleet = 'hold';
    const holdKey = '/test/hold/go';
    await env.client.put(fleetKeys(fleet).canonical('config')).value(JSON.stringify({ tag: 'v1', db: env.db1 }));
    // Two members that hold a prepared candidate for 1.5 s at most, and one whose prepare waits for holdKey.
    const quick = [0, 1].map((i) => spawnMember(env.etcd.url, fleet, `${fleet}-m${i}`, { zone: 'a' }, undefined, { PREPARE_HOLD_MS: '1500' }));
    const slow = spawnMember(env.etcd.url, fleet, `${fleet}-m2`, { zone: 'a' }, undefined, { HOLD_KEY: holdKey, HOLD_TAG: 'v2' });
    const members = [...quick, slow];
    env.procs.push(...members);
    await allReady(members);

    // Every version of the record, as written.
    const versions: RolloutRecord[] = [];
    const watcher = await env.client.watch().prefix(fleetKeys(fleet).rollouts).create();
    watcher.on('put', (kv) => versions.push(JSON.parse(kv.value.toString()) as RolloutRecord));
    t.after(() => watcher.cancel());

    const handle = await rollout({ client: env.client, fleet, unit: 'config', candidate: { tag: 'v2', db: env.db1 }, actor: 'test', reason: 'hold', strategy: { steps: [{ percent: 100 }] } });
    await waitFor(() => slow.lines.includes('holding v2'), { message: 'the slow member is preparing' });
    for (const m of quick) {
      await waitFor(() => counts(m, 'v2').disposed === 1, { message: `${m.id} disposed its prepared v2 after the hold` });
      // The stats count a discard once its dispose returned, a moment after the log line above.
      const stats = await waitFor(async () => {
        const s = await ask<{ discarded: number; prepared: number }>(m, 'stats');
        return s.discarded > 0 ? s : undefined;
      }, { message: `${m.id} counts the discard` });
      assert.deepEqual([stats.prepared, stats.discarded], [1, 1]);
      assert.deepEqual(served(m), ['v1'], `${m.id} never served the candidate it held`);
    }

    await env.client.put(holdKey).value('go');
    const final = await handle.done;
    assert.equal(final.state, 'done');
    for (const m of members) {
      await waitFor(() => served(m).at(-1) === 'v2', { message: `${m.id} serves v2` });
      const live = counts(m, 'v2');
      // The quick ones prepared twice (one disposed after the hold, one committed); the slow one once.
      assert.deepEqual(live, quick.includes(m) ? { created: 2, disposed: 1 } : { created: 1, disposed: 0 }, `${m.id} v2 resources`);
    }

    // The record is written on decisions. A version that only folds in verdicts (the quick members
    // answering while the slow one prepares) comes a second or more after the one before it...
    await waitFor(() => versions.at(-1)?.state === 'done', { message: 'the watch saw the last version' });
    for (let i = 1; i < versions.length; i++) {
      const [before, version] = [versions[i - 1]!, versions[i]!];
      if (version.decisions.length > before.decisions.length) continue;
      assert.ok(version.updatedAt! >= before.updatedAt! + 1000, `version ${i} only folds verdicts, ${version.updatedAt! - before.updatedAt!} ms after the one before`);
    }
    // ...but it does come: during the hold the record showed the quick members prepared.
    assert.ok(
      versions.some((v) => v.phase === 'prepare' && quick.every((m) => v.instances[m.id]?.verdict === 'prepared')),
      `no version in the prepare phase showed the quick members prepared: ${JSON.stringify(versions.map((v) => [v.phase, v.decisions.length]))}`,
    );
  });
});
