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
import { SubscribeRequestSchema, UnsubscribeRequestSchema, isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { FrontRefusal, requestGuard } from './http-front.js';
import { ModelServiceError, ModelStates } from './model-state.js';
import type { ModelImplementation } from './model-state.js';
import { InferArgs, SetWeightsArgs, TOOLS, UpdateContextArgs, VersionArgs, contextUri, modelUri } from './protocol.js';

export type { ModelImplementation, InferContext } from './model-state.js';

/** Path of the MCP endpoint. */
export const MCP_PATH = '/mcp';

export interface McpServerOptions {
  /** The models this service serves. */
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
   * Most concurrent MCP sessions; an `initialize` beyond it is answered 503.
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

const KNOWN_KEYS = ['models', 'token', 'allowedHosts', 'allowedOrigins', 'maxBodyBytes', 'loadTimeoutMs', 'maxSessions', 'deploymentId'] as const;

/** The handler, plus the service state and lifecycle. */
export type McpServerHandler = ((req: IncomingMessage, res: ServerResponse) => void) & {
  /** Closes every session and unloads every loaded version. */
  close(): Promise<void>;
  /** Resolves once the `preload` versions finished loading (or failed). */
  ready(): Promise<void>;
  /** Open MCP sessions. */
  sessions(): number;
  /** @internal Called by `startMcpServer` with the bound address, for the Host check. */
  bound(host: string): void;
};

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  subscriptions: Set<string>;
}

const MAX_JSON_DEPTH = 100;

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
  let boundHost = '127.0.0.1';
  const guard = requestGuard({ token, allowedHosts: options.allowedHosts, allowedOrigins: options.allowedOrigins }, () => boundHost);
  const sessions = new Map<string, Session>();
  let closed = false;

  states.on('changed', (uri) => {
    for (const s of sessions.values()) {
      if (s.subscriptions.has(uri)) s.server.server.sendResourceUpdated({ uri }).catch(() => undefined);
    }
  });

  function newSession(): Session {
    const server = new McpServer({ name: 'reloadkit-model-service', version: '1.0.0' }, { capabilities: { resources: { subscribe: true, listChanged: true }, tools: {} } });
    const subscriptions = new Set<string>();
    registerModelService(server, states);
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
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    const session: Session = { transport, server, subscriptions };
    return session;
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    guard(req);
    const url = new URL(req.url ?? '/', 'http://service.invalid');
    if (url.pathname !== MCP_PATH) throw new FrontRefusal(404, 'NOT_FOUND', `the MCP endpoint is ${MCP_PATH}`);
    if (closed) throw new FrontRefusal(503, 'CLOSING', 'the service is shutting down');
    const header = req.headers['mcp-session-id'];
    const id = Array.isArray(header) ? header[0] : header;
    if (id !== undefined) {
      const session = sessions.get(id);
      // An unknown session id is a session this process never had or already ended (a restart): 404 tells the client to start over.
      if (!session) throw new FrontRefusal(404, 'UNKNOWN_SESSION', 'no such MCP session');
      const body = req.method === 'POST' ? await readJson(req, maxBodyBytes) : undefined;
      await session.transport.handleRequest(req, res, body);
      return;
    }
    if (req.method !== 'POST') throw new FrontRefusal(400, 'NO_SESSION', 'an Mcp-Session-Id header is required');
    const body = await readJson(req, maxBodyBytes);
    if (!isInitializeRequest(body)) throw new FrontRefusal(400, 'NO_SESSION', 'the first request of a session must be initialize');
    if (sessions.size >= maxSessions) throw new FrontRefusal(503, 'TOO_MANY_SESSIONS', `at most ${maxSessions} sessions`);
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
      const refusal = error instanceof FrontRefusal ? error : new FrontRefusal(500, 'INTERNAL', 'internal error');
      const text = JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: `${refusal.code}: ${refusal.message}` }, id: null });
      const closeAfter = refusal.status === 413 || (refusal.status === 415 && !req.complete);
      res.writeHead(refusal.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...refusal.headers, ...(closeAfter ? { connection: 'close' } : {}) });
      res.end(text);
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
    bound(host: string) {
      boundHost = host;
    },
  });
}

