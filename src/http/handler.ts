/**
 * `createAdminHandler()`: the admin endpoint as a plain Node `(req, res)` handler. It answers the
 * requests under its base path and returns `false` for every other one, so it mounts in a bare
 * `node:http` server, in express (see `expressAdmin`) and in fastify (see `fastifyAdmin`).
 *
 * Order of checks, on purpose: first the request guard (Host 421, foreign Origin or
 * `Sec-Fetch-Site` 403, a mutating request without `Content-Type: application/json` 415), on every
 * path including the probes, so that a browser page can neither mutate nor read; probes
 * (`/health`, `/ready`) answer without auth; every other path is authenticated *before* it is even
 * matched, so an anonymous caller gets the same 401
 * for `/units/db`, `/units/nope` and `/nonsense` and learns no unit names. Then route (404),
 * method (405 + `Allow`), scope (403), rate limit (429 + `Retry-After`), body (400/408/413),
 * unit (404), action.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, ReloadkitError } from '../errors.js';
import { DEFAULT_MAX_JSON_DEPTH, hasBody, jsonDepth, readJsonBody } from '../support/http/body.js';
import { createRequestGuard, GUARD_OPTION_KEYS, type GuardOptions } from '../support/http/guard.js';
import { sendError, sendJson } from '../support/http/send.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import type { ReloadOptions, ReloadResult, RegistryMember, TriggerInfo, UnitStatus } from '../types.js';
import { createAuthenticator, type Actor, type AuthOption } from './auth.js';
import { UNIT_ACTIONS, unitAction } from './actions.js';
import { parseReloadBody } from './params.js';
import { createRateLimiter, type RateLimitOptions } from './rate-limit.js';
import { isProbe, matchRoute, normalizeBasePath, pathBelow, requestPath, type RouteSpec } from './routes.js';
import { resultJson, statusCodeOfAll } from './serialize.js';
import { describeValue } from '../support/describe-value.js';
import { isReady } from '../core/member.js';

/** What the handler needs of a registry (`createRegistry()` provides it). */
export interface AdminRegistry {
  get(name: string): RegistryMember | undefined;
  units(): readonly RegistryMember[];
  reloadAll(opts?: ReloadOptions): Promise<unknown>;
  /** When present (`createRegistry()` has it), used for `GET /units` and `/ready`. */
  status?(): { units: UnitStatus[]; ready: boolean };
}

/** A metrics exposition (the Prometheus module offers one). */
export interface MetricsProvider {
  contentType: string;
  metrics(): Promise<string>;
}

/** Options of {@link createAdminHandler}. */
export interface AdminHandlerOptions extends GuardOptions {
  /**
   * The units served (`createRegistry()`).
   * @example
   * ```ts
   * registry: createRegistry({ units: [config, db] })
   * ```
   */
  registry: AdminRegistry;
  /**
   * Bearer tokens, a `verify(req)` function, or `'none'` (loopback `host` only). Required: there
   * is no unauthenticated default.
   * @example
   * ```ts
   * auth: { tokens: [{ token: process.env.RELOADKIT_TOKEN!, scopes: ['read', 'reload'], actor: 'ops' }] }
   * ```
   */
  auth: AuthOption;
  /**
   * Where the routes live.
   * @default '/reloadkit'
   * @example
   * ```ts
   * basePath: '/admin/reloadkit'
   * ```
   */
  basePath?: string;
  /**
   * Per-actor token bucket on mutating routes, or `false` for none.
   * @default { burst: 20, refillPerSecond: 5 }
   * @example
   * ```ts
   * rateLimit: { burst: 5, refillPerSecond: 1 }
   * ```
   */
  rateLimit?: RateLimitOptions | false;
  /**
   * Maximum request body in bytes.
   * @default 65536
   * @example
   * ```ts
   * bodyLimit: 16 * 1024
   * ```
   */
  bodyLimit?: number;
  /**
   * Time allowed to receive a request body, in ms.
   * @default 10000
   * @example
   * ```ts
   * requestTimeoutMs: 5_000
   * ```
   */
  requestTimeoutMs?: number;
  /**
   * Serves `GET /metrics` when given.
   * @default undefined
   * @example
   * ```ts
   * metrics: prometheusMetrics(registry)
   * ```
   */
  metrics?: MetricsProvider;
  /**
   * The host the endpoint listens on; required to be loopback for `auth: 'none'`.
   * @default undefined
   * @example
   * ```ts
   * host: '127.0.0.1'
   * ```
   */
  host?: string;
  /**
   * Told about unexpected errors (answered 500 without details) and broken `verify` functions.
   * @default () => {}
   * @example
   * ```ts
   * onError: (error) => logger.error({ err: error }, 'admin endpoint')
   * ```
   */
  onError?: (error: unknown) => void;
}

