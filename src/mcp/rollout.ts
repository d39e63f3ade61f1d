/**
 * `modelRollout()`: a reloadable unit whose value is the target version of a model and whose live
 * resource is a `ModelRouter`. A new target is rolled out as a canary, inside the unit's pipeline:
 *
 * - `create`: load the version on the service (tool `load_version`) and wait, subscribed to
 *   `model://{model}`, for the notification that it is `READY`; the candidate router
 *   (primary = new version) is built but not live.
 * - `healthCheck`: the canary steps. The *live* router sends each step's share of traffic to the
 *   new version; a step passes when `minRequests` canary requests stayed within `maxErrorRate` and
 *   `maxLatencyMs` (p95). A failed step puts all traffic back on the old version and throws, so the
 *   result is `rejected` at stage `health` with the reason; the core then disposes the candidate,
 *   which unloads the new version.
 * - commit: the candidate router becomes live (100% new version); the old router is retired and,
 *   once its in-flight requests drained, disposed: the old version is unloaded.
 *
 * Why the steps run before commit: until every step passed, the old router stays the live
 * generation, so a failure anywhere (a bad step, the service dying, a timeout, an abort) leaves
 * exactly the old state live: no half-applied rollout is ever visible to readers.
 *
 * `rollback()` re-promotes the previous version directly (load, ready, commit: no canary steps),
 * because it returns to a version that already served all traffic. The first commit (`start()`)
 * adopts its target the same way, since there is nothing to compare it with.
 *
 * @module
 */
import { z } from 'zod';
import { reloadable } from '../core/unit.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import type { AuditSink, Reloadable, ReloadableOptions, Source, StageContext, Timeouts, Trigger } from '../types.js';
import type { CallOptions, ModelServiceClient } from './model-client.js';
import { RolloutError } from './errors.js';
import { NameSchema } from './protocol.js';
import { ModelRouter } from './router.js';
import type { RouteResult, RouterMetrics, StepObservation } from './router.js';

/** The unit's value: the version that should serve all traffic. */
export interface RolloutTarget {
  version: string;
}

/** What one canary step saw and decided. Passed to `onStep` and kept in `progress()`. */
export interface StepReport extends StepObservation {
  model: string;
  version: string;
  from: string;
  percent: number;
  errorRate: number;
  passed: boolean;
  reason?: string;
  durationMs: number;
}