function assertKnownUri(states: ModelStates, uri: string): void {
  for (const m of states.names()) if (uri === modelUri(m) || uri === contextUri(m)) return;
  throw new ModelServiceError('UNKNOWN_RESOURCE', `no resource ${JSON.stringify(uri.slice(0, 200))}`);
}

function json(uri: string, value: unknown): { contents: { uri: string; mimeType: string; text: string }[] } {
  return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(value) }] };
}

function ok(value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: value };
}

function failure(error: unknown): CallToolResult {
  const e = error instanceof ModelServiceError ? error : new ModelServiceError('INTERNAL', 'internal error');
  const body = { error: { code: e.code, message: e.message, ...(e.issues ? { issues: e.issues } : {}) } };
  return { isError: true, content: [{ type: 'text', text: `${e.code}: ${e.message}` }], structuredContent: body };
}

async function guarded(fn: () => Record<string, unknown> | Promise<Record<string, unknown>>): Promise<CallToolResult> {
  try {
    return ok(await fn());
  } catch (error) {
    return failure(error);
  }
}

/** Registers the resources and tools of the model service on one session's server. */
function registerModelService(server: McpServer, states: ModelStates): void {
  for (const model of states.names()) {
    server.registerResource(`model ${model}`, modelUri(model), { description: `versions, states, usage and capabilities of ${model}`, mimeType: 'application/json' }, (uri) => json(uri.href, states.info(model)));
    server.registerResource(`context of ${model}`, contextUri(model), { description: `the context of ${model} and its hash`, mimeType: 'application/json' }, (uri) => json(uri.href, states.context(model)));
  }
  server.registerTool(TOOLS.loadVersion, {
    description: 'Starts loading a version; answers at once with its state (LOADING, or READY when already loaded). Subscribe to model://{model} to learn when it is READY or FAILED.',
    inputSchema: VersionArgs,
  }, ({ model, version }) => guarded(() => states.load(model, version)));
  server.registerTool(TOOLS.unloadVersion, {
    description: 'Unloads a version and answers once it is UNAVAILABLE.',
    inputSchema: VersionArgs,
    annotations: { idempotentHint: true, destructiveHint: true },
  }, ({ model, version }) => guarded(() => states.unload(model, version)));
  server.registerTool(TOOLS.updateContext, {
    description: 'Replaces the context of a model if expectedHash is its current hash; otherwise answers a conflict carrying the current hash.',
    inputSchema: UpdateContextArgs,
  }, ({ model, context, expectedHash }) => guarded(() => {
    const result = states.updateContext(model, context, expectedHash);
    return result;
  }).then((r) => (r.structuredContent && (r.structuredContent as { conflict?: boolean }).conflict ? { ...r, isError: true } : r)));
  server.registerTool(TOOLS.setWeights, {
    description: 'Records the traffic split (percent per version) the gateway applies.',
    inputSchema: SetWeightsArgs,
    annotations: { idempotentHint: true },
  }, ({ model, weights }) => guarded(() => ({ model, weights: states.setWeights(model, weights) })));
  server.registerTool(TOOLS.infer, {
    description: 'Runs one inference on a loaded version.',
    inputSchema: InferArgs,
  }, ({ model, version, input }, extra) => guarded(() => states.infer(model, version, input, extra.signal) as unknown as Promise<Record<string, unknown>>));
}

/** Reads a JSON body within `limit` bytes and `MAX_JSON_DEPTH` levels. */
function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new FrontRefusal(413, 'BODY_TOO_LARGE', `body exceeds ${limit} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const done = (error: FrontRefusal | undefined, value?: unknown): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData).off('end', onEnd).off('error', onError);
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) done(new FrontRefusal(413, 'BODY_TOO_LARGE', `body exceeds ${limit} bytes`));
      else chunks.push(chunk);
    };
    const onEnd = (): void => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) return done(new FrontRefusal(400, 'BAD_JSON', `body nests deeper than ${MAX_JSON_DEPTH} levels`));
      try {
        done(undefined, JSON.parse(text));
      } catch {
        done(new FrontRefusal(400, 'BAD_JSON', 'body is not valid JSON'));
      }
    };
    const onError = (): void => done(new FrontRefusal(400, 'BAD_BODY', 'request body aborted'));
    req.on('data', onData).on('end', onEnd).on('error', onError);
  });
}

/** True when `text` opens more than `limit` nested arrays/objects; strings are skipped. */
function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
