/**
 * How the AMQP adapter gets a connection: an AMQP URL, `amqplib` connect options, or a function
 * that returns a connected `ChannelModel`. The adapter reconnects by itself, so it needs a way to
 * open a new connection, not one connection object.
 *
 * @module
 */
import type { ChannelModel, Options } from 'amqplib';

/** An AMQP URL, amqplib connect options, or a function returning a connected ChannelModel. */
export type AmqpConnectionSpec = string | Options.Connect | (() => Promise<ChannelModel>);

/** Opens one connection from a spec (amqplib is loaded on first use: it is an optional peer). */
export async function openConnection(spec: AmqpConnectionSpec): Promise<ChannelModel> {
  if (typeof spec === 'function') return spec();
  const amqp = await import('amqplib');
  return amqp.connect(spec);
}
