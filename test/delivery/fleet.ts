/**
 * The parent side of the delivery fleet (tests and bench): start the child processes of
 * fleet-child.ts, talk to them over IPC, and publish over each transport.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import type { ChildConfig, ChildRequest, ChildStats, Transport } from './fleet-child.js';
import { redisPublisher } from '../../src/redis/index.js';
import { natsPublisher, jetStreamPublisher } from '../../src/nats/index.js';
import { amqpPublisher } from '../../src/amqp/index.js';
import type { DeliveryTransport } from '../../src/support/delivery/publisher.js';

export type { ChildStats, Transport };

const CHILD = fileURLToPath(new URL('./fleet-child.ts', import.meta.url));

type Pending = Map<number, (result: unknown) => void>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface FleetChild {
  /** Every `{ loaded, value, at }` report of a child started with `report: true`. */
  onLoaded(listener: (report: { loaded: string; value: string; at: number }) => void): void;
  read(keys: string[]): Promise<string[]>;
  stats(): Promise<ChildStats>;
  mark(): Promise<void>;
  close(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Forks one child and resolves once its cache and trigger are started. */
export async function startChild(config: ChildConfig): Promise<FleetChild> {
  const child = fork(CHILD, [JSON.stringify(config)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const pending: Pending = new Map();
  const loadListeners: ((report: { loaded: string; value: string; at: number }) => void)[] = [];
  let nextId = 1;
  await new Promise<void>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`fleet child (${config.transport}) exited with ${code} before it was ready`));
    child.once('exit', onExit);
    child.on('message', (message: { ready?: boolean; id?: number; result?: unknown; loaded?: string }) => {
      if (message.loaded !== undefined) {
        for (const listener of loadListeners) listener(message as { loaded: string; value: string; at: number });
        return;
      }
      if (message.ready) {
        child.off('exit', onExit);
        resolve();
        return;
      }
      if (message.id !== undefined) {
        pending.get(message.id)?.(message.result);
        pending.delete(message.id);
      }
    });
  });
  const request = <T>(cmd: DistributiveOmit<ChildRequest, 'id'>): Promise<T> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, resolve as (r: unknown) => void);
      child.send({ ...cmd, id } as ChildRequest, (error) => {
        if (error) reject(error);
      });
    });
  return {
    onLoaded: (listener) => void loadListeners.push(listener),
    read: (keys) => request<string[]>({ cmd: 'read', keys }),
    stats: () => request<ChildStats>({ cmd: 'stats' }),
    mark: () => request<boolean>({ cmd: 'mark' }).then(() => undefined),
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await Promise.race([request({ cmd: 'close' }), exited]);
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
      child.kill('SIGKILL');
    },
  };
}

/** A publisher transport for the parent, per transport kind. */
export async function parentPublisher(transport: Transport, topic: string, deps: { redis?: Redis; natsUrl?: string; amqpUrl?: string }): Promise<{ bus: DeliveryTransport; close(): Promise<void> }> {
  switch (transport) {
    case 'redis-pubsub':
      return { bus: redisPublisher(deps.redis!, { channel: topic, id: 'parent' }), close: async () => undefined };
    case 'redis-stream':
      return { bus: redisPublisher(deps.redis!, { stream: topic, id: 'parent' }), close: async () => undefined };
    case 'nats':
    case 'jetstream': {
      const { connect } = await import('@nats-io/transport-node');
      const nc = await connect({ servers: deps.natsUrl! });
      if (transport === 'nats') return { bus: natsPublisher(nc, `${topic}.values`, { id: 'parent' }), close: () => nc.close() };
      const { jetstream, jetstreamManager } = await import('@nats-io/jetstream');
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: topic, subjects: [`${topic}.>`] });
      return { bus: jetStreamPublisher(jetstream(nc), `${topic}.values`, { id: 'parent' }), close: () => nc.close() };
    }
    case 'amqp': {
      const amqp = await import('amqplib');
      const connection = await amqp.connect(deps.amqpUrl!);
      const channel = await connection.createConfirmChannel();
      await channel.assertExchange(topic, 'topic', { durable: true });
      return { bus: amqpPublisher(channel, { exchange: topic, routingKey: 'values', id: 'parent' }), close: () => connection.close() };
    }
    case 'etcd':
      throw new Error('etcd invalidations are plain puts: no publisher transport');
  }
}
