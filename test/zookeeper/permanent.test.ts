/**
 * zookeeperSource marks NoAuth as permanent, against a real ZooKeeper: a znode whose ACL lets only
 * another address read it. The unit's load is attempted once, not retried.
 *
 * Every wait here is bounded, and teardown closes the clients before the server stops: a client
 * left open against a stopped server reconnects forever and keeps the test process alive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zookeeper, { type Client } from 'node-zookeeper-client';
import { reloadable } from '../../src/index.js';
import { zookeeperSource, type ZkClient } from '../../src/zookeeper/index.js';
import { haveZookeeper, startZookeeper } from '../helpers/zookeeper.js';
import { countReads, permanentInChain } from '../helpers/count-reads.js';

/** The parts of node-zookeeper-client for creating a znode with an ACL (not in the tests' d.ts). */
interface AclApi {
  ACL: new (permission: number, id: unknown) => unknown;
  Id: new (scheme: string, id: string) => unknown;
  Permission: { ALL: number };
  CreateMode: { PERSISTENT: number };
}
type CreateWithAcl = (path: string, data: Buffer, acls: unknown[], mode: number, cb: (error: Error | null) => void) => void;

/** `promise`, or a rejection naming `what` after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

test('zookeeperSource: NoAuth is permanent: one attempt, not retried', { skip: haveZookeeper() ? false : 'zookeeper not installed' }, async () => {
  // Sessions of 10 s: a slow moment of the machine must not expire them mid-test.
  const zk = await startZookeeper({ tickMs: 500 });
  let writer: Client | undefined;
  let unit: ReturnType<typeof reloadable> | undefined;
  try {
    writer = zookeeper.createClient(zk.connectString, { sessionTimeout: 10_000 });
    const connecting = new Promise<void>((resolve) => writer!.once('connected', () => resolve()));
    writer.connect();
    await within(connecting, 30_000, 'the writer connecting');
    const api = zookeeper as unknown as AclApi;
    // Only 10.255.255.1 may touch it: a loopback session gets NoAuth.
    const acl = [new api.ACL(api.Permission.ALL, new api.Id('ip', '10.255.255.1'))];
    const created = new Promise<void>((resolve, reject) =>
      (writer!.create as unknown as CreateWithAcl).call(writer, '/locked', Buffer.from('{"n":1}'), acl, api.CreateMode.PERSISTENT, (e) => (e ? reject(e) : resolve())),
    );
    await within(created, 30_000, 'creating /locked');

    const source = zookeeperSource(() => zookeeper.createClient(zk.connectString, { sessionTimeout: 10_000 }) as unknown as ZkClient, '/locked');
    const counted = countReads(source, { watch: 'keep' });
    // A load that hangs fails in 10 s, so a regression shows as five attempts, not a stuck file.
    unit = reloadable({ name: 'locked', source: counted.source, retry: { retries: 4, minTimeout: 1 }, timeouts: { load: 10_000 } });
    await assert.rejects(within(unit.start(), 90_000, 'start()'), (error: Error) => {
      assert.ok(permanentInChain(error), `the load error says it is permanent: ${error.message}`);
      return true;
    });
    assert.equal(counted.reads, 1, 'attempted once out of 5');
  } finally {
    await unit?.close();
    writer?.close();
    await zk.stop();
  }
});
