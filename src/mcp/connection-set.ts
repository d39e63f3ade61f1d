/**
 * `mcpConnectionSet()`: the MCP connections of a gateway as one reloadable unit that follows its
 * config (a list of servers: name, URL, token, headers; from a file, a store, anything a `source`
 * or `load` reads). On a change, `create` builds a connection for every added or re-credited
 * server (an unchanged entry keeps its live connection), `healthCheck` pings the new ones, and
 * commit swaps the map. The retired generation is disposed only once its leases are released (the
 * core's drain), and a connection no generation uses any more is closed only after its own
 * requests in flight settled. A failed candidate closes what it built; the live set is untouched.
 *
 * @module
 */
import { z } from 'zod';
import { reloadable } from '../core/unit.js';
import { hashValue } from '../support/hash.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import type { AuditSink, Reloadable, ReloadableOptions, Source, Timeouts, Trigger } from '../types.js';
import { mcpConnection } from './connection.js';
import type { McpConnection, McpConnectionOptions } from './connection.js';

const ServerSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected 1-64 characters of [A-Za-z0-9._-]'),
  url: z.url({ protocol: /^https?$/ }),
  token: z.string().min(1).max(4096).optional(),
  headers: z.record(z.string(), z.string().max(4096)).optional(),
});

/** The config: a list of servers with unique names. */
export const ServerListSchema = z.array(ServerSchema).max(1000).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((s, i) => {
    if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate server name ${JSON.stringify(s.name)}` });
    seen.add(s.name);
  });
});
export type McpServerConfig = z.infer<typeof ServerSchema>;

/** The live resource: connected connections, by server name. */
export type McpConnections = ReadonlyMap<string, McpConnection>;

export interface McpConnectionSetOptions {
  /**
   * Unit name.
   * @default 'mcp-connections'
   * @example name: 'tool-servers'
   */
  name?: string;
  /**
   * Where the server list comes from (exactly one of `load` / `source`).
   * @example source: fileSource('mcp-servers.json')
   */
  source?: Source<unknown>;
  /**
   * Reads the server list (exactly one of `load` / `source`).
   * @example load: () => JSON.parse(readFileSync('servers.json', 'utf8'))
   */
  load?: ReloadableOptions<McpServerConfig[], McpConnections>['load'];
  /**
   * Options of every connection besides name, URL, token and headers.
   * @default {}
   * @example connection: { timeoutMs: 2000 }
   */
  connection?: Omit<McpConnectionOptions, 'name' | 'url' | 'token' | 'headers' | 'command' | 'args' | 'env'>;
  /**
   * How long a retired connection may wait for its requests in flight before it is closed anyway.
   * @default 30000
   * @example drainMs: 5000
   */
  drainMs?: number;
  /**
   * Extra triggers (a file watcher's source needs none).
   * @default []
   * @example triggers: [signalTrigger('SIGHUP')]
   */
  triggers?: Trigger[];
  /**
   * Audit sink.
   * @default undefined
   * @example audit: jsonlAudit('audit.jsonl')
   */
  audit?: AuditSink;
  /**
   * Stage timeouts (`create` connects, `healthCheck` pings).
   * @default the unit defaults
   * @example timeouts: { create: 10_000, drain: 60_000 }
   */
  timeouts?: Timeouts;
}

const KNOWN_KEYS = ['name', 'source', 'load', 'connection', 'drainMs', 'triggers', 'audit', 'timeouts'] as const;

interface Shared {
  connection: McpConnection;
  key: string;
  refs: number;
  /** Built by the candidate that is being staged, not yet health-checked. */
  fresh: boolean;
}

/**
 * Creates the connection set. Use it with `set.use((conns) => conns.get('search')!.request(...))`
 * so the generation (and its connections) stays alive while the call runs.
 *
 * @example
 * ```ts
 * const servers = mcpConnectionSet({ source: fileSource('mcp-servers.json') });
 * await servers.start();
 * const tools = await servers.use((c) => c.get('search')!.request('tools/list', (client, o) => client.listTools({}, o)));
 * ```
 */
export function mcpConnectionSet(options: McpConnectionSetOptions): Reloadable<McpServerConfig[], McpConnections> {
  if (typeof options !== 'object' || options === null) throw new TypeError('mcpConnectionSet: expected an options object');
  rejectUnknownKeys('mcpConnectionSet', options, KNOWN_KEYS);
  if ((options.load === undefined) === (options.source === undefined)) throw new TypeError('mcpConnectionSet: pass exactly one of `load` or `source`');
  const { drainMs = 30_000 } = options;
  if (!Number.isFinite(drainMs) || drainMs <= 0) throw new TypeError(`mcpConnectionSet: \`drainMs\` must be a positive number, got ${String(drainMs)}`);
  /** Every open connection, by server name and config hash: shared by the generations that use it. */
  const open = new Map<string, Shared>();
  const owners = new WeakMap<McpConnections, Shared[]>();

  async function release(shared: Shared[]): Promise<void> {
    await Promise.all(shared.map(async (s) => {
      if (--s.refs > 0) return;
      if (open.get(s.key) === s) open.delete(s.key);
      await s.connection.drain(drainMs);
      await s.connection.close();
    }));
  }

  const unitOptions: ReloadableOptions<McpServerConfig[], McpConnections> = {
    name: options.name ?? 'mcp-connections',
    schema: ServerListSchema as unknown as NonNullable<ReloadableOptions<McpServerConfig[], McpConnections>['schema']>,
    async create(list, ctx) {
      const used: Shared[] = [];
      const map = new Map<string, McpConnection>();
      try {
        for (const server of list) {
          // The key covers URL, token and headers: re-crediting a server builds a new connection.
          const key = `${server.name} ${hashValue(server)}`;
          let shared = open.get(key);
          if (!shared) {
            const connection = mcpConnection({ ...options.connection, name: server.name, url: server.url, ...(server.token ? { token: server.token } : {}), ...(server.headers ? { headers: server.headers } : {}) });
            shared = { connection, key, refs: 0, fresh: true };
            open.set(key, shared);
            used.push(shared);
            shared.refs++;
            await connection.connect({ signal: ctx.signal });
          } else {
            shared.refs++;
            used.push(shared);
          }
          map.set(server.name, shared.connection);
        }
      } catch (error) {
        await release(used);
        throw error;
      }
      owners.set(map, used);
      return map;
    },
    async healthCheck(map, ctx) {
      const shared = owners.get(map) ?? [];
      await Promise.all(shared.filter((s) => s.fresh).map(async (s) => {
        await s.connection.ping({ signal: ctx.signal });
        s.fresh = false;
      }));
    },
    async dispose(map) {
      await release(owners.get(map) ?? []);
    },
  };
  if (options.load) unitOptions.load = options.load;
  if (options.source) unitOptions.source = options.source;
  if (options.triggers) unitOptions.triggers = options.triggers;
  if (options.audit) unitOptions.audit = options.audit;
  if (options.timeouts) unitOptions.timeouts = options.timeouts;
  return reloadable(unitOptions);
}