export interface ModelRolloutOptions {
  /**
   * The model service (`modelServiceClient(...)`).
   * @example
   * ```ts
   * modelRollout({ client: modelServiceClient({ url }), model: 'sentiment', load: () => 'v2' })
   * ```
   */
  client: ModelServiceClient;
  /**
   * The model whose versions this unit rolls out.
   * @example
   * ```ts
   * modelRollout({ client, model: 'sentiment', load: () => 'v2' })
   * ```
   */
  model: string;
  /**
   * Unit name.
   * @default `model:<model>`
   * @example
   * ```ts
   * modelRollout({ client, model: 'sentiment', load, name: 'sentiment-rollout' })
   * ```
   */
  name?: string;
  /**
   * Where the target version comes from: a string or `{ version }`. Exactly one of `load` / `source`.
   * @default undefined
   * @example
   * ```ts
   * modelRollout({ client, model: 'sentiment', load: () => process.env.SENTIMENT_VERSION ?? 'v1' })
   * ```
   */
  load?: ReloadableOptions<RolloutTarget, ModelRouter>['load'];
  /**
   * Where the target version comes from (a string or `{ version }`). Exactly one of `load` / `source`.
   * @default undefined
   * @example
   * ```ts
   * modelRollout({ client, model: 'sentiment', source: fileSource('sentiment-version.json') })
   * ```
   */
  source?: Source<unknown>;
  /**
   * Percent of traffic on the new version at each step (increasing, in (0, 100]).
   * @default [5, 25, 50, 100]
   * @example
   * ```ts
   * modelRollout({ client, model: 'sentiment', load, steps: [10, 100] })
   * ```
   */
  steps?: number[];
  /**
   * Canary requests each step needs before it is judged.
   * @default 50
   * @example
   * ```ts
   * modelRollout({ client, model: 'sentiment', load, minRequests: 200 })
   * ```
   */
  minRequests?: number;
  /**
   * Highest acceptable canary error rate per step (0..1).
   * @default 0.01
   * @example
   * ```ts
   * modelRollout({ client, model: 'sentiment', load, maxErrorRate: 0.05 })
   * ```
   */
  maxErrorRate?: number;
  /**
   * Highest acceptable p95 canary latency per step, in ms.
   * @default 1000
   * @example
   * ```ts
   * modelRollout({ client, model: 'sentiment', load, maxLatencyMs: 250 })
   * ```
   */
  maxLatencyMs?: number;
  /**
   * A step that has not seen `minRequests` in this time (ms) fails: no traffic is no evidence.
   * @default 60000
   * @example
   * ```ts
   * modelRollout({ client, model: 'sentiment', load, stepTimeoutMs: 300_000 })
   * ```
   */
  stepTimeoutMs?: number;
  /**
   * How long (ms) a version may take to load on the service.
   * @default 60000
   * @example
   * ```ts
   * modelRollout({ client, model: 'sentiment', load, loadTimeoutMs: 120_000 })
   * ```
   */
  loadTimeoutMs?: number;
  /**
   * Serve a failed canary request from the primary. Turn off for non-idempotent models.
   * @default true
   * @example
   * ```ts
   * modelRollout({ client, model: 'sentiment', load, fallbackToPrimary: false })
   * ```
   */
  fallbackToPrimary?: boolean;
  /**
   * Report each step's weights to the service (`set_weights`), best effort.
   * @default true
   * @example
   * ```ts
   * modelRollout({ client, model: 'sentiment', load, reportWeights: false })
   * ```
   */
  reportWeights?: boolean;
  /**
   * Called after each step with what it saw and decided. Never breaks the rollout.
   * @default undefined
   * @example
   * ```ts
   * modelRollout({ client, model: 'sentiment', load, onStep: (r) => console.log(r.percent, r.passed) })
   * ```
   */
  onStep?: (report: StepReport) => void;
  /**
   * As `reloadable()`'s `triggers`.
   * @default []
   * @example
   * ```ts
   * modelRollout({ client, model: 'sentiment', load, triggers: [signalTrigger()] })
   * ```
   */
  triggers?: Trigger[];
  /**
   * As `reloadable()`'s `audit`.
   * @default undefined
   * @example
   * ```ts
   * modelRollout({ client, model: 'sentiment', load, audit: jsonlAudit('audit.jsonl') })
   * ```
   */
  audit?: AuditSink;
  /**
   * As `reloadable()`'s `retry`.
   * @default 2 retries, exponential from 100 ms (`DEFAULT_RETRY`)
   * @example
   * ```ts
   * modelRollout({ client, model: 'sentiment', load, retry: false })
   * ```
   */
  retry?: ReloadableOptions<RolloutTarget, ModelRouter>['retry'];
  /**
   * As `reloadable()`'s `timeouts` (a canary's `create` and `healthCheck` run the steps: give them room).
   * @default `DEFAULT_TIMEOUTS`
   * @example
   * ```ts
   * modelRollout({ client, model: 'sentiment', load, timeouts: { healthCheck: 600_000 } })
   * ```
   */
  timeouts?: Timeouts;
  /**
   * As `reloadable()`'s `history`.
   * @default 5 (`DEFAULT_HISTORY`)
   * @example
   * ```ts
   * modelRollout({ client, model: 'sentiment', load, history: 3 })
   * ```
   */
  history?: number;
  /**
   * As `reloadable()`'s `minIntervalMs`.
   * @default 0
   * @example
   * ```ts
   * modelRollout({ client, model: 'sentiment', load, minIntervalMs: 60_000 })
   * ```
   */
  minIntervalMs?: number;
}

