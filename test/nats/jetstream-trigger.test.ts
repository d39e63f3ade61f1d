/**
 * jetStreamTrigger against a real `nats-server -js`: every message published while the
 * subscriber's connection was cut arrives after the reconnect, cut after cut; a consumer deleted
 * on the server is recreated after the last delivered sequence; a server killed (SIGKILL) and
 * restarted loses nothing stored.
 *
 * The deadlines below are shorter than the client's own stall recovery (two missed heartbeats of
 * a 10 s pull, so 10 s or more): a trigger that waits for that recovery fails them, one that
 * recreates its consumer at once passes with seconds to spare.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { jetStreamPublisher, jetStreamTrigger, publishInvalidation, type JetStreamTrigger } from '../../src/nats/index.js';
import type { DeliveryTransport } from '../../src/support/delivery/publisher.js';
import type { Hint } from '../../src/types.js';
import { haveBinary, startNats, type RunningServer } from '../helpers/servers.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';

const available = haveBinary('nats-server');
/** Shorter than the client's heartbeat-based recovery (see the header). */
const BEFORE_HEARTBEAT_RECOVERY_MS = 8000;

/** A subscriber connection that reconnects every 50 ms, as a service under test would. */
function subscriber(url: string): Promise<NatsConnection> {
  return connect({ servers: url, reconnectTimeWait: 50, reconnectJitter: 0, maxReconnectAttempts: -1, pingInterval: 1000 });
}

/** Keys hinted so far, in arrival order. */
function collector(): { keys: string[]; fire: (hint: Hint) => void } {
  const keys: string[] = [];
  return { keys, fire: (hint) => keys.push(...(hint.keys ?? [])) };
}

/** Runs `body` while a trigger on the stream INVAL, over a connection to `url`, collects its keys. */
async function following(url: string, body: (seen: string[], trigger: JetStreamTrigger) => Promise<void>): Promise<void> {
  const nc = await subscriber(url);
  const trigger = jetStreamTrigger(jetstream(nc), { stream: 'INVAL', onError: () => undefined });
  const seen = collector();
  try {
    await trigger.start(seen.fire);
    await body(seen.keys, trigger);
  } finally {
    await trigger.stop();
    await nc.close();
  }
}

async function publishKeys(bus: DeliveryTransport, prefix: string, count: number): Promise<string[]> {
  const keys = Array.from({ length: count }, (_, i) => `${prefix}${i}`);
  for (const key of keys) await publishInvalidation(bus, { keys: [key] });
  return keys;
}

describe('jetStreamTrigger', { skip: available ? false : 'nats-server not installed' }, () => {
  let nats: RunningServer;
  let publisherNc: NatsConnection;
  let jsm: JetStreamManager;
  let bus: DeliveryTransport;

  before(async () => {
    nats = await startNats();
    publisherNc = await connect({ servers: nats.url, reconnectTimeWait: 50, maxReconnectAttempts: -1 });
    jsm = await jetstreamManager(publisherNc);
    await jsm.streams.add({ name: 'INVAL', subjects: ['inval.>'] });
    bus = jetStreamPublisher(jetstream(publisherNc), 'inval.users', { id: 'users-api' });
  });
  after(async () => {
    await publisherNc?.close();
    await nats?.stop();
  });

  it('delivers every message published during a cut once the connection is back, cut after cut', async () => {
    const proxy = await startTcpProxy(nats.port);
    try {
      await following(`nats://127.0.0.1:${proxy.port}`, async (seen, trigger) => {
        // The stall this guards against needed messages waiting at the reconnect, and it came about
        // one cut in three: ten cuts leave it little chance to hide.
        for (let cut = 0; cut < 10; cut++) {
          proxy.cut('reset');
          const keys = await publishKeys(bus, `c${cut}-`, 50);
          const from = seen.length;
          proxy.restore();
          await waitFor(() => seen.length >= from + keys.length, { message: `the 50 messages of cut ${cut}`, timeoutMs: BEFORE_HEARTBEAT_RECOVERY_MS, intervalMs: 20 });
          assert.deepEqual(seen.slice(from), keys, `cut ${cut}: every message once, in order`);
        }
        assert.equal(trigger.stats.gaps, 0, 'a durable stream leaves no gap to repair');
      });
    } finally {
      await proxy.close();
    }
  });

  it('a consumer deleted on the server is recreated after the last delivered sequence', async () => {
    await following(nats.url, async (seen) => {
      const first = await publishKeys(bus, 'before-', 5);
      await waitFor(() => seen.length === first.length, { message: 'the messages before the deletion' });
      for await (const info of jsm.consumers.list('INVAL')) await jsm.consumers.delete('INVAL', info.name);
      const next = await publishKeys(bus, 'after-', 5);
      await waitFor(() => seen.length === first.length + next.length, { message: 'the messages after the deletion', timeoutMs: BEFORE_HEARTBEAT_RECOVERY_MS, intervalMs: 20 });
      assert.deepEqual(seen, [...first, ...next]);
    });
  });

  it('resumes after the server is killed (SIGKILL) and restarted, with nothing lost or repeated', async () => {
    await following(nats.url, async (seen) => {
      const first = await publishKeys(bus, 'pre-kill-', 5);
      await waitFor(() => seen.length === first.length, { message: 'the messages before the kill' });
      await nats.kill();
      await nats.restart();
      // The publisher's connection comes back on its own; publish once JetStream answers on it.
      await waitFor(async () => (await jsm.streams.info('INVAL')).config.name === 'INVAL', { message: 'JetStream back on the publisher connection', timeoutMs: 30_000, intervalMs: 100 });
      const next = await publishKeys(bus, 'post-restart-', 5);
      await waitFor(() => seen.length === first.length + next.length, { message: 'the messages after the restart', timeoutMs: 30_000, intervalMs: 20 });
      assert.deepEqual(seen, [...first, ...next]);
    });
  });
});
