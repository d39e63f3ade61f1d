/**
 * amqpTrigger against a real RabbitMQ: a message reloads a unit; a poison message is
 * acknowledged and reported once (never redelivered, never a crash) and the next good message
 * still reloads; bad options are precise TypeErrors.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import amqp from 'amqplib';
import { reloadable } from '../../src/index.js';
import { amqpPublisher, amqpTrigger, publishChange } from '../../src/amqp/index.js';
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

  it('rejects bad options with precise TypeErrors', () => {
    assert.throws(() => amqpTrigger(rabbit.url, { exchange: 'x' } as never), /exactly one of `routingKey` or `bindingKeys`/);
    assert.throws(() => amqpTrigger(rabbit.url, { exchange: 'x', routingKey: '#', queu: 'q' } as never), /unknown option `queu`; did you mean `queue`\?/);
    assert.throws(() => amqpTrigger(rabbit.url, { exchange: '', routingKey: '#' }), /exchange/);
    assert.throws(() => amqpTrigger(rabbit.url, { exchange: 'x', bindingKeys: [] }), /bindingKeys/);
    assert.throws(() => amqpTrigger(42 as never, { exchange: 'x', routingKey: '#' }), TypeError);
    assert.throws(() => amqpPublisher(channel, { exchange: 'x' } as never), /routingKey/);
  });
});
