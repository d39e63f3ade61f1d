/**
 * Helpers for the config tests: temporary directories and the child process that owns its
 * environment (see fixtures/child.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'child.ts');

/** A fresh directory; `write(name, text)` creates files in it; `cleanup` removes it. */
export async function configDir(): Promise<{ dir: string; path(name: string): string; write(name: string, text: string): Promise<string>; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'reloadkit-config-'));
  return {
    dir,
    path: (name) => join(dir, name),
    async write(name, text) {
      const full = join(dir, name);
      await mkdir(dirname(full), { recursive: true });
      await writeFile(full, text);
      return full;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Only what node needs, plus `env`: the child sees no variable of the test process. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', ...(process.env.CI ? { CI: process.env.CI } : {}), ...env };
}

/** What a one-shot child reports. */
export interface ChildResult {
  ok: boolean;
  code?: string;
  message?: string;
  value?: any;
  raw?: any;
  readError?: string;
  provenance?: Record<string, string>;
  explained: Record<string, string | null>;
}

/** Runs the child once with exactly `env` and returns its report. */
export function runChild(spec: object, env: Record<string, string> = {}, argv: string[] = []): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(spec), ...argv], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop();
      if (code !== 0 || !line) reject(new Error(`child exited with ${code}: ${err.slice(0, 2000)}`));
      else resolve(JSON.parse(line) as ChildResult);
    });
  });
}

/** A long-running child printing one event per line. */
export interface WatchingChild {
  events: any[];
  /** Resolves with the first event at index >= `from` matching `filter`. */
  next(filter: (e: any) => boolean, from?: number, timeoutMs?: number): Promise<any>;
  /** Resolves once no event has arrived for 400 ms (startup catch-up hints are over). */
  quiet(): Promise<void>;
  close(): Promise<void>;
}

export async function watchChild(spec: object, env: Record<string, string> = {}): Promise<WatchingChild> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify({ ...spec, watch: true })], { env: childEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
  const events: any[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    events.push(JSON.parse(line));
    for (const w of waiters) w();
  });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const api: WatchingChild = {
    events,
    next(filter, from = 0, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = events.slice(from).find(filter);
          if (found === undefined) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for a child event; got ${JSON.stringify(events)}; stderr: ${stderr.slice(0, 1000)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async quiet() {
      for (;;) {
        const before = events.length;
        await new Promise((r) => setTimeout(r, 400));
        if (events.length === before) return;
      }
    },
    async close() {
      child.stdin!.end();
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    },
  };
  await api.next((e) => e.event === 'ready');
  return api;
}
