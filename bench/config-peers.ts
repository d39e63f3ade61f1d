/**
 * bench/config-peers: the same configuration tasks done by c12, node-config, convict and
 * reloadkit, each task in a fresh process whose environment holds only PATH and the task's
 * variables. Reports which tasks each library does, how many lines of glue it took (the lines
 * between `// glue:start` and `// glue:end` in its worker, schema excluded), and the time to load
 * a 3-layer configuration (defaults file, production file, one environment variable) in a fresh
 * process: the median over the runs, measured inside the process from just before the library is
 * imported to the configuration in hand, as wall time and as CPU time (user + system; on a shared
 * machine the CPU figure is the steadier one). reloadkit runs from dist/ (built first) on plain node,
 * as the peers do. Then the import alone of c12, zod, valibot and reloadkit's two entry points,
 * each in a fresh process (CPU ms): where a load's time goes.
 *
 * Run: `npm run build && node --import tsx bench/config-peers.ts [--runs 15]`.
 * Writes bench/results/config-peers.json and prints the table that docs/config.md shows.
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { glueLines, LIBRARIES, runWorker, TASKS, type Library, type Task, type WorkerReport } from './config-peers/fixture.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 11;

/** Did the library do the task right? A short verdict for the table. */
function verdict(task: Task, r: WorkerReport): string {
  const db = r.value?.db ?? {};
  switch (task) {
    case 'load':
      return r.ok && db.host === 'prod.db' && db.port === 6543 ? 'yes' : 'no';
    case 'wrong-type':
      if (r.ok) return 'no: accepted silently';
      return /production\.json:\d+/.test(r.error ?? '') ? 'yes: key, file and line' : 'partly: key, no file';
    case 'near-miss':
      if (r.ok) return db.port === 5432 || db.ssl === true ? 'no: 5432x → 5432, no → true' : 'no: accepted as strings';
      return 'yes: rejected';
    case 'reload':
      if (r.answer === undefined) return 'no reload';
      return r.answer === 'changed' ? 'yes' : 'no: served the old value';
    case 'provenance':
      return typeof r.answer === 'string' ? `yes: \`${r.answer}\`` : 'no';
    case 'secret-file':
      return r.ok && db.password === 'hunter2' ? 'yes' : 'no';
    case 'interpolate':
      return r.ok && db.url === 'postgres://svc@prod.db/app' ? 'yes' : 'no: left as text';
    case 'env-typo':
      if (r.ok) return r.warned ? 'warning, loads defaults' : 'no: loads defaults silently';
      return /NODE_ENV/.test(r.error ?? '') ? 'yes: names the environments' : 'raw ENOENT';
  }
}

