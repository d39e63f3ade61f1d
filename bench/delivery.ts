/**
 * bench/delivery: publish-to-fresh-value latency of invalidations across 3 processes, per
 * transport (Redis pub/sub, Redis Streams, core NATS, JetStream, RabbitMQ), and loads per
 * invalidation (target: 1 per key per process).
 *
 * Run: `node --import tsx bench/delivery.ts` (quick, default) or `--full`; `--only redis-pubsub,nats`.
 * Writes bench/results/delivery.json.
 *
 * Each of 3 child processes (test/delivery/fleet-child.ts) holds a `reloadableCache` of 100 keys
 * whose values live in Redis, invalidated in refresh mode (an invalidated key is reloaded at
 * once). One round: write a new value for one key, publish `publishInvalidation({ keys: [key] })`,
 * and time, per process, from just before the publish to the moment that process has loaded the
 * new value (the child reports each load; clocks are this machine's `performance.timeOrigin +
 * performance.now()`). The baseline, measured in this process in the same sitting, is the bare
 * transport: publish to the same trigger started here, without a cache (publish-to-hint).
 * The 1-minute load average is recorded: on a shared 2-core machine other processes dominate tails.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startNats, startRedis, type RunningServer } from '../test/helpers/servers.js';
import { startRabbitmq } from '../test/helpers/rabbitmq.js';
import { parentPublisher, startChild, type FleetChild, type Transport } from '../test/delivery/fleet.js';
import { publishInvalidation, redisChannelTrigger, redisStreamTrigger } from '../src/redis/index.js';
import { natsSubjectTrigger, jetStreamTrigger } from '../src/nats/index.js';
import { amqpTrigger } from '../src/amqp/index.js';
import type { Hint, Trigger } from '../src/types.js';

const FULL = process.argv.includes('--full');
const ROUNDS = FULL ? 300 : 60;
const KEYS = Array.from({ length: 100 }, (_, i) => `k${i}`);
const onlyArg = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length) ?? process.argv[process.argv.indexOf('--only') + 1];
const ALL: Transport[] = ['redis-pubsub', 'redis-stream', 'nats', 'jetstream', 'amqp'];
const TRANSPORTS = process.argv.includes('--only') || onlyArg?.includes(',') || ALL.includes(onlyArg as Transport) ? (onlyArg!.split(',') as Transport[]) : ALL;

const now = () => performance.timeOrigin + performance.now();
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const round2 = (n: number) => Math.round(n * 100) / 100;

interface Servers {
  redis: RunningServer;
  nats?: RunningServer;
  rabbit?: RunningServer;
}

function topicOf(t: Transport): { topic: string; childTopic: string } {
  if (t === 'nats') return { topic: 'bench', childTopic: 'bench.>' };
  if (t === 'jetstream') return { topic: 'BENCH', childTopic: 'BENCH' };
  return { topic: `bench-${t}`, childTopic: `bench-${t}` };
}

function busUrl(t: Transport, s: Servers): string {
  if (t === 'nats' || t === 'jetstream') return s.nats!.url;
  if (t === 'amqp') return s.rabbit!.url;
  return s.redis.url;
}

/** The same trigger as the children's, started in this process, for the baseline. */
async function bareTrigger(t: Transport, s: Servers, topic: string): Promise<{ trigger: Trigger; close(): Promise<void> }> {
  if (t === 'redis-pubsub' || t === 'redis-stream') {
    const client = new Redis(s.redis.url);
    const trigger = t === 'redis-pubsub' ? redisChannelTrigger(client, topic) : redisStreamTrigger(client, topic, { blockMs: 1000 });
    return { trigger, close: async () => client.disconnect() };
  }
  if (t === 'nats' || t === 'jetstream') {
    const { connect } = await import('@nats-io/transport-node');
    const { jetstream } = await import('@nats-io/jetstream');
    const nc = await connect({ servers: s.nats!.url });
    const trigger = t === 'nats' ? natsSubjectTrigger(nc, `${topic}.>`) : jetStreamTrigger(jetstream(nc), { stream: topic });
    return { trigger, close: () => nc.close() };
  }
  return { trigger: amqpTrigger(s.rabbit!.url, { exchange: topic, routingKey: '#' }), close: async () => undefined };
}

