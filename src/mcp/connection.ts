/**
 * `mcpConnection()`: a supervised connection to one MCP server (the SDK `Client` over Streamable
 * HTTP, or over stdio for a local server). It owns the client and replaces it when the session is
 * lost: a 404 on the old session id (the server restarted), the event stream gone for good, or the
 * transport closed. After every new session it tells its listeners (`onSession`), because
 * notifications sent while no session was open are lost and whatever was read must be re-read.
 * Notification handlers registered with `onNotification` survive reconnects and fan out to every
 * listener (the SDK client keeps one handler per method). Every request gets a timeout, an
 * optional caller signal, and counts as in flight until it settles, so a connection set can drain
 * a retired connection before closing it.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  McpError as SdkMcpError, PromptListChangedNotificationSchema, ResourceListChangedNotificationSchema, ResourceUpdatedNotificationSchema, ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { boundedFetch } from './bounded-fetch.js';
import { McpError } from './errors.js';
import type { McpErrorKind } from './errors.js';

/** The notifications a connection dispatches. */
export type McpNotificationMethod =
  | 'notifications/tools/list_changed'
  | 'notifications/prompts/list_changed'
  | 'notifications/resources/list_changed'
  | 'notifications/resources/updated';

const SCHEMAS = {
  'notifications/tools/list_changed': ToolListChangedNotificationSchema,
  'notifications/prompts/list_changed': PromptListChangedNotificationSchema,
  'notifications/resources/list_changed': ResourceListChangedNotificationSchema,
  'notifications/resources/updated': ResourceUpdatedNotificationSchema,
} as const;

/** Why a new session was opened. */
export interface SessionEvent {
  /** The new session id (undefined over stdio). */
  sessionId: string | undefined;
  /** 1 for the first session, then one more per reconnect. */
  session: number;
  reason: 'connect' | 'session-lost' | 'stream-lost' | 'closed';
  /** Epoch ms since when notifications may have been lost (the previous session's end). */
  since: number;
}

export interface McpConnectionOptions {
  /**
   * Name used in messages and statuses.
   * @default the URL's host, or the command
   * @example name: 'search-tools'
   */
  name?: string;
  /**
   * Streamable HTTP endpoint of the server. Exactly one of `url` / `command`.
   * @example url: 'http://127.0.0.1:8080/mcp'
   */
  url?: string;
  /**
   * Bearer token sent on every HTTP request.
   * @default undefined
   * @example token: process.env.SEARCH_TOKEN
   */
  token?: string;
  /**
   * Extra HTTP headers.
   * @default {}
   * @example headers: { 'x-tenant': 'a' }
   */
  headers?: Record<string, string>;
  /**
   * A local server started over stdio. Exactly one of `url` / `command`.
   * @example command: 'node', args: ['server.js']
   */
  command?: string;
  /**
   * Arguments of `command`.
   * @default []
   * @example args: ['--stdio']
   */
  args?: string[];
  /**
   * Environment of `command`.
   * @default the SDK's safe default environment
   * @example env: { PATH: process.env.PATH }
   */
  env?: Record<string, string>;
  /**
   * Per request: a server that does not answer in time fails the request.
   * @default 10000
   * @example timeoutMs: 2000
   */
  timeoutMs?: number;
  /**
   * Largest JSON answer, and largest single event on an event stream.
   * @default 4194304 (4 MiB)
   * @example maxResponseBytes: 1024 * 1024
   */
  maxResponseBytes?: number;
  /**
   * Delay before the first reconnect attempt; it doubles per failure up to `maxReconnectDelayMs`.
   * @default 100
   * @example reconnectDelayMs: 500
   */
  reconnectDelayMs?: number;
  /**
   * Longest delay between reconnect attempts.
   * @default 5000
   * @example maxReconnectDelayMs: 30_000
   */
  maxReconnectDelayMs?: number;
  /**
   * Client name and version sent in `initialize`.
   * @default { name: 'reloadkit', version: '1' }
   * @example clientInfo: { name: 'gateway', version: '2.1.0' }
   */
  clientInfo?: { name: string; version: string };
}

const KNOWN_KEYS = ['name', 'url', 'token', 'headers', 'command', 'args', 'env', 'timeoutMs', 'maxResponseBytes', 'reconnectDelayMs', 'maxReconnectDelayMs', 'clientInfo'] as const;

