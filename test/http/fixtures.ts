// Shared set-up of the HTTP and CLI tests: a real registry of real units whose loads are
// counted, an audit sink that keeps records, bearer tokens with each scope, and a small raw
// HTTP client (node:http, no keep-alive) that returns status, headers and parsed body.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { createRegistry, type Registry } from '../../src/compose/registry.js';
import { reloadable } from '../../src/core/unit.js';
import type { AuditRecord, Reloadable } from '../../src/types.js';
import type { AuthOption } from '../../src/http/auth.js';

export const TOKENS = {
  admin: 'admin-token-0123456789abcdef',
  reader: 'reader-token-0123456789abcdef',
  reloader: 'reloader-token-0123456789abcd',
} as const;

export const AUTH: AuthOption = {
  tokens: [
    { token: TOKENS.admin, scopes: ['read', 'reload'], actor: 'ops' },
    { token: TOKENS.reader, scopes: ['read'], actor: 'dashboard' },
    { token: TOKENS.reloader, scopes: ['reload'], actor: 'deploy-bot' },
  ],
};

/** A value that must never appear in any response. */
export const SECRET = 'hunter2-db-password';

export const ConfigSchema = z.object({ password: z.string(), port: z.number() });
export type Config = z.infer<typeof ConfigSchema>;

export interface Fixture {
  registry: Registry;
  /** What each unit's next load returns; edit to change the "source". */
  sources: Map<string, unknown>;
  /** Loads per unit: proves whether a reload was attempted. */
  loads: Map<string, number>;
  audit: AuditRecord[];
  units: Map<string, Reloadable<Config>>;
  totalLoads(): number;
}

/** A registry with `names` units (each `{ password: SECRET, port }`); started unless `start: false`. */
export async function makeFixture(names: string[] = ['config', 'db'], { start = true } = {}): Promise<Fixture> {
  const audit: AuditRecord[] = [];
  const registry = createRegistry({ audit: (record) => void audit.push(record) });
  const sources = new Map<string, unknown>();
  const loads = new Map<string, number>();
  const units = new Map<string, Reloadable<Config>>();
  names.forEach((name, i) => {
    sources.set(name, { password: SECRET, port: 5000 + i });
    loads.set(name, 0);
    const unit = reloadable({
      name,
      schema: ConfigSchema,
      retry: false,
      load: async () => {
        loads.set(name, (loads.get(name) ?? 0) + 1);
        return structuredClone(sources.get(name));
      },
    });
    units.set(name, unit);
    registry.add(unit);
  });
  if (start) await registry.start();
  return {
    registry,
    sources,
    loads,
    audit,
    units,
    totalLoads: () => [...loads.values()].reduce((a, b) => a + b, 0),
  };
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  body: any;
}

/**
 * One request on a fresh connection. `body` objects are sent as JSON, strings as-is. A request
 * with a body, or with a method other than GET, HEAD and OPTIONS, says `Content-Type:
 * application/json` unless `contentType` says otherwise (`null`: no content type at all).
 */
export function call(
  base: string,
  method: string,
  path: string,
  { token, body, headers = {}, contentType }: { token?: string; body?: unknown; headers?: Record<string, string>; contentType?: string | null } = {},
): Promise<Answer> {
  const url = new URL(base + path);
  const payload = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const allHeaders: Record<string, string> = { ...headers };
  if (token !== undefined) allHeaders.authorization = `Bearer ${token}`;
  const mutating = !['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase());
  if (contentType !== null && (payload !== undefined || mutating)) allHeaders['content-type'] ??= contentType ?? 'application/json';
  if (payload !== undefined) {
    if (allHeaders['transfer-encoding'] === undefined) allHeaders['content-length'] ??= String(Buffer.byteLength(payload));
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers: allHeaders, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
