/**
 * Core benchmarks: each figure is a ratio against a baseline measured in the same process.
 *
 *   get()             vs a plain getter closure reading a field       target ≤ 1.5x
 *   use(syncFn)       vs `await syncFn()`                             target ≤ 3x
 *   unchanged reload  vs hashing the candidate (hashValue)            target ≤ 1.3x
 *   100,000 commits of a disposable resource: all disposed, heap growth after GC ≤ 5 MB
 *
 * Run: `node --import tsx bench/core.ts` (quick, default) or with `--full` for longer rounds.
 * Needs `global.gc`: without --expose-gc the script re-spawns itself with it.
 * Writes bench/results/core.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashValue, reloadable } from '../src/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (typeof gc !== 'function') {
  const child = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(child.status ?? 1);
}
const collect = gc!;

const FULL = process.argv.includes('--full');
const ROUNDS = FULL ? 15 : 7;

/** A realistic service config: ~60 leaves, nested objects and arrays (about 2 KB of JSON). */
function makeConfig(): Record<string, unknown> {
  return {
    service: { name: 'checkout', env: 'production', region: 'eu-west-1', replicas: 6, logLevel: 'info' },
    http: { host: '0.0.0.0', port: 8080, keepAliveMs: 5_000, bodyLimit: 1_048_576, cors: { origins: ['https://a.example', 'https://b.example'], credentials: true } },
    db: { host: 'db.internal', port: 5432, database: 'shop', user: 'svc', pool: { min: 2, max: 20, idleMs: 30_000 }, ssl: { mode: 'verify-full', ca: '/etc/ssl/ca.pem' } },
    cache: { ttlMs: 60_000, maxEntries: 10_000, staleWhileRevalidateMs: 5_000 },
    features: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`feature${i}`, i % 3 === 0])),
    upstreams: Array.from({ length: 6 }, (_, i) => ({ name: `upstream-${i}`, url: `https://up${i}.internal:8443`, timeoutMs: 1_000 + i * 100, retries: 2 })),
    limits: { rps: 500, burst: 1_000, perUser: { rps: 20, burst: 40 } },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** ns per operation of `fn(iterations)`, median over rounds. */
function measureSync(iterations: number, fn: (n: number) => unknown): number {
  fn(Math.min(iterations, 10_000)); // warm-up
  const samples: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    fn(iterations);
    samples.push(Number(process.hrtime.bigint() - t0) / iterations);
  }
  return median(samples);
}

async function measureAsync(iterations: number, fn: (n: number) => Promise<unknown>): Promise<number> {
  await fn(Math.min(iterations, 2_000));
  const samples: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    await fn(iterations);
    samples.push(Number(process.hrtime.bigint() - t0) / iterations);
  }
  return median(samples);
}

interface Figure {
  name: string;
  baseline: string;
  baselineNs: number;
  subjectNs: number;
  ratio: number;
  target: number;
  pass: boolean;
}
const figures: Figure[] = [];

function report(name: string, baseline: string, baselineNs: number, subjectNs: number, target: number): void {
  const ratio = subjectNs / baselineNs;
  figures.push({ name, baseline, baselineNs: +baselineNs.toFixed(2), subjectNs: +subjectNs.toFixed(2), ratio: +ratio.toFixed(3), target, pass: ratio <= target });
  console.log(`${name.padEnd(22)} ${subjectNs.toFixed(1).padStart(9)} ns/op  vs ${baseline.padEnd(26)} ${baselineNs.toFixed(1).padStart(9)} ns/op  ratio ${ratio.toFixed(2)}x (target ≤ ${target}x) ${ratio <= target ? 'ok' : 'MISS'}`);
}

// ─── 1. get() vs a getter closure ────────────────────────────────────────────────────────────
// Two units and two closures are alternated so that neither read is loop-invariant: otherwise the
// JIT hoists the closure's field read out of the loop and the "floor" measures an empty loop.
{
  const r1 = { query: () => 1 };
  const r2 = { query: () => 2 };
  const units = [
    reloadable({ name: 'bench-get-1', load: () => ({ v: 1 }), retry: false, create: () => r1 }),
    reloadable({ name: 'bench-get-2', load: () => ({ v: 2 }), retry: false, create: () => r2 }),
  ];
  await Promise.all(units.map((u) => u.start()));
  const makeGetter = (holder: { field: typeof r1 }) => (): typeof r1 => holder.field;
  const getters = [makeGetter({ field: r1 }), makeGetter({ field: r2 })];
  const N = 20_000_000;
  let sink = 0;
  const baseline = (): number =>
    measureSync(N, (n) => {
      for (let i = 0; i < n; i++) if (getters[i & 1]!() === r1) sink++;
    });
  const subject = (): number =>
    measureSync(N, (n) => {
      for (let i = 0; i < n; i++) if (units[i & 1]!.get() === r1) sink++;
    });
  // Interleave so drift (thermal, other processes) hits both alike.
  const b: number[] = [];
  const s: number[] = [];
  for (let k = 0; k < 3; k++) {
    b.push(baseline());
    s.push(subject());
  }
  report('get()', 'getter closure', median(b), median(s), 1.5);
  if (sink === 42) console.log('');
  await Promise.all(units.map((u) => u.close()));
}

