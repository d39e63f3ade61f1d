/**
 * The state of a model service, independent of any transport: version slots and their lifecycle
 * (`LOADING` → `READY`/`DEGRADED`/`FAILED`, `UNLOADING` → `UNAVAILABLE`), each model's context and
 * its hash, and the traffic split last reported by a gateway. Every change emits `changed` with the
 * resource URI it affects, so the MCP front can send `notifications/resources/updated` to the
 * sessions subscribed to it. Loads and unloads of one version run one after another.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import type { z } from 'zod';
import { ReloadkitError } from '../errors.js';
import { hashValue } from '../support/hash.js';
import { ContextSchema, NameSchema, contextUri, modelUri } from './protocol.js';
import type { ContextInfo, ContextUpdated, InferResponse, ModelContextValue, ModelInfo, ModelState, VersionInfo, VersionState } from './protocol.js';

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
  /** Runs one inference. Throwing answers an `INFERENCE_FAILED` tool error (counted in the version's errors). */
  infer(version: string, input: unknown, ctx: InferContext<C>): unknown | Promise<unknown>;
  /** Validates context updates. Default: any JSON object. */
  contextSchema?: z.ZodType<C>;
  /** Validates inference inputs. Default: anything. */
  inputSchema?: z.ZodType;
  /** The context before any update. Default `{}`. */
  initialContext?: C;
  /** Versions loaded when the service is created. */
  preload?: readonly string[];
  capabilities?: readonly string[];
}

/** A refusal of the model service; the MCP front turns it into a tool error carrying `serviceCode`. */
export class ModelServiceError extends ReloadkitError {
  constructor(readonly serviceCode: string, message: string, readonly issues?: { path: string; message: string }[]) {
    super('RELOADKIT_PROTOCOL', message);
  }
}

interface VersionSlot {
  state: ModelState;
  loadedAt: number | null;
  requests: number;
  errors: number;
  /** Last outcomes (true = error), to report DEGRADED. */
  recent: boolean[];
  weight: number;
  error?: string;
  queue: Promise<void>;
  /** Loads requested and not finished: the version reports LOADING meanwhile. */
  pendingLoads: number;
}

interface ModelSlot {
  impl: ModelImplementation<any>;
  versions: Map<string, VersionSlot>;
  context: ModelContextValue;
  contextHash: string;
}

const RECENT_WINDOW = 20;
const DEGRADED_MIN_SAMPLES = 10;
const DEGRADED_ERROR_SHARE = 0.5;

export interface ModelStateOptions {
  models: readonly ModelImplementation<any>[];
  loadTimeoutMs: number;
  deploymentId: string;
}

/** The service's models. Emits `changed` (uri) after every state, weight or context change. */
export class ModelStates extends EventEmitter<{ changed: [uri: string] }> {
  readonly #slots = new Map<string, ModelSlot>();
  readonly #preloads: Promise<void>[] = [];
  readonly #loadTimeoutMs: number;
  readonly deploymentId: string;

