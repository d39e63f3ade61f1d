/**
 * `modelContext()`: a reloadable unit that keeps a model service's context (parameters, prompt
 * templates) equal to a validated local value. Its `create` stage pushes the candidate with
 * the expected context hash this unit last saw, and the candidate is confirmed only when the
 * hash the service returns equals the locally computed `sha256:` of its RFC 8785 canonical JSON.
 *
 * A conflict (someone else changed the context) rejects the attempt with `RELOADKIT_STALE_CONTEXT`, records
 * the service's current hash (a re-read) and schedules one follow-up reload that pushes against
 * the fresh hash; a second conflict in a row is left to the next trigger, so two writers never ping-pong.
 * A push whose response is lost is ambiguous: the unit re-reads the model and accepts the push
 * only if the service's hash is the one it meant to write.
 *
 * The push happens before commit: if a later stage (`healthCheck`) rejects, the service already has
 * the new context while the unit keeps the old generation; the next reload pushes again.
 *
 * Drift repair: when a reload's candidate is the context the live generation already confirmed,
 * the hash alone would dedupe it as `unchanged` even if the service no longer holds it (another
 * writer, a restart with the default context). So the `validate` stage then reads the service's
 * context hash (one GET; none when the candidate differs, because its push checks the service
 * anyway through its expected hash). If the service still holds it, the candidate's identity is the live
 * generation's and the reload is `unchanged`: no push. If not (or the read failed), the identity
 * is a fresh repair identity, so the push runs, against the hash just read, and commits a repair
 * generation. A repair generation's `hash` is that identity (unique, never equal to the live one);
 * `get().contextHash` is always the context hash itself.
 *
 * @module
 */
import { hashValue } from '../support/hash.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { reloadable } from '../core/unit.js';
import type { AnySchema, AuditSink, Reloadable, ReloadableOptions, Source, StageContext, Timeouts, Trigger } from '../types.js';
import type { ModelServiceClient } from './model-client.js';
import { McpError } from './errors.js';
import { NameSchema } from './protocol.js';
import type { ModelContextValue } from './protocol.js';

/** The live resource: the context the service confirmed. */
export interface ModelContextHandle<C> {
  model: string;
  context: C;
  /** `sha256:<hex>`, equal on both ends. */
  contextHash: string;
  confirmedAt: number;
}

export interface ModelContextOptions<C extends ModelContextValue> {
  /**
   * The model service to push the context to (`modelServiceClient(...)`).
   * @example
   * ```ts
   * modelContext({ client: modelServiceClient({ url }), model: 'sentiment', source })
   * ```
   */
  client: ModelServiceClient;
  /**
   * The model whose context this unit holds.
   * @example
   * ```ts
   * modelContext({ client, model: 'sentiment', source })
   * ```
   */
  model: string;
  /**
   * Unit name.
   * @default `context:<model>`
   * @example
   * ```ts
   * modelContext({ client, model: 'sentiment', source, name: 'sentiment-context' })
   * ```
   */
  name?: string;
  /**
   * Reads the raw context, as `reloadable()`'s `load` (exactly one of `load` / `source`).
   * @default undefined
   * @example
   * ```ts
   * modelContext({ client, model: 'sentiment', load: () => fetchContext() })
   * ```
   */
  load?: ReloadableOptions<C, ModelContextHandle<C>>['load'];
  /**
   * Where the raw context comes from (exactly one of `load` / `source`).
   * @default undefined
   * @example
   * ```ts
   * modelContext({ client, model: 'sentiment', source: fileSource('context.json') })
   * ```
   */
  source?: Source<unknown>;
  /**
   * Standard Schema of the context (zod, valibot...). Its output must be a JSON object.
   * @default undefined (the raw value, which must be a JSON object)
   * @example
   * ```ts
   * modelContext({ client, model: 'sentiment', source, schema: z.object({ lexicon: z.record(z.string(), z.number()) }) })
   * ```
   */
  schema?: AnySchema;
  /**
   * Extra checks after the schema, as `reloadable()`'s `validate`.
   * @default undefined
   * @example
   * ```ts
   * modelContext({ client, model: 'sentiment', source, validate: (c) => { if (Object.keys(c).length === 0) throw new Error('empty'); } })
   * ```
   */
  validate?: ReloadableOptions<C, ModelContextHandle<C>>['validate'];
  /**
   * Checks the confirmed context before it goes live; `false` or a throw rejects it.
   * @default undefined
   * @example
   * ```ts
   * modelContext({ client, model: 'sentiment', source, healthCheck: (h) => h.contextHash.startsWith('sha256:') })
   * ```
   */
  healthCheck?: (handle: ModelContextHandle<C>, ctx: StageContext<C, ModelContextHandle<C>>) => unknown;
  /**
   * After a conflict (the service's context changed under us), reload once against the re-read hash.
   * @default true
   * @example
   * ```ts
   * modelContext({ client, model: 'sentiment', source, retryOnStale: false })
   * ```
   */
  retryOnStale?: boolean;
  /**
   * As `reloadable()`'s `triggers`.
   * @default []
   * @example
   * ```ts
   * modelContext({ client, model: 'sentiment', source, triggers: [signalTrigger()] })
   * ```
   */
  triggers?: Trigger[];
  /**
   * As `reloadable()`'s `audit`.
   * @default undefined
   * @example
   * ```ts
   * modelContext({ client, model: 'sentiment', source, audit: jsonlAudit('audit.jsonl') })
   * ```
   */
  audit?: AuditSink;
  /**
   * As `reloadable()`'s `retry`.
   * @default 2 retries, exponential from 100 ms (`DEFAULT_RETRY`)
   * @example
   * ```ts
   * modelContext({ client, model: 'sentiment', source, retry: false })
   * ```
   */
  retry?: ReloadableOptions<C, ModelContextHandle<C>>['retry'];
  /**
   * As `reloadable()`'s `timeouts`.
   * @default `DEFAULT_TIMEOUTS`
   * @example
   * ```ts
   * modelContext({ client, model: 'sentiment', source, timeouts: { create: 5_000 } })
   * ```
   */
  timeouts?: Timeouts;
  /**
   * As `reloadable()`'s `history`.
   * @default 5 (`DEFAULT_HISTORY`)
   * @example
   * ```ts
   * modelContext({ client, model: 'sentiment', source, history: 10 })
   * ```
   */
  history?: number;
  /**
   * As `reloadable()`'s `minIntervalMs`.
   * @default 0
   * @example
   * ```ts
   * modelContext({ client, model: 'sentiment', source, minIntervalMs: 1_000 })
   * ```
   */
  minIntervalMs?: number;
  /**
   * As `reloadable()`'s `lastKnownGood`: a file holding the last committed raw context (mode 0600).
   * @default undefined
   * @example
   * ```ts
   * modelContext({ client, model: 'sentiment', source, lastKnownGood: '/var/lib/app/context.lkg.json' })
   * ```
   */
  lastKnownGood?: string;
}

