/**
 * A misspelt option is a TypeError naming the key and the closest valid one, in every public
 * factory of every package.json export, called as plain JavaScript would call it (no types to
 * catch the typo first: every call goes through `loose()`). A misspelt `trigger:` must never
 * silently turn SIGHUP reloading off.
 *
 * Completeness: every function exported by an entry point is either in TABLE or in NO_OPTIONS, so
 * a new factory without a row fails here. AWAITING may name a row whose factory is still being
 * given its check: it is printed, not failed. It is empty: every factory checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { exportPaths, root } from '../docs/snippets.js';
import { Registry } from 'prom-client';

type Module = Record<string, unknown>;
/** Calls `fn` the way plain JavaScript does: whatever the arguments. */
const loose = (fn: unknown) => fn as (...args: unknown[]) => unknown;

interface Row {
  /** `<entry point> <export>`, e.g. `reloadkit/etcd etcdSource`. */
  factory: string;
  /** The misspelt key, and the key the error must suggest. */
  typo: string;
  suggest: string;
  /** The name the error starts with (the function's own, or the one it delegates to). */
  who?: string;
  call(fn: (...args: unknown[]) => unknown, options: Record<string, unknown>, mod: Module): unknown;
}

// Stand-ins for clients: just enough shape to get past the first argument's check.
const etcdClient = { get() {}, getAll() {}, watch() {}, put() {}, lease() {} };
const redisClient = { duplicate() {}, get() {}, on() {} };
const natsConnection = { subscribe() {}, status() {}, publish() {} };
const jetStream = { consumers: { get() {} }, publish() {} };
const kvBucket = { get() {}, watch() {} };
const amqpChannel = { publish() {} };
const fastify = { prefix: '', addHook() {}, route() {} };
const noop = () => {};
const unitLike = () => ({ name: 'u', start: async () => {}, on: noop, once: noop, off: noop, reload: async () => ({}), status: () => ({}), close: async () => {}, get: noop });

