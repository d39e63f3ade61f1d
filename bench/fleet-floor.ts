/**
 * The floor of a two-phase rollout's message pattern on this machine: the same etcd writes and
 * wakeups a reloadkit rollout makes, done by bare etcd3 clients in real processes with no work in
 * between (bench/workers/fleet-floor-worker.ts). bench/fleet.ts runs it right after reloadkit's own
 * rounds, with the same process and member counts, so the two compare in one sitting.
 *
 * Two patterns, each timed from just before the first write (as bench/fleet.ts times a rollout
 * from its start decision) to the last member committed, against a plain put measured in the same
 * block (plain, pattern, plain):
 *
 * - `decision`, the pattern reloadkit implements: prepare request → every member writes its
 *   verdict → the controller, on the last verdict, writes the commit decision → members commit.
 *   Three writes one after another, three wakeups.
 * - `verdicts`: members watch the verdicts too and commit on the last one; no decision write.
 *   Two writes, two wakeups, but every process receives every verdict.
 *
 * Run through bench/fleet.ts, or alone: `node --import tsx bench/fleet-floor.ts`.
 */
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd3 } from 'etcd3';
import { allCommitted, spawnLineWorker } from './fleet-commits.js';
import { now, summarize } from './samples.js';

const WORKER = fileURLToPath(new URL('./workers/fleet-floor-worker.ts', import.meta.url));
const ROOT = 'floor/';
const MISS_AFTER_MS = 20_000;
const PAYLOAD = 'x'.repeat(512);

/** Sequence numbers of their own, so the commit table never mixes with bench/fleet.ts's rounds. */
let seq = 1_000_000;

type Pattern = 'decision' | 'verdicts';

async function plainRounds(client: Etcd3, members: number, rounds: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const n = ++seq;
    const started = now();
    await client.put(`${ROOT}ctl/plain`).value(JSON.stringify({ seq: n, payload: PAYLOAD }));
    const took = await allCommitted(n, members, started, MISS_AFTER_MS);
    if (took === undefined) throw new Error(`fleet floor: plain round ${n} missed a member`);
    samples.push(took);
    await sleep(100);
  }
  return samples;
}

async function patternRounds(client: Etcd3, pattern: Pattern, members: number, rounds: number): Promise<number[]> {
  // The controller's side of `decision`: count each round's verdicts, write the decision on the last.
  const counts = new Map<number, number>();
  const watcher = pattern === 'decision' ? await client.watch().prefix(`${ROOT}verdicts/`).create() : undefined;
  watcher?.on('put', (kv) => {
    const n = Number(kv.key.toString().slice(`${ROOT}verdicts/`.length).split('/')[0]);
    const seen = (counts.get(n) ?? 0) + 1;
    counts.set(n, seen);
    if (seen === members) void client.put(`${ROOT}ctl/commit/${n}`).value('{"commit":true}').exec();
  });
  const samples: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const n = ++seq;
      const started = now();
      await client.put(`${ROOT}ctl/prepare/${n}`).value(JSON.stringify({ seq: n, payload: PAYLOAD }));
      const took = await allCommitted(n, members, started, MISS_AFTER_MS);
      if (took === undefined) throw new Error(`fleet floor: ${pattern} round ${n} missed a member`);
      samples.push(took);
      await sleep(100);
    }
  } finally {
    await watcher?.cancel();
  }
  return samples;
}

/** One pattern at one size: fresh worker processes, blocks plain, pattern, plain. */
async function measurePattern(url: string, client: Etcd3, pattern: Pattern, processes: number, membersEach: number, rounds: number) {
  const members = processes * membersEach;
  const workers = Array.from({ length: processes }, (_, i) => spawnLineWorker(WORKER, [url, ROOT, String(i), String(membersEach), pattern, String(members)]));
  try {
    await Promise.all(workers.map((w) => w.ready));
    await plainRounds(client, members, 2); // warm-up
    await patternRounds(client, pattern, members, 1);
    const plainA = await plainRounds(client, members, rounds);
    const two = await patternRounds(client, pattern, members, rounds);
    const plainB = await plainRounds(client, members, rounds);
    const plain = summarize([...plainA, ...plainB]);
    const twoPhase = summarize(two);
    return { plain, twoPhase, ratioP50: Math.round((twoPhase.p50 / plain.p50) * 100) / 100 };
  } finally {
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
    await client.delete().prefix(ROOT).exec();
  }
}

/** Both patterns at one size. */
export async function measureFloor(url: string, client: Etcd3, processes: number, membersEach: number, rounds: number) {
  const decision = await measurePattern(url, client, 'decision', processes, membersEach, rounds);
  const verdicts = await measurePattern(url, client, 'verdicts', processes, membersEach, rounds);
  return {
    what: 'bare etcd3 processes doing only the writes and wakeups of each pattern, from just before the first write to the last member committed, ms; ratio to a bare plain put in the same block',
    decision,
    verdicts,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { startEtcd } = await import('../test/helpers/servers.js');
  const etcd = await startEtcd();
  const client = new Etcd3({ hosts: etcd.url });
  try {
    for (const [processes, each] of [[20, 1], [10, 10]] as const) {
      const floor = await measureFloor(etcd.url, client, processes, each, 6);
      console.log(`${processes * each} members (${processes} × ${each}): ${JSON.stringify({ decision: floor.decision, verdicts: floor.verdicts })}`);
    }
  } finally {
    client.close();
    await etcd.stop();
  }
}