/** Every option {@link createAdminHandler} reads. */
export const ADMIN_HANDLER_KEYS: readonly string[] = [
  'registry', 'auth', 'basePath', 'rateLimit', 'bodyLimit', 'requestTimeoutMs', 'metrics', 'host', 'onError', ...GUARD_OPTION_KEYS,
];

/** Extra input from framework adapters. */
export interface AdapterContext {
  /** A body the framework already parsed (the request stream is consumed). */
  parsedBody?: unknown;
}

/** The handler: resolves `true` when it answered the request, `false` when the path is not its own. */
export type AdminHandler = (req: IncomingMessage, res: ServerResponse, context?: AdapterContext) => Promise<boolean>;

const DEFAULT_BODY_LIMIT = 64 * 1024;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const UNAUTHORIZED_HEADERS = { 'WWW-Authenticate': 'Bearer realm="reloadkit"' };

function positiveInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new TypeError(`Expected \`${name}\` to be a positive integer, got ${describeValue(value)}`);
  }
  return value;
}

function checkRegistry(registry: unknown): AdminRegistry {
  const r = registry as Partial<AdminRegistry> | null;
  if (r === null || typeof r !== 'object' || typeof r.get !== 'function' || typeof r.units !== 'function' || typeof r.reloadAll !== 'function') {
    throw new TypeError('Expected `registry` to be a registry (`createRegistry()`) with get(), units() and reloadAll()');
  }
  return r as AdminRegistry;
}

function checkMetrics(metrics: unknown): MetricsProvider | undefined {
  if (metrics === undefined) return undefined;
  const m = metrics as Partial<MetricsProvider> | null;
  if (m === null || typeof m !== 'object' || typeof m.contentType !== 'string' || typeof m.metrics !== 'function') {
    throw new TypeError('Expected `metrics` to be { contentType: string, metrics(): Promise<string> }');
  }
  return m as MetricsProvider;
}

/** Collects results from whatever `reloadAll` returns: an array, a `{ results }` or a record. */
function resultsOf(outcome: unknown): ReloadResult[] {
  const isResult = (x: unknown): x is ReloadResult => x !== null && typeof x === 'object' && 'status' in x && 'unit' in x;
  if (Array.isArray(outcome)) return outcome.filter(isResult);
  if (outcome !== null && typeof outcome === 'object') {
    const results = (outcome as { results?: unknown }).results;
    if (Array.isArray(results)) return results.filter(isResult);
    if (results instanceof Map) return [...results.values()].filter(isResult);
    if (outcome instanceof Map) return [...outcome.values()].filter(isResult);
    return Object.values(outcome).filter(isResult);
  }
  return [];
}

/**
 * Creates the admin request handler.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createAdminHandler } from 'reloadkit/http';
 *
 * const admin = createAdminHandler({
 *   registry,
 *   auth: { tokens: [{ token: process.env.RELOADKIT_TOKEN!, scopes: ['read', 'reload'], actor: 'ops' }] },
 * });
 * createServer(async (req, res) => {
 *   if (await admin(req, res)) return;
 *   res.statusCode = 404;
 *   res.end();
 * }).listen(9464, '127.0.0.1');
 * ```
 */
