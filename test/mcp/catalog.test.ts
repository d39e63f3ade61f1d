import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mcpCatalog } from '../../src/mcp/catalog.js';
import { mcpConnection } from '../../src/mcp/connection.js';
import type { McpConnection } from '../../src/mcp/connection.js';
import { mcpConnectionSet } from '../../src/mcp/connection-set.js';
import type { McpServerConfig } from '../../src/mcp/connection-set.js';
import { waitFor } from '../helpers/wait.js';
import { startToolServer, tool } from './tool-server.js';
import type { ToolServer } from './tool-server.js';

async function three(): Promise<{ servers: ToolServer[]; connections: Record<string, McpConnection>; close(): Promise<void> }> {
  const servers = await Promise.all(['a', 'b', 'c'].map((n) => startToolServer([tool(`${n}_epoch_0`)])));
  const connections = Object.fromEntries(servers.map((s, i) => [['a', 'b', 'c'][i] as string, mcpConnection({ url: s.url, name: ['a', 'b', 'c'][i] as string })]));
  return {
    servers,
    connections,
    async close() {
      await Promise.all(Object.values(connections).map((c) => c.close()));
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}

test('three servers in one catalog commit atomically: a reader never sees servers from different reloads; one bad server changes none', async () => {
  const { servers, connections, close } = await three();
  const tools = mcpCatalog({ servers: connections });
  const epochsOf = (names: string[]): Set<string> => new Set(names.map((n) => n.split('_epoch_')[1] as string));
  const mixed: string[] = [];
  let reading = true;
  try {
    await tools.start();
    assert.deepEqual(tools.catalog.get().entries.map((e) => e.name), ['a_epoch_0', 'b_epoch_0', 'c_epoch_0']);
    // A reader samples the server units and the merged catalog, every tick, while reloads commit.
    const reader = (async () => {
      while (reading) {
        const units = epochsOf(Object.values(tools.servers).flatMap((u) => u.get().map((t) => t.name)));
        const merged = epochsOf(tools.catalog.get().entries.map((e) => e.name));
        if (units.size > 1 || merged.size > 1) mixed.push(`${[...units]} / ${[...merged]}`);
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let epoch = 1; epoch <= 5; epoch++) {
      // Changed silently on every server; one catalog reload reads all three.
      servers.forEach((s, i) => { s.tools = [tool(`${['a', 'b', 'c'][i]}_epoch_${epoch}`)]; });
      const r = await tools.reload({ reason: `epoch ${epoch}` });
      assert.equal(r.servers.status, 'committed');
      assert.equal(r.catalog?.status, 'committed');
      assert.deepEqual([...epochsOf(tools.catalog.get().entries.map((e) => e.name))], [String(epoch)]);
    }
    // One server serves an invalid schema: the group is rejected, no server unit and not the catalog changes.
    servers[0]!.tools = [tool('a_epoch_6')];
    servers[1]!.tools = [{ name: 'b_epoch_6', inputSchema: { type: 'object', properties: { x: { type: 'nope' } } } }];
    servers[2]!.tools = [tool('c_epoch_6')];
    const bad = await tools.reload();
    assert.equal(bad.servers.status, 'rejected');
    assert.deepEqual(bad.servers.failed, ['tools:b']);
    assert.equal(bad.catalog, undefined);
    assert.deepEqual(tools.catalog.get().entries.map((e) => e.name), ['a_epoch_5', 'b_epoch_5', 'c_epoch_5']);
    assert.deepEqual(tools.servers.a!.get().map((t) => t.name), ['a_epoch_5'], 'the valid server did not commit alone');
    reading = false;
    await reader;
    assert.deepEqual(mixed, [], 'no sample mixed two reloads');
    // A notification from one server reloads the group: the catalog follows.
    servers[1]!.tools = [tool('b_epoch_7')];
    servers[2]!.tools = [tool('c_epoch_7')];
    servers[0]!.tools = [tool('a_epoch_7')];
    await servers[0]!.setTools(servers[0]!.tools);
    await waitFor(() => tools.catalog.get().entries.every((e) => e.name.endsWith('_epoch_7')), { message: 'the catalog after a notification' });
  } finally {
    reading = false;
    await tools.close();
    await close();
  }
});

test('a tool name served by two servers is rejected with both names; namespacing serves both', async () => {
  const { servers, connections, close } = await three();
  servers[0]!.tools = [tool('search')];
  servers[1]!.tools = [tool('search')];
  const strict = mcpCatalog({ servers: connections, name: 'strict' });
  const spaced = mcpCatalog({ servers: connections, name: 'spaced', namespace: true });
  try {
    await assert.rejects(strict.start(), /tool "search" is served by a and b/);
    await spaced.start();
    assert.deepEqual(spaced.catalog.get().entries.map((e) => e.name), ['a.search', 'b.search', 'c.c_epoch_0']);
    assert.equal(spaced.catalog.get().get('b.search')?.server, 'b');
    assert.equal(spaced.catalog.get().get('b.search')?.tool, 'search');
  } finally {
    await strict.close();
    await spaced.close();
    await close();
  }
});

test('the connection set follows its config: a removed server is drained (its call in flight completes) then closed; a re-credited one is rebuilt and pinged', async () => {
  const a = await startToolServer([tool('slow')]);
  const b = await startToolServer([tool('fast')]);
  let config: McpServerConfig[] = [{ name: 'a', url: a.url }, { name: 'b', url: b.url, token: 'first-token' }];
  const set = mcpConnectionSet({ load: () => config, timeouts: { drain: 30_000 } });
  try {
    await set.start();
    assert.deepEqual([...set.get().keys()], ['a', 'b']);
    const oldB = set.get().get('b')!;
    await waitFor(() => a.sessions() === 1 && b.sessions() === 1, { message: 'one session each' });
    a.callDelayMs = 400;
    const call = set.use((conns) => conns.get('a')!.request('tools/call slow', (c, o) => c.callTool({ name: 'slow', arguments: {} }, undefined, o)));
    await waitFor(() => (a.calls['tools/call'] ?? 0) === 1, { message: 'the call reached server a' });
    config = [{ name: 'b', url: b.url, token: 'second-token' }];
    const r = await set.reload({ reason: 'remove a, rotate b' });
    assert.equal(r.status, 'committed', r.error?.message);
    assert.deepEqual([...set.get().keys()], ['b']);
    assert.notEqual(set.get().get('b'), oldB, 'the re-credited server has a new connection');
    assert.equal(a.sessions(), 1, 'a stays open while its call is in flight');
    assert.equal(set.status().draining, 1);
    const result = await call;
    assert.match(JSON.stringify(result.content), /called slow/, 'the in-flight call completed');
    await waitFor(() => a.sessions() === 0, { message: 'a closed after the drain' });
    await waitFor(() => b.sessions() === 1, { message: 'the old b session closed, the new one open' });
    assert.equal(set.status().draining, 0);
    // A server that cannot be reached fails the candidate: the live set is untouched.
    config = [{ name: 'b', url: b.url, token: 'second-token' }, { name: 'gone', url: 'http://127.0.0.1:9/mcp' }];
    const failed = await set.reload();
    assert.equal(failed.status, 'rejected');
    assert.equal(failed.stage, 'create');
    assert.deepEqual([...set.get().keys()], ['b']);
    assert.equal(b.sessions(), 1);
  } finally {
    await set.close();
    await a.close();
    await b.close();
  }
});
