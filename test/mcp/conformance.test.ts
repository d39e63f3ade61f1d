/**
 * The official MCP conformance suite (`@modelcontextprotocol/conformance`) against both ends:
 * its server scenarios against the model service's MCP server (over a real socket), and its
 * client scenarios against the adapter (test/mcp/conformance/client.ts: `mcpConnection` and
 * `mcpToolsSource`). Only the scenarios that apply run here; docs/mcp.md lists the others and why.
 * The CLI needs Node 22's `fs.globSync`: test/mcp/conformance/register.mjs supplies it on Node 20.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startMcpServer } from '../../src/mcp/serve.js';
import { wordModel } from './fixtures.js';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const cli = join(dirname(require.resolve('@modelcontextprotocol/conformance/package.json')), 'dist', 'index.js');
const register = fileURLToPath(new URL('./conformance/register.mjs', import.meta.url));
const client = fileURLToPath(new URL('./conformance/client.ts', import.meta.url));

/** The server scenarios that apply to a model service (the others need the suite's reference fixtures). */
export const SERVER_SCENARIOS = ['server-initialize', 'ping', 'tools-list', 'tools-call-error', 'server-sse-multiple-streams', 'resources-list', 'dns-rebinding-protection'];
/** The client scenarios that apply to the adapter (no OAuth, no elicitation). */
export const CLIENT_SCENARIOS = ['initialize', 'tools_call', 'sse-retry'];

async function conformance(args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', register, cli, ...args], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
    const out = stdout + stderr;
    return { ok: !/FAILED|\b[1-9]\d* failed/.test(out), out };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    return { ok: false, out: `${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

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

for (const scenario of CLIENT_SCENARIOS) {
  test(`conformance client scenario ${scenario} passes against the adapter`, async () => {
    const { ok, out } = await conformance(['client', '--command', `"${process.execPath}" --import tsx "${client}"`, '--scenario', scenario]);
    assert.ok(ok, `${scenario}:\n${out.slice(-3000)}`);
  });
}
