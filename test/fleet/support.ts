/**
 * Spawning fleet members (test/fleet/member-worker.ts) and controllers (controller-worker.ts) as
 * real child processes, and reading their logs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
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

export async function killAll(procs: Proc[]): Promise<void> {
  for (const p of procs) p.child.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
}