const TABLE: Row[] = [
  // reloadkit
  { factory: 'reloadkit reloadable', typo: 'trigger', suggest: 'triggers', call: (f, o) => f({ name: 'u', load: noop, ...o }) },
  { factory: 'reloadkit derive', typo: 'trigger', suggest: 'triggers', call: (f, o) => f(unitLike(), (v: unknown) => v, { name: 'd', ...o }) },
  { factory: 'reloadkit createRegistry', typo: 'audits', suggest: 'audit', call: (f, o) => f(o) },
  { factory: 'reloadkit intervalTrigger', typo: 'jiter', suggest: 'jitter', call: (f, o) => f(1000, o) },
  { factory: 'reloadkit jsonlAudit', typo: 'maxPendng', suggest: 'maxPending', call: (f, o) => f('audit.jsonl', o) },
  // reloadkit/file
  { factory: 'reloadkit/file fileSource', typo: 'debounce', suggest: 'debounceMs', call: (f, o) => f('config.json', o) },
  { factory: 'reloadkit/file directorySource', typo: 'pars', suggest: 'parse', call: (f, o) => f('/etc/app', o) },
  // reloadkit/http
  { factory: 'reloadkit/http createAdminHandler', typo: 'auht', suggest: 'auth', call: (f, o) => f({ registry: { get: noop, units: () => [], reloadAll: noop }, ...o }) },
  { factory: 'reloadkit/http startAdminServer', typo: 'prot', suggest: 'port', call: (f, o) => f({ registry: { get: noop, units: () => [], reloadAll: noop }, ...o }) },
  { factory: 'reloadkit/http expressAdmin', typo: 'auht', suggest: 'auth', who: 'createAdminHandler', call: (f, o) => f({ registry: { get: noop, units: () => [], reloadAll: noop }, ...o }) },
  { factory: 'reloadkit/http fastifyAdmin', typo: 'auht', suggest: 'auth', who: 'createAdminHandler', call: (f, o) => f(fastify, { registry: { get: noop, units: () => [], reloadAll: noop }, ...o }) },
  { factory: 'reloadkit/http createRateLimiter', typo: 'burts', suggest: 'burst', who: 'rateLimit', call: (f, o) => f(o) },
  { factory: 'reloadkit/http createAuthenticator', typo: 'hots', suggest: 'host', call: (f, o) => f({ tokens: [{ token: 't'.repeat(32), scopes: ['read'], actor: 'ops' }] }, o) },
  // reloadkit/etcd
  { factory: 'reloadkit/etcd etcdSource', typo: 'onDelet', suggest: 'onDelete', call: (f, o) => f(etcdClient, { key: '/app' }, o) },
  { factory: 'reloadkit/etcd etcdPrefixTrigger', typo: 'key', suggest: 'keys', call: (f, o) => f(etcdClient, '/app/', o) },
  { factory: 'reloadkit/etcd etcdFleetReporter', typo: 'instanceID', suggest: 'instanceId', call: (f, o) => f({ units: () => [] }, etcdClient, { prefix: '/fleet/', ...o }) },
  // reloadkit/redis
  { factory: 'reloadkit/redis redisSource', typo: 'typ', suggest: 'type', call: (f, o) => f(redisClient, 'app:config', o) },
  { factory: 'reloadkit/redis redisChannelTrigger', typo: 'startWait', suggest: 'startWaitMs', call: (f, o) => f(redisClient, 'inval', o) },
  { factory: 'reloadkit/redis redisStreamTrigger', typo: 'onEror', suggest: 'onError', call: (f, o) => f(redisClient, 'inval', o) },
  { factory: 'reloadkit/redis redisPublisher', typo: 'ids', suggest: 'id', call: (f, o) => f(redisClient, { channel: 'inval', ...o }) },
  // reloadkit/nats
  { factory: 'reloadkit/nats natsKvSource', typo: 'retry', suggest: 'retryMs', call: (f, o) => f(kvBucket, 'config', o) },
  { factory: 'reloadkit/nats natsSubjectTrigger', typo: 'onEror', suggest: 'onError', call: (f, o) => f(natsConnection, 'inval.>', o) },
  { factory: 'reloadkit/nats jetStreamTrigger', typo: 'subjet', suggest: 'subject', call: (f, o) => f(jetStream, { stream: 'INVAL', ...o }) },
  { factory: 'reloadkit/nats natsPublisher', typo: 'ids', suggest: 'id', call: (f, o) => f(natsConnection, 'inval.users', o) },
  { factory: 'reloadkit/nats jetStreamPublisher', typo: 'ids', suggest: 'id', call: (f, o) => f(jetStream, 'inval.users', o) },
  // reloadkit/cache
  { factory: 'reloadkit/cache reloadableCache', typo: 'ttl', suggest: 'ttlMs', call: (f, o) => f({ name: 'c', load: noop, ...o }) },
  { factory: 'reloadkit/cache invalidationTrigger', typo: 'mdoe', suggest: 'mode', call: (f, o) => f({ from: { start: noop, stop: noop }, ...o }) },
  // metrics
  { factory: 'reloadkit/prometheus prometheusMetrics', typo: 'prefx', suggest: 'prefix', call: (f, o) => f([], o) },
  { factory: 'reloadkit/opentelemetry openTelemetryMetrics', typo: 'metre', suggest: 'meter', call: (f, o) => f([], o) },
  { factory: 'reloadkit/opentelemetry traceUnits', typo: 'tracr', suggest: 'tracer', call: (f, o) => f([], o) },
  // reloadkit/mcp
  { factory: 'reloadkit/mcp mcpConnection', typo: 'tokn', suggest: 'token', call: (f, o) => f({ name: 's', url: 'http://127.0.0.1:1/mcp', ...o }) },
  { factory: 'reloadkit/mcp modelServiceClient', typo: 'tokn', suggest: 'token', who: 'mcpConnection', call: (f, o) => f({ name: 's', url: 'http://127.0.0.1:1/mcp', ...o }) },
  { factory: 'reloadkit/mcp mcpCatalog', typo: 'namspace', suggest: 'namespace', call: (f, o) => f({ servers: {}, ...o }) },
  { factory: 'reloadkit/mcp mcpConnectionSet', typo: 'trigger', suggest: 'triggers', call: (f, o) => f({ load: noop, ...o }) },
  { factory: 'reloadkit/mcp createMcpServer', typo: 'tokn', suggest: 'token', call: (f, o) => f({ models: [], ...o }) },
  { factory: 'reloadkit/mcp startMcpServer', typo: 'prot', suggest: 'port', call: (f, o) => f({ models: [], ...o }) },
  { factory: 'reloadkit/mcp modelContext', typo: 'retryOnstal', suggest: 'retryOnStale', call: (f, o) => f({ client: {}, model: 'm', load: noop, ...o }) },
  { factory: 'reloadkit/mcp modelRollout', typo: 'minRequest', suggest: 'minRequests', call: (f, o) => f({ client: {}, model: 'm', load: noop, ...o }) },
  // reloadkit/testing
  { factory: 'reloadkit/testing fakeSource', typo: 'hintOnset', suggest: 'hintOnSet', call: (f, o) => f({}, { ...o, hintOnset: true }) },
  { factory: 'reloadkit/testing fakeTrigger', typo: 'asyn', suggest: 'async', call: (f, o) => f(o) },
  // reloadkit/config
  { factory: 'reloadkit/config configSource', typo: 'file', suggest: 'files', call: (f, o) => f(o) },
  { factory: 'reloadkit/config layered', typo: 'merg', suggest: 'merge', call: (f, o) => f([{ describe: () => 'x', read: noop }], o) },
  // reloadkit/fleet
  { factory: 'reloadkit/fleet fleetMember', typo: 'leaseTtl', suggest: 'leaseTtlS', call: (f, o) => f({ name: 'u', prepare: noop, status: noop, on: noop }, { client: etcdClient, fleet: 'f', ...o }) },
  { factory: 'reloadkit/fleet rollout', typo: 'selectr', suggest: 'selector', call: (f, o) => f({ client: etcdClient, fleet: 'f', unit: 'u', candidate: {}, strategy: { steps: [{ percent: 100 }] }, actor: 'a', ...o }) },
  { factory: 'reloadkit/fleet resumeRollout', typo: 'gates', suggest: 'gate', call: (f, o) => f({ client: etcdClient, id: 'r', ...o }) },
  { factory: 'reloadkit/fleet controlRollout', typo: 'actr', suggest: 'actor', call: (f, o) => f({ client: etcdClient, id: 'r', action: 'pause', ...o }) },
  { factory: 'reloadkit/fleet readRollout', typo: 'ids', suggest: 'id', call: (f, o) => f({ client: etcdClient, id: 'r', ...o }) },
  { factory: 'reloadkit/fleet readFleetStatus', typo: 'flet', suggest: 'fleet', call: (f, o) => f({ client: etcdClient, fleet: 'f', ...o }) },
  { factory: 'reloadkit/fleet fleetCommand', typo: 'selectr', suggest: 'selector', call: (f, o) => f({ client: etcdClient, fleet: 'f', unit: 'u', action: 'reload', ...o }) },
  // reloadkit/fleet/metrics
  { factory: 'reloadkit/fleet/metrics fleetPrometheus', typo: 'prefx', suggest: 'prefix', call: (f, o) => f({ client: etcdClient, fleet: 'f', register: new Registry(), ...o }) },
  { factory: 'reloadkit/fleet/metrics fleetOpenTelemetry', typo: 'prefx', suggest: 'prefix', call: (f, o) => f({ client: etcdClient, fleet: 'f', ...o }) },
  { factory: 'reloadkit/fleet/metrics readFleetMetrics', typo: 'flet', suggest: 'fleet', call: (f, o) => f({ client: etcdClient, fleet: 'f', ...o }) },
  // reloadkit/amqp
  { factory: 'reloadkit/amqp amqpTrigger', typo: 'routingkey', suggest: 'routingKey', call: (f, o) => f('amqp://127.0.0.1', { exchange: 'inval', ...o }) },
  { factory: 'reloadkit/amqp amqpPublisher', typo: 'routingkey', suggest: 'routingKey', call: (f, o) => f(amqpChannel, { exchange: 'inval', ...o }) },
  // reloadkit/zookeeper
  { factory: 'reloadkit/zookeeper zookeeperSource', typo: 'childern', suggest: 'children', call: (f, o) => f(() => ({}), '/app', o) },
];

