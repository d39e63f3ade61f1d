/**
 * bench/fleet: a one-step two-phase rollout to every member of a fleet (`rollout()` with
 * `steps: [{ percent: 100 }]`: each member prepares the candidate, then all commit), timed from
 * just before `rollout()` to the last member's `committed` event, against the baseline measured
 * in the same run: a plain put of the canonical key to the last member's `committed` event. At 20
 * members (20 processes × 1) and 100 members (10 processes × 10). Also checks that each process
 * holds one fleet watch, whatever its number of members.
 *
 * Run: `node --import tsx bench/fleet.ts` (quick, default) or `node --import tsx bench/fleet.ts --full`.
 * Writes bench/results/fleet.json. Target (issue 14): rollout p50 at most 2× the plain put p50.
 *
 * Rounds run in blocks plain, rollout, plain (so a drift of the machine's load between blocks
 * shows as a difference between the two plain blocks instead of skewing the ratio). Commit times
 * are taken inside each worker (`performance.timeOrigin + performance.now()`, one machine). The
 * 1-minute load average is recorded for each size: the machine is a shared 2-core one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd3 } from 'etcd3';
import { fleetKeys, rollout } from '../src/fleet/index.js';
import { startEtcd } from '../test/helpers/servers.js';

const FULL = process.argv.includes('--full');
const ROUNDS = FULL ? 20 : 6;
const SIZES = [
  { processes: 20, members: 1 },
  { processes: 10, members: 10 },
];
const TARGET_RATIO = 2;
const MISS_AFTER_MS = 20_000;
const WORKER = fileURLToPath(new URL('./workers/fleet-worker.ts', import.meta.url));
const FLEET = 'bench';
const KEY = fleetKeys(FLEET).canonical('config');
const PAYLOAD = 'x'.repeat(512);

const now = () => performance.timeOrigin + performance.now();

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

function summarize(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return { n: sorted.length, p50: round(percentile(sorted, 50)), p99: round(percentile(sorted, 99)), max: round(sorted.at(-1) ?? Number.NaN) };
}

/** Woken by every worker line: checks run then, not on a timer. */
const waiters = new Set<() => void>();
function wake(): void {
  for (const waiter of [...waiters]) waiter();
}

function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  if (check()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      waiters.delete(waiter);
      resolve(ok);
    };
    const waiter = () => {
      if (check()) done(true);
    };
    const timer = setTimeout(() => done(check()), timeoutMs);
    waiters.add(waiter);
  });
}

interface Worker {
  child: ChildProcess;
  /** seq → instance → commit time. */
  watches: Array<{ fleet: number; source: number }>;
  ready: Promise<void>;
  exited: Promise<void>;
}

/** seq → (instance → commit epoch ms), across every worker. */
const commits = new Map<number, Map<string, number>>();

function spawnWorker(url: string, index: number, members: number): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, url, FLEET, String(index), String(members)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const watches: Worker['watches'] = [];
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const [tag, a, b, c] = line.split(' ');
    if (tag === 'c') {
      const seq = Number(b);
      let bySeq = commits.get(seq);
      if (!bySeq) commits.set(seq, (bySeq = new Map()));
      bySeq.set(a!, Number(c));
    } else if (tag === 'w') {
      watches.push({ fleet: Number(a), source: Number(b) });
    } else if (line === 'ready') {
      markReady();
    }
    wake();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, watches, ready, exited };
}

let seq = 0;
const config = (n: number) => ({ seq: n, payload: PAYLOAD });

/** Time from `started` to the last of `members` commits of `n`, or undefined if one is missing. */
async function allCommitted(n: number, members: number, started: number): Promise<number | undefined> {
  const all = await waitUntil(() => (commits.get(n)?.size ?? 0) >= members, MISS_AFTER_MS);
  if (!all) return undefined;
  return Math.max(...commits.get(n)!.values()) - started;
}

async function plainRounds(client: Etcd3, members: number, rounds: number): Promise<{ samples: number[]; missed: number }> {
  const samples: number[] = [];
  let missed = 0;
  for (let i = 0; i < rounds; i++) {
    const n = ++seq;
    const started = now();
    await client.put(KEY).value(JSON.stringify(config(n)));
    const took = await allCommitted(n, members, started);
    if (took === undefined) missed++;
    else samples.push(took);
    await sleep(100);
  }
  return { samples, missed };
}

async function rolloutRounds(client: Etcd3, members: number, rounds: number) {
  const samples: number[] = [];
  /** From the rollout's start (its record written: the prepare phase starts) to the last member committed. */
  const fromStart: number[] = [];
  const doneSamples: number[] = [];
  /** Where the time goes: rollout() to the start decision, start to the commit decision (prepare), commit decision to the last commit. */
  const phases = { start: [] as number[], prepare: [] as number[], commit: [] as number[] };
  let missed = 0;
  for (let i = 0; i < rounds; i++) {
    const n = ++seq;
    const started = now();
    const handle = await rollout({ client, fleet: FLEET, unit: 'config', candidate: config(n), strategy: { steps: [{ percent: 100 }], twoPhase: true }, actor: 'bench', reason: 'bench/fleet' });
    const took = await allCommitted(n, members, started);
    const final = await handle.done;
    if (final.state !== 'done') throw new Error(`rollout ${final.id} ended ${final.state}`);
    doneSamples.push(now() - started);
    if (took === undefined) missed++;
    else {
      samples.push(took);
      const at = (action: string) => final.decisions.find((d) => d.action === action)?.at;
      const start = at('start');
      const commit = at('commit');
      if (start !== undefined) fromStart.push(started + took - start);
      if (start !== undefined && commit !== undefined) {
        phases.start.push(start - started);
        phases.prepare.push(commit - start);
        phases.commit.push(started + took - commit);
      }
    }
    // The members resume their sources once they see the rollout done: let them, before the next round.
    await sleep(300);
  }
  return { samples, fromStart, doneSamples, phases, missed };
}

