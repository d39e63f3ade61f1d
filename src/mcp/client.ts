/**
 * `createMcpClient()`: a typed client of the reloadkit model-service protocol over `fetch`.
 * Every response body is size-bounded, parsed and validated against the shared zod schema, so a
 * malformed or hostile service yields an `McpError`, never a crash or a silently wrong state.
 * Only idempotent calls are retried (GET, DELETE, the absolute `PUT weights`); a conditional
 * `PUT context` and every `POST` are sent once, because their outcome after a lost response is
 * unknown: `modelContext` resolves that by re-reading the context hash.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { z } from 'zod';
import { McpError } from './errors.js';
import type { McpErrorKind } from './errors.js';
import {
  ContextInfoSchema, ContextUpdatedSchema, ErrorBodySchema, HealthSchema, InferResponseSchema, MCP_BASE_PATH, ModelInfoSchema,
  ModelListSchema, OperationSchema, ReadinessSchema, UnloadedSchema, WeightsSchema,
} from './protocol.js';
import type { ContextInfo, ContextUpdated, Health, InferResponse, ModelContextValue, ModelInfo, Operation, Readiness, Unloaded } from './protocol.js';

export interface McpClientOptions {
  /** Service origin, e.g. `http://127.0.0.1:8080` (the `/mcp/v1` prefix is added). */
  baseUrl: string;
  /** Bearer token, when the service requires one. */
  token?: string;
  /** Per attempt, covering headers and body. Default 5000. */
  timeoutMs?: number;
  /** Retries of idempotent calls on network errors, timeouts and 502/503/504. Default 2. */
  retries?: number;
  /** Largest accepted response body. Default 1 MiB. */
  maxResponseBytes?: number;
  /** Base delay between retries (doubles each time). Default 50 ms. */
  retryDelayMs?: number;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface WaitOptions extends CallOptions {
  /** Give up after this long. Default 30000. */
  timeoutMs?: number;
  /** Poll interval. Default 50. */
  intervalMs?: number;
}

/** A client of one model service. */
export interface McpClient {
  readonly baseUrl: string;
  health(opts?: CallOptions): Promise<Health>;
  listModels(opts?: CallOptions): Promise<ModelInfo[]>;
  getModel(model: string, opts?: CallOptions): Promise<ModelInfo>;
  /** The model's context and its hash (`GET /models/:model/context`). */
  getContext(model: string, opts?: CallOptions): Promise<ContextInfo>;
  /** Never throws for a 503: it is the "not ready" answer. */
  ready(model: string, opts?: CallOptions): Promise<Readiness>;
  /** Conditional update: `ifMatch` is the context hash the caller believes is current. 412 → `McpError` code `RELOADKIT_CONFLICT`. */
  putContext(model: string, context: ModelContextValue, ifMatch: string, opts?: CallOptions): Promise<ContextUpdated>;
  loadVersion(model: string, version: string, opts?: CallOptions): Promise<Operation>;
  getOperation(id: string, opts?: CallOptions): Promise<Operation>;
  /** Polls the operation until it leaves `RELOAD_INITIATED`; resolves on `RELOAD_SUCCESS`, throws on `RELOAD_FAILED`. */
  waitForOperation(id: string, opts?: WaitOptions): Promise<Operation>;
  unloadVersion(model: string, version: string, opts?: CallOptions): Promise<Unloaded>;
  setWeights(model: string, weights: Record<string, number>, opts?: CallOptions): Promise<void>;
  infer(model: string, version: string, input: unknown, opts?: CallOptions): Promise<InferResponse>;
}

interface Call<S extends z.ZodType> {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  schema: S;
  /** Statuses whose body is a success body of `schema` (default 200). */
  okStatuses?: number[];
  retry: boolean;
  signal?: AbortSignal | undefined;
}

const RETRYABLE_STATUS = new Set([502, 503, 504]);

/**
 * Creates a client of a reloadkit model service.
 *
 * @example
 * ```ts
 * const client = createMcpClient({ baseUrl: 'http://127.0.0.1:8080', token: process.env.MCP_TOKEN });
 * const info = await client.getModel('sentiment');
 * const op = await client.loadVersion('sentiment', 'v2');
 * await client.waitForOperation(op.id);
 * ```
 */