  constructor(options: ModelStateOptions) {
    super();
    this.#loadTimeoutMs = options.loadTimeoutMs;
    this.deploymentId = options.deploymentId;
    const { models } = options;
    if (!Array.isArray(models) || models.length === 0) throw new TypeError('createMcpServer: `models` must be a non-empty array of model implementations');
    for (const impl of models) {
      if (!NameSchema.safeParse(impl?.name).success) throw new TypeError(`createMcpServer: invalid model name ${JSON.stringify(impl?.name)}`);
      if (this.#slots.has(impl.name)) throw new TypeError(`createMcpServer: duplicate model name "${impl.name}"`);
      for (const f of ['load', 'unload', 'infer'] as const) if (typeof impl[f] !== 'function') throw new TypeError(`createMcpServer: model "${impl.name}" needs a \`${f}\` function`);
      if (!Array.isArray(impl.versions) || impl.versions.length === 0 || !impl.versions.every((v: string) => NameSchema.safeParse(v).success)) {
        throw new TypeError(`createMcpServer: model "${impl.name}" needs \`versions\`: a non-empty array of names`);
      }
      const context = impl.initialContext ?? {};
      const versions = new Map<string, VersionSlot>();
      for (const v of impl.versions) versions.set(v, { state: 'UNAVAILABLE', loadedAt: null, requests: 0, errors: 0, recent: [], weight: 0, queue: Promise.resolve(), pendingLoads: 0 });
      this.#slots.set(impl.name, { impl, versions, context, contextHash: hashValue(context) });
    }
    for (const slot of this.#slots.values()) for (const v of slot.impl.preload ?? []) if (slot.versions.has(v)) this.#preloads.push(this.#load(slot, v));
  }

  /** Model names, in declaration order. */
  names(): string[] {
    return [...this.#slots.keys()];
  }

  /** Resolves once the `preload` versions finished loading (or failed). */
  async ready(): Promise<void> {
    await Promise.allSettled(this.#preloads);
  }

  info(model: string): ModelInfo {
    const slot = this.#model(model);
    const mem = process.memoryUsage();
    const versions = [...slot.versions].map(([v, vs]) => versionInfo(v, vs));
    return {
      name: slot.impl.name,
      deploymentId: this.deploymentId,
      state: modelState(slot),
      versions,
      contextHash: slot.contextHash,
      capabilities: [...(slot.impl.capabilities ?? ['infer', 'context'])],
      resources: { rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, loadedVersions: versions.filter((v) => v.state === 'READY' || v.state === 'DEGRADED').length },
    };
  }

  context(model: string): ContextInfo {
    const slot = this.#model(model);
    return { model: slot.impl.name, context: slot.context, contextHash: slot.contextHash };
  }

  /** Starts loading `version` and answers at once with its state (`LOADING`, or `READY` when already loaded). */
  load(model: string, version: string): VersionState {
    const slot = this.#model(model);
    const vs = this.#version(slot, version);
    void this.#load(slot, version);
    return stateOf(model, version, vs);
  }

  async unload(model: string, version: string): Promise<VersionState> {
    const slot = this.#model(model);
    const vs = this.#version(slot, version);
    await this.#serialize(vs, async () => {
      vs.weight = 0;
      if (vs.state !== 'READY' && vs.state !== 'DEGRADED') {
        this.#set(slot, vs, 'UNAVAILABLE');
        return;
      }
      this.#set(slot, vs, 'UNLOADING');
      try {
        await slot.impl.unload(version);
      } catch (error) {
        vs.error = String((error as Error)?.message ?? error).slice(0, 500);
      } finally {
        vs.loadedAt = null;
        this.#set(slot, vs, 'UNAVAILABLE');
      }
    });
    return stateOf(model, version, vs);
  }

  /** Conditional update: applied only when `expectedHash` is the current hash; otherwise a conflict carrying it. */
  updateContext(model: string, context: unknown, expectedHash: string): ContextUpdated {
    const slot = this.#model(model);
    if (expectedHash !== slot.contextHash) return { model, ok: false, conflict: true, contextHash: slot.contextHash };
    const parsed = (slot.impl.contextSchema ?? ContextSchema).safeParse(context);
    if (!parsed.success) throw new ModelServiceError('INVALID_CONTEXT', 'context rejected by the model schema', issuesOf(parsed.error));
    const checked = ContextSchema.safeParse(parsed.data);
    if (!checked.success) throw new ModelServiceError('INVALID_CONTEXT', 'the model schema must produce a JSON object');
    let nextHash: string;
    try {
      nextHash = hashValue(checked.data);
    } catch (error) {
      throw new ModelServiceError('INVALID_CONTEXT', `context has no canonical JSON form: ${(error as Error).message.slice(0, 200)}`);
    }
    const previousHash = slot.contextHash;
    slot.context = checked.data;
    slot.contextHash = nextHash;
    this.emit('changed', contextUri(model));
    this.emit('changed', modelUri(model));
    return { model, ok: true, conflict: false, contextHash: nextHash, previousHash };
  }

  setWeights(model: string, weights: Record<string, number>): Record<string, number> {
    const slot = this.#model(model);
    for (const v of Object.keys(weights)) this.#version(slot, v);
    for (const [v, vs] of slot.versions) vs.weight = weights[v] ?? 0;
    this.emit('changed', modelUri(model));
    return Object.fromEntries([...slot.versions].map(([v, vs]) => [v, vs.weight]));
  }

  async infer(model: string, version: string, input: unknown, signal: AbortSignal): Promise<InferResponse> {
    const slot = this.#model(model);
    const vs = this.#version(slot, version);
    let value = input;
    if (slot.impl.inputSchema) {
      const parsed = slot.impl.inputSchema.safeParse(input);
      if (!parsed.success) throw new ModelServiceError('INVALID_INPUT', 'input rejected by the model schema', issuesOf(parsed.error));
      value = parsed.data;
    }
    if (vs.state !== 'READY' && vs.state !== 'DEGRADED') throw new ModelServiceError('VERSION_NOT_READY', `version ${version} is ${vs.state}`);
    const started = performance.now();
    let output: unknown;
    try {
      output = await slot.impl.infer(version, value, { context: slot.context, contextHash: slot.contextHash, signal });
    } catch (error) {
      this.#record(slot, vs, true);
      throw new ModelServiceError('INFERENCE_FAILED', String((error as Error)?.message ?? error).slice(0, 500));
    }
    this.#record(slot, vs, false);
    return { model, version, output: output ?? null, contextHash: slot.contextHash, latencyMs: performance.now() - started };
  }

  /** Unloads every loaded version. */
  async close(): Promise<void> {
    await Promise.allSettled(this.#preloads);
    const all: Promise<unknown>[] = [];
    for (const [name, slot] of this.#slots) for (const v of slot.versions.keys()) all.push(this.unload(name, v).catch(() => undefined));
    await Promise.all(all);
  }

  #load(slot: ModelSlot, version: string): Promise<void> {
    const vs = slot.versions.get(version) as VersionSlot;
    if (vs.state === 'READY' || vs.state === 'DEGRADED') return Promise.resolve();
    vs.pendingLoads++;
    // A load requested while an unload runs waits for it; a second load of a loading version joins.
    return this.#serialize(vs, async () => {
      if (vs.state === 'READY' || vs.state === 'DEGRADED') return;
      delete vs.error;
      this.#set(slot, vs, 'LOADING');
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(() => slot.impl.load(version)),
          new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`load timed out after ${this.#loadTimeoutMs} ms`)), this.#loadTimeoutMs); }),
        ]);
        vs.loadedAt = Date.now();
        vs.recent = [];
        this.#set(slot, vs, 'READY');
      } catch (error) {
        vs.error = String((error as Error)?.message ?? error).slice(0, 500);
        this.#set(slot, vs, 'FAILED');
      } finally {
        clearTimeout(timer);
      }
    }).finally(() => {
      vs.pendingLoads--;
    });
  }

  #serialize(vs: VersionSlot, fn: () => Promise<void>): Promise<void> {
    const run = vs.queue.then(fn);
    vs.queue = run.catch(() => undefined);
    return run;
  }

  #set(slot: ModelSlot, vs: VersionSlot, state: ModelState): void {
    if (vs.state === state) return;
    vs.state = state;
    this.emit('changed', modelUri(slot.impl.name));
  }

  #record(slot: ModelSlot, vs: VersionSlot, failed: boolean): void {
    vs.requests++;
    if (failed) vs.errors++;
    vs.recent.push(failed);
    if (vs.recent.length > RECENT_WINDOW) vs.recent.shift();
    if ((vs.state === 'READY' || vs.state === 'DEGRADED') && vs.recent.length >= DEGRADED_MIN_SAMPLES) {
      const share = vs.recent.filter(Boolean).length / vs.recent.length;
      this.#set(slot, vs, share >= DEGRADED_ERROR_SHARE ? 'DEGRADED' : 'READY');
    }
  }

  #model(name: string): ModelSlot {
    const slot = this.#slots.get(name);
    if (!slot) throw new ModelServiceError('UNKNOWN_MODEL', `no model named ${JSON.stringify(String(name).slice(0, 128))}`);
    return slot;
  }

  #version(slot: ModelSlot, version: string): VersionSlot {
    const vs = slot.versions.get(version);
    if (!vs) throw new ModelServiceError('UNKNOWN_VERSION', `model ${slot.impl.name} has no version ${JSON.stringify(String(version).slice(0, 128))}`);
    return vs;
  }
}

/** A version with a load queued reports LOADING, so a caller never mistakes "not started yet" for "failed". */
function visibleState(vs: VersionSlot): ModelState {
  return vs.pendingLoads > 0 && vs.state !== 'READY' && vs.state !== 'DEGRADED' ? 'LOADING' : vs.state;
}

function versionInfo(version: string, vs: VersionSlot): VersionInfo {
  const out: VersionInfo = { version, state: visibleState(vs), weight: vs.weight, loadedAt: vs.loadedAt, requests: vs.requests, errors: vs.errors };
  if (vs.error !== undefined) out.error = vs.error;
  return out;
}

function stateOf(model: string, version: string, vs: VersionSlot): VersionState {
  const out: VersionState = { model, version, state: visibleState(vs) };
  if (vs.error !== undefined) out.error = vs.error;
  return out;
}

function modelState(slot: ModelSlot): ModelState {
  const states = new Set([...slot.versions.values()].map((v) => visibleState(v)));
  for (const s of ['READY', 'DEGRADED', 'LOADING', 'UNLOADING', 'FAILED'] as const) if (states.has(s)) return s;
  return 'UNAVAILABLE';
}

function issuesOf(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.').slice(0, 200), message: i.message.slice(0, 200) }));
}
