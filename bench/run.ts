/**
 * Runs every benchmark under bench/ in its quick mode, one after another (never in parallel: the
 * figures would disturb each other), then prints a summary and collects bench/results/*.json.
 *
 *   npm run bench                                  # = node --import tsx bench/run.ts
 *   node --import tsx bench/run.ts --only core,zero-downtime
 *
 * Each benchmark runs as its own process, `node --import tsx bench/<name>.ts`, with `--quick` when
 * its source mentions that flag. bench/zero-downtime.ts runs in its quick mode (~3 s per phase);
 * its full mode is run by hand. The summary is also written to bench/results/summary.json.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = join(benchDir, '..');
const resultsDir = join(benchDir, 'results');
const SUMMARY = 'summary.json';
/** A quick benchmark should take well under a minute; this only catches a hung one. */
const PER_BENCH_TIMEOUT_MS = 5 * 60_000;
/** Run order: the core first, the end-to-end proof last; anything else alphabetically between. */
const ORDER = ['core', 'file', 'http', 'etcd', 'cache', 'mcp'];

const { values } = parseArgs({ options: { only: { type: 'string' } } });
const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);

interface Outcome {
  bench: string;
  command: string;
  ok: boolean;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  seconds: number;
}

/**
 * Every `bench/<name>.ts` except this runner. A file whose name starts with `_` is a shared helper,
 * not a benchmark, and so is one that never mentions `results` (every benchmark writes
 * bench/results/<name>.json).
 */
function discover(): string[] {
  const names = readdirSync(benchDir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith('_') && f !== basename(fileURLToPath(import.meta.url)))
    .filter((f) => readFileSync(join(benchDir, f), 'utf8').includes('results'))
    .map((f) => f.slice(0, -3));
  const rank = (n: string) => (n === 'zero-downtime' ? ORDER.length + 1 : ORDER.includes(n) ? ORDER.indexOf(n) : ORDER.length);
  return names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b)).filter((n) => !only || only.includes(n));
}

function supportsQuick(name: string): boolean {
  return readFileSync(join(benchDir, `${name}.ts`), 'utf8').includes('--quick');
}

function runOne(name: string): Promise<Outcome> {
  const args = ['--import', 'tsx', `bench/${name}.ts`, ...(supportsQuick(name) ? ['--quick'] : [])];
  const command = `node ${args.join(' ')}`;
  console.log(`\n── ${command}`);
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, PER_BENCH_TIMEOUT_MS);
    const finish = (exitCode: number | null, signal: string | null) => {
      clearTimeout(timer);
      const seconds = Math.round((performance.now() - started) / 100) / 10;
      resolve({ bench: name, command, ok: exitCode === 0 && !timedOut, exitCode, signal, timedOut, seconds });
    };
    child.once('error', (error) => {
      console.error(`could not start ${command}: ${error.message}`);
      finish(null, null);
    });
    child.once('exit', finish);
  });
}

/** Every results file, marked fresh when this run (re)wrote it. */
function collect(since: number) {
  if (!existsSync(resultsDir)) return [];
  return readdirSync(resultsDir)
    .filter((f) => f.endsWith('.json') && f !== SUMMARY)
    .sort()
    .map((file) => {
      const path = join(resultsDir, file);
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(path, 'utf8'));
      } catch (error) {
        parsed = { unreadable: (error as Error).message };
      }
      return { file: `bench/results/${file}`, fresh: statSync(path).mtimeMs >= since, result: parsed };
    });
}

const startedAt = Date.now();
const benches = discover();
if (benches.length === 0) {
  console.error(only ? `no benchmark matches --only ${values.only}` : 'no benchmark found under bench/');
  process.exit(1);
}
console.log(`running ${benches.length} benchmark(s), one at a time: ${benches.join(', ')}`);
const outcomes: Outcome[] = [];
for (const name of benches) outcomes.push(await runOne(name));

const results = collect(startedAt);
console.log('\n── summary');
for (const o of outcomes) {
  const status = o.ok ? 'ok  ' : o.timedOut ? 'TIMEOUT' : `FAIL (exit ${o.exitCode ?? o.signal})`;
  const file = results.find((r) => basename(r.file, '.json') === o.bench);
  console.log(`  ${status.padEnd(8)} ${o.bench.padEnd(14)} ${String(o.seconds).padStart(6)} s  ${file ? `${file.file}${file.fresh ? '' : ' (stale: not rewritten by this run)'}` : 'no results file'}`);
}
for (const r of results.filter((r) => !outcomes.some((o) => basename(r.file, '.json') === o.bench))) {
  console.log(`  (also present: ${r.file}${r.fresh ? '' : ', stale'})`);
}

mkdirSync(resultsDir, { recursive: true });
const summary = {
  date: new Date(startedAt).toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}` },
  runs: outcomes,
  results,
};
writeFileSync(join(resultsDir, SUMMARY), `${JSON.stringify(summary, null, 2)}\n`);
console.log(`wrote bench/results/${SUMMARY}`);
if (outcomes.some((o) => !o.ok)) process.exitCode = 1;
