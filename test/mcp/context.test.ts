import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { z } from 'zod';
import { hashValue } from '../../src/support/hash.js';
import { modelServiceClient } from '../../src/mcp/model-client.js';
import { modelContext } from '../../src/mcp/context.js';
import { McpError } from '../../src/mcp/errors.js';
import { startMcpServer } from '../../src/mcp/serve.js';
import { createMcpServer } from '../../src/mcp/server.js';
import { listen } from '../../src/support/http/listen.js';
import type { AuditRecord, ReloadResult } from '../../src/types.js';
import { waitFor } from '../helpers/wait.js';
import { mcpProxy, wordModel } from './fixtures.js';

const Schema = z.object({ threshold: z.number(), label: z.string().optional() });

async function setup() {
  const service = await startMcpServer({ models: [wordModel()], token: 'context-token' });
  await service.handler.ready();
  const client = modelServiceClient({ url: service.url, token: 'context-token' });
  return { service, client };
}

test('a context update is committed only once the service confirmed the same hash', async () => {
  const { service, client } = await setup();
  let desired: unknown = { threshold: 1 };
  const audit: AuditRecord[] = [];
  const unit = modelContext({ client, model: 'words', load: () => desired, schema: Schema, retry: false, audit: (r) => { audit.push(r); } });
  try {
    const first = await unit.start();
    assert.equal(first.hash, hashValue({ threshold: 1 }));
    assert.equal(unit.get().contextHash, (await client.getModel('words')).contextHash);
    desired = { label: 'strict', threshold: 3 };
    const result = await unit.reload({ reason: 'raise threshold' });
    assert.equal(result.status, 'committed');
    const remote = await client.getModel('words');
    assert.equal(remote.contextHash, hashValue({ threshold: 3, label: 'strict' }));
    assert.equal(unit.get().contextHash, remote.contextHash);
    assert.deepEqual((await client.infer('words', 'v1', { text: 'good good' })).output, { score: 2, positive: false });
    // Invalid locally: rejected at validate, nothing pushed.
    desired = { threshold: 'high' };
    const invalid = await unit.reload();
    assert.equal(invalid.stage, 'validate');
    assert.equal((await client.getModel('words')).contextHash, remote.contextHash);
    assert.ok(audit.every((r) => !JSON.stringify(r).includes('strict')), 'audit carries hashes, never values');
    assert.deepEqual(audit.map((r) => r.outcome), ['committed', 'committed', 'rejected']);
  } finally {
    await unit.close();
    await service.close();
  }
});

test('a stale expected hash (another writer changed the context) is a conflict, then a re-read and a confirmed push', async () => {
  const { service, client } = await setup();
  let desired: unknown = { threshold: 1 };
  const results: ReloadResult[] = [];
  const unit = modelContext({ client, model: 'words', load: () => desired, schema: Schema, retry: false });
  unit.on('rejected', (e) => results.push(e.result));
  unit.on('committed', (e) => results.push(e.result));
  try {
    await unit.start();
    // Someone else writes the context behind the unit's back.
    const theirs = await client.putContext('words', { threshold: 9 }, unit.get().contextHash);
    desired = { threshold: 2 };
    const rejected = await unit.reload({ reason: 'mine' });
    assert.equal(rejected.status, 'rejected');
    assert.equal(rejected.stage, 'create');
    const cause = (rejected.error as Error & { cause?: unknown }).cause;
    assert.ok(cause instanceof McpError && cause.code === 'RELOADKIT_STALE_CONTEXT' && cause.kind === 'conflict', String(cause));
    assert.match(rejected.error?.message ?? '', /is stale, the service has sha256:/);
    // The follow-up reload (re-read hash) pushes again and is confirmed.
    await waitFor(() => unit.current?.hash === hashValue({ threshold: 2 }), { message: 'follow-up commit' });
    assert.equal((await client.getModel('words')).contextHash, hashValue({ threshold: 2 }));
    assert.notEqual(theirs.contextHash, unit.get().contextHash);
    assert.deepEqual(results.map((r) => r.status), ['committed', 'rejected', 'committed'], 'start, the stale push, the re-read push');
  } finally {
    await unit.close();
    await service.close();
  }
});

