/**
 * The fleet scenario shared by the fleet tests: a cache in each of 3 child processes, values in
 * Redis, invalidations over a transport; one child's subscriber connection goes through a TCP
 * proxy that is cut while 100 invalidations for 100 different keys are published, then restored.
 *
 * - Pub/sub transports (Redis pub/sub, core NATS, a RabbitMQ exclusive queue): the cut child
 *   learns of its gap at reconnect and refreshes what it loaded before; after the repair no key
 *   is served stale, and every child loaded each key exactly once (no TTL anywhere).
 * - Durable transports (Redis Streams, JetStream): nothing is missed at all: the cut child
 *   receives all 100 invalidations after reconnect, with no gap to repair.
 */
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';
import { publishInvalidation } from '../../src/redis/index.js';
import { parentPublisher, startChild, type FleetChild, type Transport } from './fleet.js';

const KEYS = Array.from({ length: 100 }, (_, i) => `k${i}`);
const durable = new Set<Transport>(['redis-stream', 'jetstream']);

export interface Setup {
  transport: Transport;
  /** The bus's port (the proxy forwards to it) and URL scheme. */
  busPort: number;
  busUrl: (port: number) => string;
  topic: string;
  childTopic: string;
  deps: Parameters<typeof parentPublisher>[2];
}

/** What the cut child saw, for each test to state what its transport promises. */
export interface ScenarioResult {
  /** Gap hints the cut child received. */
  cutGaps: number;
  /** Keys served with the old value, over all children, after the repair. */
  staleKeys: number;
}

export async function scenario(store: Redis, storeUrl: string, setup: Setup): Promise<ScenarioResult> {
  await Promise.all(KEYS.map((k) => store.set(`v:${k}`, 'v1')));
  const proxy: TcpProxy = await startTcpProxy(setup.busPort);
  const { bus, close } = await parentPublisher(setup.transport, setup.topic, setup.deps);
  const fleet: FleetChild[] = [];
  try {
    // Started together: three tsx processes booting one after another dominate the run under load.
    fleet.push(
      ...(await Promise.all(
        [proxy.port, setup.busPort, setup.busPort].map((port) => startChild({ transport: setup.transport, storeUrl, busUrl: setup.busUrl(port), topic: setup.childTopic })),
      )),
    );
    await Promise.all(fleet.map(async (child) => assert.deepEqual(await child.read(KEYS), KEYS.map(() => 'v1'))));
    await Promise.all(fleet.map((child) => child.mark()));
    const [cut, ...others] = fleet as [FleetChild, FleetChild, FleetChild];

    proxy.cut('reset');
    for (const key of KEYS) {
      await store.set(`v:${key}`, 'v2');
      await publishInvalidation(bus, { keys: [key] });
    }
    for (const child of others) {
      await waitFor(async () => (await child.stats()).hintedKeys === KEYS.length, { message: 'connected children received every invalidation', timeoutMs: 30_000, intervalMs: 50 });
    }
    assert.equal((await cut.stats()).hintedKeys, 0, 'the cut child received nothing while cut');
    proxy.restore();

    if (durable.has(setup.transport)) {
      // Resumed from where it stopped: every invalidation arrives, no gap.
      await waitFor(async () => (await cut.stats()).hintedKeys === KEYS.length, { message: 'the cut child received all 100 after reconnect', timeoutMs: 30_000, intervalMs: 50 });
      assert.equal((await cut.stats()).gaps, 0);
    } else {
      // Repaired: a gap hint, then a refresh of everything loaded before it.
      await waitFor(async () => {
        const s = await cut.stats();
        return s.gaps >= 1 && Object.keys(s.loads).length === KEYS.length && s.inflight === 0;
      }, { message: 'the cut child repaired its gap', timeoutMs: 30_000, intervalMs: 50 });
    }
    for (const child of fleet) await waitFor(async () => (await child.stats()).inflight === 0, { message: 'no load in flight', intervalMs: 20 });

    let staleKeys = 0;
    for (const [i, child] of fleet.entries()) {
      const values = await child.read(KEYS);
      const stale = values.filter((v) => v !== 'v2').length;
      assert.equal(stale, 0, `child ${i}: ${stale} keys served stale`);
      staleKeys += stale;
      const { loads } = await child.stats();
      for (const key of KEYS) assert.equal(loads[key], 1, `child ${i}: ${key} loaded ${loads[key] ?? 0} times (expected 1)`);
    }
    return { cutGaps: (await cut.stats()).gaps, staleKeys };
  } finally {
    await Promise.all(fleet.map((child) => child.close()));
    await close();
    await proxy.close();
  }
}

