/**
 * `createMcpServer()`: a `node:http` request handler that lets a Node model service speak the
 * reloadkit model-service protocol (docs/mcp-protocol.md). Model implementations are pluggable
 * (`load`, `unload`, `infer`, a zod context schema); the handler owns version states, the context
 * and its hash, and the operations store. Every request is validated against the shared schemas:
 * hostile input gets a 4xx with a JSON error body, never a crash.
 *
 * @module
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { hashValue } from '../support/hash.js';
import {
  ContextSchema, ContextUpdateSchema, InferRequestSchema, LoadRequestSchema, MCP_BASE_PATH, NameSchema, WeightsSchema,
} from './protocol.js';
import type {
  ContextInfo, ContextUpdated, ErrorBody, Health, InferResponse, ModelContextValue, ModelInfo, ModelList, ModelState, Operation, Readiness, Unloaded, VersionInfo, Weights,
} from './protocol.js';

/** What `infer` receives besides the input: the model's current context and its hash. */
export interface InferContext<C = ModelContextValue> {
  context: C;
  contextHash: string;
  signal: AbortSignal;
}

/** A pluggable model: the service calls these; the protocol, states and context are handled for you. */
export interface ModelImplementation<C extends ModelContextValue = ModelContextValue> {
  name: string;
  /** Versions this service can load. */
  versions: readonly string[];
  /** Loads a version (weights, lexicon...). Throwing marks the version `FAILED`. */
  load(version: string): unknown | Promise<unknown>;
  /** Releases a version. */
  unload(version: string): unknown | Promise<unknown>;
  /** Runs one inference. Throwing answers 500 `INFERENCE_FAILED` (counted in the version's errors). */
  infer(version: string, input: unknown, ctx: InferContext<C>): unknown | Promise<unknown>;
  /** Validates context updates (422 when invalid). Default: any JSON object. */
  contextSchema?: z.ZodType<C>;
  /** Validates inference inputs (422 when invalid). Default: anything. */
  inputSchema?: z.ZodType;
  /** The context before any update. Default `{}`. */
  initialContext?: C;
  /** Versions loaded when the handler is created. */
  preload?: readonly string[];
  capabilities?: readonly string[];
}

export interface McpServerOptions {
  models: readonly ModelImplementation<any>[];
  /** Bearer token required on every route but `GET /health`. Without it the service is open (bind to loopback). */
  token?: string;
  /** Largest accepted request body. Default 64 KiB. */
  maxBodyBytes?: number;
  /** A request body must arrive within this time. Default 10000 ms. */
  bodyTimeoutMs?: number;
  /** A version load running longer fails its operation. Default 60000 ms. */
  loadTimeoutMs?: number;
  /** Finished operations kept for `GET /operations/:id`. Default 1000. */
  maxOperations?: number;
  /** Reported in `/health` and model info. Default: a random id per handler. */
  deploymentId?: string;
}

/** The handler, plus `close()` which unloads every loaded version. */
export type McpServerHandler = ((req: IncomingMessage, res: ServerResponse) => void) & {
  close(): Promise<void>;
  /** Resolves once the `preload` versions finished loading (or failed). */
  ready(): Promise<void>;
};

interface VersionSlot {
  state: ModelState;
  loadedAt: number | null;
  requests: number;
  errors: number;
  /** Last outcomes (true = error), to report DEGRADED. */
  recent: boolean[];
  weight: number;
  error?: string;
  /** Loads and unloads of this version, one at a time. */
  queue: Promise<void>;
}

interface ModelSlot {
  impl: ModelImplementation<any>;
  versions: Map<string, VersionSlot>;
  context: ModelContextValue;
  contextHash: string;
}

class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly extra: Partial<ErrorBody> & { headers?: Record<string, string> } = {}) {
    super(message);
  }
}

/** Deepest JSON nesting a request body may have: deeper bodies are hostile (stack depth), 400. */
const MAX_JSON_DEPTH = 100;
const RECENT_WINDOW = 20;
const DEGRADED_MIN_SAMPLES = 10;
const DEGRADED_ERROR_SHARE = 0.5;

/**
 * Creates the protocol handler for a set of model implementations.
 *
 * @example
 * ```ts
 * const handler = createMcpServer({ models: [{
 *   name: 'echo', versions: ['v1'], preload: ['v1'],
 *   load() {}, unload() {}, infer: (_v, input) => input,
 * }], token: process.env.MCP_TOKEN });
 * http.createServer(handler).listen(8080, '127.0.0.1');
 * ```
 */