test('a service that confirms a different hash than the pushed context is rejected', async () => {
  // The service's schema strips unknown keys, so what it stores (and hashes) is not what was sent.
  const model = wordModel();
  const service = await startMcpServer({ models: [model] });
  await service.handler.ready();
  const client = modelServiceClient({ url: service.url });
  let desired: unknown = { threshold: 1 };
  const unit = modelContext({ client, model: 'words', load: () => desired, retry: false });
  try {
    await unit.start();
    desired = { threshold: 2, extra: 'dropped by the service' };
    const result = await unit.reload();
    assert.equal(result.status, 'rejected');
    assert.match(result.error?.message ?? '', /confirmed context hash sha256:[0-9a-f]+, but the pushed context hashes to sha256:/);
    assert.equal(unit.get().contextHash, hashValue({ threshold: 1 }), 'the live generation is untouched');
  } finally {
    await unit.close();
    await service.close();
  }
});

test('a push whose response is lost is settled by re-reading the hash: committed if it landed, rejected if not', async () => {
  const { service, client: direct } = await setup();
  // A proxy that forwards everything, but for an update_context call drops the connection instead of
  // answering: after forwarding (`land`) or without forwarding (`drop`).
  let putMode: 'land' | 'drop' | 'pass' = 'pass';
  const proxy = await mcpProxy(service.url, (body) => (body.includes('"update_context"') ? putMode : 'pass'));
  const client = modelServiceClient({ url: proxy.url, token: 'context-token' });
  let desired: unknown = { threshold: 1 };
  const unit = modelContext({ client, model: 'words', load: () => desired, schema: Schema, retry: false });
  try {
    await unit.start();
    putMode = 'land';
    desired = { threshold: 5 };
    const landed = await unit.reload();
    assert.equal(landed.status, 'committed', landed.error?.message);
    assert.equal((await direct.getModel('words')).contextHash, hashValue({ threshold: 5 }));
    putMode = 'drop';
    desired = { threshold: 6 };
    const dropped = await unit.reload();
    assert.equal(dropped.status, 'rejected');
    assert.match(dropped.error?.message ?? '', /tools\/call update_context failed/);
    assert.equal(unit.get().contextHash, hashValue({ threshold: 5 }));
    assert.equal((await direct.getModel('words')).contextHash, hashValue({ threshold: 5 }));
    putMode = 'pass';
    assert.equal((await unit.reload()).status, 'committed');
    assert.equal((await direct.getModel('words')).contextHash, hashValue({ threshold: 6 }));
  } finally {
    await unit.close();
    await proxy.close();
    await service.close();
  }
});

/**
 * A real `createMcpServer` behind a real socket, counting the requests on the model's context route
 * (PUT pushes and GET reads) as the service sees them. `port` lets a test restart it in place.
 */
async function countedService(port = 0) {
  const handler = createMcpServer({ models: [wordModel()], token: 'context-token' });
  await handler.ready();
  const server = createServer(handler);
  const listening = await listen(server, port, '127.0.0.1');
  const counts = {
    get puts() { return handler.stats().tools.update_context ?? 0; },
    get contextReads() { return handler.stats().reads['model://words/context'] ?? 0; },
  };
  return {
    url: `http://127.0.0.1:${listening.address.port}/mcp`,
    port: listening.address.port,
    counts,
    async close() {
      await handler.close();
      await listening.close();
    },
  };
}

test('drift: another writer changed the context while the desired one did not; the next reload pushes it back, once', async () => {
  const service = await countedService();
  const client = modelServiceClient({ url: service.url, token: 'context-token' });
  const other = modelServiceClient({ url: service.url, token: 'context-token' });
  const desired = { threshold: 1 };
  const results: ReloadResult[] = [];
  const audit: AuditRecord[] = [];
  const unit = modelContext({ client, model: 'words', load: () => desired, schema: Schema, retry: false, audit: (r) => { audit.push(r); } });
  unit.on('committed', (e) => results.push(e.result));
  try {
    const first = await unit.start();
    assert.equal(first.hash, hashValue(desired));
    // Someone else writes a different context directly; the unit's desired value stays the same.
    await other.putContext('words', { threshold: 9 }, hashValue(desired));
    assert.equal((await client.getContext('words')).contextHash, hashValue({ threshold: 9 }));
    const puts = service.counts.puts;
    const repaired = await unit.reload({ reason: 'periodic check' });
    assert.equal(repaired.status, 'committed', repaired.error?.message);
    assert.equal(service.counts.puts - puts, 1, 'exactly one push repairs the drift');
    assert.equal((await client.getContext('words')).contextHash, hashValue(desired));
    assert.equal(unit.get().contextHash, hashValue(desired), 'the handle carries the context hash');
    assert.equal(repaired.generation, first.id + 1);
    assert.notEqual(unit.current?.hash, first.hash, 'a repair generation has its own identity');
    assert.match(unit.current?.hash ?? '', /^sha256:[0-9a-f]{64}$/);
    // Repaired: the next reloads dedupe again, without pushing.
    for (let i = 0; i < 3; i++) assert.equal((await unit.reload()).status, 'unchanged');
    assert.equal(service.counts.puts - puts, 1);
    // A second drift, even to the same foreign context, is repaired again (identities never repeat).
    await other.putContext('words', { threshold: 9 }, hashValue(desired));
    assert.equal((await unit.reload()).status, 'committed');
    assert.equal(service.counts.puts - puts, 3, 'the other writer, then one repair push');
    assert.equal((await client.getContext('words')).contextHash, hashValue(desired));
    assert.equal(results.length, 3, 'start and two repairs');
    assert.deepEqual(audit.map((r) => r.outcome), ['committed', 'committed', 'unchanged', 'unchanged', 'unchanged', 'committed']);
  } finally {
    await unit.close();
    await service.close();
  }
});

