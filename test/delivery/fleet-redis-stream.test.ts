/**
 * Invalidations across 3 processes over Redis Streams, one subscriber cut by a TCP proxy while
 * 100 keys are invalidated (see fleet-scenario.ts): nothing is missed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { haveBinary, startRedis, type RunningServer } from '../helpers/servers.js';
import { scenario } from './fleet-scenario.js';

describe('invalidations across 3 processes over Redis Streams, one subscriber cut', { skip: haveBinary('redis-server') ? false : 'redis-server not installed' }, () => {
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

  it('Redis Streams: the cut child misses nothing (no gap); 0 stale keys, 1 load per key per process', async () => {
    const result = await scenario(store, redis.url, { transport: 'redis-stream', busPort: redis.port, busUrl: (p) => `redis://127.0.0.1:${p}`, topic: 'inval-stream', childTopic: 'inval-stream', deps: { redis: store } });
    assert.equal(result.cutGaps, 0, 'a durable transport resumes: nothing to repair');
    assert.equal(result.staleKeys, 0);
  });
});