/** The options `modelRollout` reads; any other key is a typo and throws. */
const ROLLOUT_KEYS = [
  'client', 'model', 'name', 'load', 'source', 'steps', 'minRequests', 'maxErrorRate', 'maxLatencyMs', 'stepTimeoutMs',
  'loadTimeoutMs', 'fallbackToPrimary', 'reportWeights', 'onStep', 'triggers', 'audit', 'retry', 'timeouts', 'history', 'minIntervalMs',
] as const;

/** A rollout unit: a `Reloadable` plus routing and progress helpers. */
export interface ModelRollout extends Reloadable<RolloutTarget, ModelRouter> {
  /** Routes one request through the live router, holding a lease so a retiring router drains first. */
  route(input: unknown, opts?: CallOptions): Promise<RouteResult>;
  /** Requests, errors and fallbacks per version, and step outcomes, since the unit was created. */
  metrics(): RouterMetrics & { stepsPassed: number; stepsFailed: number };
  /** The step reports of the most recent rollout. */
  progress(): StepReport[];
}

const TargetSchema = z.union([
  NameSchema.transform((version) => ({ version })),
  z.object({ version: NameSchema }).transform((t) => ({ version: t.version })),
]);

/**
 * Creates a unit that rolls model versions out as canaries and back.
 *
 * @example
 * ```ts
 * let target = 'v1';
 * const rollout = modelRollout({ client, model: 'sentiment', load: () => target, steps: [5, 25, 50, 100], minRequests: 100, maxErrorRate: 0.01 });
 * await rollout.start();
 * app.post('/analyze', async (req, res) => res.json(await rollout.route(req.body)));
 * target = 'v2';
 * const result = await rollout.reload({ reason: 'ship v2' }); // committed, or rejected with the failed step
 * ```
 */
