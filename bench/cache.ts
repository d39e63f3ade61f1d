/**
 * Cache benchmark: the hit path against a bare lru-cache, and load coalescing under a hot-key
 * stampede.
 *
 *   node --import tsx bench/cache.ts            # quick (default, a few seconds)
 *   node --import tsx bench/cache.ts --quick    # same
 *   node --import tsx bench/cache.ts --full     # more rounds and iterations
 *
 * 1. Hit path: `cache.getSync(key)` (the synchronous hit path: map lookup, LRU bump, freshness
 *    check, hit counter) against `lru.get(key)` of lru-cache with the same `max`, on the same keys,
 *    rounds interleaved so machine noise hits both alike; the median ns/op of each is compared.
 *    Target: ratio ≤ 1.5. Also reported: the same with a TTL on both sides, and the async
 *    `await cache.get(key)` against `await lru.get(key)` (informational).
 * 2. Stampede: N concurrent `get`s of one cold key (the load takes 5 ms) — loads per stampede
 *    (target: exactly 1), for N = 100, 1,000, 10,000; then the same key dropped and stampeded again.
 *
 * Writes bench/results/cache.json. Exits 1 if the stampede does more than one load per stampede
 * (a functional target); the hit-path ratio is reported, not enforced (a shared machine is noisy).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LRUCache } from 'lru-cache';
import { reloadableCache } from '../src/cache/index.js';

const full = process.argv.includes('--full');
const ROUNDS = full ? 15 : 7;
const OPS = full ? 4_000_000 : 1_000_000;
const KEYS = 1024; // power of two: index with a mask
const MAX = 10_000;

const keys = Array.from({ length: KEYS }, (_, i) => `user:${i}`);
const mask = KEYS - 1;
let sink = 0; // consumed so the loops cannot be optimized away

function nsPerOp(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / OPS;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function hitPath(ttl: boolean): Promise<{ cacheNs: number; lruNs: number; ratio: number }> {
  const cache = reloadableCache({ name: 'bench', max: MAX, retry: false, load: async (k: string) => ({ k, n: k.length }), ...(ttl ? { ttlMs: 3_600_000 } : {}) });
  const lru = new LRUCache<string, { k: string; n: number }>({ max: MAX, ...(ttl ? { ttl: 3_600_000 } : {}) });
  for (const k of keys) {
    const v = await cache.get(k);
    lru.set(k, v);
  }
  const runCache = () => {
    for (let i = 0; i < OPS; i++) sink += cache.getSync(keys[i & mask]!)!.n;
  };
  const runLru = () => {
    for (let i = 0; i < OPS; i++) sink += lru.get(keys[i & mask]!)!.n;
  };
  runCache(); // warm up both (JIT)
  runLru();
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      a.push(nsPerOp(runCache));
      b.push(nsPerOp(runLru));
    } else {
      b.push(nsPerOp(runLru));
      a.push(nsPerOp(runCache));
    }
  }
  await cache.close();
  const cacheNs = median(a);
  const lruNs = median(b);
  return { cacheNs, lruNs, ratio: cacheNs / lruNs };
}

async function asyncHitPath(): Promise<{ cacheNs: number; lruNs: number; ratio: number }> {
  const ops = OPS / 10;
  const cache = reloadableCache({ name: 'bench-async', max: MAX, retry: false, load: async (k: string) => ({ k, n: k.length }) });
  const lru = new LRUCache<string, { k: string; n: number }>({ max: MAX });
  for (const k of keys) lru.set(k, await cache.get(k));
  const time = async (fn: () => Promise<void>) => {
    const start = process.hrtime.bigint();
    await fn();
    return Number(process.hrtime.bigint() - start) / ops;
  };
  const runCache = async () => {
    for (let i = 0; i < ops; i++) sink += (await cache.get(keys[i & mask]!)).n;
  };
  const runLru = async () => {
    for (let i = 0; i < ops; i++) sink += (await lru.get(keys[i & mask]!))!.n;
  };
  await runCache();
  await runLru();
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    a.push(await time(runCache));
    b.push(await time(runLru));
  }
  await cache.close();
  return { cacheNs: median(a), lruNs: median(b), ratio: median(a) / median(b) };
}

async function stampede(n: number): Promise<{ concurrent: number; coldLoads: number; afterDropLoads: number }> {
  let loads = 0;
  const cache = reloadableCache({
    name: 'stampede',
    retry: false,
    load: async (k: string) => {
      loads += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { k };
    },
  });
  await Promise.all(Array.from({ length: n }, () => cache.get('hot')));
  const coldLoads = loads;
  await cache.invalidate('hot', { mode: 'drop' });
  await Promise.all(Array.from({ length: n }, () => cache.get('hot')));
  const afterDropLoads = loads - coldLoads;
  await cache.close();
  return { concurrent: n, coldLoads, afterDropLoads };
}

const noTtl = await hitPath(false);
const withTtl = await hitPath(true);
const asyncGet = await asyncHitPath();
const stampedes = [];
for (const n of [100, 1_000, 10_000]) stampedes.push(await stampede(n));

const fmt = (x: number) => x.toFixed(1);
console.log(`cache bench (${full ? 'full' : 'quick'}: ${ROUNDS} rounds × ${OPS.toLocaleString()} ops, ${KEYS} keys, max ${MAX})`);
console.log(`hit path, no TTL  : getSync ${fmt(noTtl.cacheNs)} ns/op vs lru-cache get ${fmt(noTtl.lruNs)} ns/op → ratio ${noTtl.ratio.toFixed(2)} (target ≤ 1.5)`);
console.log(`hit path, TTL     : getSync ${fmt(withTtl.cacheNs)} ns/op vs lru-cache get ${fmt(withTtl.lruNs)} ns/op → ratio ${withTtl.ratio.toFixed(2)}`);
console.log(`async get         : await get ${fmt(asyncGet.cacheNs)} ns/op vs await lru-cache get ${fmt(asyncGet.lruNs)} ns/op → ratio ${asyncGet.ratio.toFixed(2)}`);
for (const s of stampedes) {
  console.log(`stampede          : ${s.concurrent.toLocaleString()} concurrent gets of a cold key → ${s.coldLoads} load(s); after a drop → ${s.afterDropLoads} load(s)`);
}

const results = {
  bench: 'cache',
  mode: full ? 'full' : 'quick',
  node: process.version,
  rounds: ROUNDS,
  opsPerRound: OPS,
  hitPath: { noTtl, withTtl, asyncGet, target: 1.5, met: noTtl.ratio <= 1.5 },
  stampede: stampedes,
  sink: sink > 0,
};
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'cache.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
console.log(`wrote ${out}`);

if (stampedes.some((s) => s.coldLoads !== 1 || s.afterDropLoads !== 1)) {
  console.error('FAIL: a stampede caused more than one load');
  process.exit(1);
}
