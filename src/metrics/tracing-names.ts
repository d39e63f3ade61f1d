/**
 * The span and attribute names of `traceUnits`, and the one transformation applied to a hash
 * before it goes on a span (a short prefix). Nothing else about a generation ever reaches a span.
 *
 * @module
 */

/** Attribute keys set by `traceUnits`. */
export const TRACE_ATTRIBUTES = {
  unit: 'reloadkit.unit',
  action: 'reloadkit.action',
  attempt: 'reloadkit.attempt',
  triggerKind: 'reloadkit.trigger.kind',
  outcome: 'reloadkit.outcome',
  from: 'reloadkit.generation.from',
  to: 'reloadkit.generation.to',
  hash: 'reloadkit.hash',
  changedPaths: 'reloadkit.changed_paths.count',
  callers: 'reloadkit.callers',
  stage: 'reloadkit.stage',
  errorCode: 'reloadkit.error.code',
  /** The OpenTelemetry semantic-convention attribute for an error's class (here: its code). */
  errorType: 'error.type',
  target: 'reloadkit.rollback.target',
  generation: 'reloadkit.generation',
  leases: 'reloadkit.leases',
  loadTry: 'reloadkit.load.try',
  cache: 'reloadkit.cache',
  cacheKeyHash: 'reloadkit.cache.key_hash',
  /** The key itself: only for a cache created with `keys: 'plain'`. */
  cacheKey: 'reloadkit.cache.key',
  /** Set on a span ended before its attempt finished (tracing stopped). */
  incomplete: 'reloadkit.incomplete',
} as const;

/** Span and event names set by `traceUnits` (attempt, hint and cache spans add the unit's name). */
export const TRACE_NAMES = {
  attempt: 'reloadkit.reload',
  hint: 'reloadkit.hint',
  commit: 'reloadkit.commit',
  drain: 'reloadkit.drain',
  dispose: 'reloadkit.dispose',
  loadRetry: 'reloadkit.load.retry',
  drainTimeout: 'reloadkit.drain.timeout',
  cacheLoad: 'reloadkit.cache.load',
} as const;

/** How many hex digits of a hash go on a span: enough to tell generations apart, not to replay them. */
export const HASH_PREFIX_DIGITS = 12;

/**
 * The short form of a hash put on spans: its `algorithm:` label and the first 12 digits.
 *
 * @example
 * ```ts
 * hashPrefix('sha256:9f86d081884c7d659a2feaa0c55ad015'); // 'sha256:9f86d081884c'
 * hashPrefix('v42'); // 'v42'
 * ```
 */
export function hashPrefix(hash: string): string {
  const colon = hash.indexOf(':');
  return hash.slice(0, colon + 1 + HASH_PREFIX_DIGITS);
}

/** The attribute naming the generation of `unit` that served a request. */
export function generationAttribute(unit: string): string {
  return `reloadkit.generation.${unit}`;
}

/** The attribute carrying the hash prefix of the generation of `unit` that served a request. */
export function hashAttribute(unit: string): string {
  return `reloadkit.hash.${unit}`;
}

/** The attribute saying whether a request's lookup in cache `cache` hit. */
export function cacheHitAttribute(cache: string): string {
  return `reloadkit.cache.${cache}.hit`;
}