/** Rows whose factory gets its check on another branch (printed, never failed). */
const AWAITING: string[] = [
];

/** Exported functions that take no options object: nothing to misspell. */
const NO_OPTIONS = new Set([
  // reloadkit/fleet: pure helpers, no options object
  'reloadkit/fleet cohortOrder', 'reloadkit/fleet ctlWatchCount', 'reloadkit/fleet fleetKeys', 'reloadkit/fleet formatFleetStatus',
  'reloadkit/fleet matchesSelector', 'reloadkit/fleet parseSelector', 'reloadkit/fleet selectMembers',
  'reloadkit auditLine', 'reloadkit canonicalJson', 'reloadkit errorInfo', 'reloadkit group', 'reloadkit hashValue', 'reloadkit manualTrigger',
  'reloadkit pin', 'reloadkit sha256', 'reloadkit signalTrigger',
  'reloadkit/file parseJson', 'reloadkit/http isLoopbackHost',
  'reloadkit/etcd etcdWatchStats', 'reloadkit/etcd fleetRecord', 'reloadkit/etcd formatFleetTable', 'reloadkit/etcd readFleet', 'reloadkit/etcd summarizeFleet',
  'reloadkit/redis missingKeyspaceFlags', 'reloadkit/redis publishChange', 'reloadkit/redis publishInvalidation',
  'reloadkit/nats publishChange', 'reloadkit/nats publishInvalidation', 'reloadkit/amqp publishChange', 'reloadkit/amqp publishInvalidation',
  'reloadkit/cache keyHash', 'reloadkit/prometheus cacheMetrics', 'reloadkit/opentelemetry hashPrefix',
  'reloadkit/mcp contextUri', 'reloadkit/mcp jsonSchemaProblem', 'reloadkit/mcp mcpListChangedTrigger', 'reloadkit/mcp mcpPromptSource',
  'reloadkit/mcp mcpPromptsSource', 'reloadkit/mcp mcpResourceSource', 'reloadkit/mcp mcpToolsSource', 'reloadkit/mcp modelUri',
  'reloadkit/testing createFakeClock', 'reloadkit/config coerceString', 'reloadkit/config explain',
]);

