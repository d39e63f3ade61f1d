/**
 * amqpTrigger when RabbitMQ is killed with SIGKILL and restarted: the trigger reconnects with
 * backoff (re-declaring its exchange and queue), reports the gap its exclusive queue had, and the
 * next message reloads the unit. Nothing crashes while the broker is gone.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import amqp from 'amqplib';
import { reloadable } from '../../src/index.js';
import { amqpPublisher, amqpTrigger, publishChange } from '../../src/amqp/index.js';
import { haveRabbitmq, startRabbitmq, type RunningRabbitmq } from '../helpers/rabbitmq.js';
import { waitFor } from '../helpers/wait.js';

const available = haveRabbitmq();

describe('amqpTrigger across a broker crash', { skip: available ? false : 'rabbitmq-server not installed' }, () => {
  let rabbit: RunningRabbitmq;
  before(async () => {
    rabbit = await startRabbitmq();
  });
  after(async () => {
    await rabbit?.stop();
  });

  it('RabbitMQ killed (SIGKILL) and restarted: the trigger reconnects and the next message reloads', async () => {
    let loads = 0;
    const trigger = amqpTrigger(rabbit.url, { exchange: 'config', routingKey: '#', retryMs: 100, retryMaxMs: 1000, onError: () => undefined });
    const unit = reloadable({ name: 'app', load: () => ({ loads: ++loads }), triggers: [trigger], retry: false });
    try {
      await unit.start();
      assert.equal(loads, 1);
      await rabbit.kill();
      await waitFor(() => !trigger.connected, { message: 'the trigger saw the broker go' });
      await rabbit.restart();
      await waitFor(() => trigger.connected, { message: 'reconnected after the restart', timeoutMs: 60_000, intervalMs: 50 });
      assert.ok(trigger.stats.connects >= 2);
      assert.equal(trigger.stats.connectionLosses, 1);
      // The reconnect itself is a gap (an exclusive queue lost what was sent meanwhile): one re-read.
      await waitFor(() => loads === 2, { message: 're-read on the reconnect gap' });
      assert.equal(trigger.stats.gaps, 1);

      const connection = await amqp.connect(rabbit.url);
      try {
        const channel = await connection.createConfirmChannel();
        await publishChange(amqpPublisher(channel, { exchange: 'config', routingKey: 'app' }));
        await waitFor(() => loads === 3, { message: 'the next message reloads' });
      } finally {
        await connection.close();
      }
      assert.equal(unit.status().state, 'ready');
    } finally {
      await unit.close();
    }
  });
});
