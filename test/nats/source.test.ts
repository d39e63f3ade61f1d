/**
 * Units fed by natsKvSource against a real `nats-server -js`: a change committed; an invalid
 * value rejected with the previous generation kept; a deleted key kept; the server killed
 * (SIGKILL) and restarted mid-watch, a change written after the restart committed once the
 * client reconnects and the watch resumes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import { z } from 'zod';
import { natsKvSource } from '../../src/nats/index.js';
import { reloadable } from '../../src/index.js';
import { haveBinary, startNats, type RunningServer } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';
import { startProxy } from '../etcd/support.js';

const available = haveBinary('nats-server');
const Config = z.object({ port: z.number().int() });

/** A connection that keeps reconnecting every 100 ms (tests kill the server). */
function testConnection(url: string): Promise<NatsConnection> {
  return connect({ servers: url, reconnectTimeWait: 100, maxReconnectAttempts: -1, reconnectJitter: 0 });
}

describe('natsKvSource units', { skip: available ? false : 'nats-server not installed' }, () => {
  let nats: RunningServer;
  let nc: NatsConnection;
  let kv: KV;
  let writerNc: NatsConnection;
  let writer: KV;

  before(async () => {
    nats = await startNats();
    nc = await testConnection(nats.url);
    kv = await new Kvm(nc).create('app', { history: 5 });
    writerNc = await testConnection(nats.url);
    writer = await new Kvm(writerNc).open('app');
  });
  after(async () => {
    await nc?.close();
    await writerNc?.close();
    await nats?.stop();
  });

  it('commits a change, rejects invalid values and keeps the previous generation', async () => {
    await writer.put('config', JSON.stringify({ port: 1 }));
    const source = natsKvSource(kv, 'config');
    assert.equal(source.describe(), 'nats kv app/config');
    const unit = reloadable({ name: 'config', source, schema: Config, retry: false });
    try {
      await unit.start();
      assert.equal(unit.get().port, 1);
      await writer.put('config', JSON.stringify({ port: 2 }));
      await waitFor(() => unit.get().port === 2, { message: 'port 2 committed' });
      assert.equal(unit.current!.trigger.kind, 'nats');
      const live = unit.current;

      const invalid = new Promise<{ stage: string }>((resolve) => unit.once('rejected', resolve));
      await writer.put('config', JSON.stringify({ port: 'x' }));
      assert.equal((await invalid).stage, 'validate');
      assert.equal(unit.current, live);

      const badJson = new Promise<{ stage: string; error: Error }>((resolve) => unit.once('rejected', resolve));
      await writer.put('config', '{"port": 1, "token": "hunter2"');
      const { stage, error } = await badJson;
      assert.equal(stage, 'load');
      assert.doesNotMatch(error.message, /hunter2/);
      assert.equal(unit.get().port, 2);

      const deleted = new Promise<{ stage: string; error: Error }>((resolve) => unit.once('rejected', resolve));
      await writer.delete('config');
      assert.match((await deleted).error.message, /deleted/);
      assert.equal(unit.get().port, 2);

      await writer.put('config', JSON.stringify({ port: 3 }));
      await waitFor(() => unit.get().port === 3, { message: 'port 3 committed after rejections' });
      assert.ok(source.revision > 0);
    } finally {
      await unit.close();
    }
  });

  it('commits a change made across a SIGKILL and restart, after the client reconnects', async () => {
    await writer.put('crash', JSON.stringify({ port: 1 }));
    const unit = reloadable({ name: 'crash', source: natsKvSource(kv, 'crash'), schema: Config, retry: false });
    try {
      await unit.start();
      await nats.kill();
      await nats.restart(); // same port and JetStream store: the bucket survives
      await waitFor(async () => {
        await writer.put('crash', JSON.stringify({ port: 9 }));
        return true;
      }, { message: 'write after restart', timeoutMs: 20_000, intervalMs: 200 });
      await waitFor(() => unit.get().port === 9, { message: 'change committed after reconnect', timeoutMs: 30_000 });
      // The resumed watch keeps delivering.
      await writer.put('crash', JSON.stringify({ port: 10 }));
      await waitFor(() => unit.get().port === 10, { message: 'watch alive after reconnect', timeoutMs: 30_000 });
    } finally {
      await unit.close();
    }
  });

  it('changes written while the unit is cut off from the server are committed after it reconnects', async () => {
    const proxy = await startProxy(nats.port);
    const viaNc = await testConnection(`nats://127.0.0.1:${proxy.port}`);
    const viaKv = await new Kvm(viaNc).open('app');
    await writer.put('cut', JSON.stringify({ port: 1 }));
    const unit = reloadable({ name: 'cut', source: natsKvSource(viaKv, 'cut'), schema: Config, retry: false });
    const commits: number[] = [];
    unit.on('committed', ({ current }) => commits.push(current.value.port));
    try {
      await unit.start();
      await writer.put('cut', JSON.stringify({ port: 2 }));
      await waitFor(() => unit.get().port === 2, { message: 'watch live' });
      proxy.cut();
      // Written straight to the server while the unit's connection is down: only the resumed
      // watch (from the last seen revision) or the reconnect re-read can bring them.
      await writer.put('cut', JSON.stringify({ port: 7 }));
      await writer.put('cut', JSON.stringify({ port: 8 }));
      assert.equal(unit.get().port, 2, 'nothing reached the unit while cut off');
      proxy.restore();
      await waitFor(() => unit.get().port === 8, { message: 'the latest change committed after reconnect', timeoutMs: 30_000 });
      await writer.put('cut', JSON.stringify({ port: 9 }));
      await waitFor(() => unit.get().port === 9, { message: 'watch alive after reconnect', timeoutMs: 30_000 });
      // start, the live change, the latest value written while cut off (read whole, so 7 is
      // folded into 8), the next change: no stale or duplicate commit.
      assert.deepEqual(commits, [1, 2, 8, 9]);
    } finally {
      await unit.close();
      await viaNc.close();
      await proxy.close();
    }
  });

  it('rejects invalid arguments with a precise TypeError', () => {
    assert.throws(() => natsKvSource({} as KV, 'k'), TypeError);
    assert.throws(() => natsKvSource(kv, ''), /non-empty string/);
    assert.throws(() => natsKvSource(kv, 'k', { retryMs: 0 }), /retryMs/);
  });
});
