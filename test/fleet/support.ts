/**
 * Spawning fleet members (test/fleet/member-worker.ts) and controllers (controller-worker.ts) as
 * real child processes, and reading their logs.
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import type { Etcd3 } from 'etcd3';
import { fleetKeys, type RolloutRecord } from '../../src/fleet/index.js';
import { wantsCandidate } from '../../src/fleet/decide.js';
import { startEtcd, type RunningServer } from '../helpers/servers.js';
import { testEtcdClient } from '../etcd/support.js';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../helpers/wait.js';

const MEMBER = fileURLToPath(new URL('./member-worker.ts', import.meta.url));

export interface Proc {
  id: string;
  child: ChildProcess;
  lines: string[];
  exited: Promise<void>;
}

export function spawnProc(script: string, args: string[], id: string, env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { id, child, lines, exited };
}

export function spawnMember(url: string, fleet: string, instance: string, labels: Record<string, string>, blockedPort?: number, env: Record<string, string> = {}): Proc {
  return spawnProc(MEMBER, [url, fleet, instance, JSON.stringify(labels), ...(blockedPort === undefined ? [] : [String(blockedPort)])], instance, env);
}

export async function allReady(procs: Proc[]): Promise<void> {
  await waitFor(() => procs.every((p) => p.lines.includes('ready')), { message: 'members ready', timeoutMs: 90_000 });
}

export async function ask<T>(proc: Proc, question: 'stats' | 'status'): Promise<T> {
  const before = proc.lines.length;
  proc.child.stdin!.write(`${question}\n`);
  const line = await waitFor(() => proc.lines.slice(before).find((l) => l.startsWith(`${question} `)), { message: `${proc.id} answers ${question}` });
  return JSON.parse(line.slice(question.length + 1)) as T;
}

/** Tags of the configs this process ever served (its own commit log). */
export const served = (proc: Proc): string[] => proc.lines.filter((l) => l.startsWith('serve ')).map((l) => l.split(' ')[2]!);
/** How many resources for `tag` the process created and disposed. */
export const counts = (proc: Proc, tag: string) => ({
  created: proc.lines.filter((l) => l === `create ${tag}`).length,
  disposed: proc.lines.filter((l) => l === `dispose ${tag}`).length,
});

/**
 * After a crash test: every member serves the hash `final` says (`tag` where the record wants the
 * candidate or is done, `previous` elsewhere), and its own log balances the `tag` resources it
 * created and disposed (one live where it serves `tag`, none elsewhere).
 */
export async function consistent(final: RolloutRecord, members: Proc[], tag: string, previous: string): Promise<void> {
  for (const m of members) {
    const want = wantsCandidate(final, m.id) || final.state === 'done' ? tag : previous;
    await waitFor(() => served(m).at(-1) === want, { message: `${m.id} serves ${want}` });
    const { created, disposed } = counts(m, tag);
    await waitFor(() => counts(m, tag).created - counts(m, tag).disposed === (want === tag ? 1 : 0), { message: `${m.id}: every ${tag} resource committed or disposed` });
    assert.ok(created >= 1 || want !== tag, `${m.id} created ${tag}`);
    assert.ok(disposed <= created);
  }
}

export async function killAll(procs: Proc[]): Promise<void> {
  for (const p of procs) p.child.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
}

async function tcpServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

export interface FleetEnv {
  readonly etcd: RunningServer;
  readonly client: Etcd3;
  /** Two real TCP "databases" a config's `db` names by port. */
  readonly db1: number;
  readonly db2: number;
  readonly procs: Proc[];
  /**
   * Writes `{ tag: 'v1', db: db1 }` to the fleet's canonical key, then starts `n` members
   * `<fleet>-m<i>`: those in `zoneB` have label zone=b and cannot reach db2; the others zone=a.
   */
  fleetOf(fleet: string, n: number, zoneB?: Set<number>, env?: Record<string, string>): Promise<Proc[]>;
}

/** One etcd, two TCP servers and the spawned processes of a `describe` (hooks). */
export function useFleetEnv(): FleetEnv {
  let etcd: RunningServer | undefined;
  let client: Etcd3 | undefined;
  let db1: { server: Server; port: number } | undefined;
  let db2: { server: Server; port: number } | undefined;
  const procs: Proc[] = [];
  before(async () => {
    etcd = await startEtcd();
    client = testEtcdClient(etcd.url);
    db1 = await tcpServer();
    db2 = await tcpServer();
  });
  after(async () => {
    await killAll(procs);
    client?.close();
    await etcd?.stop();
    db1?.server.close();
    db2?.server.close();
  });
  const env: FleetEnv = {
    get etcd() {
      return etcd!;
    },
    get client() {
      return client!;
    },
    get db1() {
      return db1!.port;
    },
    get db2() {
      return db2!.port;
    },
    procs,
    async fleetOf(fleet, n, zoneB = new Set(), extra = {}) {
      await client!.put(fleetKeys(fleet).canonical('config')).value(JSON.stringify({ tag: 'v1', db: db1!.port }));
      const started = Array.from({ length: n }, (_, i) => spawnMember(etcd!.url, fleet, `${fleet}-m${i}`, { zone: zoneB.has(i) ? 'b' : 'a' }, zoneB.has(i) ? db2!.port : undefined, extra));
      procs.push(...started);
      await allReady(started);
      return started;
    },
  };
  return env;
}