/** Per-call options. */
export interface McpCallOptions {
  signal?: AbortSignal | undefined;
  /** Overrides the connection's `timeoutMs`. */
  timeoutMs?: number | undefined;
}

/** A supervised MCP client connection. */
export interface McpConnection {
  readonly name: string;
  /** `mcp <url>` or `mcp stdio <command>`: for messages. */
  describe(): string;
  /** The current SDK client (replaced on reconnect). Throws before `connect()`. */
  readonly client: Client;
  readonly sessionId: string | undefined;
  /** Counts sessions: 1 after `connect()`, one more per reconnect. */
  readonly session: number;
  /** Requests sent and not settled. */
  readonly inFlight: number;
  readonly connected: boolean;
  /** Opens the first session (idempotent). Rejects with an `McpError` when the server cannot be reached. */
  connect(opts?: McpCallOptions): Promise<this>;
  /** Runs `fn` with the current client and request options (timeout, signal), mapping failures to `McpError`. */
  request<T>(what: string, fn: (client: Client, options: RequestOptions) => Promise<T>, opts?: McpCallOptions): Promise<T>;
  ping(opts?: McpCallOptions): Promise<void>;
  /** Listens to a notification method on every session of this connection. */
  onNotification(method: McpNotificationMethod, fn: (params: Record<string, unknown> | undefined) => void): () => void;
  /** Called after every new session (the first included). */
  onSession(fn: (event: SessionEvent) => void): () => void;
  /** Resolves once no request is in flight (or `timeoutMs` passed). */
  drain(timeoutMs?: number): Promise<void>;
  /** Closes the session and stops reconnecting. Idempotent. */
  close(): Promise<void>;
}

/**
 * Creates a connection; call `connect()` (or let a source or unit do it).
 *
 * @example
 * ```ts
 * const search = await mcpConnection({ url: 'http://127.0.0.1:8080/mcp', token: process.env.SEARCH_TOKEN }).connect();
 * const tools = reloadable({ name: 'tools:search', source: mcpToolsSource(search) });
 * ```
 */
