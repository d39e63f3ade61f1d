/**
 * etcdSource against a real etcd, at the Source level (read / watch), without a unit: reads of
 * keys and prefixes, errors that never quote values, the delete policy, one shared watch for many
 * sources, no change lost between a read and a later watch, and recovery from compaction.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Etcd3 } from 'etcd3';
import { etcdSource, etcdWatchStats } from '../../src/etcd/index.js';
import { subscribeHub } from '../../src/etcd/hub.js';
import type { Hint } from '../../src/types.js';
import { haveBinary, startEtcd, type RunningServer } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';
import { etcdWatcherCount, startProxy, testEtcdClient } from './support.js';

const available = haveBinary('etcd');
const signal = new AbortController().signal;

describe('etcdSource (read and watch)', { skip: available ? false : 'etcd not installed' }, () => {
  let etcd: RunningServer;
  let client: Etcd3;

  before(async () => {
    etcd = await startEtcd();
    client = testEtcdClient(etcd.url);
  });
  after(async () => {
    client?.close();
    await etcd?.stop();
  });

  it('reads a key as JSON and a prefix as an object keyed by the rest of each key', async () => {
    await client.put('/read/config').value(JSON.stringify({ port: 8080 }));
    await client.put('/read/flags/beta').value('true');
    await client.put('/read/flags/limits/rps').value('50');
    assert.deepEqual(await etcdSource(client, { key: '/read/config' }).read({ signal }), { port: 8080 });
    assert.deepEqual(await etcdSource(client, { prefix: '/read/flags/' }).read({ signal }), { beta: true, 'limits/rps': 50 });
    await client.put('/read/odd/__proto__').value('{"polluted": true}');
    const odd = (await etcdSource(client, { prefix: '/read/odd/' }).read({ signal })) as Record<string, unknown>;
    assert.deepEqual(Object.keys(odd), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const raw = etcdSource(client, { key: '/read/config' }, { parse: (text) => text.length });
    assert.equal(await raw.read({ signal }), JSON.stringify({ port: 8080 }).length);
    assert.equal(etcdSource(client, { key: '/read/config' }).describe(), 'etcd key /read/config');
    assert.equal(etcdSource(client, { prefix: '/read/flags/' }).describe(), 'etcd prefix /read/flags/');
  });

  it('fails with a LoadError that names the key and never quotes the value', async () => {
    await client.put('/read/bad').value('{"password": "hunter2"');
    await assert.rejects(etcdSource(client, { key: '/read/bad' }).read({ signal }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'RELOADKIT_LOAD');
      assert.match(error.message, /\/read\/bad/);
      assert.doesNotMatch(error.message, /hunter2/);
      return true;
    });
    await assert.rejects(etcdSource(client, { key: '/read/missing' }).read({ signal }), /does not exist/);
  });

  it("keeps (fails the read) or hands on an empty candidate when the key is deleted", async () => {
    await client.put('/del/keep').value('1');
    await client.put('/del/reject').value('1');
    const keep = etcdSource(client, { key: '/del/keep' });
    const reject = etcdSource(client, { key: '/del/reject' }, { onDelete: 'reject' });
    assert.equal(await keep.read({ signal }), 1);
    assert.equal(await reject.read({ signal }), 1);
    await client.delete().key('/del/keep');
    await client.delete().key('/del/reject');
    await assert.rejects(keep.read({ signal }), (error: Error & { code?: string }) => error.code === 'RELOADKIT_LOAD' && /deleted/.test(error.message));
    assert.equal(await reject.read({ signal }), null);
  });

  it('rejects invalid arguments with a precise TypeError', () => {
    assert.throws(() => etcdSource({} as Etcd3, { key: 'a' }), TypeError);
    assert.throws(() => etcdSource(client, {} as { key: string }), /exactly one of `key` or `prefix`/);
    assert.throws(() => etcdSource(client, { key: '' }), /non-empty string/);
    assert.throws(() => etcdSource(client, { key: 'a' }, { onDelete: 'drop' as 'keep' }), /onDelete/);
    assert.throws(() => etcdSource(client, { key: 'a' }, { parse: 1 as unknown as () => unknown }), /parse/);
  });

  it('20 sources on one prefix share one etcd watcher, and each gets the hint', async () => {
    const baseline = await etcdWatcherCount(etcd.url);
    const hints: Hint[][] = [];
    const stops: Array<() => void | Promise<void>> = [];
    for (let i = 0; i < 20; i++) {
      const got: Hint[] = [];
      hints.push(got);
      stops.push(etcdSource(client, { prefix: '/shared/' }).watch!((h) => got.push(h)));
    }
    assert.deepEqual(etcdWatchStats(client), { hubs: 1, watchers: 1, subscribers: 20, recoveries: 0 });
    await waitFor(async () => (await etcdWatcherCount(etcd.url)) === baseline + 1, { message: 'one etcd watcher' });
    await client.put('/shared/a').value('1');
    await waitFor(() => hints.every((h) => h.length > 0), { message: 'every source hinted' });
    assert.equal(hints[0]![0]!.kind, 'etcd');
    assert.equal(await etcdWatcherCount(etcd.url), baseline + 1);
    await Promise.all(stops.map((stop) => stop()));
    assert.equal(etcdWatchStats(client).hubs, 0);
    await waitFor(async () => (await etcdWatcherCount(etcd.url)) === baseline, { message: 'watcher cancelled' });
  });

  it('a watch opened after a read starts at the read revision + 1: nothing in between is lost', async () => {
    await client.put('/gap/config').value('1');
    const source = etcdSource(client, { key: '/gap/config' });
    assert.equal(await source.read({ signal }), 1);
    const readAt = source.revision!;
    await client.put('/gap/config').value('2'); // after the read, before the watch
    const hints: Hint[] = [];
    const stop = source.watch!((h) => hints.push(h));
    try {
      await waitFor(() => hints.length > 0, { message: 'hint for the change made before the watch' });
      assert.ok(readAt > 0n);
      // Delivered by the watch itself as the put at readAt + 1 (not by a catch-up re-read hint).
      assert.match(hints[0]!.detail ?? '', /: put \/gap\/config$/);
    } finally {
      await stop();
    }
  });

  it('a watch opened before a read hints a re-read when the read is older than the watch start', async () => {
    await client.put('/gap2/config').value('1');
    // Reported before the watch connected (checked once it does), then after.
    const early: Hint[] = [];
    const earlySub = { hint: (h: Hint) => early.push(h) };
    const first = subscribeHub(client, { key: '/gap2/config' }, earlySub);
    first.hub.noteRead(earlySub, 1n); // a read far older than where the watch will start
    await waitFor(() => early.some((h) => /gap between read and watch/.test(h.detail ?? '')), { message: 'gap hint on connect' });
    const late: Hint[] = [];
    const lateSub = { hint: (h: Hint) => late.push(h) };
    const second = subscribeHub(client, { key: '/gap2/config' }, lateSub);
    assert.equal(second.hub, first.hub, 'same hub for the same target');
    second.hub.noteRead(lateSub, 1n);
    assert.ok(late.some((h) => /gap between read and watch/.test(h.detail ?? '')));
    // A read at or after the watch start needs no re-read.
    const current = BigInt((await client.get('/gap2/config').exec()).header.revision);
    const before = late.length;
    second.hub.noteRead(lateSub, current);
    assert.equal(late.length, before);
    await second.unsubscribe();
    await first.unsubscribe();
  });

  it('recovers a watch whose revision was compacted while it was disconnected', async () => {
    const proxy = await startProxy(etcd.port);
    const viaProxy = testEtcdClient(proxy.url);
    try {
      await client.put('/compact/config').value('1');
      const source = etcdSource(viaProxy, { key: '/compact/config' });
      const hints: Hint[] = [];
      const stop = source.watch!((h) => hints.push(h));
      assert.equal(await source.read({ signal }), 1);
      await client.put('/compact/config').value('2');
      await waitFor(() => hints.length > 0, { message: 'watch delivering' });

      proxy.cut();
      // While the watcher is away: changes, then a compaction past its revision.
      await client.put('/compact/config').value('3');
      const last = await client.put('/compact/config').value('4');
      await client.kv.compact({ revision: last.header.revision, physical: true });
      const before = hints.length;
      proxy.restore();

      await waitFor(() => etcdWatchStats(viaProxy).recoveries >= 1, { message: 'watch re-opened after compaction' });
      await waitFor(() => hints.length > before, { message: 'hint to re-read after compaction' });
      assert.equal(await source.read({ signal }), 4);
      // And the re-opened watch delivers new changes.
      const afterRecovery = hints.length;
      await client.put('/compact/config').value('5');
      await waitFor(() => hints.length > afterRecovery, { message: 'hint after recovery' });
      await stop();
    } finally {
      viaProxy.close();
      await proxy.close();
    }
  });
});
