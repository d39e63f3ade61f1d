/**
 * `createMcpServer()`: the model service as a Model Context Protocol server (the SDK's
 * `McpServer` over Streamable HTTP, one per session). It exposes, per model, the resources
 * `model://{model}` (versions and states, usage, capabilities) and `model://{model}/context` (the
 * context and its hash), both subscribable, and the tools `load_version`, `unload_version`,
 * `update_context` (conditional on the expected current hash), `set_weights` and `infer`. Every
 * state change sends `notifications/resources/updated` to the sessions subscribed to the resource,
 * so a gateway learns of it by notification, never by polling. The returned value is a `node:http`
 * handler; every request passes the Host/Origin/content-type/bearer checks first.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ErrorCode, McpError as SdkMcpError, SubscribeRequestSchema, UnsubscribeRequestSchema, isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { HttpError } from '../errors.js';
import { GUARD_OPTION_KEYS, bearerToken, createRequestGuard, hasBody, readJsonBody, sendError, tokenDigest, tokenMatches } from '../support/http/index.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { ModelServiceError, ModelStates } from './model-state.js';
import type { ModelImplementation } from './model-state.js';
import { InferArgs, SetWeightsArgs, TOOLS, UpdateContextArgs, VersionArgs, contextUri, modelUri } from './protocol.js';

export type { ModelImplementation, InferContext } from './model-state.js';

/** Path of the MCP endpoint. */
export const MCP_PATH = '/mcp';

export interface McpServerOptions {
  /**
   * The models this service serves (required, at least one).
   * @example
   * ```ts
   * createMcpServer({ models: [sentimentModel()], token: process.env.MCP_TOKEN })
   * ```
   */
  models: readonly ModelImplementation<any>[];
  /**
   * Bearer token required on every request. Without it the service is open: bind it to loopback.
   * @default undefined
   * @example token: process.env.MCP_TOKEN
   */
  token?: string;
  /**
   * Extra `Host` names the service may be reached by (a reverse proxy's). The bound address and
   * `localhost` are always allowed; anything else is answered 421.
   * @default []
   * @example allowedHosts: ['models.internal']
   */
  allowedHosts?: readonly string[];
  /**
   * Browser origins allowed to call the service. A request with any other `Origin` is answered 403.
   * @default []
   * @example allowedOrigins: ['http://127.0.0.1:5173']
   */
  allowedOrigins?: readonly string[];
  /**
   * Largest accepted request body.
   * @default 65536
   * @example maxBodyBytes: 1024 * 1024
   */
  maxBodyBytes?: number;
  /**
   * A version load running longer fails (`FAILED`).
   * @default 60000
   * @example loadTimeoutMs: 5 * 60_000
   */
  loadTimeoutMs?: number;
  /**
   * Most concurrent MCP sessions; an `initialize` beyond it ends the least recently used one.
   * @default 1000
   * @example maxSessions: 50
   */
  maxSessions?: number;
  /**
   * Reported in `model://{model}`.
   * @default a random id per service
   * @example deploymentId: process.env.HOSTNAME
   */
  deploymentId?: string;
}

const KNOWN_KEYS = ['models', 'token', ...GUARD_OPTION_KEYS, 'maxBodyBytes', 'loadTimeoutMs', 'maxSessions', 'deploymentId'] as const;

/** The handler, plus the service state and lifecycle. */
export type McpServerHandler = ((req: IncomingMessage, res: ServerResponse) => void) & {
  /** Closes every session and unloads every loaded version. */
  close(): Promise<void>;
  /** Resolves once the `preload` versions finished loading (or failed). */
  ready(): Promise<void>;
  /** Open MCP sessions. */
  sessions(): number;
  /** Tool calls and resource reads served, by tool name and URI (names only, never arguments). */
  stats(): { tools: Record<string, number>; reads: Record<string, number> };
};

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  subscriptions: Set<string>;
}

const BODY_TIMEOUT_MS = 10_000;

/**
 * Creates the MCP handler of a model service.
 *
 * @example
 * ```ts
 * const handler = createMcpServer({ models: [{
 *   name: 'echo', versions: ['v1'], preload: ['v1'],
 *   load() {}, unload() {}, infer: (_v, input) => input,
 * }], token: process.env.MCP_TOKEN });
 * http.createServer(handler).listen(8080, '127.0.0.1'); // MCP endpoint: http://127.0.0.1:8080/mcp
 * ```
 */
