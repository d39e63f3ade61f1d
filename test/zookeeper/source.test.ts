/**
 * zookeeperSource against a real ZooKeeper (java, standalone, loopback, temp dir): a change
 * commits; an invalid value is rejected and the live generation kept; 200 fast setData calls end
 * on the last value; children mode; a session expiry (the server killed and restarted while the
 * client is cut off past its session timeout) is followed by a new session, re-armed watches and
 * a re-read; a read older than one already returned never overwrites it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import zookeeper, { type Client } from 'node-zookeeper-client';
import { z } from 'zod';
import { reloadable } from '../../src/index.js';
import { zookeeperSource, type ZkClient } from '../../src/zookeeper/index.js';
import { haveZookeeper, startZookeeper, type RunningZookeeper } from '../helpers/zookeeper.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { nextEvent, sleep, waitFor } from '../helpers/wait.js';

const available = haveZookeeper();
const Config = z.object({ n: z.number().int() });

function connected(client: Client): Promise<Client> {
  return new Promise((resolve) => {
    client.once('connected', () => resolve(client));
    client.connect();
  });
}

const run = <T>(fn: (cb: (error: Error | null, result: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => fn((error, result) => (error ? reject(error) : resolve(result))));

function setData(client: Client, path: string, value: unknown): Promise<unknown> {
  return run((cb) => client.setData(path, Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)), -1, cb));
}

async function ensure(client: Client, path: string, value: unknown): Promise<void> {
  await run<string>((cb) => client.mkdirp(path, Buffer.from(JSON.stringify(value)), cb));
  await setData(client, path, value);
}

describe('zookeeperSource', { skip: available ? false : 'zookeeper not installed' }, () => {
  let zk: RunningZookeeper;
  let writer: Client;

  before(async () => {
    zk = await startZookeeper();
    writer = await connected(zookeeper.createClient(zk.connectString, { sessionTimeout: 4000 }));
  });
  after(async () => {
    writer?.close();
    await zk?.stop();
  });

  it('commits a change, rejects an invalid value keeping the live one, and ends 200 fast setData calls on the last value', async () => {
    await ensure(writer, '/app/config', { n: 1 });
    const source = zookeeperSource(() => zookeeper.createClient(zk.connectString, { sessionTimeout: 4000 }) as unknown as ZkClient, '/app/config');
    const unit = reloadable({ name: 'zk', source, schema: Config, retry: false });
    try {
      await unit.start();
      assert.equal(unit.get().n, 1);
      await setData(writer, '/app/config', { n: 2 });
      await waitFor(() => unit.get().n === 2, { message: 'n = 2 committed' });
      assert.equal(unit.current!.trigger.kind, 'zookeeper');

      const live = unit.current;
      const rejected = nextEvent<{ stage: string }>(unit as never, 'rejected');
      await setData(writer, '/app/config', { n: 'two' });
      assert.equal((await rejected).stage, 'validate');
      assert.equal(unit.current, live);
      const badJson = nextEvent<{ stage: string; error: Error }>(unit as never, 'rejected');
      await setData(writer, '/app/config', '{"n": 3, "secret": "hunter2"');
      const { stage, error } = await badJson;
      assert.equal(stage, 'load');
      assert.doesNotMatch(error.message, /hunter2/);
      assert.equal(unit.get().n, 2);

      // One-shot watches: each event re-arms before hinting, so a burst never strands an old value.
      await Promise.all(Array.from({ length: 200 }, (_, i) => setData(writer, '/app/config', { n: 1000 + i + 1 })));
      await waitFor(() => unit.get().n === 1200, { message: 'the last of 200 writes committed', timeoutMs: 30_000 });
      assert.ok(source.stats.watchEvents >= 2, 'the watch fired more than once: it was re-armed');
      assert.ok(source.zxid > 0n);
    } finally {
      await unit.close();
    }
  });

  it('reads the children of a znode as an object and reloads when a child is added or changed', async () => {
    await ensure(writer, '/app/flags/beta', { n: 1 });
    const source = zookeeperSource(() => zookeeper.createClient(zk.connectString) as unknown as ZkClient, '/app/flags', { children: true });
    const unit = reloadable({ name: 'flags', source, schema: z.record(z.string(), Config), retry: false });
    try {
      await unit.start();
      assert.deepEqual(unit.get(), { beta: { n: 1 } });
      await run<string>((cb) => writer.create('/app/flags/gamma', Buffer.from(JSON.stringify({ n: 5 })), cb));
      await waitFor(() => unit.get().gamma?.n === 5, { message: 'new child committed' });
      await setData(writer, '/app/flags/beta', { n: 2 });
      await waitFor(() => unit.get().beta?.n === 2, { message: 'changed child committed' });
    } finally {
      await unit.close();
    }
  });

  it('after a session expiry (server killed and restarted, client away past its session timeout) opens a new session, re-arms and re-reads', async () => {
    await ensure(writer, '/app/expiry', { n: 1 });
    const proxy = await startTcpProxy(zk.port);
    const sessionTimeout = 2000;
    const source = zookeeperSource(
      () => zookeeper.createClient(`127.0.0.1:${proxy.port}`, { sessionTimeout, spinDelay: 100 }) as unknown as ZkClient,
      '/app/expiry',
      { connectTimeoutMs: 600_000 },
    );
    const unit = reloadable({ name: 'expiry', source, schema: Config, retry: false });
    try {
      await unit.start();
      assert.equal(source.stats.sessions, 1);
      proxy.cut('reset');
      await zk.kill();
      await zk.restart(); // sessions come back from the log, and expire unless their client returns
      writer.close();
      writer = await connected(zookeeper.createClient(zk.connectString, { sessionTimeout: 4000 }));
      await setData(writer, '/app/expiry', { n: 2 }); // written while the unit's client is away
      // Stay away past the session timeout (counted from the restart), so the server expires it.
      await sleep(sessionTimeout * 3);
      // A reload now waits for the dead session to connect; its expiry ends the wait at once
      // (not after connectTimeoutMs, here far longer than the test).
      const waiting = unit.reload();
      proxy.restore();
      const during = await waiting;
      assert.equal(during.status, 'rejected');
      assert.match(during.error?.message ?? '', /session expired while connecting/);
      await waitFor(() => source.stats.expiries >= 1, { message: 'the client saw its session expire', timeoutMs: 30_000 });
      await waitFor(() => unit.get().n === 2, { message: 're-read after the new session', timeoutMs: 30_000 });
      assert.equal(source.stats.sessions, 2);
      assert.match(unit.current!.trigger.detail ?? '', /session expired/);
      // The watch lives on the new session.
      await setData(writer, '/app/expiry', { n: 3 });
      await waitFor(() => unit.get().n === 3, { message: 'a change after the new session commits' });
    } finally {
      await unit.close();
      await proxy.close();
    }
  });

  it('a read that comes back older (lower mzxid) than one already returned never overwrites it', async () => {
    await ensure(writer, '/app/order', { n: 1 });
    const real = await connected(zookeeper.createClient(zk.connectString));
    // Capture the answer for n = 1, then replay it after n = 2 was read: a lagging server's answer.
    let replay: [Error | null, Buffer | undefined, { mzxid: Buffer; pzxid: Buffer; version: number }] | undefined;
    let capture = true;
    const client = Object.create(real) as Client;
    client.getData = (path, watcher, cb) => {
      if (replay && !capture) return cb(...replay);
      real.getData(path, watcher, (...args) => {
        if (capture && !replay) replay = args;
        cb(...args);
      });
    };
    const source = zookeeperSource(client as unknown as ZkClient, '/app/order');
    const unit = reloadable({ name: 'order', source, schema: Config, retry: false });
    try {
      await unit.start();
      capture = false;
      const stale = replay;
      replay = undefined;
      await setData(writer, '/app/order', { n: 2 });
      await waitFor(() => unit.get().n === 2, { message: 'n = 2 committed' });
      replay = stale;
      const result = await unit.reload();
      assert.equal(result.status, 'unchanged');
      assert.equal(unit.get().n, 2);
      assert.equal(source.stats.staleReads, 1);
    } finally {
      await unit.close();
      real.close();
    }
  });

  it('rejects bad arguments and unknown options', () => {
    const factory = () => zookeeper.createClient(zk.connectString) as unknown as ZkClient;
    assert.throws(() => zookeeperSource(factory, 'no-slash'), /start with \//);
    assert.throws(() => zookeeperSource({} as ZkClient, '/a'), TypeError);
    assert.throws(() => zookeeperSource(factory, '/a', { childern: true } as never), /unknown option `childern`; did you mean `children`\?/);
  });
});
