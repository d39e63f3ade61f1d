/**
 * etcdSource against a real etcd, at the Source level (read / watch), without a unit: reads of
 * keys and prefixes, errors that never quote values, the delete policy, one shared watch for many
 * sources, no change lost between a read and a later watch, and recovery from compaction. While
 * watched, a change is applied from the watch event (no read goes to etcd for it, counted on the
 * client), an older revision never replaces a newer view, a compaction sends the next read to
 * etcd, and a deletion from the watch follows the delete policy.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Etcd3 } from 'etcd3';
import { etcdSource, etcdWatchStats } from '../../src/etcd/index.js';
import { subscribeHub, type HubSubscriber } from '../../src/etcd/hub.js';
import type { Hint } from '../../src/types.js';
import { haveBinary } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';
import { etcdWatcherCount, startProxy, testEtcdClient, useEtcd } from './support.js';
import { countingEtcdClient } from './counting-client.js';

const available = haveBinary('etcd');
const signal = new AbortController().signal;

describe('etcdSource (read and watch)', { skip: available ? false : 'etcd not installed' }, () => {
  const env = useEtcd();

  it('reads a key as JSON and a prefix as an object keyed by the rest of each key', async () => {
    await env.client.put('/read/config').value(JSON.stringify({ port: 8080 }));
    await env.client.put('/read/flags/beta').value('true');
    await env.client.put('/read/flags/limits/rps').value('50');
    assert.deepEqual(await etcdSource(env.client, { key: '/read/config' }).read({ signal }), { port: 8080 });
    assert.deepEqual(await etcdSource(env.client, { prefix: '/read/flags/' }).read({ signal }), { beta: true, 'limits/rps': 50 });
    await env.client.put('/read/odd/__proto__').value('{"polluted": true}');
    const odd = (await etcdSource(env.client, { prefix: '/read/odd/' }).read({ signal })) as Record<string, unknown>;
    assert.deepEqual(Object.keys(odd), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const raw = etcdSource(env.client, { key: '/read/config' }, { parse: (text) => text.length });
    assert.equal(await raw.read({ signal }), JSON.stringify({ port: 8080 }).length);
    assert.equal(etcdSource(env.client, { key: '/read/config' }).describe(), 'etcd key /read/config');
    assert.equal(etcdSource(env.client, { prefix: '/read/flags/' }).describe(), 'etcd prefix /read/flags/');
  });

  it('fails with a LoadError that names the key and never quotes the value', async () => {
    await env.client.put('/read/bad').value('{"password": "hunter2"');
    await assert.rejects(etcdSource(env.client, { key: '/read/bad' }).read({ signal }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'RELOADKIT_LOAD');
      assert.match(error.message, /\/read\/bad/);
      assert.doesNotMatch(error.message, /hunter2/);
      return true;
    });
    await assert.rejects(etcdSource(env.client, { key: '/read/missing' }).read({ signal }), /does not exist/);
  });

  it("keeps (fails the read) or hands on an empty candidate when the key is deleted", async () => {
    await env.client.put('/del/keep').value('1');
    await env.client.put('/del/reject').value('1');
    const keep = etcdSource(env.client, { key: '/del/keep' });
    const reject = etcdSource(env.client, { key: '/del/reject' }, { onDelete: 'reject' });
    assert.equal(await keep.read({ signal }), 1);
    assert.equal(await reject.read({ signal }), 1);
    await env.client.delete().key('/del/keep');
    await env.client.delete().key('/del/reject');
    await assert.rejects(keep.read({ signal }), (error: Error & { code?: string }) => error.code === 'RELOADKIT_LOAD' && /deleted/.test(error.message));
    assert.equal(await reject.read({ signal }), null);
  });

  it('rejects invalid arguments with a precise TypeError', () => {
    assert.throws(() => etcdSource({} as Etcd3, { key: 'a' }), TypeError);
    assert.throws(() => etcdSource(env.client, {} as { key: string }), /exactly one of `key` or `prefix`/);
    assert.throws(() => etcdSource(env.client, { key: '' }), /non-empty string/);
    assert.throws(() => etcdSource(env.client, { key: 'a' }, { onDelete: 'drop' as 'keep' }), /onDelete/);
    assert.throws(() => etcdSource(env.client, { key: 'a' }, { parse: 1 as unknown as () => unknown }), /parse/);
  });

  it('20 sources on one prefix share one etcd watcher, and each gets the hint', async () => {
    const baseline = await etcdWatcherCount(env.etcd.url);
    const hints: Hint[][] = [];
    const stops: Array<() => void | Promise<void>> = [];
    for (let i = 0; i < 20; i++) {
      const got: Hint[] = [];
      hints.push(got);
      stops.push(etcdSource(env.client, { prefix: '/shared/' }).watch!((h) => got.push(h)));
    }
    assert.deepEqual(etcdWatchStats(env.client), { hubs: 1, watchers: 1, subscribers: 20, recoveries: 0 });
    await waitFor(async () => (await etcdWatcherCount(env.etcd.url)) === baseline + 1, { message: 'one etcd watcher' });
    await env.client.put('/shared/a').value('1');
    await waitFor(() => hints.every((h) => h.length > 0), { message: 'every source hinted' });
    assert.equal(hints[0]![0]!.kind, 'etcd');
    assert.equal(await etcdWatcherCount(env.etcd.url), baseline + 1);
    await Promise.all(stops.map((stop) => stop()));
    assert.equal(etcdWatchStats(env.client).hubs, 0);
    await waitFor(async () => (await etcdWatcherCount(env.etcd.url)) === baseline, { message: 'watcher cancelled' });
  });

  it('a watch opened after a read starts at the read revision + 1: nothing in between is lost', async () => {
    await env.client.put('/gap/config').value('1');
    const source = etcdSource(env.client, { key: '/gap/config' });
    assert.equal(await source.read({ signal }), 1);
    const readAt = source.revision!;
    await env.client.put('/gap/config').value('2'); // after the read, before the watch
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
    await env.client.put('/gap2/config').value('1');
    // Reported before the watch connected (checked once it does), then after.
    const early: Hint[] = [];
    const earlySub = { hint: (h: Hint) => early.push(h) };
    const first = subscribeHub(env.client, { key: '/gap2/config' }, earlySub);
    first.hub.noteRead(earlySub, 1n); // a read far older than where the watch will start
    await waitFor(() => early.some((h) => /gap between read and watch/.test(h.detail ?? '')), { message: 'gap hint on connect' });
    const late: Hint[] = [];
    const lateSub = { hint: (h: Hint) => late.push(h) };
    const second = subscribeHub(env.client, { key: '/gap2/config' }, lateSub);
    assert.equal(second.hub, first.hub, 'same hub for the same target');
    second.hub.noteRead(lateSub, 1n);
    assert.ok(late.some((h) => /gap between read and watch/.test(h.detail ?? '')));
    // A read at or after the watch start needs no re-read.
    const current = BigInt((await env.client.get('/gap2/config').exec()).header.revision);
    const before = late.length;
    second.hub.noteRead(lateSub, current);
    assert.equal(late.length, before);
    await second.unsubscribe();
    await first.unsubscribe();
  });

  it('recovers a watch whose revision was compacted while it was disconnected', async () => {
    const proxy = await startProxy(env.etcd.port);
    const viaProxy = testEtcdClient(proxy.url);
    try {
      await env.client.put('/compact/config').value('1');
      const source = etcdSource(viaProxy, { key: '/compact/config' });
      const hints: Hint[] = [];
      const stop = source.watch!((h) => hints.push(h));
      assert.equal(await source.read({ signal }), 1);
      await env.client.put('/compact/config').value('2');
      await waitFor(() => hints.length > 0, { message: 'watch delivering' });

      proxy.cut();
      // While the watcher is away: changes, then a compaction past its revision.
      await env.client.put('/compact/config').value('3');
      const last = await env.client.put('/compact/config').value('4');
      await env.client.kv.compact({ revision: last.header.revision, physical: true });
      const before = hints.length;
      proxy.restore();

      await waitFor(() => etcdWatchStats(viaProxy).recoveries >= 1, { message: 'watch re-opened after compaction' });
      await waitFor(() => hints.length > before, { message: 'hint to re-read after compaction' });
      assert.equal(await source.read({ signal }), 4);
      // And the re-opened watch delivers new changes.
      const afterRecovery = hints.length;
      await env.client.put('/compact/config').value('5');
      await waitFor(() => hints.length > afterRecovery, { message: 'hint after recovery' });
      await stop();
    } finally {
      viaProxy.close();
      await proxy.close();
    }
  });

  it('a watch value at revision r + 1 after a read at r is served without a read to etcd', async () => {
    const counted = countingEtcdClient(env.etcd.url);
    try {
      await env.client.put('/fast/config').value('1');
      const source = etcdSource(counted.client, { key: '/fast/config' });
      assert.equal(await source.read({ signal }), 1);
      assert.equal(counted.ranges, 1);
      const r = source.revision!;
      // Watched after the read, the watch starts at r + 1 whenever it connects.
      const hints: Hint[] = [];
      const stop = source.watch!((h) => hints.push(h));
      const put = await env.client.put('/fast/config').value('2');
      assert.equal(BigInt(put.header.revision), r + 1n);
      await waitFor(() => hints.length > 0, { message: 'hint for r + 1' });
      // A unit's load context builds its AbortController when `signal` is first read: the
      // watched value needs none.
      let signalReads = 0;
      const lazy = {
        get signal() {
          signalReads++;
          return signal;
        },
      };
      assert.equal(await source.read(lazy), 2);
      assert.equal(counted.ranges, 1, 'the value came from the watch event');
      assert.equal(signalReads, 0, 'the watched value did not ask for the signal');
      assert.equal(source.revision, r + 1n);
      assert.equal(source.reads, 1);
      // Nothing unapplied behind this read (a manual reload): it goes to etcd, with the signal.
      assert.equal(await source.read(lazy), 2);
      assert.equal(counted.ranges, 2);
      assert.equal(signalReads, 1);
      await stop();
      // No watch: every read goes to etcd.
      await env.client.put('/fast/config').value('3');
      assert.equal(await source.read({ signal }), 3);
      assert.equal(counted.ranges, 3);
    } finally {
      counted.client.close();
    }
  });

  it('a change at or below the revision already read is ignored: the view never goes back', async () => {
    const counted = countingEtcdClient(env.etcd.url);
    try {
      const first = await env.client.put('/older/config').value('1');
      await env.client.put('/older/config').value('2');
      const third = await env.client.put('/older/config').value('3');
      await env.client.put('/older/unrelated').value('x'); // the store moves on past the key's last change
      const source = etcdSource(counted.client, { key: '/older/config' });
      assert.equal(await source.read({ signal }), 3);
      const readAt = source.revision!;
      assert.ok(readAt > BigInt(third.header.revision));
      // A hub watching from before the read replays revisions 1..3 of the key to the source.
      const replayed: bigint[] = [];
      const replay: HubSubscriber = { hint: () => undefined, changes: (_hub, _epoch, changes) => replayed.push(...changes.map((c) => c.revision)) };
      const old = subscribeHub(counted.client, { key: '/older/config' }, replay, BigInt(first.header.revision) - 1n);
      const hints: Hint[] = [];
      const stop = source.watch!((h) => hints.push(h));
      await waitFor(() => replayed.includes(BigInt(third.header.revision)), { message: 'old revisions replayed' });
      assert.equal(replayed[0], BigInt(first.header.revision));
      assert.equal(source.revision, readAt, 'older revisions did not replace the view');
      const before = counted.ranges;
      assert.equal(await source.read({ signal }), 3);
      assert.equal(counted.ranges, before + 1, 'nothing newer was applied, so the read went to etcd');
      // A newer change on the same watch is applied.
      const fourth = await env.client.put('/older/config').value('4');
      await waitFor(() => source.revision === BigInt(fourth.header.revision), { message: 'revision 4 applied' });
      assert.equal(await source.read({ signal }), 4);
      assert.equal(counted.ranges, before + 1);
      await stop();
      await old.unsubscribe();
    } finally {
      counted.client.close();
    }
  });

  it('after a compaction the next read goes to etcd, even with a watched change not yet read', async () => {
    const proxy = await startProxy(env.etcd.port);
    const counted = countingEtcdClient(proxy.url);
    try {
      await env.client.put('/compact2/config').value('1');
      const source = etcdSource(counted.client, { key: '/compact2/config' });
      assert.equal(await source.read({ signal }), 1);
      const hints: Hint[] = [];
      const stop = source.watch!((h) => hints.push(h));
      const two = await env.client.put('/compact2/config').value('2');
      await waitFor(() => source.revision === BigInt(two.header.revision), { message: 'revision 2 applied from the watch' });
      // Not read yet: the view holds 2, unread. Cut, change, compact past the watch, restore.
      proxy.cut();
      await env.client.put('/compact2/config').value('3');
      const last = await env.client.put('/compact2/config').value('4');
      await env.client.kv.compact({ revision: last.header.revision, physical: true });
      const recoveries = etcdWatchStats(counted.client).recoveries;
      proxy.restore();
      await waitFor(() => etcdWatchStats(counted.client).recoveries > recoveries, { message: 'watch re-opened after compaction' });
      await waitFor(() => hints.some((h) => /re-opened/.test(h.detail ?? '')), { message: 're-read hint' });
      const before = counted.ranges;
      assert.equal(await source.read({ signal }), 4, 'not the stale 2 from before the compaction');
      assert.equal(counted.ranges, before + 1);
      await stop();
    } finally {
      counted.client.close();
      await proxy.close();
    }
  });

  it('a deletion from the watch follows the delete policy without a read to etcd', async () => {
    const counted = countingEtcdClient(env.etcd.url);
    try {
      await env.client.put('/wdel/keep').value('1');
      await env.client.put('/wdel/reject').value('1');
      await env.client.put('/wdel/prefix/a').value('1');
      await env.client.put('/wdel/prefix/b').value('2');
      const keep = etcdSource(counted.client, { key: '/wdel/keep' });
      const reject = etcdSource(counted.client, { key: '/wdel/reject' }, { onDelete: 'reject' });
      const prefix = etcdSource(counted.client, { prefix: '/wdel/prefix/' });
      assert.equal(await keep.read({ signal }), 1);
      assert.equal(await reject.read({ signal }), 1);
      assert.deepEqual(await prefix.read({ signal }), { a: 1, b: 2 });
      const stops = [keep, reject, prefix].map((source) => source.watch!(() => undefined));
      const reads = counted.ranges;
      const deletions = await Promise.all([
        env.client.delete().key('/wdel/keep'),
        env.client.delete().key('/wdel/reject'),
        env.client.delete().key('/wdel/prefix/a'),
      ]);
      const newest = deletions.map((d) => BigInt(d.header.revision));
      await waitFor(() => keep.revision === newest[0] && reject.revision === newest[1] && prefix.revision === newest[2], { message: 'deletions applied' });
      await assert.rejects(keep.read({ signal }), (error: Error & { code?: string }) => error.code === 'RELOADKIT_LOAD' && /deleted/.test(error.message));
      assert.equal(await reject.read({ signal }), null);
      assert.deepEqual(await prefix.read({ signal }), { b: 2 });
      assert.equal(counted.ranges, reads, 'deletions came from the watch');
      // A key added under the prefix is applied in key order.
      const put = await env.client.put('/wdel/prefix/0').value('0');
      await waitFor(() => prefix.revision === BigInt(put.header.revision), { message: 'put applied' });
      assert.deepEqual(Object.keys((await prefix.read({ signal })) as object), ['0', 'b']);
      assert.equal(counted.ranges, reads);
      await Promise.all(stops.map((stop) => stop()));
    } finally {
      counted.client.close();
    }
  });
});
