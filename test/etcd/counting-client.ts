/**
 * A real etcd3 client whose KV `range` calls (every get / getAll it sends) are counted: the
 * tests prove a change was applied from the watch by showing no read went to etcd for it.
 */
import type { Etcd3 } from 'etcd3';
import { testEtcdClient } from './support.js';

/** A test client on `url` and the count of Range requests it has sent so far. */
export function countingEtcdClient(url: string): { client: Etcd3; readonly ranges: number } {
  const client = testEtcdClient(url);
  let ranges = 0;
  const kv = (client as unknown as { kv: { range: (...args: unknown[]) => unknown } }).kv;
  const range = kv.range.bind(kv);
  kv.range = (...args: unknown[]) => {
    ranges += 1;
    return range(...args);
  };
  return {
    client,
    get ranges() {
      return ranges;
    },
  };
}
