/**
 * Invalidations across 3 processes over RabbitMQ (an exclusive queue per process), one
 * subscriber cut by a TCP proxy while 100 keys are invalidated (see fleet-scenario.ts): the cut
 * process repairs its gap at reconnect.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { haveBinary, startRedis, type RunningServer } from '../helpers/servers.js';
import { scenario } from './fleet-scenario.js';
import { haveRabbitmq, startRabbitmq } from '../helpers/rabbitmq.js';

const available = haveBinary('redis-server') && haveRabbitmq();

describe('invalidations across 3 processes over RabbitMQ, one subscriber cut', { skip: available ? false : 'redis-server or rabbitmq-server not installed' }, () => {
  let redis: RunningServer;
  let rabbit: RunningServer;
  let store: Redis;
  before(async () => {
    [redis, rabbit] = await Promise.all([startRedis(), startRabbitmq()]);
    store = new Redis(redis.url);
  });
  after(async () => {
    store?.disconnect();
    await rabbit?.stop();
    await redis?.stop();
  });

  it('exclusive queue per process: the cut child repairs its gap; 0 stale keys, 1 load per key per process', async () => {
    const result = await scenario(store, redis.url, { transport: 'amqp', busPort: rabbit.port, busUrl: (p) => `amqp://guest:guest@127.0.0.1:${p}`, topic: 'inval', childTopic: 'inval', deps: { amqpUrl: rabbit.url } });
    assert.ok(result.cutGaps >= 1, 'the cut child learned of its gap');
    assert.equal(result.staleKeys, 0, 'and repaired it');
  });
});
