/**
 * etcdPrefixTrigger against a real etcd: a put or delete under the prefix is a hint naming the
 * changed keys (the rest of the etcd key, or what `keys` maps it to); keys outside the prefix
 * never hint; a cache fed by it invalidates exactly the changed key; the NATS triggers reject
 * unknown options like every factory.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { etcdPrefixTrigger } from '../../src/etcd/index.js';
import { reloadableCache, invalidationTrigger } from '../../src/cache/index.js';
import { natsSubjectTrigger, jetStreamTrigger, natsPublisher } from '../../src/nats/index.js';
import type { Hint } from '../../src/types.js';
import { haveBinary } from '../helpers/servers.js';
import { testEtcdClient, useEtcd } from '../etcd/support.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';

describe('etcdPrefixTrigger', { skip: haveBinary('etcd') ? false : 'etcd not installed' }, () => {
  const fixture = useEtcd();

  it('start() resolves once etcd has the watch: a change made right after it is hinted, from a cold client every time', async () => {
    for (let round = 0; round < 10; round++) {
      // A new client has no connection yet: its first watch takes a handshake that a put on the
      // fixture's warm client would win, if start() resolved before etcd confirmed the watch.
      const cold = testEtcdClient(fixture.etcd.url);
      const hints: Hint[] = [];
      const trigger = etcdPrefixTrigger(cold, '/cold/');
      try {
        await trigger.start((h) => hints.push(h));
        await fixture.client.put(`/cold/k${round}`).value('x');
        await waitFor(() => hints.length > 0, { message: `the hint of round ${round}` });
        assert.deepEqual(hints.map((h) => h.keys), [[`k${round}`]], 'the change, and no gap');
      } finally {
        await trigger.stop();
        cold.close();
      }
    }
  });

  it('a watch that connects only after startWaitMs fires one reconnect gap, then hints as usual', async () => {
    const proxy = await startTcpProxy(fixture.etcd.port);
    proxy.cut('reset');
    const client = testEtcdClient(`http://127.0.0.1:${proxy.port}`);
    const hints: Hint[] = [];
    const trigger = etcdPrefixTrigger(client, '/late/', { startWaitMs: 200 });
    try {
      await trigger.start((h) => hints.push(h)); // resolves after 200 ms: etcd is unreachable
      assert.equal(hints.length, 0);
      proxy.restore();
      await waitFor(() => hints.length === 1, { message: 'the gap hint once the watch connects' });
      assert.equal(hints[0]!.gap?.reason, 'reconnect');
      assert.match(hints[0]!.detail ?? '', /connected after start\(\) stopped waiting \(200 ms\)/);
      await fixture.client.put('/late/k').value('x');
      await waitFor(() => hints.length === 2, { message: 'the hint of a change after the connection' });
      assert.deepEqual(hints[1]!.keys, ['k']);
      assert.equal(trigger.stats.gaps, 1);
    } finally {
      await trigger.stop();
      client.close();
      await proxy.close();
    }
  });

  it('hints the keys changed under the prefix, and a cache invalidates exactly those', async () => {
    const { client } = fixture;
    const hints: Hint[] = [];
    const trigger = etcdPrefixTrigger(client, '/inval/');
    await trigger.start((h) => hints.push(h));
    try {
      await client.put('/inval/user:1').value('x');
      await client.put('/elsewhere/user:2').value('x');
      await client.delete().key('/inval/user:3');
      await client.put('/inval/user:3').value('x');
      await waitFor(() => hints.length === 2, { message: 'two hints under the prefix' });
      assert.deepEqual(hints.map((h) => h.keys), [['user:1'], ['user:3']]);
      assert.ok(trigger.revision > 0n);
    } finally {
      await trigger.stop();
    }

    const values = new Map([['user:1', 'a'], ['user:2', 'b']]);
    const loads: string[] = [];
    const cache = reloadableCache<string>({
      name: 'users',
      load: (key) => {
        loads.push(key);
        return values.get(key) ?? 'none';
      },
      invalidateOn: [invalidationTrigger({ from: etcdPrefixTrigger(client, '/users/', { keys: (k) => `user:${k.slice('/users/'.length)}` }) })],
    });
    await cache.start();
    try {
      assert.equal(await cache.get('user:1'), 'a');
      assert.equal(await cache.get('user:2'), 'b');
      values.set('user:1', 'A');
      await client.put('/users/1').value('changed');
      await waitFor(async () => (await cache.get('user:1')) === 'A', { message: 'user:1 invalidated' });
      assert.equal(await cache.get('user:2'), 'b');
      assert.deepEqual(loads, ['user:1', 'user:2', 'user:1']);
    } finally {
      await cache.close();
    }
  });

  it('rejects unknown options (etcd and NATS triggers)', () => {
    const { client } = fixture;
    assert.throws(() => etcdPrefixTrigger(client, '/p/', { key: () => null } as never), /unknown option `key`; did you mean `keys`\?/);
    assert.throws(() => etcdPrefixTrigger(client, ''), /prefix/);
    const nc = { subscribe: () => undefined, status: () => undefined, publish: () => undefined } as never;
    assert.throws(() => natsSubjectTrigger(nc, 'a', { pars: () => null } as never), /unknown option `pars`; did you mean `parse`\?/);
    assert.throws(() => jetStreamTrigger({ consumers: { get: () => undefined } } as never, { stream: 'S', subjet: 'x' } as never), /did you mean `subject`/);
    assert.throws(() => natsPublisher(nc, 'a', { idd: 'x' } as never), /unknown option `idd`/);
  });
});
