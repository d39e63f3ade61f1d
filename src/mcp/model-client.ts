/**
 * `modelServiceClient()`: the gateway's typed view of a model service's MCP server, over a
 * supervised `McpConnection`. Reads are `resources/read` of `model://{model}` and
 * `model://{model}/context`; changes are tool calls. Every resource and tool result is validated
 * against the shared schema, so a malformed or hostile service yields an `McpError`, never a
 * silently wrong state. Waiting for a version to load subscribes to `model://{model}` and re-reads
 * on each `notifications/resources/updated` (and on a new session, which may have missed some):
 * no polling.
 *
 * @module
 */
import type { z } from 'zod';
import { mcpConnection } from './connection.js';
import type { McpCallOptions, McpConnection, McpConnectionOptions } from './connection.js';
import { McpError } from './errors.js';
import {
  ContextInfoSchema, ContextUpdatedSchema, InferResponseSchema, ModelInfoSchema, NameSchema, TOOLS, ToolErrorSchema, VersionStateSchema, WeightsSchema, contextUri, modelUri,
} from './protocol.js';
import type { ContextInfo, ContextUpdated, InferResponse, ModelContextValue, ModelInfo, VersionState } from './protocol.js';

export type CallOptions = McpCallOptions;

export interface WaitOptions extends McpCallOptions {
  /** Give up after this long. Default 30000. */
  waitMs?: number;
}

/** A client of one model service. */
export interface ModelServiceClient {
  readonly connection: McpConnection;
  getModel(model: string, opts?: CallOptions): Promise<ModelInfo>;
  /** The model's context and its hash (`model://{model}/context`). */
  getContext(model: string, opts?: CallOptions): Promise<ContextInfo>;
  /** Conditional update: `expectedHash` is the hash the caller believes current. A mismatch throws `McpError` kind `conflict` (`RELOADKIT_STALE_CONTEXT`) carrying the current hash. */
  putContext(model: string, context: ModelContextValue, expectedHash: string, opts?: CallOptions): Promise<ContextUpdated>;
  /** Starts a load; answers with the state right after (`LOADING` or `READY`). */
  loadVersion(model: string, version: string, opts?: CallOptions): Promise<VersionState>;
  /** Resolves once `version` is READY (or DEGRADED), learnt by notification; throws on FAILED, UNAVAILABLE after a load, or the deadline. */
  waitForVersion(model: string, version: string, opts?: WaitOptions): Promise<VersionState>;
  unloadVersion(model: string, version: string, opts?: CallOptions): Promise<VersionState>;
  setWeights(model: string, weights: Record<string, number>, opts?: CallOptions): Promise<void>;
  infer(model: string, version: string, input: unknown, opts?: CallOptions): Promise<InferResponse>;
  /** Calls `fn` whenever `model://{model}` may have changed (subscribed; re-fired after a new session). */
  watchModel(model: string, fn: () => void): () => void;
}

/**
 * Creates a client of a model service from a connection or the options of one.
 *
 * @example
 * ```ts
 * const models = modelServiceClient({ url: 'http://127.0.0.1:8080/mcp', token: process.env.MCP_TOKEN });
 * await models.loadVersion('sentiment', 'v2');
 * await models.waitForVersion('sentiment', 'v2');
 * ```
 */
