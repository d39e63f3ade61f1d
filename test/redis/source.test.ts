/**
 * Units fed by redisSource against a real redis-server: a change committed (string and hash,
 * keyspace notifications and pub/sub channel); an invalid value rejected with the previous
 * generation kept; keyspace notifications required or enabled; the server killed (SIGKILL) and
 * restarted mid-watch, a change written once it is back committed after reconnect.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { redisSource, missingKeyspaceFlags } from '../../src/redis/index.js';
import { reloadable } from '../../src/index.js';
import { haveBinary, startRedis, type RunningServer } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';
import { startProxy } from '../etcd/support.js';
import { startHeldProxy } from './held-proxy.js';
import { countReads } from '../helpers/count-reads.js';

const available = haveBinary('redis-server');
const Config = z.object({ port: z.number().int() });

/** A client that reconnects every 100 ms (tests kill the server). */
function testClient(url: string): Redis {
  const client = new Redis(url, { retryStrategy: () => 100, maxRetriesPerRequest: 2 });
  client.on('error', () => undefined); // reconnects are expected: the tests cut connections
  return client;
}

describe('redisSource units', { skip: available ? false : 'redis-server not installed' }, () => {
  let redis: RunningServer;
  let client: Redis;
  let writer: Redis;

  before(async () => {
    redis = await startRedis({ args: ['--notify-keyspace-events', 'K$hg'] });
    client = testClient(redis.url);
    writer = testClient(redis.url);
  });
  after(async () => {
    client?.disconnect();
    writer?.disconnect();
    await redis?.stop();
  });

  it('commits a change from keyspace notifications, rejects invalid values and keeps the previous generation', async () => {
    await writer.set('app:config', JSON.stringify({ port: 1 }));
    const unit = reloadable({ name: 'config', source: redisSource(client, 'app:config'), schema: Config, retry: false });
    try {
      await unit.start();
      assert.equal(unit.get().port, 1);
      await writer.set('app:config', JSON.stringify({ port: 2 }));
      await waitFor(() => unit.get().port === 2, { message: 'port 2 committed' });
      assert.equal(unit.current!.trigger.kind, 'redis');
      const live = unit.current;

      const invalid = new Promise<{ stage: string }>((resolve) => unit.once('rejected', resolve));
      await writer.set('app:config', JSON.stringify({ port: 'x' }));
      assert.equal((await invalid).stage, 'validate');
      assert.equal(unit.current, live);

      const badJson = new Promise<{ stage: string; error: Error }>((resolve) => unit.once('rejected', resolve));
      await writer.set('app:config', '{"port": 1, "token": "hunter2"');
      const { stage, error } = await badJson;
      assert.equal(stage, 'load');
      assert.doesNotMatch(error.message, /hunter2/);
      assert.match(error.message, /redis key app:config/);
      assert.equal(unit.get().port, 2);

      await writer.set('app:config', JSON.stringify({ port: 3 }));
      await waitFor(() => unit.get().port === 3, { message: 'port 3 committed after rejections' });
    } finally {
      await unit.close();
    }
  });

  it('reads a hash with HGETALL and reloads on HSET', async () => {
    await writer.hset('app:flags', { beta: 'on', level: '1' });
    const Flags = z.object({ beta: z.enum(['on', 'off']), level: z.coerce.number() });
    const unit = reloadable({ name: 'flags', source: redisSource(client, 'app:flags', { type: 'hash' }), schema: Flags, retry: false });
    try {
      await unit.start();
      assert.deepEqual(unit.get(), { beta: 'on', level: 1 });
      await writer.hset('app:flags', 'level', '2');
      await waitFor(() => unit.get().level === 2, { message: 'hash change committed' });
    } finally {
      await unit.close();
    }
  });

  it('takes hints from a pub/sub channel instead of keyspace notifications', async () => {
    await writer.set('app:channelled', JSON.stringify({ port: 1 }));
    const unit = reloadable({ name: 'channelled', source: redisSource(client, 'app:channelled', { channel: 'config-changed' }), schema: Config, retry: false });
    try {
      await unit.start();
      await writer.set('app:channelled', JSON.stringify({ port: 7 }));
      await waitFor(async () => {
        await writer.publish('config-changed', 'app:channelled');
        return unit.get().port === 7;
      }, { message: 'committed after publish', intervalMs: 100 });
    } finally {
      await unit.close();
    }
  });

  it('requires keyspace notifications (clear error) or enables them when asked', async () => {
    const plain = await startRedis();
    const plainClient = testClient(plain.url);
    try {
      await plainClient.set('k', JSON.stringify({ port: 1 }));
      const strict = reloadable({ name: 'strict', source: redisSource(plainClient, 'k'), schema: Config, retry: false });
      await assert.rejects(strict.start(), /notify-keyspace-events/);
      await strict.close();

      const enabling = reloadable({ name: 'enabling', source: redisSource(plainClient, 'k', { keyspaceEvents: 'enable' }), schema: Config, retry: false });
      try {
        await enabling.start();
        const [, flags] = (await plainClient.config('GET', 'notify-keyspace-events')) as string[];
        assert.equal(missingKeyspaceFlags(flags ?? '', 'string'), '');
        await plainClient.set('k', JSON.stringify({ port: 2 }));
        await waitFor(() => enabling.get().port === 2, { message: 'committed with enabled notifications' });
      } finally {
        await enabling.close();
      }
    } finally {
      plainClient.disconnect();
      await plain.stop();
    }
    assert.equal(missingKeyspaceFlags('', 'hash'), 'Kh');
    assert.equal(missingKeyspaceFlags('KA', 'hash'), '');
    assert.throws(() => redisSource(client, ''), TypeError);
    assert.throws(() => redisSource(client, 'k', { type: 'list' as 'hash' }), /type/);
    assert.throws(() => redisSource(client, 'k', { keyspaceEvents: 'maybe' as 'enable' }), /keyspaceEvents/);
  });

  it('commits a change written after a SIGKILL and restart, once the subscriber reconnects', async () => {
    await writer.set('app:crash', JSON.stringify({ port: 1 }));
    const unit = reloadable({ name: 'crash', source: redisSource(client, 'app:crash'), schema: Config, retry: false });
    try {
      await unit.start();
      await redis.kill();
      await redis.restart(); // no persistence: the server comes back empty
      await waitFor(async () => (await writer.set('app:crash', JSON.stringify({ port: 9 }))) === 'OK', {
        message: 'write once the server is back',
        timeoutMs: 20_000,
        intervalMs: 100,
      });
      await waitFor(() => unit.get().port === 9, { message: 'change committed after reconnect', timeoutMs: 20_000 });
      assert.equal(unit.status().state, 'ready');
    } finally {
      await unit.close();
    }
  });

  it('re-reads after a reconnect: a change made while cut off (its notification lost) is committed', async () => {
    const proxy = await startProxy(redis.port);
    const viaProxy = testClient(`redis://127.0.0.1:${proxy.port}`);
    await writer.set('app:cut', JSON.stringify({ port: 1 }));
    const unit = reloadable({ name: 'cut', source: redisSource(viaProxy, 'app:cut'), schema: Config, retry: false });
    try {
      let settled = 0;
      unit.on('unchanged', () => settled++);
      await unit.start();
      // The re-read hinted once the channel is subscribed must be over before the cut.
      await waitFor(() => settled >= 1, { message: 're-read after subscribe' });
      const subscribed = async () => ((await writer.pubsub('NUMSUB', '__keyspace@0__:app:cut')) as [string, number])[1] === 1;
      await waitFor(subscribed, { message: 'subscriber connected' });
      proxy.cut();
      // Written straight to the server while the unit's connections are down: the keyspace
      // notification goes to nobody.
      await writer.set('app:cut', JSON.stringify({ port: 6 }));
      proxy.restore();
      await waitFor(() => unit.get().port === 6, { message: 'committed by the re-read after reconnect', timeoutMs: 20_000 });
      assert.match(unit.current!.trigger.detail ?? '', /reconnected/);
    } finally {
      await unit.close();
      viaProxy.disconnect();
      await proxy.close();
    }
  });

  it("with keyspaceEvents: 'enable', turns notifications back on after a restarted server forgot them", async () => {
    const plain = await startRedis();
    const plainClient = testClient(plain.url);
    const plainWriter = testClient(plain.url);
    try {
      await plainWriter.set('k', JSON.stringify({ port: 1 }));
      const unit = reloadable({ name: 'enabling', source: redisSource(plainClient, 'k', { keyspaceEvents: 'enable' }), schema: Config, retry: false });
      try {
        await unit.start();
        await plain.kill();
        await plain.restart(); // empty, and notify-keyspace-events back to ""
        await waitFor(async () => {
          const [, flags] = (await plainWriter.config('GET', 'notify-keyspace-events')) as string[];
          return missingKeyspaceFlags(flags ?? '', 'string') === '';
        }, { message: 'flags enabled again after reconnect', timeoutMs: 20_000, intervalMs: 100 });
        await plainWriter.set('k', JSON.stringify({ port: 8 }));
        await waitFor(() => unit.get().port === 8, { message: 'change committed after the restart', timeoutMs: 20_000 });
      } finally {
        await unit.close();
      }
    } finally {
      plainClient.disconnect();
      plainWriter.disconnect();
      await plain.stop();
    }
  });
  it("with keyspaceEvents: 'enable', enables notifications on a server restarted before the subscriber's first connect", async () => {
    // start() returns once the main connection has read; the subscriber connection is still on
    // its way. Hold it until the server has restarted (forgetting the flags the read enabled):
    // its first ready is on the new server, and must check the flags all the same.
    const plain = await startRedis();
    const gate = await startHeldProxy(plain.port);
    const viaGate = testClient(`redis://127.0.0.1:${gate.port}`);
    const plainWriter = testClient(plain.url);
    try {
      await plainWriter.set('k', JSON.stringify({ port: 1 }));
      await viaGate.ping();
      gate.hold();
      const unit = reloadable({ name: 'held', source: redisSource(viaGate, 'k', { keyspaceEvents: 'enable' }), schema: Config, retry: false });
      try {
        await unit.start();
        await waitFor(() => gate.waiting >= 1, { message: 'subscriber connection held' });
        await plain.kill();
        await plain.restart(); // empty, and notify-keyspace-events back to ""
        gate.release();
        await waitFor(async () => {
          const [, flags] = (await plainWriter.config('GET', 'notify-keyspace-events')) as string[];
          return missingKeyspaceFlags(flags ?? '', 'string') === '';
        }, { message: 'flags enabled on the first connect of the subscriber', timeoutMs: 20_000, intervalMs: 100 });
        await plainWriter.set('k', JSON.stringify({ port: 8 }));
        await waitFor(() => unit.get().port === 8, { message: 'change committed after the restart', timeoutMs: 20_000 });
      } finally {
        await unit.close();
      }
    } finally {
      viaGate.disconnect();
      plainWriter.disconnect();
      await gate.close();
      await plain.stop();
    }
  });

  it('does not retry what cannot fix itself (flags off, CONFIG SET refused); retries a missing key', async () => {
    const plain = await startRedis();
    const admin = testClient(plain.url);
    // A user that may read the configuration but not change it (managed Redis often looks so).
    await admin.call('ACL', 'SETUSER', 'reader', 'on', 'nopass', '~*', '&*', '+@all', '-config|set');
    const limited = new Redis(plain.url, { username: 'reader', retryStrategy: () => 100, maxRetriesPerRequest: 2 });
    limited.on('error', () => undefined);
    const retry = { retries: 3, minTimeout: 10 };
    try {
      await admin.set('k', JSON.stringify({ port: 1 }));

      const off = countReads(redisSource(admin, 'k'), { watch: 'mute' });
      const strict = reloadable({ name: 'strict', source: off.source, schema: Config, retry });
      const offError = await strict.start().then(() => undefined, (error: unknown) => error);
      await strict.close();
      assert.match(String(offError), /keyspace notifications are off/);
      assert.equal(off.reads, 1, 'flags off: one attempt, no retry');

      const refused = countReads(redisSource(limited, 'k', { keyspaceEvents: 'enable' }), { watch: 'mute' });
      const enabling = reloadable({ name: 'refused', source: refused.source, schema: Config, retry });
      const refusedError = await enabling.start().then(() => undefined, (error: unknown) => error);
      await enabling.close();
      assert.match(String(refusedError), /refused CONFIG SET/);
      assert.equal(refused.reads, 1, 'CONFIG SET refused: one attempt, no retry');

      // A missing key may be written any moment: transient, retried.
      await admin.config('SET', 'notify-keyspace-events', 'K$g');
      const missing = countReads(redisSource(admin, 'absent'), { watch: 'mute' });
      const waiting = reloadable({ name: 'absent', source: missing.source, schema: Config, retry });
      await assert.rejects(waiting.start(), /does not exist/);
      await waiting.close();
      assert.equal(missing.reads, 4, 'a missing key: the first attempt and 3 retries');
    } finally {
      admin.disconnect();
      limited.disconnect();
      await plain.stop();
    }
  });

  it('rejects an unknown option, naming the closest one', () => {
    assert.throws(() => redisSource(client, 'k', { chanel: 'c' } as never), /redisSource: unknown option `chanel`; did you mean `channel`\?/);
  });
});