const TASK_NAMES: Record<Task, string> = {
  load: 'defaults file + production file + `APP_DB__PORT`',
  'wrong-type': 'wrong types in the production file rejected',
  'near-miss': '`APP_DB__PORT=5432x`, `APP_DB__SSL=no` rejected',
  reload: 'a JSON change served',
  provenance: 'which layer set `db.port`',
  'secret-file': '`APP_DB__PASSWORD_FILE` secret',
  interpolate: '`${DB_USER}` in a file',
  'env-typo': '`NODE_ENV=prodution` reported',
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

const verdicts: Record<Library, Record<Task, string>> = {} as never;
const errors: Record<Library, Partial<Record<Task, string>>> = {} as never;
const glue: Record<Library, number> = {} as never;
for (const library of LIBRARIES) {
  verdicts[library] = {} as Record<Task, string>;
  errors[library] = {};
  glue[library] = await glueLines(library);
  for (const task of TASKS) {
    const r = await runWorker(library, task);
    verdicts[library][task] = verdict(task, r);
    if (r.error !== undefined) errors[library][task] = r.error.replace(/\/tmp\/reloadkit-peers-[^/]+/g, '<dir>');
  }
}

// Load timings interleaved, so a burst of load on the machine hits every library alike.
type Timed = Library | 'reloadkit (valibot)';
const TIMED: readonly Timed[] = [...LIBRARIES, 'reloadkit (valibot)'];
const loadMs: Record<Timed, number[]> = Object.fromEntries(TIMED.map((l) => [l, []])) as never;
const cpuMs: Record<Timed, number[]> = Object.fromEntries(TIMED.map((l) => [l, []])) as never;
for (let i = 0; i < RUNS; i++) {
  for (const timed of TIMED) {
    const r = timed === 'reloadkit (valibot)' ? await runWorker('reloadkit', 'load', { extra: ['--valibot'] }) : await runWorker(timed, 'load');
    if (r.loadMs !== undefined) loadMs[timed].push(r.loadMs);
    if (r.cpuMs !== undefined) cpuMs[timed].push(r.cpuMs);
  }
}
// Imports alone, each in a fresh process, interleaved too: where the load time goes.
const IMPORTS: Record<string, string[]> = {
  c12: ['c12'],
  zod: ['zod'],
  valibot: ['valibot'],
  'reloadkit + reloadkit/config': [join(ROOT, 'dist', 'index.js'), join(ROOT, 'dist', 'config', 'index.js')],
};
const importMs: Record<string, number[]> = Object.fromEntries(Object.keys(IMPORTS).map((k) => [k, []]));
for (let i = 0; i < RUNS; i++) {
  for (const [name, specifiers] of Object.entries(IMPORTS)) {
    const body = `const c = process.cpuUsage(); for (const s of ${JSON.stringify(specifiers)}) await import(s); const u = process.cpuUsage(c); process.stdout.write(String((u.user + u.system) / 1000));`;
    importMs[name]!.push(Number(execFileSync(process.execPath, ['--input-type=module', '-e', body], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } })));
  }
}
const importMedians = Object.fromEntries(Object.entries(importMs).map(([k, v]) => [k, median(v)]));
const medians = Object.fromEntries(TIMED.map((l) => [l, median(loadMs[l])])) as Record<Timed, number>;
const cpuMedians = Object.fromEntries(TIMED.map((l) => [l, median(cpuMs[l])])) as Record<Timed, number>;

const header = `| task | ${LIBRARIES.join(' | ')} |`;
const rule = `|${'---|'.repeat(LIBRARIES.length + 1)}`;
const rows = TASKS.map((task) => `| ${TASK_NAMES[task]} | ${LIBRARIES.map((l) => verdicts[l][task]).join(' | ')} |`);
rows.push(`| lines of glue | ${LIBRARIES.map((l) => glue[l]).join(' | ')} |`);
const both = (l: Timed): string => `${medians[l].toFixed(0)} / ${cpuMedians[l].toFixed(0)}`;
rows.push(`| 3-layer load in a fresh process, median of ${RUNS}: wall / CPU ms | ${LIBRARIES.map(both).join(' | ')} (zod schema); ${both('reloadkit (valibot)')} (valibot schema) |`);
const table = [header, rule, ...rows].join('\n');
console.log(table);
const ratio = (l: Timed, m: Record<Timed, number>): string => (m[l] / m.c12).toFixed(2);
console.log(`\nload time / c12's (wall, CPU): reloadkit with zod ${ratio('reloadkit', medians)}, ${ratio('reloadkit', cpuMedians)}; with valibot ${ratio('reloadkit (valibot)', medians)}, ${ratio('reloadkit (valibot)', cpuMedians)}`);
for (const library of LIBRARIES) for (const [task, message] of Object.entries(errors[library])) console.log(`${library} ${task}: ${message}`);
console.log(`import alone, CPU ms (median of ${RUNS} fresh processes): ${Object.entries(importMedians).map(([k, v]) => `${k} ${v.toFixed(0)}`).join('; ')}`);

const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'config-peers.json');
await writeFile(out, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, runs: RUNS, verdicts, glue, loadMs, cpuMs, medians, cpuMedians, importMs, importMedians, errors }, null, 2)}\n`);
console.log(`\nwrote ${out}`);