// ─── 2. use(syncFn) vs await syncFn() ────────────────────────────────────────────────────────
{
  const resource = { n: 1 };
  const unit = reloadable({ name: 'bench-use', load: () => ({ v: 1 }), retry: false, create: () => resource });
  await unit.start();
  const syncFn = (r: { n: number }): number => r.n + 1;
  let sink = 0;
  const N = 300_000;
  const b = await measureAsync(N, async (n) => {
    for (let i = 0; i < n; i++) sink += await syncFn(resource);
  });
  const s = await measureAsync(N, async (n) => {
    for (let i = 0; i < n; i++) sink += await unit.use(syncFn);
  });
  report('use(syncFn)', 'await syncFn()', b, s, 3);
  if (sink === 42) console.log('');
  await unit.close();
}

// ─── 3. an unchanged reload vs hashing the candidate ─────────────────────────────────────────
{
  const candidate = makeConfig();
  const unit = reloadable({ name: 'bench-unchanged', load: () => candidate, retry: false });
  await unit.start();
  let sink = 0;
  const N = 20_000;
  const b = await measureAsync(N, async (n) => {
    for (let i = 0; i < n; i++) if (hashValue(candidate).length > 0) sink++;
  });
  const s = await measureAsync(N, async (n) => {
    for (let i = 0; i < n; i++) if ((await unit.reload()).status === 'unchanged') sink++;
  });
  report('unchanged reload', 'hashValue(candidate)', b, s, 1.3);
  // Same with the default retry (p-retry on load): reported, not a target.
  const withRetry = reloadable({ name: 'bench-unchanged-retry', load: () => candidate });
  await withRetry.start();
  const r = await measureAsync(N, async (n) => {
    for (let i = 0; i < n; i++) if ((await withRetry.reload()).status === 'unchanged') sink++;
  });
  console.log(`  (with default retry: ${(r / b).toFixed(2)}x)`);
  figures.push({ name: 'unchanged reload, default retry', baseline: 'hashValue(candidate)', baselineNs: +b.toFixed(2), subjectNs: +r.toFixed(2), ratio: +(r / b).toFixed(3), target: Number.NaN, pass: true });
  if (sink === 42) console.log('');
  await Promise.all([unit.close(), withRetry.close()]);
}

// ─── 4. 100,000 commits of a disposable resource ─────────────────────────────────────────────
let memory: { commits: number; created: number; disposed: number; heapGrowthMB: number; targetMB: number; pass: boolean };
{
  const COMMITS = 100_000;
  let created = 0;
  let disposed = 0;
  let version = 0;
  const unit = reloadable({
    name: 'bench-commits',
    load: () => ({ version: ++version }),
    retry: false,
    hash: (v) => String(v.version),
    create: (cfg) => {
      created++;
      return { version: cfg.version, buffer: new Array<number>(16).fill(cfg.version) };
    },
    dispose: () => {
      disposed++;
    },
  });
  await unit.start();
  for (let i = 0; i < 1_000; i++) await unit.reload(); // warm-up: reach the steady state first
  collect();
  collect();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < COMMITS; i++) await unit.reload();
  await new Promise((resolve) => setImmediate(resolve));
  collect();
  collect();
  const after = process.memoryUsage().heapUsed;
  const growth = (after - before) / (1024 * 1024);
  await unit.close();
  const ok = created === disposed && growth <= 5;
  memory = { commits: COMMITS, created, disposed, heapGrowthMB: +growth.toFixed(2), targetMB: 5, pass: ok };
  console.log(`100,000 commits         created ${created}, disposed ${disposed}, heap growth after GC ${growth.toFixed(2)} MB (target ≤ 5 MB) ${ok ? 'ok' : 'MISS'}`);
}

const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'core.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ node: process.version, mode: FULL ? 'full' : 'quick', date: new Date().toISOString(), figures, memory }, null, 2)}\n`);
console.log(`wrote ${out}`);