export function createAdminHandler(options: AdminHandlerOptions): AdminHandler {
  if (options === null || typeof options !== 'object') throw new TypeError('Expected `options` to be an object');
  rejectUnknownKeys('createAdminHandler', options, ADMIN_HANDLER_KEYS);
  const registry = checkRegistry(options.registry);
  const guard = createRequestGuard({ allowedHosts: options.allowedHosts, allowedOrigins: options.allowedOrigins });
  const basePath = normalizeBasePath(options.basePath ?? '/reloadkit');
  const bodyLimit = positiveInteger(options.bodyLimit ?? DEFAULT_BODY_LIMIT, 'bodyLimit');
  const requestTimeoutMs = positiveInteger(options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, 'requestTimeoutMs');
  const metrics = checkMetrics(options.metrics);
  const onError = options.onError ?? (() => {});
  if (typeof onError !== 'function') throw new TypeError('Expected `onError` to be a function');
  const reportError = (error: unknown) => {
    try {
      onError(error);
    } catch {}
  };
  if (options.auth === undefined) {
    throw new TypeError("Expected `auth` to be { tokens: [...] }, { verify(req) } or 'none' (loopback only): the admin endpoint has no unauthenticated default");
  }
  const authenticator = createAuthenticator(options.auth, { host: options.host, onError: reportError });
  const limiter = options.rateLimit === false ? null : createRateLimiter(options.rateLimit ?? {});

  function unitOf(name: string): RegistryMember {
    const member = registry.get(name);
    if (member === undefined) throw new HttpError(404, 'RELOADKIT_HTTP_UNKNOWN_UNIT', `no unit named '${name.length > 100 ? `${name.slice(0, 100)}…` : name}'`);
    return member;
  }

  /** Every member's status, and whether all of them serve a committed generation. */
  function snapshot(): { units: UnitStatus[]; ready: boolean } {
    if (typeof registry.status === 'function') return registry.status();
    const units = registry.units().map((u) => u.status());
    return { units, ready: units.every(isReady) };
  }

  function trigger(route: RouteSpec, req: IncomingMessage): TriggerInfo {
    return { kind: 'http', detail: `${req.method} ${route.pattern}` };
  }

  async function probe(below: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'RELOADKIT_HTTP_METHOD_NOT_ALLOWED', `use GET`, { Allow: 'GET, HEAD' });
    if (below === '/health') return sendJson(res, 200, { status: 'ok' });
    const { units, ready } = snapshot();
    // Counts only: probes are anonymous, so they never name a unit.
    const pending = units.filter((u) => !isReady(u)).length;
    const allReady = ready && pending === 0;
    sendJson(res, allReady ? 200 : 503, { ready: allReady, units: units.length, pending });
  }

  async function body(req: IncomingMessage, context: AdapterContext | undefined): Promise<Record<string, unknown>> {
    if (context && 'parsedBody' in context && req.readableEnded) {
      const parsed = context.parsedBody;
      if (parsed === undefined || parsed === null || (typeof parsed === 'string' && parsed === '')) return {};
      if (typeof parsed !== 'object' || Array.isArray(parsed) || Buffer.isBuffer(parsed)) {
        throw new HttpError(400, 'RELOADKIT_HTTP_BAD_JSON', 'request body must be a JSON object');
      }
      // The framework's parser has no depth limit: apply ours (a dry-run candidate is walked).
      let text: string;
      try {
        text = JSON.stringify(parsed);
      } catch {
        throw new HttpError(400, 'RELOADKIT_HTTP_BODY_TOO_DEEP', `request body nests deeper than ${DEFAULT_MAX_JSON_DEPTH} levels`);
      }
      if (jsonDepth(text, DEFAULT_MAX_JSON_DEPTH) > DEFAULT_MAX_JSON_DEPTH) {
        throw new HttpError(400, 'RELOADKIT_HTTP_BODY_TOO_DEEP', `request body nests deeper than ${DEFAULT_MAX_JSON_DEPTH} levels`);
      }
      return parsed as Record<string, unknown>;
    }
    return readJsonBody(req, { limit: bodyLimit, timeoutMs: requestTimeoutMs });
  }

  async function act(route: RouteSpec, unit: string | undefined, actor: Actor, input: Record<string, unknown>, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (UNIT_ACTIONS.includes(route.name)) {
      const answer = await unitAction(route.name, unitOf(unit!), input, { actor: actor.name, trigger: trigger(route, req) });
      return sendJson(res, answer.status, answer.body);
    }
    switch (route.name) {
      case 'units':
        return sendJson(res, 200, { units: snapshot().units });
      case 'unit':
        return sendJson(res, 200, unitOf(unit!).status());
      case 'metrics': {
        const text = await metrics!.metrics();
        if (res.headersSent) return;
        res.statusCode = 200;
        res.setHeader('Content-Type', metrics!.contentType);
        res.setHeader('Cache-Control', 'no-store');
        res.end(text);
        return;
      }
      case 'reloadAll': {
        const opts = parseReloadBody(input);
        const results = resultsOf(await registry.reloadAll({ ...opts, actor: actor.name, trigger: trigger(route, req) }));
        return sendJson(res, statusCodeOfAll(results), { ok: results.every((r) => r.ok), results: results.map(resultJson) });
      }
      default:
        throw new HttpError(404, 'RELOADKIT_HTTP_NOT_FOUND', 'no such admin route');
    }
  }

  async function dispatch(below: string, req: IncomingMessage, res: ServerResponse, context: AdapterContext | undefined): Promise<void> {
    if (isProbe(below)) return probe(below, req, res);
    const actor = await authenticator.authenticate(req);
    if (actor === null) throw new HttpError(401, 'RELOADKIT_HTTP_UNAUTHORIZED', 'missing or invalid bearer token', UNAUTHORIZED_HEADERS);
    const match = matchRoute(below, metrics !== undefined);
    if (match.route === null) throw match.error;
    const { route } = match;
    if (!route.methods.includes(req.method ?? '')) {
      throw new HttpError(405, 'RELOADKIT_HTTP_METHOD_NOT_ALLOWED', `use ${route.methods[0]}`, { Allow: route.methods.join(', ') });
    }
    if (route.scope !== null && !actor.scopes.includes(route.scope)) {
      throw new HttpError(403, 'RELOADKIT_HTTP_FORBIDDEN', `this token lacks the '${route.scope}' scope`);
    }
    if (route.mutating && limiter !== null) {
      const verdict = limiter.take(actor.name);
      if (!verdict.ok) throw new HttpError(429, 'RELOADKIT_HTTP_RATE_LIMITED', 'too many mutating requests', { 'Retry-After': String(verdict.retryAfterSeconds) });
    }
    const input = route.methods.includes('POST') ? await body(req, context) : {};
    await act(route, match.unit, actor, input, req, res);
  }

  return async function handleAdminRequest(req, res, context) {
    const path = requestPath(req.url);
    if (path === undefined) return false;
    const below = pathBelow(path, basePath);
    if (below === undefined) return false;
    // Only POST bodies are read; any other body would stay on the wire: do not reuse the connection.
    if (req.method !== 'POST' && hasBody(req) && !req.readableEnded) res.setHeader('Connection', 'close');
    try {
      const verdict = guard.check(req);
      // The CORS headers of an allowed origin go on every answer, errors included.
      for (const [name, value] of Object.entries(verdict.headers)) res.setHeader(name, value);
      if (verdict.preflight) {
        res.statusCode = 204;
        res.end();
        return true;
      }
      await dispatch(below, req, res, context);
    } catch (error) {
      // Any answer before the body was read leaves bytes on the wire: close rather than reuse.
      const closeHeaders: Record<string, string> = hasBody(req) && !req.readableEnded ? { Connection: 'close' } : {};
      if (error instanceof HttpError) {
        sendError(res, error, closeHeaders);
      } else if (error instanceof ReloadkitError) {
        // e.g. a reload after close(): the request was fine, the unit's state forbids it.
        sendError(res, new HttpError(409, error.code, error.message), closeHeaders);
      } else {
        reportError(error);
        sendError(res, new HttpError(500, 'RELOADKIT_HTTP_INTERNAL', 'internal error'), closeHeaders);
      }
    }
    return true;
  };
}
