/**
 * Invalidations across 3 processes over Redis pub/sub, one subscriber cut by a TCP proxy while
 * 100 keys are invalidated (see fleet-scenario.ts): the cut process repairs its gap.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { haveBinary, startRedis, type RunningServer } from '../helpers/servers.js';
import { scenario } from './fleet-scenario.js';

describe('invalidations across 3 processes over Redis pub/sub, one subscriber cut', { skip: haveBinary('redis-server') ? false : 'redis-server not installed' }, () => {
  let redis: RunningServer;
  let store: Redis;
  before(async () => {
    redis = await startRedis();
    store = new Redis(redis.url);
  });
  after(async () => {
    store?.disconnect();
    await redis?.stop();
  });

  it('Redis pub/sub: the cut child repairs its gap; 0 stale keys, 1 load per key per process', async () => {
    const result = await scenario(store, redis.url, { transport: 'redis-pubsub', busPort: redis.port, busUrl: (p) => `redis://127.0.0.1:${p}`, topic: 'inval', childTopic: 'inval', deps: { redis: store } });
    assert.ok(result.cutGaps >= 1, 'the cut child learned of its gap');
    assert.equal(result.staleKeys, 0, 'and repaired it');
  });

});
