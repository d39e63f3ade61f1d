/**
 * What bench/fleet.ts and bench/fleet-floor.ts share: worker processes that print one line per
 * commit (`c <instance> <seq> <epoch ms>`), the commit table those lines fill, and waiting on it.
 * Commit times are taken inside each worker (`performance.timeOrigin + performance.now()`, one
 * machine), so the parent's own load does not move them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { wake, waitUntil } from './wait-until.js';

/** seq → (instance → commit epoch ms), across every worker. */
const commits = new Map<number, Map<string, number>>();

/** Time from `started` to the last of `members` commits of `seq`, or undefined if one is missing. */
export async function allCommitted(seq: number, members: number, started: number, timeoutMs: number): Promise<number | undefined> {
  const all = await waitUntil(() => (commits.get(seq)?.size ?? 0) >= members, timeoutMs);
  if (!all) return undefined;
  return Math.max(...commits.get(seq)!.values()) - started;
}

export interface LineWorker {
  child: ChildProcess;
  /** Resolves at the worker's `ready` line. */
  ready: Promise<void>;
  exited: Promise<void>;
}

/**
 * Spawns `node --import tsx <script> ...args`. Its `c` lines go to the commit table, `ready`
 * resolves `ready`, any other line goes to `onLine`.
 */
export function spawnLineWorker(script: string, args: string[], onLine: (line: string) => void = () => undefined): LineWorker {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.startsWith('c ')) {
      const [, instance, seq, at] = line.split(' ');
      let bySeq = commits.get(Number(seq));
      if (!bySeq) commits.set(Number(seq), (bySeq = new Map()));
      bySeq.set(instance!, Number(at));
    } else if (line === 'ready') {
      markReady();
    } else {
      onLine(line);
    }
    wake();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, ready, exited };
}