export function mcpConnection(options: McpConnectionOptions): McpConnection {
  if (typeof options !== 'object' || options === null) throw new TypeError('mcpConnection: expected an options object');
  rejectUnknownKeys('mcpConnection', options, KNOWN_KEYS);
  const { url, command, token, timeoutMs = 10_000, maxResponseBytes = 4 * 1024 * 1024, reconnectDelayMs = 100, maxReconnectDelayMs = 5000 } = options;
  if ((url === undefined) === (command === undefined)) throw new TypeError('mcpConnection: pass exactly one of `url` or `command`');
  let endpoint: URL | undefined;
  if (url !== undefined) {
    try {
      endpoint = new URL(url);
    } catch {
      throw new TypeError(`mcpConnection: \`url\` must be an absolute http(s) URL, got ${JSON.stringify(String(url)).slice(0, 100)}`);
    }
    if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') throw new TypeError('mcpConnection: `url` must use http: or https:');
  } else if (typeof command !== 'string' || command.length === 0) throw new TypeError('mcpConnection: `command` must be a non-empty string');
  if (token !== undefined && (typeof token !== 'string' || token.length === 0)) throw new TypeError('mcpConnection: `token` must be a non-empty string');
  for (const [key, v] of [['timeoutMs', timeoutMs], ['maxResponseBytes', maxResponseBytes], ['reconnectDelayMs', reconnectDelayMs], ['maxReconnectDelayMs', maxReconnectDelayMs]] as const) {
    if (!Number.isFinite(v) || v <= 0) throw new TypeError(`mcpConnection: \`${key}\` must be a positive number, got ${String(v)}`);
  }
  const name = options.name ?? (endpoint ? endpoint.host : (command as string));
  const where = endpoint ? `mcp ${endpoint.origin}${endpoint.pathname}` : `mcp stdio ${command}`;
  const fetchFn = boundedFetch({ maxBytes: maxResponseBytes, token, headers: options.headers });
  const events = new EventEmitter<{ session: [SessionEvent]; idle: [] }>();
  const handlers = new Map<McpNotificationMethod, Set<(params: Record<string, unknown> | undefined) => void>>();
  let current: Client | undefined;
  let session = 0;
  let inFlight = 0;
  let closed = false;
  let connecting: Promise<void> | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let lostSince = 0;

  function transport(): Transport {
    if (endpoint) {
      return new StreamableHTTPClientTransport(endpoint, {
        fetch: fetchFn,
        // The event stream's own retries reuse the session id; a restarted server answers them 404, which ends the session here.
        reconnectionOptions: { initialReconnectionDelay: reconnectDelayMs, maxReconnectionDelay: maxReconnectDelayMs, reconnectionDelayGrowFactor: 2, maxRetries: 3 },
      });
    }
    const params: ConstructorParameters<typeof StdioClientTransport>[0] = { command: command as string, args: options.args ?? [], stderr: 'ignore' };
    if (options.env) params.env = options.env;
    return new StdioClientTransport(params);
  }

  function install(client: Client, method: McpNotificationMethod): void {
    client.setNotificationHandler(SCHEMAS[method] as typeof ToolListChangedNotificationSchema, (n: { params?: Record<string, unknown> }) => {
      for (const fn of [...(handlers.get(method) ?? [])]) {
        try {
          fn(n.params);
        } catch {
          // A throwing listener must not break the others.
        }
      }
    });
  }

  async function open(reason: SessionEvent['reason'], signal?: AbortSignal, connectTimeoutMs?: number): Promise<void> {
    const client = new Client(options.clientInfo ?? { name: 'reloadkit', version: '1' }, { capabilities: {} });
    for (const method of handlers.keys()) install(client, method);
    const t = transport();
    try {
      await client.connect(t, { timeout: connectTimeoutMs ?? timeoutMs, ...(signal ? { signal } : {}) });
    } catch (error) {
      await client.close().catch(() => undefined);
      throw toMcpError(error, 'initialize', where, signal);
    }
    if (closed) {
      await client.close().catch(() => undefined);
      throw new McpError(`${where} closed`, { kind: 'closed' });
    }
    const previous = current;
    current = client;
    session++;
    client.onerror = (error) => {
      if (current !== client) return;
      // A 404 ends a session only when there is one: a stateless server may answer the optional event-stream GET 404.
      if (error instanceof StreamableHTTPError && error.code === 404) {
        if (sessionIdOf(client) !== undefined) lost(client, 'session-lost');
      }
      else if (/Maximum reconnection attempts/.test(String((error as Error)?.message))) lost(client, 'stream-lost');
    };
    client.onclose = () => {
      if (current === client && !closed) lost(client, 'closed');
    };
    if (previous) void previous.close().catch(() => undefined);
    const since = session === 1 ? Date.now() : lostSince;
    events.emit('session', { sessionId: sessionIdOf(client), session, reason, since });
  }

  function sessionIdOf(client: Client | undefined): string | undefined {
    const t = client?.transport as { sessionId?: string } | undefined;
    return t?.sessionId;
  }

  /** The session is gone: open a new one, with backoff, until it works or the connection closes. */
  function lost(client: Client, reason: SessionEvent['reason']): void {
    if (closed || current !== client || connecting) return;
    lostSince = Date.now();
    let delay = reconnectDelayMs;
    const attempt = (): void => {
      reconnectTimer = undefined;
      if (closed) return;
      connecting = open(reason).then(
        () => { connecting = undefined; },
        () => {
          connecting = undefined;
          if (closed) return;
          delay = Math.min(delay * 2, maxReconnectDelayMs);
          reconnectTimer = setTimeout(attempt, delay);
          reconnectTimer.unref?.();
        },
      );
    };
    attempt();
  }

  const connection: McpConnection = {
    name,
    describe: () => where,
    get client() {
      if (!current) throw new McpError(`${where} is not connected`, { kind: 'closed' });
      return current;
    },
    get sessionId() {
      return sessionIdOf(current);
    },
    get session() {
      return session;
    },
    get inFlight() {
      return inFlight;
    },
    get connected() {
      return current !== undefined && !closed;
    },
    async connect(opts = {}) {
      if (closed) throw new McpError(`${where} closed`, { kind: 'closed' });
      if (current) return connection;
      connecting ??= open('connect', opts.signal, opts.timeoutMs).finally(() => { connecting = undefined; });
      await connecting;
      return connection;
    },
    async request(what, fn, opts = {}) {
      if (closed) throw new McpError(`${where} closed`, { kind: 'closed' });
      if (!current && connecting) await connecting.catch(() => undefined);
      const requestOptions: RequestOptions = { timeout: opts.timeoutMs ?? timeoutMs };
      if (opts.signal) requestOptions.signal = opts.signal;
      inFlight++;
      try {
        for (let attempt = 0; ; attempt++) {
          const client = connection.client;
          try {
            return await fn(client, requestOptions);
          } catch (error) {
            const mapped = toMcpError(error, what, where, opts.signal);
            // Closed under us because its session was found gone (a 404 on the event stream) and
            // replaced: the server never had this request either, so it goes to the new session.
            const replaced = mapped.kind === 'network' && error instanceof SdkMcpError && error.code === -32000 && attempt === 0;
            if (replaced) {
              await connecting?.catch(() => undefined);
              if (!closed && current !== undefined && current !== client) continue;
            }
            if (mapped.kind !== 'session' || sessionIdOf(client) === undefined) throw mapped;
            lost(client, 'session-lost');
            // A 404 on the session id means the server never handled the message: sending it once
            // more on the new session is safe, for a tool call too.
            if (attempt > 0) throw mapped;
            await connecting?.catch(() => undefined);
            if (closed || current === undefined || current === client) throw mapped;
          }
        }
      } finally {
        if (--inFlight === 0) events.emit('idle');
      }
    },
    async ping(opts) {
      await connection.request('ping', (c, o) => c.ping(o), opts);
    },
    onNotification(method, fn) {
      if (!Object.hasOwn(SCHEMAS, method)) throw new TypeError(`McpConnection.onNotification: unknown method ${JSON.stringify(method)}`);
      let set = handlers.get(method);
      if (!set) {
        handlers.set(method, (set = new Set()));
        if (current) install(current, method);
      }
      set.add(fn);
      return () => { set.delete(fn); };
    },
    onSession(fn) {
      events.on('session', fn);
      return () => { events.off('session', fn); };
    },
    drain(limitMs = 30_000) {
      if (inFlight === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(done, limitMs);
        function done(): void {
          clearTimeout(timer);
          events.off('idle', done);
          resolve();
        }
        events.on('idle', done);
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(reconnectTimer);
      await connecting?.catch(() => undefined);
      const client = current;
      if (!client) return;
      const t = client.transport as { terminateSession?: () => Promise<void> } | undefined;
      // Ending the session tells the server to free it at once (best effort; it may be gone).
      await Promise.race([t?.terminateSession?.().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref?.())]);
      await client.close().catch(() => undefined);
    },
  };
  return connection;
}

