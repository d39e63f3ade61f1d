/**
 * The official MCP conformance suite (`@modelcontextprotocol/conformance`) against both ends:
 * its server scenarios against the model service's MCP server (over a real socket), and its
 * client scenarios against the adapter (test/mcp/conformance/client.ts: `mcpConnection` and
 * `mcpToolsSource`). Only the scenarios that apply run here; docs/mcp.md lists the others and why.
 * The CLI needs Node 22's `fs.globSync`: test/mcp/conformance/register.mjs supplies it on Node 20.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startMcpServer } from '../../src/mcp/serve.js';
import { wordModel } from './fixtures.js';
import { SERVER_SCENARIOS, conformance } from './conformance/run.js';

let service: Awaited<ReturnType<typeof startMcpServer>> | undefined;

before(async () => {
  service = await startMcpServer({ models: [wordModel()] });
  await service.handler.ready();
});
after(async () => {
  await service?.close();
});

// One run of the suite's CLI over every server scenario (one process start); the summary has a line per scenario.
test('conformance server scenarios that apply pass against the model service MCP server', async () => {
  // The suite reaches the server as \`localhost\` (the Host a rebinding check compares against).
  const url = (service as NonNullable<typeof service>).url.replace('127.0.0.1', 'localhost');
  const { out } = await conformance(['server', '--url', url]);
  const summary = new Map([...out.matchAll(/^[✓✗] ([\w-]+): (\d+) passed, (\d+) failed$/gmu)].map((m) => [m[1] as string, { passed: Number(m[2]), failed: Number(m[3]) }]));
  for (const scenario of SERVER_SCENARIOS) {
    const line = summary.get(scenario);
    assert.ok(line && line.passed > 0 && line.failed === 0, `${scenario}: ${JSON.stringify(line)}\n${out.slice(-3000)}`);
  }
});

