/** Test fixtures of the mcp area: small real models (no mocks of the protocol) and a raw hostile server. */
import { createServer, request } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { ModelImplementation } from '../../src/mcp/server.js';

/**
 * A word-scoring model: counts listed words in the input text, one weight table per version.
 * `broken` fails every fifth request; `slowload` takes a while to load; `badload` fails to load.
 */
export function wordModel(name = 'words'): ModelImplementation<{ threshold: number; label?: string }> & { loads: string[]; unloads: string[] } {
  const tables: Record<string, Record<string, number>> = {
    v1: { good: 1, bad: -1 },
    v2: { good: 2, bad: -2, great: 3 },
    broken: { good: 1, bad: -1 },
    slowload: { good: 1 },
    badload: {},
    dead: {},
  };
  const loaded = new Set<string>();
  const counters = new Map<string, number>();
  const loads: string[] = [];
  const unloads: string[] = [];
  return {
    name,
    versions: Object.keys(tables),
    preload: ['v1'],
    loads,
    unloads,
    contextSchema: z.object({ threshold: z.number(), label: z.string().max(50).optional() }),
    initialContext: { threshold: 0 },
    inputSchema: z.object({ text: z.string().max(10_000) }),
    async load(version) {
      loads.push(version);
      if (version === 'slowload') await new Promise((r) => setTimeout(r, 300));
      if (version === 'badload') throw new Error('weights file is corrupt');
      loaded.add(version);
    },
    unload(version) {
      unloads.push(version);
      loaded.delete(version);
    },
    infer(version, input, { context }) {
      if (!loaded.has(version)) throw new Error(`${version} not loaded`);
      const n = (counters.get(version) ?? 0) + 1;
      counters.set(version, n);
      if (version === 'broken' && n % 5 === 0) throw new Error('broken version: scoring failed');
      if (version === 'dead') throw new Error('dead version: always fails');
      const table = tables[version] ?? {};
      const score = (input as { text: string }).text.toLowerCase().split(/\W+/).reduce((s, w) => s + (table[w] ?? 0), 0);
      return { score, positive: score > context.threshold };
    },
  };
}

/** A raw HTTP server for hostile-response tests: `respond` decides everything. */
export async function rawServer(respond: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(respond);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/**
 * A streaming HTTP proxy in front of a real MCP server. `decide(body)` sees each POST body:
 * `pass` forwards it, `drop` kills the client's socket without forwarding, `land` forwards it,
 * waits for the whole answer, then kills the client's socket (the answer is lost).
 */
export async function mcpProxy(target: string, decide: (body: string) => 'pass' | 'drop' | 'land'): Promise<{ url: string; close(): Promise<void> }> {
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      const verdict = req.method === 'POST' ? decide(body.toString('utf8')) : 'pass';
      if (verdict === 'drop') { req.socket.destroy(); return; }
      const headers = { ...req.headers, host: upstream.host };
      const forward = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers }, (up) => {
        if (verdict === 'land') {
          up.resume();
          up.once('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      forward.on('error', () => req.socket.destroy());
      res.on('close', () => forward.destroy());
      forward.end(body);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${upstream.pathname}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
