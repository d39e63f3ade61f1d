/**
 * Zero-downtime benchmark: autocannon against the pool-swap service (examples/pool-swap) while its
 * Redis pool's credentials and size rotate every 50–100 ms.
 *
 *   node --import tsx bench/zero-downtime.ts --full    # 15 s per phase (~75 s): the figures we publish
 *   node --import tsx bench/zero-downtime.ts           # quick (default, also `--quick`): 3 s per phase
 *   node --import tsx bench/zero-downtime.ts --rate 0  # unthrottled closed loop instead of 5000 req/s
 *
 * Three phases, same load, each round against a fresh service process (and its own redis-server);
 * the full mode interleaves 3 rounds of 5 s per phase so load from elsewhere hits all phases alike:
 *   1. baseline  — reloadkit unit, no rotation
 *   2. reloads   — reloadkit unit, rotating (lease + drain, dispose after drain)
 *   3. naive     — plain variable swap, old pool closed at once on every rotation
 *
 * Prints non-2xx, errors, p50/p99 for each, the reloads/baseline p99 ratio, and writes
 * bench/results/zero-downtime.json. Targets: reloads has 0 errors and 0 non-2xx and p99 at most
 * 1.2× the baseline's; naive has failures > 0. Exits 1 if a functional target (failure counts)
 * is missed; the p99 ratio is reported, not enforced (a shared machine is noisy).
 *
 * @module
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quick = !process.argv.includes('--full');
/** Each phase runs `roundsPerPhase` rounds of `roundS` seconds: 15 s in all (full), 3 s (quick). */
const roundsPerPhase = quick ? 1 : 3;
const roundS = quick ? 3 : 5;
const durationS = roundsPerPhase * roundS;
const warmupS = quick ? 1 : 2;
const connections = 16;
/**
 * Offered load in requests/s (`--rate N`; `--rate 0` = as fast as the service answers). A fixed
 * rate below saturation measures what clients of a real service see; an unthrottled closed loop
 * measures queueing behind whatever else the 2 shared cores are doing.
 */
const rate = Number(argValue('--rate') ?? 5000);
if (!Number.isFinite(rate) || rate < 0) throw new TypeError(`Expected --rate to be a number >= 0, got ${argValue('--rate')}`);

function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i === -1 ? undefined : process.argv[i + 1];
}

interface ServiceStats {
  mode: string;
  requests: { ok: number; failed: number };
  rotations: { committed: number; rejected: number; generation: number };
  pools: { opened: number; connections: number; quits: number; closed: number; destroyed: number; doubleCloses: number };
  failureSamples: string[];
}

interface PhaseResult {
  phase: string;
  mode: 'reloadkit' | 'naive';
  rotating: boolean;
  durationS: number;
  connections: number;
  requests: number;
  rps: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** non2xx + errors: every request the client did not get a 2xx for. */
  failed: number;
  /** Exact percentiles (ms, 3 decimals) of every response's time, from autocannon's response events. */
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  /**
   * autocannon's own figures, one per round (its histograms cannot be merged): integer ms and, when
   * the rate is limited, corrected for coordinated omission with a 1 ms expected interval, so one
   * slow response adds a sample for every millisecond it took: they follow the worst stalls.
   */
  autocannonLatencyMs: { p50: number[]; p99: number[] };
  service: ServiceStats;
}

/** Starts `examples/pool-swap/main.ts --serve` in a child process and waits for its URL. */
async function startService(mode: 'reloadkit' | 'naive', rotating: boolean) {
  const args = ['--import', 'tsx', join(root, 'examples/pool-swap/main.ts'), '--serve', '--mode', mode];
  if (!rotating) args.push('--no-rotate');
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const events: Array<Record<string, any>> = [];
  const waiters: Array<() => void> = [];
  lines.on('line', (line) => {
    try {
      events.push(JSON.parse(line) as Record<string, any>);
    } catch {
      process.stderr.write(`[service] ${line}\n`);
    }
    for (const w of waiters.splice(0)) w();
  });
  child.on('exit', () => {
    for (const w of waiters.splice(0)) w();
  });
  const waitFor = (event: string, timeoutMs: number) =>
    new Promise<Record<string, any>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`service did not report '${event}' within ${timeoutMs} ms`)), timeoutMs);
      const check = () => {
        const found = events.find((e) => e.event === event);
        if (found) {
          clearTimeout(timer);
          resolve(found);
        } else if (child.exitCode !== null) {
          clearTimeout(timer);
          reject(new Error(`service exited (code ${child.exitCode}) before reporting '${event}'`));
        } else waiters.push(check);
      };
      check();
    });
  const listening = await waitFor('listening', 30_000);
  return {
    url: String(listening.url),
    /** SIGTERM, then the stats the service prints after draining and closing everything. */
    async stop(): Promise<ServiceStats> {
      const closed = waitFor('closed', 30_000);
      child.kill('SIGTERM');
      const stats = (await closed).stats as ServiceStats;
      await exited(child);
      return stats;
    },
    kill: () => child.kill('SIGKILL'),
  };
}

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await once(child, 'exit');
}

