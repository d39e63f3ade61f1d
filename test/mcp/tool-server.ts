/**
 * A real MCP tool server for the adapter's tests: the SDK's low-level `Server` over Streamable
 * HTTP on loopback, one `Server` per session, sharing one tool list that a test edits (raw JSON,
 * so a test can also serve what the SDK's own helpers would never produce: an invalid schema, a
 * duplicate name). Every edit sends `notifications/tools/list_changed` to every session.
 * `restart()` drops every session and listens again on the same port, as a restarted process would.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema, GetPromptRequestSchema, ListPromptsRequestSchema, ListToolsRequestSchema, ReadResourceRequestSchema, SubscribeRequestSchema, isInitializeRequest,
} from '@modelcontextprotocol/sdk/types.js';

export interface ToolServer {
  url: string;
  port: number;
  /** The raw tool list served by `tools/list`. */
  tools: Record<string, unknown>[];
  prompts: { name: string; arguments?: { name: string; required?: boolean }[] }[];
  resource: { text: string };
  /** Counts of requests by method, across sessions. */
  calls: Record<string, number>;
  /** Replaces the tool list and notifies every session. */
  setTools(tools: Record<string, unknown>[]): Promise<void>;
  setPrompts(prompts: ToolServer['prompts']): Promise<void>;
  setResource(text: string): Promise<void>;
  /** Delay every `tools/call` by this long (a slow call, for drain tests). */
  callDelayMs: number;
  sessions(): number;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export const RESOURCE_URI = 'test://state';

export async function startToolServer(initial: Record<string, unknown>[] = [], port = 0): Promise<ToolServer> {
  const sessions = new Map<string, { server: Server; transport: StreamableHTTPServerTransport; subscribed: Set<string> }>();
  let http: HttpServer;
  const state: ToolServer = {
    url: '',
    port: 0,
    tools: initial,
    prompts: [],
    resource: { text: 'v0' },
    calls: {},
    callDelayMs: 0,
    async setTools(tools) {
      state.tools = tools;
      await Promise.all([...sessions.values()].map((s) => s.server.sendToolListChanged().catch(() => undefined)));
    },
    async setPrompts(prompts) {
      state.prompts = prompts;
      await Promise.all([...sessions.values()].map((s) => s.server.sendPromptListChanged().catch(() => undefined)));
    },
    async setResource(text) {
      state.resource.text = text;
      await Promise.all([...sessions.values()].filter((s) => s.subscribed.has(RESOURCE_URI)).map((s) => s.server.sendResourceUpdated({ uri: RESOURCE_URI }).catch(() => undefined)));
    },
    sessions: () => sessions.size,
    async restart() {
      await stop();
      await listen(state.port);
    },
    close: stop,
  };
  const count = (m: string): void => { state.calls[m] = (state.calls[m] ?? 0) + 1; };

  function session(): { server: Server; transport: StreamableHTTPServerTransport; subscribed: Set<string> } {
    const server = new Server({ name: 'test-tools', version: '1.0.0' }, { capabilities: { tools: { listChanged: true }, prompts: { listChanged: true }, resources: { subscribe: true } } });
    const subscribed = new Set<string>();
    server.setRequestHandler(ListToolsRequestSchema, () => { count('tools/list'); return { tools: state.tools as never }; });
    server.setRequestHandler(CallToolRequestSchema, async (r) => {
      count('tools/call');
      if (state.callDelayMs > 0) await new Promise((res) => setTimeout(res, state.callDelayMs));
      return { content: [{ type: 'text', text: `called ${r.params.name}` }] };
    });
    server.setRequestHandler(ListPromptsRequestSchema, () => { count('prompts/list'); return { prompts: state.prompts }; });
    server.setRequestHandler(GetPromptRequestSchema, (r) => {
      count('prompts/get');
      return { messages: [{ role: 'user', content: { type: 'text', text: `${r.params.name} ${JSON.stringify(r.params.arguments ?? {})}` } }] };
    });
    server.setRequestHandler(ReadResourceRequestSchema, (r) => { count('resources/read'); return { contents: [{ uri: r.params.uri, text: state.resource.text }] }; });
    server.setRequestHandler(SubscribeRequestSchema, (r) => { count('resources/subscribe'); subscribed.add(r.params.uri); return {}; });
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => { sessions.set(id, entry); },
      onsessionclosed: (id) => { sessions.delete(id); },
    });
    const entry = { server, transport, subscribed };
    return entry;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const id = req.headers['mcp-session-id'] as string | undefined;
    let body: unknown;
    if (req.method === 'POST') {
      let text = '';
      for await (const chunk of req) text += chunk;
      body = JSON.parse(text);
    }
    if (id !== undefined) {
      const s = sessions.get(id);
      if (!s) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
        return;
      }
      await s.transport.handleRequest(req, res, body);
      return;
    }
    if (!isInitializeRequest(body)) {
      res.writeHead(400).end();
      return;
    }
    const s = session();
    await s.server.connect(s.transport);
    await s.transport.handleRequest(req, res, body);
  }

  async function listen(p: number): Promise<void> {
    http = createServer((req, res) => { handle(req, res).catch(() => { if (!res.headersSent) res.writeHead(500).end(); else res.destroy(); }); });
    await new Promise<void>((resolve) => http.listen(p, '127.0.0.1', resolve));
    state.port = (http.address() as AddressInfo).port;
    state.url = `http://127.0.0.1:${state.port}/mcp`;
  }

  async function stop(): Promise<void> {
    const all = [...sessions.values()];
    sessions.clear();
    await Promise.allSettled(all.map((s) => s.server.close()));
    await new Promise<void>((resolve) => {
      http.close(() => resolve());
      http.closeAllConnections();
    });
  }

  await listen(port);
  return state;
}

/** A tool definition with a valid object input schema. */
export function tool(name: string, properties: Record<string, unknown> = { q: { type: 'string' } }): Record<string, unknown> {
  return { name, description: `the ${name} tool`, inputSchema: { type: 'object', properties } };
}