async function entryPoints(): Promise<Map<string, Module>> {
  const out = new Map<string, Module>();
  for (const [spec, file] of Object.entries(await exportPaths())) out.set(spec, (await import(pathToFileURL(join(root, file)).href)) as Module);
  return out;
}

/** What calling the row gives: the error thrown or rejected with, or undefined. */
async function errorOf(row: Row, fn: (...args: unknown[]) => unknown, mod: Module): Promise<unknown> {
  try {
    const out = row.call(fn, { [row.typo]: row.typo === 'hintOnset' ? true : 1 }, mod);
    if (out && typeof (out as Promise<unknown>).then === 'function') await out;
    // A factory that accepted the typo returned a live object: release what it may hold.
    for (const method of ['close', 'stop', 'detach']) await (out as Record<string, () => unknown> | undefined)?.[method]?.();
    return undefined;
  } catch (error) {
    return error;
  }
}

test('every exported function is in the unknown-option table or takes no options', async () => {
  const covered = new Set([...TABLE.map((r) => r.factory), ...NO_OPTIONS]);
  const missing: string[] = [];
  for (const [spec, mod] of await entryPoints()) {
    for (const [name, value] of Object.entries(mod)) {
      if (typeof value === 'function' && /^[a-z]/.test(name) && !covered.has(`${spec} ${name}`)) missing.push(`${spec} ${name}`);
    }
  }
  assert.deepEqual(missing, [], 'add a row to TABLE (or NO_OPTIONS, if it takes no options object)');
});

test('a misspelt option throws a TypeError naming the key and the closest valid one, in every public factory (plain JavaScript calls)', async (t) => {
  const modules = await entryPoints();
  const failures: string[] = [];
  const awaiting: string[] = [];
  for (const row of TABLE) {
    const [spec, name] = row.factory.split(' ') as [string, string];
    const mod = modules.get(spec);
    assert.ok(mod, `no entry point ${spec}`);
    const fn = mod[name];
    assert.equal(typeof fn, 'function', `${row.factory} is exported`);
    const error = await errorOf(row, loose(fn), mod);
    const who = row.who ?? name;
    const expected = `${who}: unknown option \`${row.typo}\`; did you mean \`${row.suggest}\`?`;
    const ok = error instanceof TypeError && error.message === expected;
    if (AWAITING.includes(row.factory)) {
      awaiting.push(`${row.factory}: ${ok ? 'now passes: remove it from AWAITING' : `not yet (${error instanceof Error ? error.message : 'no error'})`}`);
    } else if (!ok) {
      failures.push(`${row.factory}: expected TypeError "${expected}", got ${error instanceof Error ? `${error.name} "${error.message}"` : 'no error'}`);
    }
  }
  if (awaiting.length > 0) t.diagnostic('AWAITING (owners add the check on their branches):');
  for (const line of awaiting) t.diagnostic(`  ${line}`);
  assert.deepEqual(failures, []);
});