/** Runs autocannon for `seconds`, recording every response's exact time. */
function cannon(url: string, seconds: number): Promise<{ result: autocannon.Result; times: Float64Array; count: number }> {
  let times = new Float64Array(1 << 16);
  let count = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon({ url: `${url}item/1`, connections, duration: seconds, pipelining: 1, ...(rate > 0 ? { overallRate: rate } : {}) }, (error, result) => {
      if (error) reject(error);
      else resolve({ result, times, count });
    });
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      if (count === times.length) {
        const grown = new Float64Array(times.length * 2);
        grown.set(times);
        times = grown;
      }
      times[count++] = responseTime;
    });
  });
}

function percentiles(times: Float64Array, count: number) {
  const sorted = times.slice(0, count).sort();
  const at = (q: number) => round(sorted[Math.max(0, Math.ceil(q * count) - 1)] ?? 0);
  let sum = 0;
  for (const t of sorted) sum += t;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: round(sorted[count - 1] ?? 0), mean: round(count ? sum / count : 0) };
}

const round = (x: number) => Math.round(x * 1000) / 1000;

interface RoundResult {
  result: autocannon.Result;
  times: Float64Array;
  count: number;
  stats: ServiceStats;
}

/** One round of one phase: a fresh service process, a warm-up, then the measured run. */
async function runRound(mode: 'reloadkit' | 'naive', rotating: boolean, seconds: number): Promise<RoundResult> {
  const service = await startService(mode, rotating);
  try {
    await cannon(service.url, warmupS); // JIT, sockets and redis warm; not recorded
    const { result, times, count } = await cannon(service.url, seconds);
    return { result, times, count, stats: await service.stop() };
  } catch (error) {
    service.kill();
    throw error;
  }
}

/** Sums rounds into one phase result; percentiles over every response of every round. */
function aggregate(name: string, mode: 'reloadkit' | 'naive', rotating: boolean, rounds: RoundResult[]): PhaseResult {
  const count = rounds.reduce((n, r) => n + r.count, 0);
  const times = new Float64Array(count);
  let offset = 0;
  for (const r of rounds) {
    times.set(r.times.subarray(0, r.count), offset);
    offset += r.count;
  }
  const sum = (f: (r: RoundResult) => number) => rounds.reduce((n, r) => n + f(r), 0);
  const requests = sum((r) => r.result.requests.total);
  const non2xx = sum((r) => r.result.non2xx);
  const errors = sum((r) => r.result.errors);
  const totalS = roundS * rounds.length;
  return {
    phase: name,
    mode,
    rotating,
    durationS: totalS,
    connections,
    requests,
    // autocannon's own elapsed time: a round can run a little past its nominal duration.
    rps: Math.round(requests / sum((r) => r.result.duration)),
    non2xx,
    errors,
    timeouts: sum((r) => r.result.timeouts),
    failed: non2xx + errors,
    latencyMs: percentiles(times, count),
    autocannonLatencyMs: { p50: rounds.map((r) => r.result.latency.p50), p99: rounds.map((r) => r.result.latency.p99) },
    service: {
      mode,
      requests: { ok: sum((r) => r.stats.requests.ok), failed: sum((r) => r.stats.requests.failed) },
      rotations: { committed: sum((r) => r.stats.rotations.committed), rejected: sum((r) => r.stats.rotations.rejected), generation: Math.max(...rounds.map((r) => r.stats.rotations.generation)) },
      pools: {
        opened: sum((r) => r.stats.pools.opened),
        connections: sum((r) => r.stats.pools.connections),
        quits: sum((r) => r.stats.pools.quits),
        closed: sum((r) => r.stats.pools.closed),
        destroyed: sum((r) => r.stats.pools.destroyed),
        doubleCloses: sum((r) => r.stats.pools.doubleCloses),
      },
      failureSamples: rounds.flatMap((r) => r.stats.failureSamples).slice(0, 5),
    },
  };
}

