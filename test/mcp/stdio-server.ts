/**
 * A local MCP server over stdio for the adapter's tests (the SDK's low-level `Server`): it serves
 * tools `t0..tN` and a tool `grow` that adds one more and sends `notifications/tools/list_changed`.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

let count = 1;
const server = new Server({ name: 'stdio-tools', version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });
const tool = (name: string) => ({ name, inputSchema: { type: 'object' as const, properties: {} } });
server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: [tool('grow'), ...Array.from({ length: count }, (_, i) => tool(`t${i}`))] }));
server.setRequestHandler(CallToolRequestSchema, async (r) => {
  if (r.params.name === 'grow') {
    count++;
    await server.sendToolListChanged();
  }
  return { content: [{ type: 'text', text: `tools: ${count}` }] };
});
await server.connect(new StdioServerTransport());
