/**
 * The admin route table and the matching of a request path against it. Matching is purely
 * textual on `/`-separated segments, each percent-decoded once after splitting (so `a%2Fb` is the
 * unit `a/b`, and `..` is just a name no unit has): there is no filesystem and no normalization
 * to trick.
 *
 * @module
 */
import type { Scope } from './auth.js';
import { HttpError } from '../errors.js';
import { describeValue } from '../support/describe-value.js';

/** Names of the admin routes. */
export type RouteName =
  | 'units'
  | 'unit'
  | 'unitHistory'
  | 'reloadUnit'
  | 'rollbackUnit'
  | 'invalidateUnit'
  | 'pauseUnit'
  | 'resumeUnit'
  | 'clearRefusedUnit'
  | 'reloadAll'
  | 'health'
  | 'ready'
  | 'metrics';

/** A route: its methods, the scope it needs (none for probes) and whether it mutates. */
export interface RouteSpec {
  name: RouteName;
  /** The route as documented, e.g. `/units/:name/reload` (recorded as the audit trigger's detail). */
  pattern: string;
  methods: readonly string[];
  scope: Scope | null;
  mutating: boolean;
}

const GET = ['GET', 'HEAD'] as const;
const POST = ['POST'] as const;

export const ROUTES: Readonly<Record<RouteName, RouteSpec>> = {
  units: { name: 'units', pattern: '/units', methods: GET, scope: 'read', mutating: false },
  unit: { name: 'unit', pattern: '/units/:name', methods: GET, scope: 'read', mutating: false },
  unitHistory: { name: 'unitHistory', pattern: '/units/:name/history', methods: GET, scope: 'read', mutating: false },
  reloadUnit: { name: 'reloadUnit', pattern: '/units/:name/reload', methods: POST, scope: 'reload', mutating: true },
  rollbackUnit: { name: 'rollbackUnit', pattern: '/units/:name/rollback', methods: POST, scope: 'reload', mutating: true },
  invalidateUnit: { name: 'invalidateUnit', pattern: '/units/:name/invalidate', methods: POST, scope: 'reload', mutating: true },
  pauseUnit: { name: 'pauseUnit', pattern: '/units/:name/pause', methods: POST, scope: 'reload', mutating: true },
  resumeUnit: { name: 'resumeUnit', pattern: '/units/:name/resume', methods: POST, scope: 'reload', mutating: true },
  clearRefusedUnit: { name: 'clearRefusedUnit', pattern: '/units/:name/clear-refused', methods: POST, scope: 'reload', mutating: true },
  reloadAll: { name: 'reloadAll', pattern: '/reload', methods: POST, scope: 'reload', mutating: true },
  health: { name: 'health', pattern: '/health', methods: GET, scope: null, mutating: false },
  ready: { name: 'ready', pattern: '/ready', methods: GET, scope: null, mutating: false },
  metrics: { name: 'metrics', pattern: '/metrics', methods: GET, scope: 'read', mutating: false },
};

/** Result of matching a path below the base path. */
export type RouteMatch = { route: RouteSpec; unit?: string } | { route: null; error: HttpError };

/**
 * Normalizes a base path: leading `/`, no trailing `/`, `''` for the root.
 *
 * @example
 * ```ts
 * normalizeBasePath('/reloadkit/'); // '/reloadkit'
 * ```
 */
export function normalizeBasePath(basePath: unknown): string {
  if (typeof basePath !== 'string' || !basePath.startsWith('/') || /[?#\s%]/.test(basePath) || basePath.includes('//')) {
    throw new TypeError(`Expected \`basePath\` to be a path starting with '/' without '?', '#', '%', '//' or spaces, got ${describeValue(basePath)}`);
  }
  return basePath.replace(/\/+$/, '');
}

/**
 * The path of a request target (`/a/b?x` or absolute form `http://h/a/b?x`), without the query,
 * or `undefined` when it is not a path at all (`*`, garbage).
 *
 * @example
 * ```ts
 * requestPath('/reloadkit/units?x=1'); // '/reloadkit/units'
 * ```
 */
export function requestPath(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  let target = url;
  if (!target.startsWith('/')) {
    const absolute = /^https?:\/\/[^/?#]*(.*)$/i.exec(target);
    if (!absolute) return undefined;
    target = absolute[1] === '' ? '/' : absolute[1]!;
    if (!target.startsWith('/')) return undefined;
  }
  const cut = target.search(/[?#]/);
  return cut === -1 ? target : target.slice(0, cut);
}

/**
 * The part of `path` below `basePath` (`''` or starting with `/`), or `undefined` when the path
 * is not under it (the request is someone else's).
 *
 * @example
 * ```ts
 * pathBelow('/reloadkit/units', '/reloadkit'); // '/units'
 * pathBelow('/other', '/reloadkit');           // undefined
 * ```
 */
export function pathBelow(path: string, basePath: string): string | undefined {
  if (basePath === '') return path;
  if (path === basePath) return '';
  return path.startsWith(`${basePath}/`) ? path.slice(basePath.length) : undefined;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'RELOADKIT_HTTP_BAD_REQUEST', 'request path has an invalid percent-encoding');
  }
}

/**
 * Matches the path below the base path to a route and its unit name. Unknown paths are 404.
 *
 * @example
 * ```ts
 * matchRoute('/units/db/reload', true); // { route: ROUTES.reloadUnit, unit: 'db' }
 * ```
 */
export function matchRoute(below: string, metricsEnabled: boolean): RouteMatch {
  const notFound: RouteMatch = { route: null, error: new HttpError(404, 'RELOADKIT_HTTP_NOT_FOUND', 'no such admin route') };
  const raw = below.split('/').slice(1);
  // A trailing slash is tolerated (`/units/`), nothing else is normalized.
  if (raw.length > 1 && raw[raw.length - 1] === '') raw.pop();
  const [first, second, third, ...rest] = raw;
  if (rest.length > 0 || first === undefined) return notFound;
  if (second === undefined) {
    switch (first) {
      case 'units': return { route: ROUTES.units };
      case 'reload': return { route: ROUTES.reloadAll };
      case 'health': return { route: ROUTES.health };
      case 'ready': return { route: ROUTES.ready };
      case 'metrics': return metricsEnabled ? { route: ROUTES.metrics } : notFound;
      default: return notFound;
    }
  }
  if (first !== 'units' || second === '') return notFound;
  let unit: string;
  try {
    unit = decodeSegment(second);
  } catch (error) {
    return { route: null, error: error as HttpError };
  }
  switch (third) {
    case undefined: return { route: ROUTES.unit, unit };
    case 'reload': return { route: ROUTES.reloadUnit, unit };
    case 'rollback': return { route: ROUTES.rollbackUnit, unit };
    case 'invalidate': return { route: ROUTES.invalidateUnit, unit };
    case 'history': return { route: ROUTES.unitHistory, unit };
    case 'pause': return { route: ROUTES.pauseUnit, unit };
    case 'resume': return { route: ROUTES.resumeUnit, unit };
    case 'clear-refused': return { route: ROUTES.clearRefusedUnit, unit };
    default: return notFound;
  }
}

/**
 * Whether the path below the base path is a probe, answered without authentication.
 *
 * @example
 * ```ts
 * isProbe('/ready'); // true
 * ```
 */
export function isProbe(below: string): boolean {
  return below === '/health' || below === '/ready';
}