/** Maps whatever the SDK or `fetch` threw to an `McpError` naming the call, never a payload. */
export function toMcpError(error: unknown, what: string, where: string, signal?: AbortSignal): McpError {
  if (error instanceof McpError && error.kind !== 'too-large') return error;
  const fail = (kind: McpErrorKind, detail: string, extra: { status?: number; serverCode?: string } = {}): McpError =>
    new McpError(`${where} ${what} ${detail}`, { kind, ...extra }, { source: where, cause: error });
  if (signal?.aborted) return fail('aborted', 'aborted');
  let cause: unknown = error;
  for (let i = 0; i < 5 && cause; i++) {
    if (cause instanceof McpError && cause.kind === 'too-large') return fail('too-large', `failed: ${cause.message}`);
    cause = (cause as { cause?: unknown }).cause;
  }
  if (error instanceof StreamableHTTPError) {
    if (error.code === 404) return fail('session', 'failed: the session is gone (404)', { status: 404 });
    if (error.code === 401 || error.code === 403) return fail('rpc', `was refused (${error.code})`, { status: error.code });
    return fail('network', `failed: ${error.message.slice(0, 200)}`, (error.code ?? 0) > 0 ? { status: error.code as number } : {});
  }
  if (error instanceof SdkMcpError) {
    if (error.code === -32001) return fail('timeout', 'timed out');
    if (error.code === -32000) return fail('network', 'failed: the connection closed');
    return fail('rpc', `failed: JSON-RPC error ${error.code}: ${error.message.slice(0, 200)}`, { serverCode: String(error.code) });
  }
  const message = String((error as Error)?.message ?? error);
  if ((error as Error)?.name === 'ZodError' || /invalid_type|invalid_union|Invalid input/.test(message)) return fail('malformed', 'answered with a malformed message');
  if ((error as Error)?.name === 'SyntaxError') return fail('malformed', 'answered with malformed JSON');
  const code = (error as { cause?: { code?: string } })?.cause?.code;
  return fail('network', `failed: ${code ?? message.slice(0, 200)}`);
}
