/**
 * amqpTrigger against a real RabbitMQ: a message reloads a unit; a poison message is
 * acknowledged and reported once (never redelivered, never a crash) and the next good message
 * still reloads; a named durable queue resumes where it stopped (messages published while no
 * trigger consumed are delivered when it starts again); bad options are precise TypeErrors.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import amqp from 'amqplib';
import { reloadable } from '../../src/index.js';
import { amqpPublisher, amqpTrigger, publishChange, publishInvalidation } from '../../src/amqp/index.js';
import type { Hint } from '../../src/types.js';
import { haveRabbitmq, startRabbitmq, type RunningRabbitmq } from '../helpers/rabbitmq.js';
import { waitFor } from '../helpers/wait.js';

const available = haveRabbitmq();

describe('amqpTrigger', { skip: available ? false : 'rabbitmq-server not installed' }, () => {
  let rabbit: RunningRabbitmq;
  let connection: amqp.ChannelModel;
  let channel: amqp.ConfirmChannel;

  before(async () => {
    rabbit = await startRabbitmq();
    connection = await amqp.connect(rabbit.url);
    channel = await connection.createConfirmChannel();
    await channel.assertExchange('config', 'topic', { durable: true });
  });
  after(async () => {
    await connection?.close().catch(() => undefined);
    await rabbit?.stop();
  });

  it('reloads a unit on a message; a poison message is acked and reported once, and the next one still reloads', async () => {
    let loads = 0;
    const errors: (Error & { code?: string })[] = [];
    const trigger = amqpTrigger(rabbit.url, { exchange: 'config', routingKey: 'app.#', onError: (e) => errors.push(e) });
    const unit = reloadable({ name: 'app', load: () => ({ loads: ++loads }), triggers: [trigger], retry: false });
    try {
      await unit.start();
      assert.equal(trigger.connected, true);
      const bus = amqpPublisher(channel, { exchange: 'config', routingKey: 'app.settings' });
      await publishChange(bus, { change: 'settings' });
      await waitFor(() => loads === 2, { message: 'reloaded on the message' });
      assert.equal(unit.current!.trigger.kind, 'amqp');

      channel.publish('config', 'app.settings', Buffer.from('{"reloadkit":1,"pub":"x","epoch":"e","seq":"one","secret":"hunter2"}'));
      await channel.waitForConfirms();
      await waitFor(() => trigger.stats.undeliverable === 1, { message: 'poison reported' });
      assert.equal(errors.length, 1);
      assert.equal(errors[0]!.code, 'RELOADKIT_DELIVERY');
      assert.doesNotMatch(errors[0]!.message, /hunter2/);

      await publishChange(bus);
      await waitFor(() => loads === 3, { message: 'the next good message reloads' });
      // Acknowledged, not requeued: the poison never comes back.
      assert.equal(trigger.stats.undeliverable, 1);
      assert.equal(trigger.stats.messages, 3);
      assert.equal(trigger.stats.connectionLosses, 0);
    } finally {
      await unit.close();
    }
  });

  it('a named durable queue resumes where it stopped: what was published while no one consumed is delivered', async () => {
    const hints: Hint[] = [];
    const options = { exchange: 'config', routingKey: 'users.#', queue: 'users-cache.test' } as const;
    const first = amqpTrigger(rabbit.url, options);
    await first.start((h) => hints.push(h));
    // start() returns after a bounded wait even when the broker is slow to answer (a loaded
    // machine): the queue exists only once the trigger consumes.
    await waitFor(() => first.connected, { message: 'first trigger consuming', timeoutMs: 60_000 });
    const bus = amqpPublisher(channel, { exchange: 'config', routingKey: 'users.profile' });
    await publishInvalidation(bus, { keys: ['user:1'] });
    await waitFor(() => hints.length === 1, { message: 'first invalidation' });
    await first.stop();

    await publishInvalidation(bus, { keys: ['user:2'] });
    await publishInvalidation(bus, { prefix: 'org:' });
    const second = amqpTrigger(rabbit.url, options);
    await second.start((h) => hints.push(h));
    try {
      await waitFor(() => second.connected, { message: 'second trigger consuming', timeoutMs: 60_000 });
      await waitFor(() => hints.length === 3, { message: 'both messages published while away delivered' });
      assert.deepEqual(hints[1]!.keys, ['user:2']);
      assert.equal(hints[2]!.prefix, 'org:');
      assert.ok(hints.every((h) => h.gap === undefined), 'a durable queue has no gap to report');
    } finally {
      await second.stop();
    }
  });

  it('a message acknowledged just before stop() is not handed to the next consumer of the durable queue', async () => {
    // stop() right inside the hint, i.e. right after the ack: the ack must reach the broker
    // before the connection closes, or the broker requeues the message for the next consumer.
    const options = { exchange: 'config', routingKey: 'orders.#', queue: 'orders-cache.test' } as const;
    const bus = amqpPublisher(channel, { exchange: 'config', routingKey: 'orders.created' });
    for (let round = 0; round < 5; round++) {
      const firstHints: Hint[] = [];
      let stopped: Promise<void> | undefined;
      const first = amqpTrigger(rabbit.url, options);
      await first.start((h) => {
        firstHints.push(h);
        stopped ??= Promise.resolve(first.stop());
      });
      await waitFor(() => first.connected, { message: 'first trigger consuming', timeoutMs: 60_000 });
      await publishInvalidation(bus, { keys: [`order:${round}`] });
      await waitFor(() => stopped !== undefined, { message: 'first invalidation' });
      await stopped;

      const secondHints: Hint[] = [];
      const second = amqpTrigger(rabbit.url, options);
      await second.start((h) => secondHints.push(h));
      try {
        await waitFor(() => second.connected, { message: 'second trigger consuming', timeoutMs: 60_000 });
        await publishInvalidation(bus, { keys: ['marker'] });
        await waitFor(() => secondHints.some((h) => h.keys?.[0] === 'marker'), { message: 'the marker delivered' });
        // The queue is FIFO: a requeued message would have come before the marker.
        assert.deepEqual(secondHints.map((h) => h.keys), [['marker']], `round ${round}: the acknowledged message came again`);
        assert.deepEqual(firstHints.map((h) => h.keys), [[`order:${round}`]]);
      } finally {
        await second.stop();
      }
    }
  });

  it('rejects bad options with precise TypeErrors', () => {
    assert.throws(() => amqpTrigger(rabbit.url, { exchange: 'x' } as never), /exactly one of `routingKey` or `bindingKeys`/);
    assert.throws(() => amqpTrigger(rabbit.url, { exchange: 'x', routingKey: '#', queu: 'q' } as never), /unknown option `queu`; did you mean `queue`\?/);
    assert.throws(() => amqpTrigger(rabbit.url, { exchange: '', routingKey: '#' }), /exchange/);
    assert.throws(() => amqpTrigger(rabbit.url, { exchange: 'x', bindingKeys: [] }), /bindingKeys/);
    assert.throws(() => amqpTrigger(42 as never, { exchange: 'x', routingKey: '#' }), TypeError);
    assert.throws(() => amqpPublisher(channel, { exchange: 'x' } as never), /routingKey/);
  });
});