async function measure(url: string, client: Etcd3, processes: number, membersEach: number) {
  const members = processes * membersEach;
  const workers = Array.from({ length: processes }, (_, i) => spawnWorker(url, i, membersEach));
  await Promise.all(workers.map((w) => w.ready));
  const load = { before: loadavg()[0]!, after: Number.NaN };
  await plainRounds(client, members, 2); // warm-up
  await rolloutRounds(client, members, 1);
  const plainA = await plainRounds(client, members, ROUNDS);
  const rolled = await rolloutRounds(client, members, ROUNDS);
  const plainB = await plainRounds(client, members, ROUNDS);
  load.after = loadavg()[0]!;
  for (const w of workers) w.child.kill('SIGUSR2');
  await waitUntil(() => workers.every((w) => w.watches.length >= 2), MISS_AFTER_MS);
  const fleetWatches = Math.max(...workers.flatMap((w) => w.watches.map((x) => x.fleet)));
  const sourceWatches = Math.max(...workers.flatMap((w) => w.watches.map((x) => x.source)));
  for (const w of workers) w.child.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exited));
  const plain = summarize([...plainA.samples, ...plainB.samples]);
  const roll = summarize(rolled.samples);
  const fromStart = summarize(rolled.fromStart);
  const done = summarize(rolled.doneSamples);
  const phases = { start: summarize(rolled.phases.start).p50, prepare: summarize(rolled.phases.prepare).p50, commit: summarize(rolled.phases.commit).p50 };
  const ratio = Math.round((roll.p50 / plain.p50) * 100) / 100;
  const ratioFromStart = Math.round((fromStart.p50 / plain.p50) * 100) / 100;
  const result = {
    processes,
    membersPerProcess: membersEach,
    members,
    plain: { what: 'put of the canonical key to the last member committed, ms', ...plain, missed: plainA.missed + plainB.missed, p50FirstBlock: summarize(plainA.samples).p50, p50LastBlock: summarize(plainB.samples).p50 },
    rollout: { what: 'rollout() (one step, 100 %, two-phase) to the last member committed, ms', ...roll, missed: rolled.missed },
    rolloutFromStart: { what: 'the start decision (record written, prepare starts; epoch ms) to the last member committed, ms', ...fromStart },
    rolloutDone: { what: 'rollout() to handle.done (record done, canonical key written), ms', ...done },
    rolloutPhasesP50: { what: 'rollout() to the start decision, start to the commit decision (prepare everywhere), commit decision to the last member committed, ms', ...phases },
    ratioP50: ratio,
    ratioFromStartP50: ratioFromStart,
    ratioP99: Math.round((roll.p99 / plain.p99) * 100) / 100,
    watchesPerProcess: { fleet: fleetWatches, source: sourceWatches },
    loadAverage1m: load,
  };
  console.log(
    `${members} members (${processes} × ${membersEach}): plain put p50 ${plain.p50} ms p99 ${plain.p99} ms | rollout p50 ${roll.p50} ms p99 ${roll.p99} ms (done p50 ${done.p50} ms; phases p50 start ${phases.start} / prepare ${phases.prepare} / commit ${phases.commit} ms) | from prepare start p50 ${fromStart.p50} ms p99 ${fromStart.p99} ms | ratio p50 ×${ratio} (from prepare start ×${ratioFromStart}) | fleet watches per process ${fleetWatches}, source watches ${sourceWatches} | load ${load.before.toFixed(2)} → ${load.after.toFixed(2)}`,
  );
  return result;
}

const etcd = await startEtcd();
const client = new Etcd3({ hosts: etcd.url });
try {
  await client.put(KEY).value(JSON.stringify(config(++seq)));
  const loadBefore = loadavg()[0]!;
  console.log(`etcd ${etcd.url}, ${FULL ? 'full' : 'quick'} mode (${ROUNDS} rounds per block), ${cpus().length} CPUs, load average ${loadBefore.toFixed(2)}`);
  const sizes = [];
  for (const { processes, members } of SIZES) sizes.push(await measure(etcd.url, client, processes, members));
  const met = sizes.every((s) => s.ratioP50 <= TARGET_RATIO && s.watchesPerProcess.fleet === 1);
  console.log(`target rollout p50 <= ${TARGET_RATIO}× plain put p50, one fleet watch per process: ${met ? 'met' : 'NOT met'}`);
  const results = {
    bench: 'fleet',
    date: new Date().toISOString(),
    mode: FULL ? 'full' : 'quick',
    command: `node --import tsx bench/fleet.ts${FULL ? ' --full' : ''}`,
    machine: { cpus: cpus().length, node: process.version, loadAverage1m: { before: loadBefore, after: loadavg()[0] } },
    rounds: ROUNDS,
    sizes,
    target: { ratioP50: TARGET_RATIO, met },
  };
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}fleet.json`, `${JSON.stringify(results, null, 2)}\n`);
  console.log('wrote bench/results/fleet.json');
} finally {
  client.close();
  await etcd.stop();
}
