/**
 * Units fed by etcdSource against a real etcd: a change committed; an invalid value rejected
 * with the previous generation kept; a deleted key kept; the server killed (SIGKILL) and
 * restarted mid-watch with the change committed after reconnect; compaction past the watched
 * revision recovered; 20 units on one prefix sharing one watch; changes committed from the watch
 * events with no read back to etcd (counted on the client).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Etcd3 } from 'etcd3';
import { z } from 'zod';
import { etcdSource, etcdWatchStats } from '../../src/etcd/index.js';
import { reloadable } from '../../src/index.js';
import type { Reloadable } from '../../src/types.js';
import { haveBinary } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';
import { etcdWatcherCount, startProxy, testEtcdClient, useEtcd } from './support.js';
import { countingEtcdClient } from './counting-client.js';

const available = haveBinary('etcd');
const Config = z.object({ port: z.number().int() });
type Config = z.infer<typeof Config>;

function configUnit(client: Etcd3, key: string, name = key): Reloadable<Config> {
  return reloadable({ name, source: etcdSource(client, { key }), schema: Config, retry: false });
}

describe('etcdSource units', { skip: available ? false : 'etcd not installed' }, () => {
  const env = useEtcd();

  it('commits a change, rejects an invalid value and keeps the previous generation', async () => {
    await env.client.put('/unit/config').value(JSON.stringify({ port: 1 }));
    const unit = configUnit(env.client, '/unit/config');
    try {
      const first = await unit.start();
      assert.equal(unit.get().port, 1);

      await env.client.put('/unit/config').value(JSON.stringify({ port: 2 }));
      await waitFor(() => unit.get().port === 2, { message: 'port 2 committed' });
      const live = unit.current!;
      assert.equal(live.id, first.id + 1);
      assert.equal(live.trigger.kind, 'etcd');

      const rejected = new Promise<{ stage: string }>((resolve) => unit.once('rejected', resolve));
      await env.client.put('/unit/config').value(JSON.stringify({ port: 'http', secret: 'hunter2' }));
      assert.equal((await rejected).stage, 'validate');
      assert.equal(unit.get().port, 2);
      assert.equal(unit.current, live);
      assert.equal(unit.status().lastAttempt?.outcome, 'rejected');
      assert.equal(unit.status().lastAttempt?.error?.code, 'RELOADKIT_VALIDATION');

      const badJson = new Promise<{ stage: string; error: Error }>((resolve) => unit.once('rejected', resolve));
      await env.client.put('/unit/config').value('{"port": 3, "password": "hunter2"');
      const { stage, error } = await badJson;
      assert.equal(stage, 'load');
      assert.doesNotMatch(error.message, /hunter2/);
      assert.match(error.message, /etcd key \/unit\/config/);
      assert.equal(unit.get().port, 2);
      assert.doesNotMatch(JSON.stringify(unit.status()), /hunter2/);

      await env.client.put('/unit/config').value(JSON.stringify({ port: 4 }));
      await waitFor(() => unit.get().port === 4, { message: 'port 4 committed after the rejections' });
    } finally {
      await unit.close();
    }
  });

  it('keeps the live generation when the key is deleted (onDelete: keep) and commits when it returns', async () => {
    await env.client.put('/unit/deleted').value(JSON.stringify({ port: 1 }));
    const unit = configUnit(env.client, '/unit/deleted');
    try {
      await unit.start();
      const rejected = new Promise<{ stage: string; error: Error }>((resolve) => unit.once('rejected', resolve));
      await env.client.delete().key('/unit/deleted');
      const { stage, error } = await rejected;
      assert.equal(stage, 'load');
      assert.match(error.message, /deleted/);
      assert.equal(unit.get().port, 1);
      assert.equal(unit.status().state, 'degraded', 'serving the last generation while the key is gone');
      await env.client.put('/unit/deleted').value(JSON.stringify({ port: 5 }));
      await waitFor(() => unit.get().port === 5, { message: 'recreated key committed' });
      assert.equal(unit.status().state, 'ready');
    } finally {
      await unit.close();
    }
  });

  it('commits a change made across a SIGKILL and restart of etcd, after the watch reconnects', async () => {
    await env.client.put('/unit/crash').value(JSON.stringify({ port: 1 }));
    const unit = configUnit(env.client, '/unit/crash');
    try {
      await unit.start();
      await env.etcd.kill();
      await env.etcd.restart();
      // A separate client writes as soon as the server is back, before the unit's client has
      // necessarily reconnected; the resumed watch (or the reconnect re-read) must bring it.
      const writer = testEtcdClient(env.etcd.url);
      try {
        await waitFor(async () => {
          await writer.put('/unit/crash').value(JSON.stringify({ port: 9 }));
          return true;
        }, { message: 'write after restart', timeoutMs: 20_000, intervalMs: 100 });
      } finally {
        writer.close();
      }
      await waitFor(() => unit.get().port === 9, { message: 'change committed after reconnect', timeoutMs: 30_000 });
      assert.equal(unit.status().state, 'ready');
    } finally {
      await unit.close();
    }
  });

  it('recovers when the watched revision is compacted while the client is cut off', async () => {
    const proxy = await startProxy(env.etcd.port);
    const viaProxy = testEtcdClient(proxy.url);
    await env.client.put('/unit/compact').value(JSON.stringify({ port: 1 }));
    const unit = configUnit(viaProxy, '/unit/compact');
    try {
      await unit.start();
      await env.client.put('/unit/compact').value(JSON.stringify({ port: 2 }));
      await waitFor(() => unit.get().port === 2, { message: 'watch live' });

      proxy.cut();
      await env.client.put('/unit/compact').value(JSON.stringify({ port: 3 }));
      const last = await env.client.put('/unit/compact').value(JSON.stringify({ port: 4 }));
      await env.client.kv.compact({ revision: last.header.revision, physical: true });
      proxy.restore();

      await waitFor(() => unit.get().port === 4, { message: 'latest value after compaction', timeoutMs: 30_000 });
      // The reconnect re-read may commit before etcd's cancellation of the compacted watch lands.
      await waitFor(() => etcdWatchStats(viaProxy).recoveries >= 1, { message: 'the compacted watch re-opened' });
      await env.client.put('/unit/compact').value(JSON.stringify({ port: 5 }));
      await waitFor(() => unit.get().port === 5, { message: 're-opened watch delivers' });
    } finally {
      await unit.close();
      viaProxy.close();
      await proxy.close();
    }
  });

  it('20 units on one prefix share one etcd watch and all commit a change', async () => {
    const Flags = z.object({ level: z.number() });
    await env.client.put('/unit/flags/level').value('1');
    const baseline = await etcdWatcherCount(env.etcd.url);
    const units = Array.from({ length: 20 }, (_, i) =>
      reloadable({ name: `flags-${i}`, source: etcdSource(env.client, { prefix: '/unit/flags/' }), schema: Flags, retry: false }),
    );
    try {
      await Promise.all(units.map((u) => u.start()));
      assert.deepEqual(etcdWatchStats(env.client), { hubs: 1, watchers: 1, subscribers: 20, recoveries: 0 });
      await waitFor(async () => (await etcdWatcherCount(env.etcd.url)) === baseline + 1, { message: 'one etcd watcher' });

      await env.client.put('/unit/flags/level').value('2');
      await waitFor(() => units.every((u) => u.get().level === 2), { message: 'all 20 committed' });
      assert.equal(await etcdWatcherCount(env.etcd.url), baseline + 1);
      assert.ok(units.every((u) => u.current?.id === 2));
    } finally {
      await Promise.all(units.map((u) => u.close()));
    }
    assert.equal(etcdWatchStats(env.client).watchers, 0);
    await waitFor(async () => (await etcdWatcherCount(env.etcd.url)) === baseline, { message: 'watch cancelled with the last unit' });
  });

  it('commits each change from its watch event: one read at start, none per change', async () => {
    const counted = countingEtcdClient(env.etcd.url);
    await env.client.put('/unit/fast').value(JSON.stringify({ port: 1 }));
    const unit = configUnit(counted.client, '/unit/fast');
    try {
      await unit.start();
      // The first change also proves the watch connected (its event, or the catch-up re-read
      // etcd3 gives a watch that connects after the start read): count from there.
      await env.client.put('/unit/fast').value(JSON.stringify({ port: 2 }));
      await waitFor(() => unit.get().port === 2, { message: 'port 2 committed' });
      const atStart = counted.ranges;
      assert.ok(atStart >= 1);
      for (let port = 3; port <= 6; port++) {
        const committed = new Promise<void>((resolve) => unit.once('committed', () => resolve()));
        await env.client.put('/unit/fast').value(JSON.stringify({ port }));
        await committed;
        assert.equal(unit.get().port, port);
      }
      assert.equal(counted.ranges, atStart, 'no read per change');
      // A manual reload reads etcd (it must see every finished put).
      await env.client.put('/unit/fast').value(JSON.stringify({ port: 7 }));
      const result = await unit.reload();
      assert.ok(result.ok);
      await waitFor(() => unit.get().port === 7, { message: 'port 7 committed' });
    } finally {
      await unit.close();
      counted.client.close();
    }
  });
});
