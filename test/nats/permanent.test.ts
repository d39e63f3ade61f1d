/**
 * natsKvSource marks a permissions violation as permanent, against a real nats-server whose user
 * may not read the bucket's messages: the unit's load is attempted once, not retried.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { reloadable } from '../../src/index.js';
import { natsKvSource } from '../../src/nats/index.js';
import { haveBinary, startServer, tcpProbe } from '../helpers/servers.js';
import { countReads, permanentInChain } from '../helpers/count-reads.js';

/** A nats-server with JetStream and two users: `admin`, and `reader`, who may not get messages. */
function startNatsWithReader() {
  return startServer({
    binary: 'nats-server',
    extraPorts: 0,
    args: (port, dataDir) => {
      const conf = join(dataDir, 'nats.conf');
      writeFileSync(conf, [
        `jetstream { store_dir: "${join(dataDir, 'js')}" }`,
        'accounts { app { jetstream: enabled, users: [',
        '  { user: admin, password: admin-pw },',
        '  { user: reader, password: reader-pw, permissions: { publish: { deny: ["$JS.API.DIRECT.GET.>", "$JS.API.STREAM.MSG.GET.>"] } } }',
        '] } }',
      ].join('\n'));
      return ['-a', '127.0.0.1', '-p', String(port), '-c', conf];
    },
    url: (port) => `nats://127.0.0.1:${port}`,
    probe: (port) => tcpProbe(port),
  });
}

test('natsKvSource: a permissions violation is permanent: one attempt, not retried', { skip: haveBinary('nats-server') ? false : 'nats-server not installed' }, async (t) => {
  const server = await startNatsWithReader();
  t.after(() => server.stop());
  const admin = await connect({ servers: server.url, user: 'admin', pass: 'admin-pw' });
  t.after(() => admin.close());
  await (await new Kvm(admin).create('app')).put('config', JSON.stringify({ n: 1 }));
  const reader = await connect({ servers: server.url, user: 'reader', pass: 'reader-pw' });
  t.after(() => reader.close());

  const source = natsKvSource(await new Kvm(reader).open('app'), 'config');
  const counted = countReads(source);
  const unit = reloadable({ name: 'config', source: counted.source, retry: { retries: 4, minTimeout: 1 } });
  t.after(() => unit.close());
  await assert.rejects(unit.start(), (error: Error) => {
    assert.match(error.message, /Permissions Violation/);
    assert.ok(permanentInChain(error), 'the load error says it is permanent');
    return true;
  });
  assert.equal(counted.reads, 1, 'attempted once out of 5');
});
