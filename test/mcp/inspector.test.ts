/**
 * A client nobody here wrote: the MCP Inspector's CLI (`@modelcontextprotocol/inspector-cli`) as a
 * child process against the model service's MCP server over a real socket, with the bearer token.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { hashValue } from '../../src/support/hash.js';
import { modelServiceClient } from '../../src/mcp/model-client.js';
import { startMcpServer } from '../../src/mcp/serve.js';
import { wordModel } from './fixtures.js';

const run = promisify(execFile);
// The CLI finds its own package.json relative to the working directory: run it from its build folder.
const require = createRequire(import.meta.url);
const cli = join(dirname(require.resolve('@modelcontextprotocol/inspector-cli/package.json')), 'build', 'index.js');
const TOKEN = 'inspector-token-123';

async function inspector(url: string, args: string[], token = TOKEN): Promise<any> {
  const { stdout } = await run(process.execPath, [cli, url, '--transport', 'http', '--header', `Authorization: Bearer ${token}`, ...args], { timeout: 60_000, cwd: dirname(cli) });
  return JSON.parse(stdout);
}

test('the MCP Inspector CLI lists the model service tools and resources and calls update_context; without the token it gets nothing', async () => {
  const service = await startMcpServer({ models: [wordModel()], token: TOKEN });
  await service.handler.ready();
  try {
    // Independent calls side by side: each is a process start of the CLI.
    const [tools, resources, refused] = await Promise.all([
      inspector(service.url, ['--method', 'tools/list']),
      inspector(service.url, ['--method', 'resources/list']),
      inspector(service.url, ['--method', 'tools/list'], 'wrong-token-0000').then(() => 'answered', () => 'refused'),
    ]);
    assert.deepEqual(tools.tools.map((t: { name: string }) => t.name).sort(), ['infer', 'load_version', 'set_weights', 'unload_version', 'update_context']);
    const update = tools.tools.find((t: { name: string }) => t.name === 'update_context');
    assert.deepEqual(update.inputSchema.required.sort(), ['context', 'expectedHash', 'model']);
    assert.deepEqual(resources.resources.map((r: { uri: string }) => r.uri).sort(), ['model://words', 'model://words/context']);
    assert.equal(refused, 'refused', 'without the token the Inspector gets nothing');
    // The current hash is computable locally (RFC 8785 + SHA-256 of the initial context).
    const current = hashValue({ threshold: 0 });
    const called = await inspector(service.url, [
      '--method', 'tools/call', '--tool-name', 'update_context',
      '--tool-arg', 'model=words', '--tool-arg', 'context={"threshold":5}', '--tool-arg', `expectedHash=${current}`,
    ]);
    assert.notEqual(called.isError, true, JSON.stringify(called));
    assert.equal(called.structuredContent.contextHash, hashValue({ threshold: 5 }));
    const client = modelServiceClient({ url: service.url, token: TOKEN });
    assert.equal((await client.getContext('words')).contextHash, hashValue({ threshold: 5 }), 'the update landed');
    await client.connection.close();
  } finally {
    await service.close();
  }
});