function print(r: PhaseResult): void {
  const l = r.latencyMs;
  console.log(
    `${r.phase.padEnd(9)} ${String(r.requests).padStart(7)} req  ${String(r.rps).padStart(6)} req/s  ` +
      `non-2xx ${String(r.non2xx).padStart(5)}  errors ${String(r.errors).padStart(3)}  ` +
      `p50 ${l.p50.toFixed(2)} ms  p99 ${l.p99.toFixed(2)} ms  p99.9 ${l.p999.toFixed(2)} ms  max ${l.max.toFixed(1)} ms  ` +
      `rotations ${r.service.rotations.committed}  pools closed after drain ${r.service.pools.closed}, at once ${r.service.pools.destroyed}`,
  );
}

console.log(`zero-downtime: ${quick ? 'quick' : 'full'} mode, ${durationS} s per phase (${roundsPerPhase} interleaved round(s) of ${roundS} s, each after a ${warmupS} s warm-up), ${connections} connections, ${rate > 0 ? `${rate} req/s offered` : 'unthrottled'}, rotation every 50-100 ms`);
const phases = [
  { name: 'baseline', mode: 'reloadkit', rotating: false },
  { name: 'reloads', mode: 'reloadkit', rotating: true },
  { name: 'naive', mode: 'naive', rotating: true },
] as const;
// Rounds interleave the phases (baseline, reloads, naive, baseline, ...) so a burst of load from
// elsewhere on a shared machine spreads over all phases instead of skewing one.
const rounds = new Map<string, RoundResult[]>(phases.map((p) => [p.name, []]));
for (let i = 0; i < roundsPerPhase; i++) {
  for (const p of phases) rounds.get(p.name)!.push(await runRound(p.mode, p.rotating, roundS));
}
const [baseline, reloads, naive] = phases.map((p) => aggregate(p.name, p.mode, p.rotating, rounds.get(p.name)!)) as [PhaseResult, PhaseResult, PhaseResult];
for (const r of [baseline, reloads, naive]) print(r);

const p99Ratio = round(reloads.latencyMs.p99 / baseline.latencyMs.p99);
const p50Ratio = round(reloads.latencyMs.p50 / baseline.latencyMs.p50);
const p999Ratio = round(reloads.latencyMs.p999 / baseline.latencyMs.p999);
const targets = {
  reloadsZeroFailures: reloads.failed === 0 && reloads.service.requests.failed === 0,
  reloadsP99WithinBaseline1_2x: p99Ratio <= 1.2,
  naiveFailures: naive.failed > 0,
  everyRetiredPoolClosedOnce: reloads.service.pools.closed === reloads.service.pools.opened && reloads.service.pools.quits === reloads.service.pools.connections && reloads.service.pools.doubleCloses === 0,
};
console.log(`reloads vs baseline: p50 ×${p50Ratio}, p99 ×${p99Ratio} (target ≤ 1.2), p99.9 ×${p999Ratio}`);
console.log(`autocannon's own p99 per round (integer ms${rate > 0 ? ', coordinated-omission corrected' : ''}): baseline ${baseline.autocannonLatencyMs.p99.join('/')}, reloads ${reloads.autocannonLatencyMs.p99.join('/')}, naive ${naive.autocannonLatencyMs.p99.join('/')}`);
console.log(`naive swap: ${naive.failed} failed requests out of ${naive.requests} (${naive.service.failureSamples[0] ?? 'no failure'})`);
for (const [target, met] of Object.entries(targets)) console.log(`  ${met ? 'met    ' : 'NOT MET'} ${target}`);

const cpu = cpus();
const report = {
  bench: 'zero-downtime',
  command: `node --import tsx ${process.argv.slice(1).map((a) => a.replace(`${root}/`, '')).join(' ')}`,
  date: new Date().toISOString(),
  machine: { cpus: cpu.length, cpuModel: cpu[0]?.model ?? 'unknown', memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform}-${process.arch}` },
  config: { quick, durationS, roundsPerPhase, roundS, warmupS, connections, offeredRate: rate > 0 ? rate : 'unthrottled', rotateEveryMs: [50, 100], requestShape: 'GET /item/1 -> INCR + GET on two pool connections' },
  phases: { baseline, reloads, naive },
  ratios: { p50: p50Ratio, p99: p99Ratio, p999: p999Ratio },
  targets,
};
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/zero-downtime.json'), `${JSON.stringify(report, null, 2)}\n`);
console.log('wrote bench/results/zero-downtime.json');
if (!targets.reloadsZeroFailures || !targets.naiveFailures || !targets.everyRetiredPoolClosedOnce) process.exitCode = 1;
