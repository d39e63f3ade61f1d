/**
 * The fleet reporter with several real instances (child processes, test/etcd/fleet-worker.ts)
 * on a real etcd: a valid config shows every instance on the new hash; an invalid one shows every
 * instance's rejection (stage and code) while all of them keep serving the previous config; a
 * stopped instance's records vanish with its lease.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Etcd3 } from 'etcd3';
import { formatFleetTable, readFleet, summarizeFleet, fleetRecord, etcdFleetReporter } from '../../src/etcd/index.js';
import { hashValue } from '../../src/support/hash.js';
import { createRegistry, reloadable } from '../../src/index.js';
import { etcdSource } from '../../src/etcd/index.js';
import { haveBinary, startEtcd, type RunningServer } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';
import { testEtcdClient } from './support.js';

const available = haveBinary('etcd');
const WORKER = fileURLToPath(new URL('./fleet-worker.ts', import.meta.url));
const KEY = '/fleet-test/config';
const PREFIX = '/fleet-test/status/';

interface Worker {
  id: string;
  child: ChildProcess;
  lines: string[];
  exited: Promise<void>;
}

function spawnWorker(url: string, id: string): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, url, KEY, PREFIX, id], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { id, child, lines, exited };
}

async function askValue(worker: Worker): Promise<unknown> {
  const before = worker.lines.length;
  worker.child.stdin!.write('get\n');
  const line = await waitFor(() => worker.lines.slice(before).find((l) => l.startsWith('value ')), { message: `${worker.id} answers get` });
  return JSON.parse(line.slice('value '.length));
}

describe('etcdFleetReporter with real instances', { skip: available ? false : 'etcd not installed' }, () => {
  let etcd: RunningServer;
  let client: Etcd3;
  const workers: Worker[] = [];

  before(async () => {
    etcd = await startEtcd();
    client = testEtcdClient(etcd.url);
  });
  after(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    client?.close();
    await etcd?.stop();
  });

  it('shows convergence on a good config and every rejection of a bad one, all serving the old one', async () => {
    await client.put(KEY).value(JSON.stringify({ port: 1000 }));
    for (const id of ['w1', 'w2', 'w3']) workers.push(spawnWorker(etcd.url, id));
    await waitFor(() => workers.every((w) => w.lines.includes('ready')), { message: 'workers ready', timeoutMs: 60_000 });

    const h1 = hashValue({ port: 1000 });
    const fleetOn = async (hash: string, outcome: string) => {
      const table = await readFleet(client, PREFIX);
      const rows = table.rows.filter((r) => r.unit === 'config');
      return rows.length === 3 && rows.every((r) => r.hash === hash && r.outcome === outcome) ? table : undefined;
    };
    const initial = await waitFor(() => fleetOn(h1, 'committed'), { message: 'fleet on the first config' });
    assert.deepEqual(initial.instances.map((i) => i.instance), ['w1', 'w2', 'w3']);

    // A good config: every instance converges on its hash.
    await client.put(KEY).value(JSON.stringify({ port: 2000 }));
    const h2 = hashValue({ port: 2000 });
    const good = await waitFor(() => fleetOn(h2, 'committed'), { message: 'fleet converged on the good config' });
    assert.ok(good.rows.every((r) => r.generation === 2 && r.state === 'ready' && r.errorCode === undefined));
    const summary = summarizeFleet(good, 'config');
    assert.equal(summary.converged, true);
    assert.deepEqual(summary.byHash[h2], ['w1', 'w2', 'w3']);

    // A bad config: every instance records its rejection and keeps the good one.
    await client.put(KEY).value(JSON.stringify({ port: 70000 }));
    const bad = await waitFor(() => fleetOn(h2, 'rejected'), { message: 'every instance rejected the bad config' });
    for (const row of bad.rows) {
      assert.equal(row.generation, 2);
      assert.equal(row.stage, 'validate');
      assert.equal(row.errorCode, 'RELOADKIT_VALIDATION');
    }
    const rejected = summarizeFleet(bad, 'config');
    assert.equal(rejected.converged, true);
    assert.deepEqual(rejected.rejected.map((r) => r.instance), ['w1', 'w2', 'w3']);
    for (const worker of workers) assert.deepEqual(await askValue(worker), { port: 2000 });

    // A source that cannot give a valid candidate leaves the unit degraded (still serving the good one).
    const text = formatFleetTable(bad);
    assert.match(text, /^UNIT\s+INSTANCE\s+STATE\s+GEN\s+HASH\s+LAST\s+STAGE\s+ERROR/);
    assert.match(text, /config\s+w2\s+degraded\s+2\s+[0-9a-f]{12}\s+rejected\s+validate\s+RELOADKIT_VALIDATION/);
    // Records carry hashes and codes, never values.
    const raw = await client.getAll().prefix(PREFIX).strings();
    for (const text of Object.values(raw)) assert.doesNotMatch(text, /"port"/);
    const allowed = new Set(['instance', 'unit', 'state', 'generation', 'hash', 'committedAt', 'outcome', 'stage', 'errorCode', 'attemptAt', 'reportedAt']);
    for (const row of bad.rows) assert.deepEqual(Object.keys(row).filter((k) => !allowed.has(k)), []);

    // A stopped instance revokes its lease: its records vanish.
    const w3 = workers[2]!;
    w3.child.kill('SIGTERM');
    await w3.exited;
    const remaining = await readFleet(client, PREFIX);
    assert.deepEqual(remaining.instances.map((i) => i.instance), ['w1', 'w2']);
    assert.ok(remaining.rows.every((r) => r.instance !== 'w3'));
  });

  it('grants a new lease and rewrites its records when an operator revokes the lease', async () => {
    const prefix = '/fleet-test/revoke/';
    await client.put('/fleet-test/solo').value(JSON.stringify({ port: 1 }));
    const registry = createRegistry();
    registry.add(reloadable({ name: 'config', source: etcdSource(client, { key: '/fleet-test/solo' }), retry: false }));
    await registry.start();
    const errors: Error[] = [];
    const reporter = etcdFleetReporter(registry, client, { prefix, instanceId: 'solo', ttl: 5, onError: (e) => errors.push(e) });
    try {
      await reporter.start();
      const [kv] = (await client.get(`${prefix}solo/config`).exec()).kvs;
      assert.ok(kv && kv.lease !== '0', 'the record is attached to a lease');
      await client.leaseClient.leaseRevoke({ ID: kv.lease });
      await waitFor(async () => {
        const [again] = (await client.get(`${prefix}solo/config`).exec()).kvs;
        return again !== undefined && again.lease !== kv.lease;
      }, { message: 'records rewritten under a new lease', timeoutMs: 20_000 });
      assert.ok(errors.length >= 1, 'the lost lease was reported');
      assert.deepEqual((await readFleet(client, prefix)).instances.map((i) => i.instance), ['solo']);
    } finally {
      await reporter.close();
      await registry.close();
    }
    assert.deepEqual(await readFleet(client, prefix), { instances: [], rows: [] });
  });

  it('does not rewrite a record that did not change (periodic unchanged reloads), and writes a rejection', async () => {
    const prefix = '/fleet-test/dedupe/';
    await client.put('/fleet-test/dedupe-config').value(JSON.stringify({ port: 1 }));
    const registry = createRegistry();
    const unit = registry.add(reloadable({ name: 'config', source: etcdSource(client, { key: '/fleet-test/dedupe-config' }), retry: false, validate: (v) => {
      if ((v as { port?: unknown }).port === 0) throw new Error('port 0');
    } }));
    await registry.start();
    const reporter = etcdFleetReporter(registry, client, { prefix, instanceId: 'd', ttl: 5 });
    try {
      await reporter.start();
      const revision = async () => (await client.get(`${prefix}d/config`).exec()).kvs[0]?.mod_revision;
      // The first `unchanged` is news (the last outcome was the start's `committed`)...
      assert.equal((await unit.reload()).status, 'unchanged');
      await reporter.flush();
      const first = await revision();
      // ...the next ones are not.
      for (let i = 0; i < 3; i++) assert.equal((await unit.reload()).status, 'unchanged');
      await reporter.flush();
      assert.equal(await revision(), first, 'identical records are not rewritten');
      await client.put('/fleet-test/dedupe-config').value(JSON.stringify({ port: 0 }));
      await waitFor(async () => (await readFleet(client, prefix)).rows[0]?.outcome === 'rejected', { message: 'rejection written' });
      assert.notEqual(await revision(), first);
    } finally {
      await reporter.close();
      await registry.close();
    }
  });

  it('builds records from status and the latest attempt, and validates its options', () => {
    const record = fleetRecord(
      'a',
      { name: 'u', state: 'ready', generation: 3, hash: 'sha256:ab', committedAt: 1, lastAttempt: { at: 2, outcome: 'committed' }, leases: 0, draining: 0 },
      { status: 'rejected', stage: 'health', error: Object.assign(new Error('x'), { code: 'RELOADKIT_HEALTH' }) },
      5,
    );
    assert.deepEqual(record, {
      instance: 'a', unit: 'u', state: 'ready', generation: 3, hash: 'sha256:ab', committedAt: 1,
      outcome: 'rejected', attemptAt: 2, reportedAt: 5, stage: 'health', errorCode: 'RELOADKIT_HEALTH',
    });
    const registry = { units: () => [] };
    assert.throws(() => etcdFleetReporter({} as typeof registry, client, { prefix: '/p/' }), TypeError);
    assert.throws(() => etcdFleetReporter(registry, client, { prefix: '' }), /prefix/);
    assert.throws(() => etcdFleetReporter(registry, client, { prefix: '/p/', instanceId: 'a/b' }), /instanceId/);
    assert.throws(() => etcdFleetReporter(registry, client, { prefix: '/p/', ttl: 0 }), /ttl/);
  });
});
