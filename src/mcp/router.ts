/**
 * `ModelRouter`: the live resource of a `modelRollout` unit. It sends every request to its
 * primary version, except a deterministic share (the canary percent) sent to the canary version
 * while a rollout step runs. Each routed request records its outcome and latency: per version
 * for metrics, and in the open step window that the rollout evaluates.
 *
 * @module
 */
import type { CallOptions, ModelServiceClient } from './model-client.js';

/** What `route()` resolves to. */
export interface RouteResult {
  /** The version that produced `output`. */
  version: string;
  output: unknown;
  latencyMs: number;
  /** True when the canary failed and the primary answered instead. */
  fellBack: boolean;
}

/** Counters shared by every router of one rollout (they survive generation swaps). */
export interface RouterMetrics {
  requests: Record<string, number>;
  errors: Record<string, number>;
  /** Canary failures answered by the primary. */
  fallbacks: number;
}

/** What one rollout step observed on the canary. */
export interface StepObservation {
  requests: number;
  errors: number;
  /** 95th percentile of canary latencies, ms. */
  p95LatencyMs: number;
  /** True when the window closed early because the error budget was already spent. */
  earlyFailure: boolean;
}

/** Collects canary outcomes for one step until `minRequests` arrived or the error budget is spent. */
export class StepWindow {
  #requests = 0;
  #errors = 0;
  readonly #latencies: number[] = [];
  #result: StepObservation | undefined;
  #resolve!: (o: StepObservation) => void;
  /** Resolves once the window has its sample. */
  readonly done: Promise<StepObservation>;

  constructor(readonly version: string, readonly minRequests: number, readonly allowedErrors: number) {
    this.done = new Promise((resolve) => { this.#resolve = resolve; });
  }

  record(failed: boolean, latencyMs: number): void {
    if (this.#result) return;
    this.#requests++;
    if (failed) this.#errors++;
    else this.#latencies.push(latencyMs);
    // Close exactly at the sample size (or as soon as the error budget is exceeded), so the
    // rate is computed over the same number of requests for every step.
    if (this.#errors > this.allowedErrors) this.#close(true);
    else if (this.#requests >= this.minRequests) this.#close(false);
  }

  /** What was seen so far (for a timed-out step). */
  snapshot(): StepObservation {
    return this.#result ?? this.#observe(false);
  }

  #observe(earlyFailure: boolean): StepObservation {
    const sorted = [...this.#latencies].sort((a, b) => a - b);
    const p95 = sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)] as number);
    return { requests: this.#requests, errors: this.#errors, p95LatencyMs: p95, earlyFailure };
  }

  #close(earlyFailure: boolean): void {
    this.#result = this.#observe(earlyFailure);
    this.#resolve(this.#result);
  }
}

export interface ModelRouterOptions {
  client: ModelServiceClient;
  model: string;
  version: string;
  metrics: RouterMetrics;
  /** Retry a failed canary request on the primary (default true): users never see a canary's failure. */
  fallbackToPrimary?: boolean;
}

/**
 * Routes requests to versions of one model.
 *
 * @example
 * ```ts
 * const { output, version } = await rollout.get().route({ text: 'great movie' });
 * ```
 */
export class ModelRouter {
  readonly model: string;
  /** The primary version: where all traffic goes outside a rollout. */
  readonly version: string;
  readonly #client: ModelServiceClient;
  readonly #metrics: RouterMetrics;
  readonly #fallback: boolean;
  #canary: { version: string; percent: number } | undefined;
  #window: StepWindow | undefined;
  #counter = 0;

  constructor(options: ModelRouterOptions) {
    this.#client = options.client;
    this.model = options.model;
    this.version = options.version;
    this.#metrics = options.metrics;
    this.#fallback = options.fallbackToPrimary ?? true;
  }

  /** Current split, percent per version. */
  weights(): Record<string, number> {
    if (!this.#canary || this.#canary.percent === 0) return { [this.version]: 100 };
    if (this.#canary.percent >= 100) return { [this.#canary.version]: 100 };
    return { [this.version]: 100 - this.#canary.percent, [this.#canary.version]: this.#canary.percent };
  }

  get canary(): { version: string; percent: number } | undefined {
    return this.#canary ? { ...this.#canary } : undefined;
  }

  /** Sends `percent` of traffic to `version` from now on. */
  setCanary(version: string, percent: number): void {
    if (!(percent >= 0 && percent <= 100)) throw new TypeError(`ModelRouter.setCanary: percent must be 0..100, got ${percent}`);
    this.#canary = { version, percent };
  }

  /** All traffic back to the primary (only if `version`, when given, is the current canary). */
  clearCanary(version?: string): void {
    if (version !== undefined && this.#canary?.version !== version) return;
    this.#canary = undefined;
    this.#window = undefined;
  }

  /** Starts collecting the canary's outcomes for one step. */
  openWindow(minRequests: number, allowedErrors: number): StepWindow {
    if (!this.#canary) throw new Error('ModelRouter.openWindow: no canary');
    this.#window = new StepWindow(this.#canary.version, minRequests, allowedErrors);
    return this.#window;
  }

  /** Routes one inference; records outcome and latency. Rejects with the primary's error. */
  async route(input: unknown, opts: CallOptions = {}): Promise<RouteResult> {
    const canary = this.#pickCanary();
    if (canary !== undefined) {
      const window = this.#window;
      const started = performance.now();
      try {
        const out = await this.#client.infer(this.model, canary, input, opts);
        const latencyMs = performance.now() - started;
        this.#count(canary, false);
        if (window?.version === canary) window.record(false, latencyMs);
        return { version: canary, output: out.output, latencyMs, fellBack: false };
      } catch (error) {
        this.#count(canary, true);
        if (window?.version === canary) window.record(true, performance.now() - started);
        if (!this.#fallback || opts.signal?.aborted) throw error;
        this.#metrics.fallbacks++;
      }
      return this.#call(this.version, input, opts, true);
    }
    return this.#call(this.version, input, opts, false);
  }

  async #call(version: string, input: unknown, opts: CallOptions, fellBack: boolean): Promise<RouteResult> {
    const started = performance.now();
    try {
      const out = await this.#client.infer(this.model, version, input, opts);
      this.#count(version, false);
      return { version, output: out.output, latencyMs: performance.now() - started, fellBack };
    } catch (error) {
      this.#count(version, true);
      throw error;
    }
  }

  #count(version: string, failed: boolean): void {
    this.#metrics.requests[version] = (this.#metrics.requests[version] ?? 0) + 1;
    if (failed) this.#metrics.errors[version] = (this.#metrics.errors[version] ?? 0) + 1;
  }

  /** Deterministic split: request n goes to the canary when ⌊(n+1)·p/100⌋ > ⌊n·p/100⌋ (exactly p% of every 100). */
  #pickCanary(): string | undefined {
    const c = this.#canary;
    if (!c || c.percent <= 0) return undefined;
    if (c.percent >= 100) return c.version;
    const n = this.#counter++;
    return Math.floor(((n + 1) * c.percent) / 100) > Math.floor((n * c.percent) / 100) ? c.version : undefined;
  }
}