export function modelRollout(options: ModelRolloutOptions): ModelRollout {
  if (typeof options !== 'object' || options === null) throw new TypeError('modelRollout: expected an options object');
  rejectUnknownKeys('modelRollout', options, ROLLOUT_KEYS);
  const {
    client, model, steps = [5, 25, 50, 100], minRequests = 50, maxErrorRate = 0.01, maxLatencyMs = 1000, stepTimeoutMs = 60_000,
    loadTimeoutMs = 60_000, fallbackToPrimary = true, reportWeights = true, onStep,
  } = options;
  if (!client || typeof client.infer !== 'function') throw new TypeError('modelRollout: `client` must be a ModelServiceClient (modelServiceClient)');
  if (!NameSchema.safeParse(model).success) throw new TypeError(`modelRollout: \`model\` must be a model name, got ${JSON.stringify(model)}`);
  if (!Array.isArray(steps) || steps.length === 0 || !steps.every((s, i) => Number.isFinite(s) && s > 0 && s <= 100 && (i === 0 || s > (steps[i - 1] as number)))) {
    throw new TypeError('modelRollout: `steps` must be increasing percentages in (0, 100]');
  }
  if (!Number.isInteger(minRequests) || minRequests < 1) throw new TypeError(`modelRollout: \`minRequests\` must be a positive integer, got ${String(minRequests)}`);
  if (!(maxErrorRate >= 0 && maxErrorRate <= 1)) throw new TypeError(`modelRollout: \`maxErrorRate\` must be within 0..1, got ${String(maxErrorRate)}`);
  for (const [n, v] of [['maxLatencyMs', maxLatencyMs], ['stepTimeoutMs', stepTimeoutMs], ['loadTimeoutMs', loadTimeoutMs]] as const) {
    if (!(v > 0)) throw new TypeError(`modelRollout: \`${n}\` must be a positive number, got ${String(v)}`);
  }
  if ((options.load === undefined) === (options.source === undefined)) throw new TypeError('modelRollout: pass exactly one of `load` or `source` (the target version)');

  const metrics: RouterMetrics & { stepsPassed: number; stepsFailed: number } = { requests: {}, errors: {}, fallbacks: 0, stepsPassed: 0, stepsFailed: 0 };
  let reports: StepReport[] = [];
  const allowedErrors = Math.floor(maxErrorRate * minRequests + 1e-9);
  const name = options.name ?? `model:${model}`;

  const pushWeights = (weights: Record<string, number>): void => {
    if (!reportWeights) return;
    // Informational for the service's /models view: a failure here must not decide a rollout.
    client.setWeights(model, weights).catch(() => undefined);
  };

  async function create(target: RolloutTarget, ctx: StageContext<RolloutTarget, ModelRouter>): Promise<ModelRouter> {
    const { version } = target;
    // From here on the version counts as in use: a retired router of the same version that
    // finishes draining meanwhile must not unload it under this attempt.
    creating.set(version, (creating.get(version) ?? 0) + 1);
    let router: ModelRouter | undefined;
    try {
      // An unload of this version already on its way must land first, or the service could answer
      // the load from the still-loaded copy and then unload it.
      await unloading.get(version)?.catch(() => undefined);
      await client.loadVersion(model, version, { signal: ctx.signal });
      // Learnt from notifications/resources/updated of model://{model}, not by polling.
      await client.waitForVersion(model, version, { waitMs: loadTimeoutMs, signal: ctx.signal });
      router = new ModelRouter({ client, model, version, metrics, fallbackToPrimary });
      routers.add(router);
      return router;
    } finally {
      const left = (creating.get(version) ?? 1) - 1;
      if (left > 0) creating.set(version, left);
      else creating.delete(version);
      // A load that failed or timed out may still finish later: unload it so it does not linger,
      // unless a router still routes to that version (the live one, or a retired one draining).
      if (router === undefined && !inUse(version)) void unload(version).catch(() => undefined);
    }
  }

  /** Unloads `version` on the service; a create of the same version waits for it. */
  function unload(version: string): Promise<unknown> {
    const pending = client.unloadVersion(model, version);
    unloading.set(version, pending);
    const forget = (): void => {
      if (unloading.get(version) === pending) unloading.delete(version);
    };
    pending.then(forget, forget);
    return pending;
  }

  /** True when a router other than `except` (live, candidate, retired and draining, or being created) uses `version`. */
  function inUse(version: string, except?: ModelRouter): boolean {
    if (creating.has(version)) return true;
    for (const r of routers) if (r !== except && r.version === version) return true;
    return false;
  }

  async function healthCheck(candidate: ModelRouter, ctx: StageContext<RolloutTarget, ModelRouter>): Promise<void> {
    const live = ctx.previous?.resource;
    if (!live || live.version === candidate.version || ctx.trigger.kind === 'rollback') return;
    reports = [];
    try {
      for (const percent of steps) await runStep(live, candidate.version, percent, ctx.signal);
    } catch (error) {
      // Weights back to the old version at once; the core disposes the candidate (unload).
      live.clearCanary(candidate.version);
      pushWeights(live.weights());
      throw error;
    }
  }

  async function runStep(live: ModelRouter, version: string, percent: number, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    live.setCanary(version, percent);
    pushWeights(live.weights());
    const window = live.openWindow(minRequests, allowedErrors);
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const outcome = await Promise.race([
      window.done.then((o) => ({ kind: 'observed' as const, o })),
      new Promise<{ kind: 'timeout' }>((resolve) => { timer = setTimeout(() => resolve({ kind: 'timeout' }), stepTimeoutMs); }),
      new Promise<{ kind: 'aborted' }>((resolve) => {
        onAbort = () => resolve({ kind: 'aborted' });
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
    const seen = outcome.kind === 'observed' ? outcome.o : window.snapshot();
    const errorRate = seen.requests === 0 ? 0 : seen.errors / seen.requests;
    let reason: string | undefined;
    if (outcome.kind === 'aborted') reason = 'aborted';
    else if (outcome.kind === 'timeout') reason = `only ${seen.requests} of ${minRequests} canary requests within ${stepTimeoutMs} ms (${seen.errors} failed)`;
    else if (errorRate > maxErrorRate) reason = `error rate ${pct(errorRate)} (${seen.errors} of ${seen.requests} requests) exceeds ${pct(maxErrorRate)}`;
    else if (seen.p95LatencyMs > maxLatencyMs) reason = `p95 latency ${seen.p95LatencyMs.toFixed(1)} ms exceeds ${maxLatencyMs} ms`;
    const report: StepReport = { ...seen, model, version, from: live.version, percent, errorRate, passed: reason === undefined, durationMs: performance.now() - started };
    if (reason !== undefined) report.reason = reason;
    reports.push(report);
    if (reason === undefined) metrics.stepsPassed++;
    else {
      metrics.stepsFailed++;
      // Traffic back on the old version before anyone hears of the failure.
      live.clearCanary(version);
    }
    try {
      onStep?.(report);
    } catch {
      // A throwing observer must not decide a rollout.
    }
    if (reason !== undefined) throw new RolloutError(`canary ${model}@${version} failed at ${percent}%: ${reason}; traffic is back on ${live.version}`, percent, { unit: name, stage: 'health' });
  }

  async function dispose(router: ModelRouter): Promise<void> {
    routers.delete(router);
    // Closing the gateway must not take the serving version away from the service (other
    // gateways may route to it): only versions this unit moved away from are unloaded.
    if (closing && router === liveAtClose) return;
    // A version another router still needs stays loaded, canary included: a router retired by a
    // rollback may finish draining while a new rollout of the same version runs its steps.
    if (inUse(router.version, router)) return;
    const live = unit.current?.resource;
    if (live && live !== router) live.clearCanary(router.version);
    if (live) pushWeights(live.weights());
    await unload(router.version);
  }

  const unitOptions: ReloadableOptions<RolloutTarget, ModelRouter> = {
    name,
    schema: TargetSchema as unknown as NonNullable<ReloadableOptions<RolloutTarget, ModelRouter>['schema']>,
    create,
    healthCheck,
    dispose,
    timeouts: {
      create: loadTimeoutMs + 10_000,
      healthCheck: steps.length * stepTimeoutMs + 10_000,
      ...options.timeouts,
    },
  };
  if (options.load) unitOptions.load = options.load;
  if (options.source) unitOptions.source = options.source;
  if (options.triggers) unitOptions.triggers = options.triggers;
  if (options.audit) unitOptions.audit = options.audit;
  if (options.retry !== undefined) unitOptions.retry = options.retry;
  if (options.history !== undefined) unitOptions.history = options.history;
  if (options.minIntervalMs !== undefined) unitOptions.minIntervalMs = options.minIntervalMs;

  let closing = false;
  let liveAtClose: ModelRouter | undefined;
  /** Every router created and not yet disposed: live, candidate, or retired and draining. */
  const routers = new Set<ModelRouter>();
  /** Versions a `create` is loading right now (count per version). */
  const creating = new Map<string, number>();
  /** Unloads sent and not yet answered, by version. */
  const unloading = new Map<string, Promise<unknown>>();
  const unit = reloadable<RolloutTarget, ModelRouter>(unitOptions);
  // After every commit (rollouts, rollbacks, the first start) the service's view of the split follows.
  unit.on('committed', (e) => pushWeights(e.current.resource.weights()));
  const closeUnit = unit.close.bind(unit);
  return Object.assign(unit, {
    close: () => {
      if (!closing) {
        closing = true;
        liveAtClose = unit.current?.resource;
      }
      return closeUnit();
    },
    route: (input: unknown, opts?: CallOptions) => unit.use((router) => router.route(input, opts)),
    metrics: () => ({ ...metrics, requests: { ...metrics.requests }, errors: { ...metrics.errors } }),
    progress: () => [...reports],
  });
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}