export function createMcpServer(options: McpServerOptions): McpServerHandler {
  if (typeof options !== 'object' || options === null) throw new TypeError('createMcpServer: expected an options object');
  rejectUnknownKeys('createMcpServer', options, KNOWN_KEYS);
  const { token, maxBodyBytes = 64 * 1024, loadTimeoutMs = 60_000, maxSessions = 1000, deploymentId = `deploy-${randomUUID().slice(0, 8)}` } = options;
  if (token !== undefined && (typeof token !== 'string' || token.length < 8)) throw new TypeError('createMcpServer: `token` must be a string of at least 8 characters');
  for (const [name, v] of [['maxBodyBytes', maxBodyBytes], ['loadTimeoutMs', loadTimeoutMs], ['maxSessions', maxSessions]] as const) {
    if (!Number.isFinite(v) || v <= 0) throw new TypeError(`createMcpServer: \`${name}\` must be a positive number, got ${String(v)}`);
  }
  const states = new ModelStates({ models: options.models, loadTimeoutMs, deploymentId });
  // One guard per local port: the server's own loopback origins (a same-origin request, which the
  // MCP spec's DNS-rebinding rule allows) are allowed besides `allowedOrigins`; any other is refused.
  const guards = new Map<number, ReturnType<typeof createRequestGuard>>();
  const guardFor = (port: number): ReturnType<typeof createRequestGuard> => {
    let guard = guards.get(port);
    if (!guard) {
      const own = ['localhost', '127.0.0.1', '[::1]'].map((h) => `http://${h}:${port}`);
      guard = createRequestGuard({ ...(options.allowedHosts ? { allowedHosts: options.allowedHosts } : {}), allowedOrigins: [...(options.allowedOrigins ?? []), ...own] });
      if (guards.size < 16) guards.set(port, guard);
    }
    return guard;
  };
  const digest = token === undefined ? undefined : tokenDigest(token);
  const sessions = new Map<string, Session>();
  const stats = { tools: {} as Record<string, number>, reads: {} as Record<string, number> };
  let closed = false;

  states.on('changed', (uri) => {
    for (const s of sessions.values()) {
      if (s.subscriptions.has(uri)) s.server.server.sendResourceUpdated({ uri }).catch(() => undefined);
    }
  });

  function newSession(): Session {
    const server = new McpServer({ name: 'reloadkit-model-service', version: '1.0.0' }, { capabilities: { resources: { subscribe: true, listChanged: true }, tools: {} } });
    const subscriptions = new Set<string>();
    registerModelService(server, states, stats);
    server.server.setRequestHandler(SubscribeRequestSchema, (request) => {
      assertKnownUri(states, request.params.uri);
      subscriptions.add(request.params.uri);
      return {};
    });
    server.server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
      subscriptions.delete(request.params.uri);
      return {};
    });
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, session);
      },
      onsessionclosed: (id) => {
        sessions.delete(id);
      },
      maxRequestBodySize: maxBodyBytes,
      enableJsonResponse: true,
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    const session: Session = { transport, server, subscriptions };
    return session;
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Host, Origin, Sec-Fetch-Site and the POST content type first: before auth, before routing.
    const { preflight, headers } = guardFor(req.socket.localPort ?? 0).check(req);
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    if (headers['Access-Control-Allow-Origin'] !== undefined) {
      // An allowed browser origin speaks MCP: it needs the session headers and DELETE (ending a session).
      res.setHeader('Access-Control-Expose-Headers', 'Mcp-Session-Id, Mcp-Protocol-Version');
      if (preflight) {
        res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID');
        res.setHeader('Access-Control-Allow-Methods', 'GET, POST, DELETE');
      }
    }
    if (preflight) {
      res.writeHead(204).end();
      return;
    }
    if (digest !== undefined && !tokenMatches(bearerToken(req), digest)) {
      throw new HttpError(401, 'RELOADKIT_HTTP_UNAUTHORIZED', 'missing or invalid bearer token', { 'www-authenticate': 'Bearer' });
    }
    const url = new URL(req.url ?? '/', 'http://service.invalid');
    if (url.pathname !== MCP_PATH) throw new HttpError(404, 'RELOADKIT_HTTP_NOT_FOUND', `the MCP endpoint is ${MCP_PATH}`);
    if (closed) throw new HttpError(503, 'RELOADKIT_CLOSED', 'the service is shutting down');
    const header = req.headers['mcp-session-id'];
    const id = Array.isArray(header) ? header[0] : header;
    const limits = { limit: maxBodyBytes, timeoutMs: BODY_TIMEOUT_MS };
    if (id !== undefined) {
      const session = sessions.get(id);
      // An unknown session id is one this process never had or already ended (a restart): 404 tells the client to start over.
      if (!session) throw new HttpError(404, 'RELOADKIT_HTTP_NOT_FOUND', 'no such MCP session');
      // Most recently used last: the eviction below takes the least recently used.
      sessions.delete(id);
      sessions.set(id, session);
      const body = req.method === 'POST' ? await readJsonBody(req, limits) : undefined;
      await session.transport.handleRequest(req, res, body);
      return;
    }
    if (req.method !== 'POST') throw new HttpError(400, 'RELOADKIT_HTTP_BAD_REQUEST', 'an Mcp-Session-Id header is required');
    const body = await readJsonBody(req, limits);
    if (!isInitializeRequest(body)) throw new HttpError(400, 'RELOADKIT_HTTP_BAD_REQUEST', 'the first request of a session must be initialize');
    if (sessions.size >= maxSessions) {
      // Clients that vanished without ending their session must not lock everyone out: the least
      // recently used session goes (its client, if alive, gets 404 and opens a new one).
      const [oldest, stale] = sessions.entries().next().value as [string, Session];
      sessions.delete(oldest);
      void stale.server.close().catch(() => undefined);
    }
    const session = newSession();
    await session.server.connect(session.transport);
    await session.transport.handleRequest(req, res, body);
  }

  function handler(req: IncomingMessage, res: ServerResponse): void {
    route(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const http = error instanceof HttpError ? error : new HttpError(500, 'RELOADKIT_HTTP_INTERNAL', 'internal error');
      // A body we refused to read may still be streaming: close the connection after answering.
      const closeAfter = !req.complete && hasBody(req);
      sendError(res, http, closeAfter ? { connection: 'close' } : {});
      if (closeAfter) res.once('finish', () => req.socket.destroySoon?.());
    });
  }

  return Object.assign(handler, {
    async close(): Promise<void> {
      closed = true;
      const all = [...sessions.values()];
      sessions.clear();
      await Promise.allSettled(all.map((s) => s.server.close()));
      await states.close();
    },
    ready: () => states.ready(),
    sessions: () => sessions.size,
    stats: () => ({ tools: { ...stats.tools }, reads: { ...stats.reads } }),
  });
}

