/**
 * Fleet invalidation over a REAL Redis: this process publishes changes on a channel; two OTHER
 * real child processes, each with its own reloadable cache subscribed to that channel, must
 * reload exactly the affected keys, and nothing else (load counts reported over IPC).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { haveBinary, startRedis } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';

const CHILD = fileURLToPath(new URL('./fixtures/fleet-child.ts', import.meta.url));
const KEYS = ['user:1', 'user:2', 'user:3', 'product:1', 'product:2', 'config'];

interface ChildMessage {
  member: string;
  type: string;
  loads?: Record<string, number>;
  invalidated?: number;
  message?: string;
  where?: string;
}

interface Member {
  name: string;
  child: ChildProcess;
  messages: ChildMessage[];
}

function startMember(name: string, url: string, channel: string): Member {
  const child = fork(CHILD, [], {
    // Resolved here so the child finds tsx whatever its working directory.
    execArgv: ['--import', import.meta.resolve('tsx')],
    env: { ...process.env, REDIS_URL: url, CHANNEL: channel, MEMBER: name, KEYS: KEYS.join(',') },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const member: Member = { name, child, messages: [] };
  child.on('message', (m: ChildMessage) => member.messages.push(m));
  return member;
}

function last(member: Member, type: string): ChildMessage | undefined {
  return member.messages.filter((m) => m.type === type).at(-1);
}

function count(member: Member, type: string): number {
  return member.messages.filter((m) => m.type === type).length;
}

async function currentLoads(member: Member): Promise<Record<string, number>> {
  const before = count(member, 'loads');
  member.child.send({ type: 'loads' });
  await waitFor(() => count(member, 'loads') > before, { message: `${member.name} loads report` });
  return last(member, 'loads')?.loads ?? {};
}

test('a change published on a real Redis channel invalidates exactly the affected keys in two other processes', { timeout: 90_000 }, async (t) => {
  if (!haveBinary('redis-server')) {
    t.skip('redis-server not installed');
    return;
  }
  const redis = await startRedis();
  const channel = 'reloadkit:cache:catalog';
  const members: Member[] = [];
  const publisher = new Redis(redis.url, { maxRetriesPerRequest: 3 });
  try {
    members.push(startMember('a', redis.url, channel), startMember('b', redis.url, channel));
    for (const m of members) await waitFor(() => last(m, 'ready'), { timeoutMs: 45_000, message: `member ${m.name} ready` });
    for (const m of members) assert.deepEqual(last(m, 'ready')?.loads, Object.fromEntries(KEYS.map((k) => [k, 1])));

    // 1. One key changed.
    assert.equal(await publisher.publish(channel, JSON.stringify({ keys: ['user:2'] })), 2, 'both members are subscribed');
    for (const m of members) await waitFor(() => count(m, 'invalidated') >= 1, { message: `${m.name} applied change 1` });
    // 2. A whole prefix changed.
    await publisher.publish(channel, JSON.stringify({ prefix: 'product:' }));
    for (const m of members) await waitFor(() => count(m, 'invalidated') >= 2, { message: `${m.name} applied change 2` });
    // 3. A key nobody caches: nothing loads.
    await publisher.publish(channel, JSON.stringify({ keys: ['user:999'] }));
    for (const m of members) await waitFor(() => count(m, 'invalidated') >= 3, { message: `${m.name} applied change 3` });

    const expected = { 'user:1': 1, 'user:2': 2, 'user:3': 1, 'product:1': 2, 'product:2': 2, config: 1 };
    for (const m of members) {
      assert.deepEqual(await currentLoads(m), expected, `member ${m.name}: exactly the affected keys reloaded, once each`);
      const invalidated = m.messages.filter((x) => x.type === 'invalidated').map((x) => x.invalidated);
      assert.deepEqual(invalidated, [1, 2, 0]);
      assert.equal(count(m, 'error'), 0, JSON.stringify(m.messages.filter((x) => x.type === 'error')));
    }
  } finally {
    await Promise.all(
      members.map(async (m) => {
        if (m.child.exitCode !== null || m.child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => m.child.once('exit', () => resolve()));
        if (m.child.connected) m.child.send({ type: 'close' });
        const timer = setTimeout(() => m.child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    await publisher.quit().catch(() => publisher.disconnect());
    await redis.stop();
  }
});
