/**
 * Tracing benchmarks: what `traceUnits` costs the request path, as ratios measured in one process.
 * Every variant runs inside the same active, recording span (the real SDK, nothing exported), so
 * only reloadkit's part differs:
 *
 *   use(syncFn), tracing installed, annotateRequests off   vs no tracing installed   target ≤ 1.1x
 *   use(syncFn), annotateRequests on                        vs no tracing installed   reported
 *   get(), tracing installed (annotation on)                vs get(), none installed  target ≤ 1.1x
 *   get(), none installed                                   vs a getter closure       reported
 *   unchanged reload, traced (3 spans)                      vs untraced               reported
 *
 * Variants are interleaved (installed, stopped, installed again) so drift hits them alike.
 * Run: `node --import tsx bench/tracing.ts` (quick) or with `--full`. Writes bench/results/tracing.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { reloadable } from '../src/index.js';
import { traceUnits, type UnitTracing } from '../src/metrics/opentelemetry.js';

const FULL = process.argv.includes('--full');
const ROUNDS = FULL ? 15 : 7;
const PASSES = FULL ? 7 : 5;

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const tracer = new BasicTracerProvider().getTracer('bench');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function measureSync(iterations: number, fn: (n: number) => unknown): number {
  fn(Math.min(iterations, 10_000));
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
  target: number | null;
  pass: boolean;
}
const figures: Figure[] = [];

function report(name: string, baseline: string, baselineNs: number, subjectNs: number, target: number | null): void {
  const ratio = subjectNs / baselineNs;
  const pass = target === null || ratio <= target;
  figures.push({ name, baseline, baselineNs: +baselineNs.toFixed(2), subjectNs: +subjectNs.toFixed(2), ratio: +ratio.toFixed(3), target, pass });
  const goal = target === null ? '(reported)' : `(target ≤ ${target}x) ${pass ? 'ok' : 'MISS'}`;
  console.log(`${name.padEnd(34)} ${subjectNs.toFixed(1).padStart(9)} ns/op  vs ${baseline.padEnd(24)} ${baselineNs.toFixed(1).padStart(9)} ns/op  ratio ${ratio.toFixed(2)}x ${goal}`);
}

type Mode = 'none' | 'off' | 'on';

/** Runs `fn` once per mode per pass, with tracing installed as the mode says; medians per mode. */
async function byMode(units: readonly { name: string }[], fn: () => Promise<number> | number): Promise<Record<Mode, number>> {
  const samples: Record<Mode, number[]> = { none: [], off: [], on: [] };
  for (let pass = 0; pass < PASSES; pass++) {
    // The order rotates each pass, so no mode always runs first (or right after a warm-up).
    const modes: Mode[] = ['none', 'off', 'on'];
    for (const mode of [...modes.slice(pass % 3), ...modes.slice(0, pass % 3)]) {
      let tracing: UnitTracing | undefined;
      if (mode !== 'none') tracing = traceUnits(units, { tracer, annotateRequests: mode === 'on' });
      samples[mode].push(await fn());
      tracing?.stop();
    }
  }
  return { none: median(samples.none), off: median(samples.off), on: median(samples.on) };
}

/** Runs `fn` inside one active recording span: the request every variant is measured in. */
function inRequest<X>(fn: () => X): X {
  const span = tracer.startSpan('request');
  try {
    return context.with(trace.setSpan(context.active(), span), fn);
  } finally {
    span.end();
  }
}

// ─── 1. use(syncFn) ──────────────────────────────────────────────────────────────────────────
{
  const resource = { n: 1 };
  const unit = reloadable({ name: 'bench-trace-use', load: () => ({ v: 1 }), retry: false, create: () => resource });
  await unit.start();
  const syncFn = (r: { n: number }): number => r.n + 1;
  let sink = 0;
  const N = 300_000;
  const ns = await byMode([unit], () =>
    inRequest(() =>
      measureAsync(N, async (n) => {
        for (let i = 0; i < n; i++) sink += await unit.use(syncFn);
      }),
    ),
  );
  report('use(), tracing on, annotation off', 'no tracing installed', ns.none, ns.off, 1.1);
  report('use(), annotateRequests on', 'no tracing installed', ns.none, ns.on, null);
  if (sink === 42) console.log('');
  await unit.close();
}

// ─── 2. get() ────────────────────────────────────────────────────────────────────────────────
{
  // Two units alternated, as in bench/core.ts, so the read is not loop-invariant.
  const r1 = { query: () => 1 };
  const r2 = { query: () => 2 };
  const units = [
    reloadable({ name: 'bench-trace-get-1', load: () => ({ v: 1 }), retry: false, create: () => r1 }),
    reloadable({ name: 'bench-trace-get-2', load: () => ({ v: 2 }), retry: false, create: () => r2 }),
  ];
  await Promise.all(units.map((u) => u.start()));
  const makeGetter = (holder: { field: typeof r1 }) => (): typeof r1 => holder.field;
  const getters = [makeGetter({ field: r1 }), makeGetter({ field: r2 })];
  const N = 20_000_000;
  let sink = 0;
  const closure = measureSync(N, (n) => {
    for (let i = 0; i < n; i++) if (getters[i & 1]!() === r1) sink++;
  });
  const ns = await byMode(units, () =>
    inRequest(() =>
      measureSync(N, (n) => {
        for (let i = 0; i < n; i++) if (units[i & 1]!.get() === r1) sink++;
      }),
    ),
  );
  report('get(), annotateRequests on', 'get(), none installed', ns.none, ns.on, 1.1);
  report('get(), none installed', 'getter closure', closure, ns.none, null);
  if (sink === 42) console.log('');
  await Promise.all(units.map((u) => u.close()));
}

// ─── 3. an unchanged reload, traced or not ───────────────────────────────────────────────────
{
  const candidate = { service: { name: 'checkout', port: 8080 }, features: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, i % 2 === 0])) };
  const unit = reloadable({ name: 'bench-trace-reload', load: () => candidate, retry: false });
  await unit.start();
  let sink = 0;
  const N = 20_000;
  const ns = await byMode([unit], () =>
    measureAsync(N, async (n) => {
      for (let i = 0; i < n; i++) if ((await unit.reload()).status === 'unchanged') sink++;
    }),
  );
  report('unchanged reload, traced', 'untraced', ns.none, ns.off, null);
  if (sink === 42) console.log('');
  await unit.close();
}

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(resultsDir, { recursive: true });
writeFileSync(
  join(resultsDir, 'tracing.json'),
  `${JSON.stringify({ node: process.version, mode: FULL ? 'full' : 'quick', at: new Date().toISOString(), figures }, null, 2)}\n`,
);
const missed = figures.filter((f) => !f.pass);
if (missed.length > 0) {
  console.error(`missed: ${missed.map((f) => f.name).join(', ')}`);
  process.exitCode = 1;
}
