/**
 * `mcpCatalog()`: one tool catalog across many MCP servers, for a gateway. One unit per server
 * (`tools:<server>`, validated with `ToolCatalogSchema`) and one catalog unit over them. A
 * notification (or a new session) from any server reloads every server unit as one `group()`:
 * they are staged together and committed in one synchronous section, or not at all, so the server
 * units never hold lists from different reloads; the catalog then re-merges them. A name served by
 * two servers is rejected (the live catalog stays, the reason names both servers), unless
 * `namespace` prefixes every tool with its server's name.
 *
 * @module
 */
import { group } from '../compose/group.js';
import type { GroupResult } from '../compose/group.js';
import { reloadable } from '../core/unit.js';
import { validationError } from '../core/schema.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import type { AuditSink, Hint, Reloadable, ReloadOptions, ReloadResult, Timeouts } from '../types.js';
import { ToolCatalogSchema } from './catalog-schema.js';
import type { McpConnection } from './connection.js';
import { mcpToolsSource } from './sources.js';
import type { McpTool } from './sources.js';

/** One tool of the catalog: the name a caller uses, the server that serves it, and its definition. */
export interface CatalogEntry {
  name: string;
  server: string;
  /** The tool's name on its server (differs from `name` when namespaced). */
  tool: string;
  definition: McpTool;
}

/** The catalog unit's live resource. */
export interface ToolCatalog {
  readonly entries: readonly CatalogEntry[];
  /** The entry a caller's tool name routes to. */
  get(name: string): CatalogEntry | undefined;
}

export interface McpCatalogOptions {
  /**
   * The servers, by name (a name is also the namespace prefix).
   * @example servers: { search: searchConnection, files: filesConnection }
   */
  servers: Record<string, McpConnection>;
  /**
   * Prefix every tool with `<server>.`; a function chooses the name itself. Without it, a tool name
   * served by two servers rejects the catalog reload.
   * @default false
   * @example namespace: (server, tool) => `${server}_${tool}`
   */
  namespace?: boolean | ((server: string, tool: string) => string);
  /**
   * Name of the catalog unit; server units are named `tools:<server>`.
   * @default 'mcp-catalog'
   * @example name: 'gateway-tools'
   */
  name?: string;
  /**
   * Audit sink of every unit.
   * @default undefined
   * @example audit: jsonlAudit('audit.jsonl')
   */
  audit?: AuditSink;
  /**
   * Stage timeouts of the server units (a `load` is one full `tools/list`).
   * @default the unit defaults
   * @example timeouts: { load: 5000 }
   */
  timeouts?: Timeouts;
}

const KNOWN_KEYS = ['servers', 'namespace', 'name', 'audit', 'timeouts'] as const;

/** What `reload()` did: the servers' group result and the catalog's own. */
export interface CatalogReload {
  servers: GroupResult;
  catalog: ReloadResult | undefined;
}

export interface McpCatalog {
  /** The server units, by server name. */
  readonly servers: Readonly<Record<string, Reloadable<McpTool[]>>>;
  /** The merged catalog: read `catalog.get()`. */
  readonly catalog: Reloadable<CatalogEntry[], ToolCatalog>;
  /** Starts the watches, then every server unit, then the catalog. */
  start(): Promise<void>;
  /** Reloads every server as one group, then the catalog (coalesced with reloads in flight). */
  reload(opts?: ReloadOptions): Promise<CatalogReload>;
  close(): Promise<void>;
}

/**
 * Creates the catalog of several MCP servers.
 *
 * @example
 * ```ts
 * const tools = mcpCatalog({ servers: { search, files } });
 * await tools.start();
 * const entry = tools.catalog.get().get('grep'); // { server: 'files', tool: 'grep', definition }
 * ```
 */
