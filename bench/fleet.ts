/**
 * bench/fleet: a one-step two-phase rollout to every member of a fleet (`rollout()` with
 * `steps: [{ percent: 100 }]`: each member prepares the candidate, then all commit), timed from
 * just before `rollout()` to the last member's `committed` event, against the baseline measured
 * in the same run: a plain put of the canonical key to the last member's `committed` event. At 20
 * members (20 processes × 1) and 100 members (10 processes × 10). Also checks that each process
 * holds one fleet watch, whatever its number of members.
 *
 * Run: `node --import tsx bench/fleet.ts` (quick, default) or `node --import tsx bench/fleet.ts --full`.
 * Writes bench/results/fleet.json. Target: rollout p50 from prepare start at most 2× the plain put
 * p50. Each size is followed by bench/fleet-floor.ts at the same shape: the same writes and wakeups
 * done by bare etcd3 processes, the floor this machine sets for the pattern.
 *
 * Rounds run in blocks plain, rollout, plain (so a drift of the machine's load between blocks
 * shows as a difference between the two plain blocks instead of skewing the ratio). Commit times
 * are taken inside each worker (`performance.timeOrigin + performance.now()`, one machine). The
 * 1-minute load average is recorded for each size: the machine is a shared 2-core one.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd3 } from 'etcd3';
import { fleetKeys, rollout } from '../src/fleet/index.js';
import { startEtcd } from '../test/helpers/servers.js';
import { measureFloor } from './fleet-floor.js';
import { allCommitted as committedWithin, spawnLineWorker, type LineWorker } from './fleet-commits.js';
import { now, summarize } from './samples.js';
import { waitUntil } from './wait-until.js';

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

interface Worker extends LineWorker {
  watches: Array<{ fleet: number; source: number }>;
}

function spawnWorker(url: string, index: number, members: number): Worker {
  const watches: Worker['watches'] = [];
  const worker = spawnLineWorker(WORKER, [url, FLEET, String(index), String(members)], (line) => {
    const [tag, a, b] = line.split(' ');
    if (tag === 'w') watches.push({ fleet: Number(a), source: Number(b) });
  });
  return { ...worker, watches };
}

let seq = 0;
const config = (n: number) => ({ seq: n, payload: PAYLOAD });

const allCommitted = (n: number, members: number, started: number) => committedWithin(n, members, started, MISS_AFTER_MS);

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
  // Every record version wakes every member: count them (creation included).
  let recordVersions = 0;
  const records = await client.watch().prefix(fleetKeys(FLEET).rollouts).create();
  records.on('put', () => recordVersions++);
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
  await records.cancel();
  return { samples, fromStart, doneSamples, phases, missed, recordVersionsPerRollout: recordVersions / rounds };
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
  // The floor of the same message pattern, bare etcd3 processes of the same shape, right after.
  const floor = await measureFloor(url, client, processes, membersEach, ROUNDS);
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
    recordVersionsPerRollout: rolled.recordVersionsPerRollout,
    ratioP50: ratio,
    ratioFromStartP50: ratioFromStart,
    ratioP99: Math.round((roll.p99 / plain.p99) * 100) / 100,
    floor,
    /** reloadkit's two-phase rollout from its start against the bare pattern's floor, p50. */
    overFloorP50: Math.round((fromStart.p50 / floor.decision.twoPhase.p50) * 100) / 100,
    watchesPerProcess: { fleet: fleetWatches, source: sourceWatches },
    loadAverage1m: load,
  };
  console.log(
    `${members} members (${processes} × ${membersEach}): plain put p50 ${plain.p50} ms p99 ${plain.p99} ms | rollout p50 ${roll.p50} ms p99 ${roll.p99} ms (done p50 ${done.p50} ms; phases p50 start ${phases.start} / prepare ${phases.prepare} / commit ${phases.commit} ms) | from prepare start p50 ${fromStart.p50} ms p99 ${fromStart.p99} ms | ratio p50 ×${ratio} (from prepare start ×${ratioFromStart}) | record versions per rollout ${rolled.recordVersionsPerRollout} | floor (bare etcd3): decision pattern p50 ${floor.decision.twoPhase.p50} ms (×${floor.decision.ratioP50} a bare put), verdicts-only pattern p50 ${floor.verdicts.twoPhase.p50} ms (×${floor.verdicts.ratioP50}); rollout from prepare start ×${result.overFloorP50} the decision floor | fleet watches per process ${fleetWatches}, source watches ${sourceWatches} | load ${load.before.toFixed(2)} → ${load.after.toFixed(2)}`,
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
  const met = sizes.every((s) => s.ratioFromStartP50 <= TARGET_RATIO && s.watchesPerProcess.fleet === 1);
  console.log(`target rollout p50 from prepare start <= ${TARGET_RATIO}× plain put p50, one fleet watch per process: ${met ? 'met' : 'NOT met'}`);
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
