/**
 * zookeeperSource marks NoAuth as permanent, against a real ZooKeeper: a znode whose ACL lets only
 * another address read it. The unit's load is attempted once, not retried.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zookeeper, { type Client } from 'node-zookeeper-client';
import { reloadable, type Source } from '../../src/index.js';
import { zookeeperSource, type ZkClient } from '../../src/zookeeper/index.js';
import { haveZookeeper, startZookeeper } from '../helpers/zookeeper.js';

/** The parts of node-zookeeper-client for creating a znode with an ACL (not in the tests' d.ts). */
interface AclApi {
  ACL: new (permission: number, id: unknown) => unknown;
  Id: new (scheme: string, id: string) => unknown;
  Permission: { ALL: number };
  CreateMode: { PERSISTENT: number };
}
type CreateWithAcl = (path: string, data: Buffer, acls: unknown[], mode: number, cb: (error: Error | null) => void) => void;

test('zookeeperSource: NoAuth is permanent: one attempt, not retried', { skip: haveZookeeper() ? false : 'zookeeper not installed' }, async (t) => {
  const zk = await startZookeeper();
  t.after(() => zk.stop());
  const writer = await new Promise<Client>((resolve) => {
    const c = zookeeper.createClient(zk.connectString, { sessionTimeout: 4000 });
    c.once('connected', () => resolve(c));
    c.connect();
  });
  t.after(() => writer.close());
  const api = zookeeper as unknown as AclApi;
  // Only 10.255.255.1 may touch it: a loopback session gets NoAuth.
  const acl = [new api.ACL(api.Permission.ALL, new api.Id('ip', '10.255.255.1'))];
  await new Promise<void>((resolve, reject) =>
    (writer.create as unknown as CreateWithAcl).call(writer, '/locked', Buffer.from('{"n":1}'), acl, api.CreateMode.PERSISTENT, (e) => (e ? reject(e) : resolve())),
  );

  const source = zookeeperSource(() => zookeeper.createClient(zk.connectString, { sessionTimeout: 4000 }) as unknown as ZkClient, '/locked');
  let reads = 0;
  const counted: Source<unknown> = { describe: () => source.describe(), watch: (hint) => source.watch!(hint), read: (ctx) => (reads++, source.read(ctx)) };
  const unit = reloadable({ name: 'locked', source: counted, retry: { retries: 4, minTimeout: 1 } });
  t.after(() => unit.close());
  await assert.rejects(unit.start(), (error: Error) => {
    let permanent = false;
    for (let e: unknown = error; e instanceof Error; e = e.cause) permanent ||= (e as { permanent?: boolean }).permanent === true;
    assert.ok(permanent, `the load error says it is permanent: ${error.message}`);
    return true;
  });
  assert.equal(reads, 1, 'attempted once out of 5');
});
