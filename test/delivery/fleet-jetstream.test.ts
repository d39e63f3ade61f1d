/**
 * Invalidations across 3 processes over JetStream, one subscriber cut by a TCP proxy while 100
 * keys are invalidated (see fleet-scenario.ts): nothing is missed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { haveBinary, startNats, startRedis, type RunningServer } from '../helpers/servers.js';
import { scenario } from './fleet-scenario.js';

const available = haveBinary('redis-server') && haveBinary('nats-server');

describe('invalidations across 3 processes over JetStream, one subscriber cut', { skip: available ? false : 'redis-server or nats-server not installed' }, () => {
  let redis: RunningServer;
  let nats: RunningServer;
  let store: Redis;
  before(async () => {
    redis = await startRedis();
    nats = await startNats();
    store = new Redis(redis.url);
  });
  after(async () => {
    store?.disconnect();
    await nats?.stop();
    await redis?.stop();
  });

  it('JetStream: the cut child misses nothing (no gap); 0 stale keys, 1 load per key per process', async () => {
    const result = await scenario(store, redis.url, { transport: 'jetstream', busPort: nats.port, busUrl: (p) => `nats://127.0.0.1:${p}`, topic: 'INVAL', childTopic: 'INVAL', deps: { natsUrl: nats.url } });
    assert.equal(result.cutGaps, 0, 'a durable transport resumes: nothing to repair');
    assert.equal(result.staleKeys, 0);
  });
});
