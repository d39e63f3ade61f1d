/**
 * redisChannelTrigger and redisStreamTrigger against a real redis-server: envelopes become hints
 * naming their keys; a duplicate is dropped; a skipped sequence number is a `sequence` gap; a
 * foreign message still hints (through `parse` when given); an undecodable one is reported once;
 * a reconnect of the subscriber is a `reconnect` gap; a stream resumes after a cut with nothing
 * missed and no gap; unknown options are rejected.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { publishInvalidation, redisChannelTrigger, redisPublisher, redisStreamTrigger } from '../../src/redis/index.js';
import type { Hint } from '../../src/types.js';
import { invalidationTrigger, reloadableCache } from '../../src/cache/index.js';
import { haveBinary, startRedis, type RunningServer } from '../helpers/servers.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';

const available = haveBinary('redis-server');

function testClient(url: string): Redis {
  const client = new Redis(url, { retryStrategy: () => 50, maxRetriesPerRequest: null });
  client.on('error', () => undefined);
  return client;
}

describe('Redis message triggers', { skip: available ? false : 'redis-server not installed' }, () => {
  let redis: RunningServer;
  let client: Redis;
  before(async () => {
    redis = await startRedis();
    client = testClient(redis.url);
  });
  after(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it('channel: keys from envelopes, duplicates dropped, sequence gaps, foreign messages, undecodable ones reported once', async () => {
    const hints: Hint[] = [];
    const errors: Error[] = [];
    const trigger = redisChannelTrigger(client, 'inval', { parse: (text) => (text.startsWith('keys:') ? { keys: text.slice(5).split(',') } : null), onError: (e) => errors.push(e) });
    await trigger.start((h) => hints.push(h));
    try {
      const bus = redisPublisher(client, { channel: 'inval', id: 'api' });
      await publishInvalidation(bus, { keys: ['user:1'] });
      await waitFor(() => hints.length === 1, { message: 'first hint' });
      assert.deepEqual(hints[0]!.keys, ['user:1']);
      assert.equal(hints[0]!.gap, undefined);
      // Replay the same envelope (a duplicate), then skip a number (seq 3 never sent: a loss).
      await client.publish('inval', JSON.stringify({ reloadkit: 1, pub: 'api', epoch: bus.epoch, seq: 1, keys: ['user:1'] }));
      bus.nextSeq(); // burns seq 2
      await publishInvalidation(bus, { prefix: 'org:' });
      await waitFor(() => hints.length === 2, { message: 'hint after the hole' });
      assert.equal(hints[1]!.prefix, 'org:');
      assert.equal(hints[1]!.gap?.reason, 'sequence');
      await client.publish('inval', 'keys:a,b');
      await client.publish('inval', 'plain text');
      await client.publish('inval', '{"reloadkit":1,"pub":"api","epoch":"e","seq":0,"password":"hunter2"}');
      await publishInvalidation(bus, { all: true });
      await waitFor(() => hints.length === 5, { message: 'foreign messages and the last envelope' });
      assert.deepEqual(hints[2]!.keys, ['a', 'b']);
      assert.equal(hints[3]!.keys, undefined);
      assert.equal(hints[4]!.all, true);
      assert.equal(errors.length, 1);
      assert.doesNotMatch(errors[0]!.message, /hunter2/);
      assert.deepEqual(trigger.stats, { messages: 7, gaps: 1, undeliverable: 1, reconnects: 0 });
    } finally {
      await trigger.stop();
    }
  });

  it('channel: a subscriber that reconnects reports a reconnect gap once it is subscribed again', async () => {
    const proxy = await startTcpProxy(redis.port);
    const viaProxy = testClient(`redis://127.0.0.1:${proxy.port}`);
    const hints: Hint[] = [];
    const trigger = redisChannelTrigger(viaProxy, 'inval-cut');
    await trigger.start((h) => hints.push(h));
    try {
      proxy.cut('reset');
      await client.publish('inval-cut', 'lost while cut');
      proxy.restore();
      await waitFor(() => hints.some((h) => h.gap?.reason === 'reconnect'), { message: 'reconnect gap', timeoutMs: 20_000 });
      await client.publish('inval-cut', 'after');
      await waitFor(() => hints.length === 2, { message: 'messages flow again' });
      assert.equal(trigger.stats.messages, 1);
    } finally {
      await trigger.stop();
      viaProxy.disconnect();
      await proxy.close();
    }
  });

  it('stream: resumes from the last id after a cut, nothing missed and no gap', async () => {
    const proxy = await startTcpProxy(redis.port);
    const viaProxy = testClient(`redis://127.0.0.1:${proxy.port}`);
    const bus = redisPublisher(client, { stream: 'inval-stream' });
    await publishInvalidation(bus, { keys: ['before-start'] }); // before start(): not delivered ('$')
    const hints: Hint[] = [];
    const trigger = redisStreamTrigger(viaProxy, 'inval-stream', { blockMs: 500, onError: () => undefined });
    await trigger.start((h) => hints.push(h));
    try {
      await publishInvalidation(bus, { keys: ['k1'] });
      await waitFor(() => hints.length === 1, { message: 'first entry' });
      proxy.cut('reset');
      for (let i = 2; i <= 20; i++) await publishInvalidation(bus, { keys: [`k${i}`] });
      proxy.restore();
      await waitFor(() => hints.length === 20, { message: 'every entry after the cut', timeoutMs: 20_000 });
      assert.deepEqual(hints.map((h) => h.keys![0]), Array.from({ length: 20 }, (_, i) => `k${i + 1}`));
      assert.ok(hints.every((h) => h.gap === undefined));
    } finally {
      await trigger.stop();
      viaProxy.disconnect();
      await proxy.close();
    }
  });

  it('the docs/cache.md example: a cache invalidated over redisChannelTrigger by publishInvalidation', async () => {
    const loads = new Map<string, number>();
    let version = 1;
    const products = reloadableCache({
      name: 'products',
      load: (key: string) => {
        loads.set(key, (loads.get(key) ?? 0) + 1);
        return `${key}@v${version}`;
      },
      invalidateOn: [invalidationTrigger({ from: redisChannelTrigger(client, 'catalog-changes'), mode: 'refresh' })],
    });
    await products.start();
    try {
      assert.equal(await products.get('product:42'), 'product:42@v1');
      assert.equal(await products.get('product:7'), 'product:7@v1');
      version = 2;
      const bus = redisPublisher(client, { channel: 'catalog-changes', id: 'catalog-api' });
      await publishInvalidation(bus, { keys: ['product:42'] });
      await waitFor(async () => (await products.get('product:42')) === 'product:42@v2', { message: 'product:42 refreshed' });
      assert.equal(await products.get('product:7'), 'product:7@v1', 'a key not named stays');
      assert.equal(loads.get('product:42'), 2);
      assert.equal(loads.get('product:7'), 1);
      await publishInvalidation(bus, { prefix: 'product:' });
      await waitFor(async () => (await products.get('product:7')) === 'product:7@v2', { message: 'the prefix refreshed' });
    } finally {
      await products.close();
    }
  });

  it('rejects bad arguments and unknown options', () => {
    assert.throws(() => redisChannelTrigger(client, ''), /channel/);
    assert.throws(() => redisChannelTrigger(client, 'c', { onErorr: () => undefined } as never), /unknown option `onErorr`; did you mean `onError`\?/);
    assert.throws(() => redisStreamTrigger(client, 's', { blockMs: 0 }), /blockMs/);
    assert.throws(() => redisPublisher(client, { channel: 'a', stream: 'b' }), /exactly one/);
    const bus = redisPublisher(client, { channel: 'a' });
    assert.throws(() => publishInvalidation(bus, { keys: ['a'], prefix: 'b' } as never), /exactly one/);
    assert.throws(() => publishInvalidation(bus, { keys: 'a' } as never), /keys/);
  });
});