export function createMcpServer(options: McpServerOptions): McpServerHandler {
  if (typeof options !== 'object' || options === null) throw new TypeError('createMcpServer: expected an options object');
  const { models, token, maxBodyBytes = 64 * 1024, bodyTimeoutMs = 10_000, loadTimeoutMs = 60_000, maxOperations = 1000, deploymentId = `deploy-${randomUUID().slice(0, 8)}` } = options;
  if (!Array.isArray(models) || models.length === 0) throw new TypeError('createMcpServer: `models` must be a non-empty array of model implementations');
  if (token !== undefined && (typeof token !== 'string' || token.length < 8)) throw new TypeError('createMcpServer: `token` must be a string of at least 8 characters');
  for (const [name, v] of [['maxBodyBytes', maxBodyBytes], ['bodyTimeoutMs', bodyTimeoutMs], ['loadTimeoutMs', loadTimeoutMs], ['maxOperations', maxOperations]] as const) {
    if (!Number.isFinite(v) || v <= 0) throw new TypeError(`createMcpServer: \`${name}\` must be a positive number, got ${String(v)}`);
  }
  const startedAt = Date.now();
  const tokenDigest = token === undefined ? undefined : digest(token);
  const slots = new Map<string, ModelSlot>();
  for (const impl of models) {
    if (!NameSchema.safeParse(impl?.name).success) throw new TypeError(`createMcpServer: invalid model name ${JSON.stringify(impl?.name)}`);
    if (slots.has(impl.name)) throw new TypeError(`createMcpServer: duplicate model name "${impl.name}"`);
    for (const f of ['load', 'unload', 'infer'] as const) if (typeof impl[f] !== 'function') throw new TypeError(`createMcpServer: model "${impl.name}" needs a \`${f}\` function`);
    if (!Array.isArray(impl.versions) || impl.versions.length === 0 || !impl.versions.every((v: string) => NameSchema.safeParse(v).success)) {
      throw new TypeError(`createMcpServer: model "${impl.name}" needs \`versions\`: a non-empty array of names`);
    }
    const context = impl.initialContext ?? {};
    const versions = new Map<string, VersionSlot>();
    for (const v of impl.versions) versions.set(v, { state: 'UNAVAILABLE', loadedAt: null, requests: 0, errors: 0, recent: [], weight: 0, queue: Promise.resolve() });
    slots.set(impl.name, { impl, versions, context, contextHash: hashValue(context) });
  }
  const operations = new Map<string, Operation>();
  const preloads: Promise<void>[] = [];
  for (const slot of slots.values()) for (const v of slot.impl.preload ?? []) if (slot.versions.has(v)) preloads.push(startLoad(slot, v).promise);

  function startLoad(slot: ModelSlot, version: string): { op: Operation; promise: Promise<void> } {
    const vs = slot.versions.get(version) as VersionSlot;
    const op: Operation = { id: randomUUID(), kind: 'load', model: slot.impl.name, version, status: 'RELOAD_INITIATED', startedAt: Date.now(), finishedAt: null };
    remember(op);
    if (vs.state === 'READY' || vs.state === 'DEGRADED') {
      finish(op, vs);
      return { op, promise: Promise.resolve() };
    }
    // Loads and unloads of one version run one after another: a load requested while an unload
    // runs waits for it, and a second load of a loading version finds it READY (it joins).
    const promise = serialize(vs, async () => {
      if (vs.state === 'READY' || vs.state === 'DEGRADED') return;
      vs.state = 'LOADING';
      delete vs.error;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(() => slot.impl.load(version)),
          new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`load timed out after ${loadTimeoutMs} ms`)), loadTimeoutMs); }),
        ]);
        vs.state = 'READY';
        vs.loadedAt = Date.now();
        vs.recent = [];
      } catch (error) {
        vs.state = 'FAILED';
        vs.error = String((error as Error)?.message ?? error).slice(0, 500);
      } finally {
        clearTimeout(timer);
      }
    }).then(() => finish(op, vs));
    return { op, promise };
  }

  function serialize(vs: VersionSlot, fn: () => Promise<void>): Promise<void> {
    const run = vs.queue.then(fn);
    vs.queue = run.catch(() => undefined);
    return run;
  }

  function finish(op: Operation, vs: VersionSlot): void {
    op.finishedAt = Date.now();
    if (vs.state === 'READY' || vs.state === 'DEGRADED') op.status = 'RELOAD_SUCCESS';
    else {
      op.status = 'RELOAD_FAILED';
      op.error = vs.error ?? `version is ${vs.state}`;
    }
  }

  function remember(op: Operation): void {
    operations.set(op.id, op);
    // Evict the oldest finished operations first; a flood of loads cannot grow memory unbounded.
    if (operations.size > maxOperations) {
      for (const [id, o] of operations) {
        if (operations.size <= maxOperations) break;
        if (o.status !== 'RELOAD_INITIATED') operations.delete(id);
      }
    }
  }

  function unload(slot: ModelSlot, version: string): Promise<void> {
    const vs = slot.versions.get(version) as VersionSlot;
    return serialize(vs, async () => {
      vs.weight = 0;
      if (vs.state !== 'READY' && vs.state !== 'DEGRADED') {
        vs.state = 'UNAVAILABLE';
        return;
      }
      vs.state = 'UNLOADING';
      try {
        await slot.impl.unload(version);
      } catch (error) {
        vs.error = String((error as Error)?.message ?? error).slice(0, 500);
      } finally {
        vs.state = 'UNAVAILABLE';
        vs.loadedAt = null;
      }
    });
  }

  function versionInfo(version: string, vs: VersionSlot): VersionInfo {
    const out: VersionInfo = { version, state: vs.state, weight: vs.weight, loadedAt: vs.loadedAt, requests: vs.requests, errors: vs.errors };
    if (vs.error !== undefined) out.error = vs.error;
    return out;
  }

  function modelState(slot: ModelSlot): ModelState {
    const states = new Set([...slot.versions.values()].map((v) => v.state));
    for (const s of ['READY', 'DEGRADED', 'LOADING', 'UNLOADING', 'FAILED'] as const) if (states.has(s)) return s;
    return 'UNAVAILABLE';
  }

  function modelInfo(slot: ModelSlot): ModelInfo {
    const mem = process.memoryUsage();
    const versions = [...slot.versions].map(([v, vs]) => versionInfo(v, vs));
    return {
      name: slot.impl.name,
      deploymentId,
      state: modelState(slot),
      versions,
      context: slot.context,
      contextHash: slot.contextHash,
      capabilities: [...(slot.impl.capabilities ?? ['infer', 'context'])],
      resources: { rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, loadedVersions: versions.filter((v) => v.state === 'READY' || v.state === 'DEGRADED').length },
    };
  }

  function findModel(name: string): ModelSlot {
    const slot = slots.get(name);
    if (!slot) throw new HttpError(404, 'UNKNOWN_MODEL', `no model named ${JSON.stringify(name.slice(0, 128))}`);
    return slot;
  }

  function findVersion(slot: ModelSlot, version: string): VersionSlot {
    const vs = slot.versions.get(version);
    if (!vs) throw new HttpError(404, 'UNKNOWN_VERSION', `model ${slot.impl.name} has no version ${JSON.stringify(version.slice(0, 128))}`);
    return vs;
  }

  function record(vs: VersionSlot, failed: boolean): void {
    vs.requests++;
    if (failed) vs.errors++;
    vs.recent.push(failed);
    if (vs.recent.length > RECENT_WINDOW) vs.recent.shift();
    if (vs.state === 'READY' || vs.state === 'DEGRADED') {
      const share = vs.recent.filter(Boolean).length / vs.recent.length;
      vs.state = vs.recent.length >= DEGRADED_MIN_SAMPLES && share >= DEGRADED_ERROR_SHARE ? 'DEGRADED' : 'READY';
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://service.invalid');
    if (!url.pathname.startsWith(`${MCP_BASE_PATH}/`)) throw new HttpError(404, 'NOT_FOUND', 'unknown route');
    let parts: string[];
    try {
      parts = url.pathname.slice(MCP_BASE_PATH.length + 1).split('/').map((p) => decodeURIComponent(p));
    } catch {
      throw new HttpError(400, 'BAD_PATH', 'malformed percent-encoding in the path');
    }
    const method = req.method ?? 'GET';
    const allow = (methods: string[]): void => {
      if (!methods.includes(method)) throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed here`, { headers: { allow: methods.join(', ') } });
    };
    const [a, b, c, d, e, ...rest] = parts;
    if (rest.length > 0) throw new HttpError(404, 'NOT_FOUND', 'unknown route');

    if (a === 'health' && b === undefined) {
      allow(['GET']);
      return send(res, 200, { status: 'ok', uptimeMs: Date.now() - startedAt, deploymentId } satisfies Health);
    }
    // Every other route checks the token before anything else, so a caller without it learns no model names.
    authorize(req);
    if (a === 'models' && b === undefined) {
      allow(['GET']);
      return send(res, 200, { models: [...slots.values()].map(modelInfo) } satisfies ModelList);
    }
    if (a === 'operations' && b !== undefined && c === undefined) {
      allow(['GET']);
      const op = operations.get(b);
      if (!op) throw new HttpError(404, 'UNKNOWN_OPERATION', 'no such operation');
      return send(res, 200, op);
    }
    if (a !== 'models' || b === undefined) throw new HttpError(404, 'NOT_FOUND', 'unknown route');
    if (c === undefined) {
      allow(['GET']);
      const slot = findModel(b);
      return send(res, 200, modelInfo(slot), { etag: `"${slot.contextHash}"` });
    }
    if (c === 'ready' && d === undefined) {
      allow(['GET']);
      const slot = findModel(b);
      const readyVersions = [...slot.versions].filter(([, vs]) => vs.state === 'READY' || vs.state === 'DEGRADED').map(([v]) => v);
      const body: Readiness = { model: slot.impl.name, ready: readyVersions.length > 0, state: modelState(slot), readyVersions };
      return send(res, body.ready ? 200 : 503, body);
    }
    if (c === 'context' && d === undefined) {
      allow(['GET', 'PUT']);
      const slot = findModel(b);
      if (method === 'GET') return send(res, 200, { model: slot.impl.name, context: slot.context, contextHash: slot.contextHash } satisfies ContextInfo, { etag: `"${slot.contextHash}"` });
      const ifMatch = req.headers['if-match'];
      if (typeof ifMatch !== 'string' || ifMatch.trim() === '') throw new HttpError(428, 'PRECONDITION_REQUIRED', 'If-Match with the current context hash is required');
      const body = parseBody(ContextUpdateSchema, await readJson(req));
      const tags = ifMatch.split(',').map((t) => t.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1'));
      if (!tags.includes('*') && !tags.includes(slot.contextHash)) {
        throw new HttpError(412, 'STALE_CONTEXT', 'If-Match does not match the current context hash', { contextHash: slot.contextHash, headers: { etag: `"${slot.contextHash}"` } });
      }
      const schema = slot.impl.contextSchema ?? ContextSchema;
      const parsed = schema.safeParse(body.context);
      if (!parsed.success) throw invalid('INVALID_CONTEXT', 'context rejected by the model schema', parsed.error);
      const checked = ContextSchema.safeParse(parsed.data);
      if (!checked.success) throw new HttpError(422, 'INVALID_CONTEXT', 'the model schema must produce a JSON object');
      let nextHash: string;
      try {
        nextHash = hashValue(checked.data);
      } catch (error) {
        throw new HttpError(422, 'INVALID_CONTEXT', `context has no canonical JSON form: ${(error as Error).message.slice(0, 200)}`);
      }
      const previousHash = slot.contextHash;
      slot.context = checked.data;
      slot.contextHash = nextHash;
      return send(res, 200, { model: slot.impl.name, contextHash: nextHash, previousHash } satisfies ContextUpdated, { etag: `"${nextHash}"` });
    }
    if (c === 'weights' && d === undefined) {
      allow(['PUT']);
      const slot = findModel(b);
      const body = parseBody(WeightsSchema, await readJson(req));
      for (const v of Object.keys(body.weights)) findVersion(slot, v);
      for (const [v, vs] of slot.versions) vs.weight = body.weights[v] ?? 0;
      return send(res, 200, { weights: Object.fromEntries([...slot.versions].map(([v, vs]) => [v, vs.weight])) } satisfies Weights);
    }
    if (c === 'versions' && d === undefined) {
      allow(['POST']);
      const slot = findModel(b);
      const body = parseBody(LoadRequestSchema, await readJson(req));
      if (!slot.versions.has(body.version)) throw new HttpError(422, 'UNKNOWN_VERSION', `model ${slot.impl.name} cannot load version ${body.version}`);
      const { op } = startLoad(slot, body.version);
      return send(res, 202, op, { location: `${MCP_BASE_PATH}/operations/${op.id}` });
    }
    if (c === 'versions' && d !== undefined && e === undefined) {
      allow(['DELETE']);
      const slot = findModel(b);
      findVersion(slot, d);
      await unload(slot, d);
      return send(res, 200, { model: slot.impl.name, version: d, state: (slot.versions.get(d) as VersionSlot).state } satisfies Unloaded);
    }
    if (c === 'versions' && d !== undefined && e === 'infer') {
      allow(['POST']);
      const slot = findModel(b);
      const vs = findVersion(slot, d);
      const body = parseBody(InferRequestSchema, await readJson(req));
      if (slot.impl.inputSchema) {
        const parsed = slot.impl.inputSchema.safeParse(body.input);
        if (!parsed.success) throw invalid('INVALID_INPUT', 'input rejected by the model schema', parsed.error);
        body.input = parsed.data;
      }
      if (vs.state !== 'READY' && vs.state !== 'DEGRADED') throw new HttpError(503, 'VERSION_NOT_READY', `version ${d} is ${vs.state}`);
      const started = performance.now();
      const ac = new AbortController();
      res.once('close', () => ac.abort());
      let output: unknown;
      try {
        output = await slot.impl.infer(d, body.input, { context: slot.context, contextHash: slot.contextHash, signal: ac.signal });
      } catch (error) {
        record(vs, true);
        throw new HttpError(500, 'INFERENCE_FAILED', String((error as Error)?.message ?? error).slice(0, 500));
      }
      record(vs, false);
      return send(res, 200, { model: slot.impl.name, version: d, output: output ?? null, contextHash: slot.contextHash, latencyMs: performance.now() - started } satisfies InferResponse);
    }
    throw new HttpError(404, 'NOT_FOUND', 'unknown route');
  }

  function authorize(req: IncomingMessage): void {
    if (tokenDigest === undefined) return;
    const header = req.headers.authorization;
    const presented = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : '';
    // Compare fixed-length digests in constant time: neither the token nor its length leaks.
    if (!timingSafeEqual(digest(presented), tokenDigest)) throw new HttpError(401, 'UNAUTHORIZED', 'missing or invalid bearer token', { headers: { 'www-authenticate': 'Bearer' } });
  }

  function readJson(req: IncomingMessage): Promise<unknown> {
    const type = String(req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') return Promise.reject(new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'expected Content-Type: application/json'));
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBodyBytes) return Promise.reject(new HttpError(413, 'BODY_TOO_LARGE', `body exceeds ${maxBodyBytes} bytes`));
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const timer = setTimeout(() => done(new HttpError(408, 'BODY_TIMEOUT', `body not received within ${bodyTimeoutMs} ms`)), bodyTimeoutMs);
      const onData = (chunk: Buffer): void => {
        size += chunk.length;
        if (size > maxBodyBytes) done(new HttpError(413, 'BODY_TOO_LARGE', `body exceeds ${maxBodyBytes} bytes`));
        else chunks.push(chunk);
      };
      const onEnd = (): void => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
          done(new HttpError(400, 'BAD_JSON', `body nests deeper than ${MAX_JSON_DEPTH} levels`));
          return;
        }
        try {
          done(undefined, JSON.parse(text));
        } catch {
          done(new HttpError(400, 'BAD_JSON', 'body is not valid JSON'));
        }
      };
      const onError = (): void => done(new HttpError(400, 'BAD_BODY', 'request body aborted'));
      let settled = false;
      function done(error: HttpError | undefined, value?: unknown): void {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.off('data', onData).off('end', onEnd).off('error', onError);
        if (error) reject(error);
        else resolve(value);
      }
      req.on('data', onData).on('end', onEnd).on('error', onError);
    });
  }

  function handler(req: IncomingMessage, res: ServerResponse): void {
    route(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const http = error instanceof HttpError ? error : new HttpError(500, 'INTERNAL', 'internal error');
      const body: ErrorBody = { error: { code: http.code, message: http.message } };
      if (http.extra.error?.issues) body.error.issues = http.extra.error.issues;
      if (http.extra.contextHash) body.contextHash = http.extra.contextHash;
      // A body we refused to read (too large, too slow) may still be streaming: close the connection.
      const closeAfter = http.status === 413 || http.status === 408 || (http.status === 415 && !req.complete);
      send(res, http.status, body, { ...http.extra.headers, ...(closeAfter ? { connection: 'close' } : {}) });
      if (closeAfter) res.once('finish', () => req.socket.destroySoon?.());
    });
  }

  return Object.assign(handler, {
    async close(): Promise<void> {
      await Promise.allSettled(preloads);
      const all: Promise<void>[] = [];
      for (const slot of slots.values()) for (const v of slot.versions.keys()) all.push(unload(slot, v).catch(() => undefined));
      await Promise.all(all);
    },
    async ready(): Promise<void> {
      await Promise.allSettled(preloads);
    },
  });
}

/** True when `text` (JSON or not) opens more than `limit` nested arrays/objects; strings are skipped. */
function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function parseBody<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalid('BAD_REQUEST', 'request body does not match the protocol', parsed.error, 400);
  return parsed.data;
}

function invalid(code: string, message: string, error: z.ZodError, status = 422): HttpError {
  const issues = error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.').slice(0, 200), message: i.message.slice(0, 200) }));
  return new HttpError(status, code, message, { error: { code, message, issues } });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}