function assertKnownUri(states: ModelStates, uri: string): void {
  for (const m of states.names()) if (uri === modelUri(m) || uri === contextUri(m)) return;
  throw new SdkMcpError(ErrorCode.InvalidParams, `no resource ${JSON.stringify(uri.slice(0, 200))}`);
}

function json(uri: string, value: unknown): { contents: { uri: string; mimeType: string; text: string }[] } {
  return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(value) }] };
}

function ok(value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: value };
}

function failure(error: unknown): CallToolResult {
  const e = error instanceof ModelServiceError ? error : new ModelServiceError('INTERNAL', 'internal error');
  const body = { error: { code: e.serviceCode, message: e.message, ...(e.issues ? { issues: e.issues } : {}) } };
  return { isError: true, content: [{ type: 'text', text: `${e.serviceCode}: ${e.message}` }], structuredContent: body };
}

async function guarded(fn: () => Record<string, unknown> | Promise<Record<string, unknown>>): Promise<CallToolResult> {
  try {
    return ok(await fn());
  } catch (error) {
    return failure(error);
  }
}

/** Registers the resources and tools of the model service on one session's server. */
function registerModelService(server: McpServer, states: ModelStates, stats: { tools: Record<string, number>; reads: Record<string, number> }): void {
  const read = (uri: string): void => { stats.reads[uri] = (stats.reads[uri] ?? 0) + 1; };
  const tool = (name: string): void => { stats.tools[name] = (stats.tools[name] ?? 0) + 1; };
  for (const model of states.names()) {
    server.registerResource(`model ${model}`, modelUri(model), { description: `versions, states, usage and capabilities of ${model}`, mimeType: 'application/json' }, (uri) => { read(uri.href); return json(uri.href, states.info(model)); });
    server.registerResource(`context of ${model}`, contextUri(model), { description: `the context of ${model} and its hash`, mimeType: 'application/json' }, (uri) => { read(uri.href); return json(uri.href, states.context(model)); });
  }
  server.registerTool(TOOLS.loadVersion, {
    description: 'Starts loading a version; answers at once with its state (LOADING, or READY when already loaded). Subscribe to model://{model} to learn when it is READY or FAILED.',
    inputSchema: VersionArgs,
  }, ({ model, version }) => { tool(TOOLS.loadVersion); return guarded(() => states.load(model, version)); });
  server.registerTool(TOOLS.unloadVersion, {
    description: 'Unloads a version and answers once it is UNAVAILABLE.',
    inputSchema: VersionArgs,
    annotations: { idempotentHint: true, destructiveHint: true },
  }, ({ model, version }) => { tool(TOOLS.unloadVersion); return guarded(() => states.unload(model, version)); });
  server.registerTool(TOOLS.updateContext, {
    description: 'Replaces the context of a model if expectedHash is its current hash; otherwise answers a conflict carrying the current hash.',
    inputSchema: UpdateContextArgs,
  }, ({ model, context, expectedHash }) => { tool(TOOLS.updateContext); return guarded(() => states.updateContext(model, context, expectedHash)).then((r) => (r.structuredContent && (r.structuredContent as { conflict?: boolean }).conflict ? { ...r, isError: true } : r)); });
  server.registerTool(TOOLS.setWeights, {
    description: 'Records the traffic split (percent per version) the gateway applies.',
    inputSchema: SetWeightsArgs,
    annotations: { idempotentHint: true },
  }, ({ model, weights }) => { tool(TOOLS.setWeights); return guarded(() => ({ model, weights: states.setWeights(model, weights) })); });
  server.registerTool(TOOLS.infer, {
    description: 'Runs one inference on a loaded version.',
    inputSchema: InferArgs,
  }, ({ model, version, input }, extra) => { tool(TOOLS.infer); return guarded(() => states.infer(model, version, input, extra.signal) as unknown as Promise<Record<string, unknown>>); });
}
