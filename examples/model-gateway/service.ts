/**
 * The model-service process: serves the `sentiment` model (v1, v2, broken) as an MCP server
 * (Streamable HTTP at `/mcp`: resources `model://sentiment`, `model://sentiment/context`; tools
 * `load_version`, `unload_version`, `update_context`, `set_weights`, `infer`). Usage: `MCP_TOKEN=... node --import tsx examples/model-gateway/service.ts [port]`.
 * Prints one line `service listening on <url>` once ready.
 */
import { startMcpServer } from '../../src/mcp/index.js';
import { sentimentModel } from './sentiment-model.js';

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const token = process.env.MCP_TOKEN;
const service = await startMcpServer({ models: [sentimentModel()], port, ...(token ? { token } : {}) });
await service.handler.ready();
console.log(`service listening on ${service.url}`);

const stop = async (): Promise<void> => {
  await service.close();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
