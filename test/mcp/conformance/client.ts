/**
 * The adapter as a conformance-suite client: `conformance client --command "node --import tsx
 * test/mcp/conformance/client.ts"` appends the scenario server's URL. It connects with
 * `mcpConnection`, reads the tool list with `mcpToolsSource` (validated by `ToolCatalogSchema`),
 * calls each tool the scenario offers, and ends the session.
 */
import { ToolCatalogSchema } from '../../../src/mcp/catalog-schema.js';
import { mcpConnection } from '../../../src/mcp/connection.js';
import { mcpToolsSource } from '../../../src/mcp/sources.js';

const url = process.argv.at(-1) as string;
const connection = mcpConnection({ url, name: 'conformance', timeoutMs: 20_000 });
const arguments_: Record<string, Record<string, unknown>> = { add_numbers: { a: 3, b: 4 } };
try {
  await connection.connect();
  const tools = ToolCatalogSchema.parse(await mcpToolsSource(connection).read({ signal: AbortSignal.timeout(20_000) }));
  for (const tool of tools) {
    await connection.request(`tools/call ${tool.name}`, (c, o) => c.callTool({ name: tool.name, arguments: arguments_[tool.name] ?? {} }, undefined, o));
  }
} finally {
  await connection.close();
}