async function runTransport(t: Transport, s: Servers, store: Redis) {
  const { topic, childTopic } = topicOf(t);
  const deps = { redis: store, natsUrl: s.nats?.url, amqpUrl: s.rabbit?.url };
  const { bus, close } = await parentPublisher(t, topic, deps);

  // Baseline: publish-to-hint on a bare trigger in this process.
  const bare = await bareTrigger(t, s, topic);
  let resolveHint: ((at: number) => void) | undefined;
  await bare.trigger.start((hint: Hint) => {
    if (hint.keys) resolveHint?.(now());
  });
  const baseline: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const got = new Promise<number>((resolve) => (resolveHint = resolve));
    const start = now();
    await publishInvalidation(bus, { keys: [`baseline${i}`] });
    baseline.push((await got) - start);
  }
  await bare.trigger.stop();
  await bare.close();

  await Promise.all(KEYS.map((k) => store.set(`v:${k}`, 'v0')));
  const fleet: FleetChild[] = [];
  for (let i = 0; i < 3; i++) fleet.push(await startChild({ transport: t, storeUrl: s.redis.url, busUrl: busUrl(t, s), topic: childTopic, mode: 'refresh', report: true }));
  for (const child of fleet) await child.read(KEYS);
  for (const child of fleet) await child.mark();

  const latencies: number[] = [];
  let waiting: { key: string; value: string; start: number; left: number; done: () => void } | undefined;
  for (const child of fleet) {
    child.onLoaded(({ loaded, value, at }) => {
      if (!waiting || loaded !== waiting.key || value !== waiting.value) return;
      latencies.push(at - waiting.start);
      if (--waiting.left === 0) waiting.done();
    });
  }
  for (let i = 0; i < ROUNDS; i++) {
    const key = KEYS[i % KEYS.length]!;
    const value = `v${i + 1}`;
    await store.set(`v:${key}`, value);
    const done = new Promise<void>((resolve) => (waiting = { key, value, start: now(), left: fleet.length, done: resolve }));
    waiting!.start = now();
    await publishInvalidation(bus, { keys: [key] });
    await done;
  }
  // Let trailing loads land, then count loads per invalidated key per process.
  for (const child of fleet) while ((await child.stats()).inflight > 0) await new Promise((r) => setTimeout(r, 10));
  const invalidationsPerKey = new Map<string, number>();
  for (let i = 0; i < ROUNDS; i++) invalidationsPerKey.set(KEYS[i % KEYS.length]!, (invalidationsPerKey.get(KEYS[i % KEYS.length]!) ?? 0) + 1);
  let loads = 0;
  for (const child of fleet) loads += Object.values((await child.stats()).loads).reduce((a, b) => a + b, 0);
  for (const child of fleet) await child.close();
  await close();

  const sorted = [...latencies].sort((a, b) => a - b);
  const base = [...baseline].sort((a, b) => a - b);
  return {
    transport: t,
    rounds: ROUNDS,
    processes: fleet.length,
    publishToFreshMs: { p50: round2(percentile(sorted, 50)), p99: round2(percentile(sorted, 99)) },
    baselinePublishToHintMs: { p50: round2(percentile(base, 50)), p99: round2(percentile(base, 99)) },
    ratioP50: round2(percentile(sorted, 50) / percentile(base, 50)),
    loadsPerInvalidationPerProcess: round2(loads / (ROUNDS * fleet.length)),
    loadavg1: round2(loadavg()[0]!),
  };
}

const servers: Servers = { redis: await startRedis() };
if (TRANSPORTS.some((t) => t === 'nats' || t === 'jetstream')) servers.nats = await startNats();
if (TRANSPORTS.includes('amqp')) servers.rabbit = await startRabbitmq();
const store = new Redis(servers.redis.url);
const results = [];
try {
  for (const t of TRANSPORTS) {
    const r = await runTransport(t, servers, store);
    console.log(
      `${t.padEnd(13)} publish-to-fresh p50 ${r.publishToFreshMs.p50} ms p99 ${r.publishToFreshMs.p99} ms` +
        ` (bare transport p50 ${r.baselinePublishToHintMs.p50} ms, ratio ${r.ratioP50}); loads per invalidation per process ${r.loadsPerInvalidationPerProcess}; load ${r.loadavg1}`,
    );
    results.push(r);
  }
} finally {
  store.disconnect();
  await servers.rabbit?.stop();
  await servers.nats?.stop();
  await servers.redis.stop();
}
const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}delivery.json`, `${JSON.stringify({ date: new Date().toISOString(), mode: FULL ? 'full' : 'quick', results }, null, 2)}\n`);
console.log('wrote bench/results/delivery.json');
process.exit(0);
