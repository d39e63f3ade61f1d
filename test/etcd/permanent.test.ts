/**
 * etcdSource marks the failures retrying cannot fix as permanent, against a real etcd with auth on:
 * a user without a grant on the key (permission denied) and a wrong password. The unit's load is
 * attempted once instead of spending its retry budget; the live generation stays.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { reloadable } from '../../src/index.js';
import { etcdSource } from '../../src/etcd/index.js';
import { haveBinary, startEtcd } from '../helpers/servers.js';
import { testEtcdClient } from './support.js';
import { countReads, permanentInChain } from '../helpers/count-reads.js';

test('etcdSource: permission denied and bad credentials are permanent: one attempt, not retried', { skip: haveBinary('etcd') ? false : 'etcd not installed' }, async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.stop());
  const admin = testEtcdClient(etcd.url);
  t.after(() => admin.close());
  await admin.put('/app/config').value(JSON.stringify({ n: 1 }));
  await admin.put('/other/config').value(JSON.stringify({ n: 1 }));
  await admin.user('root').create('root-pw');
  await admin.role('root').create();
  await admin.user('root').addRole('root');
  await admin.role('reader').create();
  await admin.role('reader').grant({ permission: 'Read', range: admin.range({ prefix: '/other/' }) });
  await admin.user('reader').create('reader-pw');
  await admin.user('reader').addRole('reader');
  await admin.auth.authEnable();

  const connect = (password: string): Etcd3 => {
    const client = new Etcd3({ hosts: etcd.url, auth: { username: 'reader', password }, dialTimeout: 3000 });
    t.after(() => client.close());
    return client;
  };

  const reader = connect('reader-pw');
  assert.deepEqual(await etcdSource(reader, { key: '/other/config' }).read({ signal: new AbortController().signal } as never), { n: 1 }, 'the grant reads');

  const denied = countReads(etcdSource(reader, { key: '/app/config' }));
  const unit = reloadable({ name: 'config', source: denied.source, retry: { retries: 4, minTimeout: 1 } });
  t.after(() => unit.close());
  await assert.rejects(unit.start(), (error: Error) => {
    assert.ok(permanentInChain(error), 'the load error says it is permanent');
    assert.match(error.message, /permission denied/);
    return true;
  });
  assert.equal(denied.reads, 1, 'permission denied: attempted once out of 5');

  const badPassword = countReads(etcdSource(connect('wrong-pw'), { key: '/other/config' }));
  const unit2 = reloadable({ name: 'config2', source: badPassword.source, retry: { retries: 4, minTimeout: 1 } });
  t.after(() => unit2.close());
  await assert.rejects(unit2.start(), (error: Error) => permanentInChain(error) && /authentication failed/.test(error.message));
  assert.equal(badPassword.reads, 1, 'authentication failed: attempted once out of 5');

  // With its watch: etcd refuses the watch create too, and start() still settles (stopping a
  // watcher that never got its id must not wait for an event that never comes).
  const watched = reloadable({ name: 'config3', source: etcdSource(reader, { key: '/app/config' }), retry: { retries: 4, minTimeout: 1 } });
  t.after(() => watched.close());
  await assert.rejects(watched.start(), (error: Error & { permanent?: boolean }) => {
    assert.equal(error.permanent, true, 'the error the unit rejects with is itself marked permanent');
    return true;
  });
  assert.equal(watched.status().state, 'failed');
});