export function createMcpClient(options: McpClientOptions): McpClient {
  if (typeof options !== 'object' || options === null) throw new TypeError('createMcpClient: expected an options object');
  const { baseUrl, token, timeoutMs = 5000, retries = 2, maxResponseBytes = 1024 * 1024, retryDelayMs = 50 } = options;
  let origin: URL;
  try {
    origin = new URL(baseUrl);
  } catch {
    throw new TypeError(`createMcpClient: \`baseUrl\` must be an absolute http(s) URL, got ${JSON.stringify(String(baseUrl)).slice(0, 100)}`);
  }
  if (origin.protocol !== 'http:' && origin.protocol !== 'https:') throw new TypeError('createMcpClient: `baseUrl` must use http: or https:');
  if (token !== undefined && (typeof token !== 'string' || token.length === 0)) throw new TypeError('createMcpClient: `token` must be a non-empty string');
  for (const [name, v] of [['timeoutMs', timeoutMs], ['maxResponseBytes', maxResponseBytes]] as const) {
    if (!Number.isFinite(v) || v <= 0) throw new TypeError(`createMcpClient: \`${name}\` must be a positive number, got ${String(v)}`);
  }
  if (!Number.isInteger(retries) || retries < 0) throw new TypeError(`createMcpClient: \`retries\` must be a non-negative integer, got ${String(retries)}`);
  if (!Number.isFinite(retryDelayMs) || retryDelayMs < 0) throw new TypeError('createMcpClient: `retryDelayMs` must be a non-negative number');
  const root = `${origin.origin}${origin.pathname.replace(/\/+$/, '')}${MCP_BASE_PATH}`;

  async function call<S extends z.ZodType>(c: Call<S>): Promise<z.infer<S>> {
    const attempts = c.retry ? retries + 1 : 1;
    let last: McpError | undefined;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await sleep(retryDelayMs * 2 ** (attempt - 1), undefined, c.signal ? { signal: c.signal } : undefined).catch(() => undefined);
      if (c.signal?.aborted) throw new McpError(`${c.method} ${c.path} aborted`, { kind: 'aborted' });
      try {
        return await once(c);
      } catch (error) {
        if (!(error instanceof McpError)) throw error;
        last = error;
        const transient = error.kind === 'network' || error.kind === 'timeout' || (error.kind === 'status' && RETRYABLE_STATUS.has(error.status ?? 0));
        if (!transient) throw error;
      }
    }
    throw last as McpError;
  }

  async function once<S extends z.ZodType>(c: Call<S>): Promise<z.infer<S>> {
    const what = `${c.method} ${c.path}`;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = c.signal ? AbortSignal.any([c.signal, timeout]) : timeout;
    const headers: Record<string, string> = { accept: 'application/json', ...c.headers };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (c.body !== undefined) headers['content-type'] = 'application/json';
    const fail = (kind: McpErrorKind, detail: string, cause?: unknown, status?: number): McpError =>
      new McpError(`model service ${what} ${detail}`, status === undefined ? { kind } : { kind, status }, { source: `mcp ${origin.host}`, cause });
    const abortKind = (): McpErrorKind => (c.signal?.aborted ? 'aborted' : 'timeout');
    let response: Response;
    try {
      response = await fetch(root + c.path, { method: c.method, headers, body: c.body === undefined ? null : JSON.stringify(c.body), signal, redirect: 'error' });
    } catch (error) {
      if (signal.aborted) throw fail(abortKind(), abortKind() === 'timeout' ? `timed out after ${timeoutMs} ms` : 'aborted', error);
      throw fail('network', `failed: ${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message}`, error);
    }
    let text: string;
    try {
      text = await readBounded(response, maxResponseBytes);
    } catch (error) {
      if (error instanceof McpError) throw fail('too-large', `response exceeds ${maxResponseBytes} bytes`, undefined, response.status);
      if (signal.aborted) throw fail(abortKind(), abortKind() === 'timeout' ? `timed out after ${timeoutMs} ms reading the body` : 'aborted', error, response.status);
      throw fail('network', 'failed while reading the body', error, response.status);
    }
    const ok = (c.okStatuses ?? [200]).includes(response.status);
    let json: unknown;
    try {
      json = text.length === 0 ? undefined : JSON.parse(text);
    } catch {
      if (!ok) throw fail('status', `answered ${response.status} with a non-JSON body`, undefined, response.status);
      throw fail('malformed', `answered ${response.status} with malformed JSON`, undefined, response.status);
    }
    if (!ok) {
      const body = ErrorBodySchema.safeParse(json);
      const serverCode = body.success ? body.data.error.code : undefined;
      const message = body.success ? `: ${body.data.error.code}: ${body.data.error.message.slice(0, 300)}` : '';
      const issues = body.success && body.data.error.issues ? ` (${body.data.error.issues.slice(0, 5).map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')})` : '';
      const detail: ConstructorParameters<typeof McpError>[1] = { kind: 'status', status: response.status };
      if (serverCode !== undefined) detail.serverCode = serverCode;
      if (body.success && body.data.contextHash !== undefined) detail.contextHash = body.data.contextHash;
      throw new McpError(`model service ${what} answered ${response.status}${message}${issues}`, detail, { source: `mcp ${origin.host}` });
    }
    const parsed = c.schema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
      throw fail('malformed', `answered ${response.status} with an invalid body: ${issues}`, undefined, response.status);
    }
    return parsed.data;
  }

  const seg = (name: string, what: string): string => {
    if (typeof name !== 'string' || name.length === 0 || name.length > 128) throw new TypeError(`McpClient: \`${what}\` must be a non-empty string of at most 128 characters`);
    return encodeURIComponent(name);
  };

  const client: McpClient = {
    baseUrl: origin.origin,
    health: (o = {}) => call({ method: 'GET', path: '/health', schema: HealthSchema, retry: true, signal: o.signal }),
    listModels: async (o = {}) => (await call({ method: 'GET', path: '/models', schema: ModelListSchema, retry: true, signal: o.signal })).models,
    getModel: (model, o = {}) => call({ method: 'GET', path: `/models/${seg(model, 'model')}`, schema: ModelInfoSchema, retry: true, signal: o.signal }),
    getContext: (model, o = {}) => call({ method: 'GET', path: `/models/${seg(model, 'model')}/context`, schema: ContextInfoSchema, retry: true, signal: o.signal }),
    ready: (model, o = {}) => call({ method: 'GET', path: `/models/${seg(model, 'model')}/ready`, schema: ReadinessSchema, okStatuses: [200, 503], retry: true, signal: o.signal }),
    putContext: (model, context, ifMatch, o = {}) => {
      if (typeof ifMatch !== 'string' || ifMatch.length === 0) throw new TypeError('McpClient.putContext: `ifMatch` must be the current context hash');
      return call({ method: 'PUT', path: `/models/${seg(model, 'model')}/context`, body: { context }, headers: { 'if-match': `"${ifMatch}"` }, schema: ContextUpdatedSchema, retry: false, signal: o.signal });
    },
    loadVersion: (model, version, o = {}) =>
      call({ method: 'POST', path: `/models/${seg(model, 'model')}/versions`, body: { version }, schema: OperationSchema, okStatuses: [202], retry: false, signal: o.signal }),
    getOperation: (id, o = {}) => call({ method: 'GET', path: `/operations/${seg(id, 'id')}`, schema: OperationSchema, retry: true, signal: o.signal }),
    async waitForOperation(id, o = {}) {
      const { timeoutMs: limit = 30_000, intervalMs = 50, signal } = o;
      const deadline = Date.now() + limit;
      for (;;) {
        const op = await client.getOperation(id, { signal });
        if (op.status === 'RELOAD_SUCCESS') return op;
        if (op.status === 'RELOAD_FAILED') {
          throw new McpError(`model service operation ${id} (load ${op.model}@${op.version}) failed: ${op.error ?? 'no reason given'}`, { kind: 'status', serverCode: 'RELOAD_FAILED' }, { source: `mcp ${origin.host}` });
        }
        if (Date.now() > deadline) throw new McpError(`model service operation ${id} (load ${op.model}@${op.version}) still ${op.status} after ${limit} ms`, { kind: 'timeout' }, { source: `mcp ${origin.host}` });
        await sleep(intervalMs, undefined, signal ? { signal } : undefined).catch(() => undefined);
        if (signal?.aborted) throw new McpError(`waiting for operation ${id} aborted`, { kind: 'aborted' });
      }
    },
    unloadVersion: (model, version, o = {}) =>
      call({ method: 'DELETE', path: `/models/${seg(model, 'model')}/versions/${seg(version, 'version')}`, schema: UnloadedSchema, retry: true, signal: o.signal }),
    async setWeights(model, weights, o = {}) {
      await call({ method: 'PUT', path: `/models/${seg(model, 'model')}/weights`, body: { weights }, schema: WeightsSchema, retry: true, signal: o.signal });
    },
    infer: (model, version, input, o = {}) =>
      call({ method: 'POST', path: `/models/${seg(model, 'model')}/versions/${seg(version, 'version')}/infer`, body: { input }, schema: InferResponseSchema, retry: false, signal: o.signal }),
  };
  return client;
}

/** Reads a response body as text, aborting as soon as it exceeds `limit` bytes. */
async function readBounded(response: Response, limit: number): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw new McpError('too large', { kind: 'too-large' });
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw new McpError('too large', { kind: 'too-large' });
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