/** The options `modelContext` reads; any other key is a typo and throws. */
const CONTEXT_KEYS = ['client', 'model', 'name', 'load', 'source', 'schema', 'validate', 'healthCheck', 'retryOnStale', 'triggers', 'audit', 'retry', 'timeouts', 'history', 'minIntervalMs', 'lastKnownGood'] as const;

const STALE_TRIGGER = 'mcp-stale-context';

/**
 * The identity of a repair: a candidate equal to the live context that the service no longer holds
 * (`serviceHash`, or undefined when it could not be read). Derived from the live identity, so it
 * never equals it and two repairs in a row never dedupe against each other.
 */
function repairIdentity(liveHash: string, serviceHash: string | undefined): string {
  return hashValue({ repairOf: liveHash, serviceHad: serviceHash ?? null });
}

/**
 * Creates a unit that pushes a validated context to a model service, confirmed by hash.
 *
 * @example
 * ```ts
 * const context = modelContext({ client, model: 'sentiment', source: fileSource('context.json'), schema: ContextSchema });
 * await context.start();
 * context.get().contextHash; // 'sha256:…', the hash the service confirmed
 * ```
 */
export function modelContext<C extends ModelContextValue = ModelContextValue>(options: ModelContextOptions<C>): Reloadable<C, ModelContextHandle<C>> {
  if (typeof options !== 'object' || options === null) throw new TypeError('modelContext: expected an options object');
  rejectUnknownKeys('modelContext', options, CONTEXT_KEYS);
  const { client, model, retryOnStale = true } = options;
  if (!client || typeof client.putContext !== 'function') throw new TypeError('modelContext: `client` must be a ModelServiceClient (modelServiceClient)');
  if (!NameSchema.safeParse(model).success) throw new TypeError(`modelContext: \`model\` must be a model name, got ${JSON.stringify(model)}`);
  if ((options.load === undefined) === (options.source === undefined)) throw new TypeError('modelContext: pass exactly one of `load` or `source`');
  const name = options.name ?? `context:${model}`;
  /** The service's context hash as this unit last saw it: the expected hash of the next push. */
  let knownHash: string | undefined;
  /**
   * Set by the drift check in `validate`, read by `hash` right after it in the same attempt: the
   * identity of a candidate whose context hash is `contextHash`.
   */
  let driftCheck: { contextHash: string; identity: string } | undefined;

  async function reRead(signal: AbortSignal): Promise<string> {
    knownHash = (await client.getModel(model, { signal })).contextHash;
    return knownHash;
  }

  /**
   * The drift check: only for a candidate equal to the live context (otherwise the push runs and its
   * expected hash tells). The read also refreshes `knownHash`, so a repair pushes against what it saw.
   */
  async function checkDrift(value: C, ctx: StageContext<C, ModelContextHandle<C>>): Promise<void> {
    const live = ctx.previous;
    if (live === undefined) return;
    let contextHash: string;
    try {
      contextHash = hashValue(value);
    } catch {
      return; // Not hashable: the unit's own hash call rejects it with a clear validation error.
    }
    if (contextHash !== live.resource.contextHash) return;
    let serviceHash: string | undefined;
    try {
      serviceHash = (await client.getContext(model, { signal: ctx.signal })).contextHash;
      knownHash = serviceHash;
    } catch {
      // Unknown: push anyway. Its expected hash (the last one seen) settles it: applied, a conflict then a re-read, or the error.
      serviceHash = undefined;
    }
    driftCheck = { contextHash, identity: serviceHash === contextHash ? live.hash : repairIdentity(live.hash, serviceHash) };
  }

  async function validate(value: C, ctx: StageContext<C, ModelContextHandle<C>>): Promise<void> {
    driftCheck = undefined;
    if (options.validate) await options.validate(value, ctx);
    await checkDrift(value, ctx);
  }

  function identity(value: C): string {
    const contextHash = hashValue(value);
    const check = driftCheck;
    driftCheck = undefined;
    return check !== undefined && check.contextHash === contextHash ? check.identity : contextHash;
  }

  async function create(value: C, ctx: StageContext<C, ModelContextHandle<C>>): Promise<ModelContextHandle<C>> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError(`[${name}] a model context must be a JSON object`);
    const localHash = hashValue(value);
    const ifMatch = knownHash ?? (await reRead(ctx.signal));
    let confirmed: string;
    try {
      confirmed = (await client.putContext(model, value, ifMatch, { signal: ctx.signal })).contextHash;
    } catch (error) {
      if (error instanceof McpError && error.kind === 'conflict') {
        knownHash = error.contextHash ?? (await reRead(ctx.signal).catch(() => undefined));
        if (retryOnStale && ctx.trigger.kind !== STALE_TRIGGER) {
          // Coalesces into one follow-up run after this rejected attempt; it pushes against the re-read hash.
          unit.reload({ reason: 'context hash was stale: re-read and retry', trigger: { kind: STALE_TRIGGER, detail: model } }).catch(() => undefined);
        }
        throw new McpError(`[${name}] context push rejected: expected hash ${ifMatch} is stale, the service has ${knownHash ?? 'an unknown hash'}`, { kind: 'conflict', serverCode: 'STALE_CONTEXT', ...(knownHash ? { contextHash: knownHash } : {}) }, { unit: name, cause: error });
      }
      if (error instanceof McpError && ((error.kind === 'network' || error.kind === 'timeout' || error.kind === 'session'))) {
        // The push may or may not have landed: the service's hash decides.
        const current = await reRead(ctx.signal).catch(() => undefined);
        if (current !== localHash) throw error;
        confirmed = current;
      } else {
        throw error;
      }
    }
    knownHash = confirmed;
    if (confirmed !== localHash) {
      throw new McpError(`[${name}] the service confirmed context hash ${confirmed}, but the pushed context hashes to ${localHash}`, { kind: 'malformed', serverCode: 'HASH_MISMATCH' }, { unit: name });
    }
    return { model, context: value, contextHash: localHash, confirmedAt: Date.now() };
  }

  const unitOptions: ReloadableOptions<C, ModelContextHandle<C>> = { name, create, validate, hash: identity };
  if (options.schema) unitOptions.schema = options.schema as NonNullable<ReloadableOptions<C, ModelContextHandle<C>>['schema']>;
  if (options.load) unitOptions.load = options.load;
  if (options.source) unitOptions.source = options.source;
  if (options.healthCheck) unitOptions.healthCheck = options.healthCheck;
  if (options.triggers) unitOptions.triggers = options.triggers;
  if (options.audit) unitOptions.audit = options.audit;
  if (options.retry !== undefined) unitOptions.retry = options.retry;
  if (options.timeouts) unitOptions.timeouts = options.timeouts;
  if (options.history !== undefined) unitOptions.history = options.history;
  if (options.minIntervalMs !== undefined) unitOptions.minIntervalMs = options.minIntervalMs;
  if (options.lastKnownGood) unitOptions.lastKnownGood = options.lastKnownGood;
  const unit = reloadable<C, ModelContextHandle<C>>(unitOptions);
  return unit;
}