export function mcpCatalog(options: McpCatalogOptions): McpCatalog {
  if (typeof options !== 'object' || options === null) throw new TypeError('mcpCatalog: expected an options object');
  rejectUnknownKeys('mcpCatalog', options, KNOWN_KEYS);
  const { servers, namespace = false, name = 'mcp-catalog', audit, timeouts } = options;
  if (typeof servers !== 'object' || servers === null || Object.keys(servers).length === 0) throw new TypeError('mcpCatalog: `servers` must be a non-empty object of McpConnection');
  if (typeof namespace !== 'boolean' && typeof namespace !== 'function') throw new TypeError('mcpCatalog: `namespace` must be a boolean or a function');
  const rename = typeof namespace === 'function' ? namespace : namespace ? (server: string, tool: string) => `${server}.${tool}` : (_server: string, tool: string) => tool;
  const sources = Object.entries(servers).map(([server, connection]) => ({ server, source: mcpToolsSource(connection) }));
  const units: Record<string, Reloadable<McpTool[]>> = {};
  for (const { server, source } of sources) {
    units[server] = reloadable({
      name: `tools:${server}`,
      schema: ToolCatalogSchema,
      load: ({ signal }) => source.read({ signal }),
      retry: false,
      ...(audit ? { audit } : {}),
      ...(timeouts ? { timeouts } : {}),
    }) as Reloadable<McpTool[]>;
  }
  const members = group(Object.values(units));

  const catalog = reloadable<CatalogEntry[], ToolCatalog>({
    name,
    retry: false,
    load: () => {
      const entries: CatalogEntry[] = [];
      for (const [server, unit] of Object.entries(units)) {
        const live = unit.current;
        if (!live) throw new Error(`server ${server} has no committed tool list yet`);
        for (const definition of live.value) entries.push({ name: rename(server, definition.name), server, tool: definition.name, definition });
      }
      return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.server < b.server ? -1 : 1));
    },
    validate(entries) {
      const byName = new Map<string, string[]>();
      for (const e of entries) byName.set(e.name, [...(byName.get(e.name) ?? []), e.server]);
      const issues = [...byName].filter(([, s]) => s.length > 1).map(([tool, s]) => ({ path: tool, message: `tool ${JSON.stringify(tool)} is served by ${s.join(' and ')}` }));
      if (issues.length > 0) throw validationError(issues, { unit: name, source: 'mcp catalog' });
    },
    create(entries) {
      const byName = new Map(entries.map((e) => [e.name, e]));
      return { entries, get: (n: string) => byName.get(n) };
    },
    ...(audit ? { audit } : {}),
  });

  let stops: (() => void | Promise<void>)[] = [];
  let running: Promise<CatalogReload> | undefined;
  let again: { opts: ReloadOptions; waiters: ((r: CatalogReload) => void)[] } | undefined;

  async function runOnce(opts: ReloadOptions): Promise<CatalogReload> {
    const result = await members.reload(opts);
    const merged = result.status === 'committed' ? await catalog.reload({ ...opts, trigger: { kind: 'mcp', detail: 'servers committed' } }) : undefined;
    return { servers: result, catalog: merged };
  }

  /** At most one group reload runs; every request made meanwhile joins one follow-up run. */
  function reload(opts: ReloadOptions = {}): Promise<CatalogReload> {
    if (!running) {
      running = runOnce(opts).finally(() => {
        running = undefined;
        const next = again;
        again = undefined;
        if (next) void reload(next.opts).then((r) => next.waiters.forEach((w) => w(r)));
      });
      return running;
    }
    again ??= { opts, waiters: [] };
    const waiters = again.waiters;
    return new Promise((resolve) => waiters.push(resolve));
  }

  return {
    servers: units,
    catalog,
    async start() {
      // Watch before read: a change announced while the first lists are read still reloads.
      stops = sources.map(({ source }) => (source.watch as (h: (hint: Hint) => void) => () => void)((hint) => {
        void reload({ trigger: { kind: hint.kind, ...(hint.detail ? { detail: hint.detail } : {}) } }).catch(() => undefined);
      }));
      await Promise.all(Object.values(units).map((u) => u.start()));
      await catalog.start();
    },
    reload,
    async close() {
      await Promise.all(stops.map((s) => s()));
      stops = [];
      await running?.catch(() => undefined);
      await catalog.close();
      await Promise.all(Object.values(units).map((u) => u.close()));
    },
  };
}
