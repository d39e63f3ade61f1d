/**
 * Timing samples in the benchmarks that time across processes: one clock for every process on the
 * machine, and the summary each result row carries.
 */

/** Epoch milliseconds with sub-millisecond precision, comparable between processes of one machine. */
export const now = (): number => performance.timeOrigin + performance.now();

/** The nearest-rank percentile `p` (0–100) of ascending `sorted`; NaN when empty. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** Count, p50, p99 and max of `samples`, rounded to 0.01. */
export function summarize(samples: number[]): { n: number; p50: number; p99: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return { n: sorted.length, p50: round(percentile(sorted, 50)), p99: round(percentile(sorted, 99)), max: round(sorted.at(-1) ?? Number.NaN) };
}