export function modelServiceClient(connectionOrOptions: McpConnection | McpConnectionOptions): ModelServiceClient {
  if (typeof connectionOrOptions !== 'object' || connectionOrOptions === null) throw new TypeError('modelServiceClient: expected an McpConnection or its options');
  const connection: McpConnection = typeof (connectionOrOptions as McpConnection).request === 'function' ? (connectionOrOptions as McpConnection) : mcpConnection(connectionOrOptions as McpConnectionOptions);
  const where = connection.describe();
  /** Subscriptions by URI: refcounted, re-sent after every new session. */
  const subscribed = new Map<string, Set<() => void>>();

  const ensure = async (opts: CallOptions = {}): Promise<void> => {
    if (!connection.connected) await connection.connect(opts);
  };

  function name(value: string, what: string): string {
    if (!NameSchema.safeParse(value).success) throw new TypeError(`ModelServiceClient: \`${what}\` must be a model or version name, got ${JSON.stringify(String(value)).slice(0, 100)}`);
    return value;
  }

  async function read<S extends z.ZodType>(uri: string, schema: S, opts: CallOptions): Promise<z.infer<S>> {
    await ensure(opts);
    const result = await connection.request(`resources/read ${uri}`, (c, o) => c.readResource({ uri }, o), opts);
    const first = result.contents[0] as { text?: unknown } | undefined;
    if (typeof first?.text !== 'string') throw new McpError(`${where} resources/read ${uri} answered without JSON text`, { kind: 'malformed' }, { source: where });
    let json: unknown;
    try {
      json = JSON.parse(first.text);
    } catch {
      throw new McpError(`${where} resources/read ${uri} answered malformed JSON`, { kind: 'malformed' }, { source: where });
    }
    return parse(schema, json, `resources/read ${uri}`);
  }

  function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
      throw new McpError(`${where} ${what} answered an invalid result: ${issues}`, { kind: 'malformed' }, { source: where });
    }
    return parsed.data;
  }

  async function call<S extends z.ZodType>(tool: string, args: Record<string, unknown>, schema: S, opts: CallOptions): Promise<z.infer<S>> {
    await ensure(opts);
    const what = `tools/call ${tool}`;
    const result = await connection.request(what, (c, o) => c.callTool({ name: tool, arguments: args }, undefined, o), opts);
    const content = (result as { structuredContent?: unknown }).structuredContent;
    if (result.isError) {
      const conflict = ContextUpdatedSchema.safeParse(content);
      if (conflict.success && conflict.data.conflict) {
        throw new McpError(`${where} ${what}: the expected context hash is stale, the service has ${conflict.data.contextHash}`, { kind: 'conflict', serverCode: 'STALE_CONTEXT', contextHash: conflict.data.contextHash }, { source: where });
      }
      const body = ToolErrorSchema.safeParse(content);
      const code = body.success ? body.data.error.code : undefined;
      const message = body.success ? `${body.data.error.code}: ${body.data.error.message.slice(0, 300)}` : 'a tool error without a code';
      const issues = body.success && body.data.error.issues ? ` (${body.data.error.issues.slice(0, 5).map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')})` : '';
      throw new McpError(`${where} ${what} failed: ${message}${issues}`, code === undefined ? { kind: 'tool' } : { kind: 'tool', serverCode: code }, { source: where });
    }
    return parse(schema, content, what);
  }

  function subscribe(uri: string, fn: () => void): () => void {
    let set = subscribed.get(uri);
    if (!set) {
      subscribed.set(uri, (set = new Set()));
      void ensure().then(() => connection.request(`resources/subscribe ${uri}`, (c, o) => c.subscribeResource({ uri }, o))).catch(() => undefined);
    }
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && subscribed.get(uri) === set) {
        subscribed.delete(uri);
        if (connection.connected) void connection.request(`resources/unsubscribe ${uri}`, (c, o) => c.unsubscribeResource({ uri }, o)).catch(() => undefined);
      }
    };
  }

  connection.onNotification('notifications/resources/updated', (params) => {
    const uri = typeof params?.uri === 'string' ? params.uri : undefined;
    if (uri === undefined) return;
    for (const fn of [...(subscribed.get(uri) ?? [])]) fn();
  });
  connection.onSession((e) => {
    if (e.session === 1) return;
    // A new session knows none of our subscriptions, and whatever changed meanwhile was not announced.
    for (const [uri, fns] of subscribed) {
      void connection.request(`resources/subscribe ${uri}`, (c, o) => c.subscribeResource({ uri }, o)).catch(() => undefined);
      for (const fn of [...fns]) fn();
    }
  });

  const client: ModelServiceClient = {
    connection,
    getModel: (model, o = {}) => read(modelUri(name(model, 'model')), ModelInfoSchema, o),
    getContext: (model, o = {}) => read(contextUri(name(model, 'model')), ContextInfoSchema, o),
    putContext(model, context, expectedHash, o = {}) {
      if (typeof expectedHash !== 'string' || expectedHash.length === 0) throw new TypeError('ModelServiceClient.putContext: `expectedHash` must be the current context hash');
      return call(TOOLS.updateContext, { model: name(model, 'model'), context, expectedHash }, ContextUpdatedSchema, o);
    },
    loadVersion: (model, version, o = {}) => call(TOOLS.loadVersion, { model: name(model, 'model'), version: name(version, 'version') }, VersionStateSchema, o),
    async waitForVersion(model, version, o = {}) {
      const { waitMs = 30_000, signal } = o;
      name(model, 'model');
      name(version, 'version');
      let wake: () => void = () => undefined;
      const stop = subscribe(modelUri(model), () => wake());
      const deadline = Date.now() + waitMs;
      try {
        for (;;) {
          const changed = new Promise<void>((resolve) => { wake = resolve; });
          const info = await client.getModel(model, { signal });
          const vs = info.versions.find((v) => v.version === version);
          if (!vs) throw new McpError(`${where}: model ${model} has no version ${version}`, { kind: 'tool', serverCode: 'UNKNOWN_VERSION' }, { source: where });
          if (vs.state === 'READY' || vs.state === 'DEGRADED') return { model, version, state: vs.state };
          if (vs.state === 'FAILED' || vs.state === 'UNAVAILABLE') {
            throw new McpError(`${where}: loading ${model}@${version} failed: ${vs.error ?? `the version is ${vs.state}`}`, { kind: 'tool', serverCode: 'LOAD_FAILED' }, { source: where });
          }
          const left = deadline - Date.now();
          if (left <= 0) throw new McpError(`${where}: ${model}@${version} still ${vs.state} after ${waitMs} ms`, { kind: 'timeout' }, { source: where });
          let timer: NodeJS.Timeout | undefined;
          let onAbort: (() => void) | undefined;
          await Promise.race([
            changed,
            new Promise<void>((resolve) => { timer = setTimeout(resolve, left); }),
            new Promise<void>((resolve) => {
              onAbort = resolve;
              signal?.addEventListener('abort', onAbort, { once: true });
            }),
          ]);
          clearTimeout(timer);
          if (onAbort) signal?.removeEventListener('abort', onAbort);
          if (signal?.aborted) throw new McpError(`${where}: waiting for ${model}@${version} aborted`, { kind: 'aborted' }, { source: where });
        }
      } finally {
        stop();
      }
    },
    unloadVersion: (model, version, o = {}) => call(TOOLS.unloadVersion, { model: name(model, 'model'), version: name(version, 'version') }, VersionStateSchema, o),
    async setWeights(model, weights, o = {}) {
      await call(TOOLS.setWeights, { model: name(model, 'model'), weights }, WeightsSchema, o);
    },
    infer: (model, version, input, o = {}) => call(TOOLS.infer, { model: name(model, 'model'), version: name(version, 'version'), input }, InferResponseSchema, o),
    watchModel: (model, fn) => subscribe(modelUri(name(model, 'model')), fn),
  };
  return client;
}