test('steady state: reloads with no drift push nothing and are unchanged; a changed context pushes once, without a drift read', async () => {
  const service = await countedService();
  const client = modelServiceClient({ url: service.url, token: 'context-token' });
  let desired: unknown = { threshold: 1 };
  const unit = modelContext({ client, model: 'words', load: () => desired, schema: Schema, retry: false });
  try {
    await unit.start();
    assert.equal(service.counts.puts, 1, 'the initial push');
    const generation = unit.current?.id;
    const reads = service.counts.contextReads;
    for (let i = 0; i < 5; i++) {
      const result = await unit.reload({ reason: `tick ${i}` });
      assert.equal(result.status, 'unchanged');
      assert.equal(result.generation, generation);
    }
    assert.equal(service.counts.puts, 1, 'no push while the service holds the desired context');
    assert.equal(service.counts.contextReads - reads, 5, 'one hash read per reload');
    // A real change is pushed once, and its If-Match is the check: no extra read.
    desired = { threshold: 2 };
    const changed = await unit.reload();
    assert.equal(changed.status, 'committed');
    assert.equal(unit.current?.hash, hashValue({ threshold: 2 }));
    assert.equal(service.counts.puts, 2);
    assert.equal(service.counts.contextReads - reads, 5);
    assert.equal((await unit.reload()).status, 'unchanged');
    assert.equal(service.counts.puts, 2);
  } finally {
    await unit.close();
    await service.close();
  }
});

test('a service restarted with its default context: a reload while it is down is rejected, the next one repairs it', async () => {
  let service = await countedService();
  const port = service.port;
  // The restart ends the session: the connection opens a new one (the old id is answered 404).
  const client = modelServiceClient({ url: service.url, token: 'context-token', reconnectDelayMs: 20, maxReconnectDelayMs: 200 });
  const desired = { threshold: 4, label: 'tuned' };
  const unit = modelContext({ client, model: 'words', load: () => desired, schema: Schema, retry: false });
  try {
    await unit.start();
    assert.equal((await client.getContext('words')).contextHash, hashValue(desired));
    await service.close();
    const down = await unit.reload({ reason: 'service down' });
    assert.equal(down.status, 'rejected', 'an unreachable service cannot be confirmed');
    assert.equal(down.stage, 'create');
    assert.match(down.error?.message ?? '', /tools\/call update_context failed/);
    assert.equal(unit.get().contextHash, hashValue(desired), 'the live generation is kept');
    // The service comes back on the same port with its default context.
    service = await countedService(port);
    assert.equal((await client.getContext('words')).contextHash, hashValue({ threshold: 0 }));
    const repaired = await unit.reload({ reason: 'service back' });
    assert.equal(repaired.status, 'committed', repaired.error?.message);
    assert.equal(service.counts.puts, 1, 'one push to the restarted service');
    assert.equal((await client.getContext('words')).contextHash, hashValue(desired));
    assert.deepEqual((await client.infer('words', 'v1', { text: 'good good good' })).output, { score: 3, positive: false }, 'the model scores with the repaired context');
    assert.equal((await unit.reload()).status, 'unchanged');
    assert.equal(service.counts.puts, 1);
  } finally {
    await unit.close();
    await service.close();
  }
});
