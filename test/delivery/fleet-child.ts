/**
 * One process of the delivery fleet tests and bench: a `reloadableCache` whose values live in
 * Redis (`v:<key>`, read on a direct connection) and whose invalidations arrive over the transport
 * named in argv (its connection possibly through the parent's TCP proxy). It answers the parent
 * over IPC: `read` (values of keys, through the cache), `stats` (loads per key since `mark`, gap
 * hints, keys hinted), `mark`, `close`.
 *
 * Run by the parent with `fork(…, { execArgv: ['--import', 'tsx'] })`.
 */
import { Redis } from 'ioredis';
import { reloadableCache, invalidationTrigger } from '../../src/cache/index.js';
import type { Hint, Trigger } from '../../src/types.js';

export type Transport = 'redis-pubsub' | 'redis-stream' | 'nats' | 'jetstream' | 'amqp' | 'etcd';

export interface ChildConfig {
  transport: Transport;
  /** Redis holding the values (direct). */
  storeUrl: string;
  /** The transport's URL for this child (maybe through a proxy). */
  busUrl: string;
  /** Channel, subject, stream, exchange or prefix name. */
  topic: string;
  /** How invalidations apply (the bench refreshes in place, to time freshness). Default 'drop'. */
  mode?: 'drop' | 'refresh';
  /** Send `{ loaded, value, at }` to the parent after every load (the bench). */
  report?: boolean;
}

export type ChildRequest = { id: number; cmd: 'read'; keys: string[] } | { id: number; cmd: 'stats' } | { id: number; cmd: 'mark' } | { id: number; cmd: 'close' };

export interface ChildStats {
  loads: Record<string, number>;
  gaps: number;
  hintedKeys: number;
  hints: number;
  inflight: number;
}

const config = JSON.parse(process.argv[2]!) as ChildConfig;
const store = new Redis(config.storeUrl, { maxRetriesPerRequest: null });
const loads = new Map<string, number>();
/** When each key was last hinted (epoch ms), for the bench's publish-to-fresh latency. */
const hinted = new Map<string, number>();
let gaps = 0;
let hints = 0;

const closers: (() => Promise<unknown> | unknown)[] = [];

/** Each transport's modules are imported only in the process that uses it: boot time is most of a run. */
async function transportTrigger(): Promise<Trigger> {
  switch (config.transport) {
    case 'redis-pubsub': {
      const { redisChannelTrigger } = await import('../../src/redis/index.js');
      const bus = new Redis(config.busUrl, { retryStrategy: () => 50, maxRetriesPerRequest: null });
      bus.on('error', () => undefined);
      closers.push(() => bus.disconnect());
      return redisChannelTrigger(bus, config.topic, { onError: () => undefined });
    }
    case 'redis-stream': {
      const { redisStreamTrigger } = await import('../../src/redis/index.js');
      const bus = new Redis(config.busUrl, { retryStrategy: () => 50, maxRetriesPerRequest: null });
      bus.on('error', () => undefined);
      closers.push(() => bus.disconnect());
      return redisStreamTrigger(bus, config.topic, { blockMs: 1000, onError: () => undefined });
    }
    case 'nats':
    case 'jetstream': {
      const { connect: natsConnect } = await import('@nats-io/transport-node');
      const { jetstream } = await import('@nats-io/jetstream');
      const { natsSubjectTrigger, jetStreamTrigger } = await import('../../src/nats/index.js');
      const nc = await natsConnect({ servers: config.busUrl, reconnectTimeWait: 50, maxReconnectAttempts: -1, pingInterval: 1000 });
      closers.push(() => nc.close());
      return config.transport === 'nats'
        ? natsSubjectTrigger(nc, config.topic, { onError: () => undefined })
        : jetStreamTrigger(jetstream(nc), { stream: config.topic, onError: () => undefined });
    }
    case 'amqp': {
      const { amqpTrigger } = await import('../../src/amqp/index.js');
      return amqpTrigger(config.busUrl, { exchange: config.topic, routingKey: '#', retryMs: 50, retryMaxMs: 500, onError: () => undefined });
    }
    case 'etcd': {
      const { Etcd3 } = await import('etcd3');
      const { etcdPrefixTrigger } = await import('../../src/etcd/index.js');
      const client = new Etcd3({ hosts: config.busUrl });
      closers.push(() => client.close());
      return etcdPrefixTrigger(client, config.topic);
    }
  }
}

/** Counts what the transport delivers before the cache applies it. */
function counted(inner: Trigger): Trigger {
  return {
    start: (fire) =>
      inner.start((hint: Hint) => {
        hints++;
        if (hint.gap) gaps++;
        const now = Date.now();
        for (const key of hint.keys ?? []) hinted.set(key, now);
        fire(hint);
      }),
    stop: () => inner.stop(),
  };
}

const cache = reloadableCache<string>({
  name: 'values',
  load: async (key) => {
    loads.set(key, (loads.get(key) ?? 0) + 1);
    const value = (await store.get(`v:${key}`)) ?? 'missing';
    if (config.report) process.send!({ loaded: key, value, at: performance.timeOrigin + performance.now() });
    return value;
  },
  invalidateOn: [invalidationTrigger({ from: counted(await transportTrigger()), mode: config.mode ?? 'drop' })],
});
await cache.start();

process.on('message', async (request: ChildRequest) => {
  let result: unknown;
  switch (request.cmd) {
    case 'read':
      result = await Promise.all(request.keys.map((key) => cache.get(key)));
      break;
    case 'stats':
      result = { loads: Object.fromEntries(loads), gaps, hints, hintedKeys: hinted.size, inflight: cache.stats().inflight } satisfies ChildStats;
      break;
    case 'mark':
      loads.clear();
      hinted.clear();
      gaps = 0;
      hints = 0;
      result = true;
      break;
    case 'close':
      await cache.close();
      for (const close of closers) await close();
      store.disconnect();
      process.send!({ id: request.id, result: true }, () => process.exit(0));
      return;
  }
  process.send!({ id: request.id, result });
});
process.send!({ ready: true });
