/**
 * The shared fixture of the config peer comparison: the same three layers for every library
 * (defaults file, production file, one environment variable) laid out as each library expects,
 * the variations each task needs, and the runner of each library's worker (`<library>.mjs`) in a
 * fresh process. Used by bench/config-peers.ts and test/config/peers.test.ts.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The tasks every library is asked to do. */
export type Task = 'load' | 'wrong-type' | 'near-miss' | 'reload' | 'provenance' | 'secret-file' | 'interpolate' | 'env-typo';

export const TASKS: readonly Task[] = ['load', 'wrong-type', 'near-miss', 'reload', 'provenance', 'secret-file', 'interpolate', 'env-typo'];

export const DEFAULTS = { name: 'app', db: { host: 'localhost', port: 5432, ssl: false, password: '', url: '' } };

/**
 * Writes `config/default.json` and `config/production.json` (pretty-printed, so lines mean
 * something) and returns the directory and the environment of the task.
 */
export async function fixture(task: Task): Promise<{ dir: string; env: Record<string, string> }> {
  const dir = await mkdtemp(join(tmpdir(), `reloadkit-peers-${task}-`));
  await mkdir(join(dir, 'config'));
  const production: Record<string, unknown> = { db: { host: 'prod.db' } };
  // Two wrong types in the production file: a string for a number, a number for a string.
  if (task === 'wrong-type') Object.assign(production.db as Record<string, unknown>, { host: 12, port: 'oops' });
  if (task === 'interpolate') (production.db as Record<string, unknown>).url = 'postgres://${DB_USER}@prod.db/app';
  await writeFile(join(dir, 'config', 'default.json'), `${JSON.stringify(DEFAULTS, null, 2)}\n`);
  await writeFile(join(dir, 'config', 'production.json'), `${JSON.stringify(production, null, 2)}\n`);
  const env: Record<string, string> = { NODE_ENV: task === 'env-typo' ? 'prodution' : 'production' };
  // The wrong type sits in the production file: no variable may cover it.
  if (task !== 'wrong-type') env.APP_DB__PORT = '6543';
  if (task === 'near-miss') Object.assign(env, { APP_DB__PORT: '5432x', APP_DB__SSL: 'no' });
  if (task === 'secret-file') {
    await writeFile(join(dir, 'db-password'), 'hunter2\n');
    env.APP_DB__PASSWORD_FILE = join(dir, 'db-password');
  }
  if (task === 'interpolate') env.DB_USER = 'svc';
  if (task === 'reload') env.RELOADED_DEFAULTS = RELOADED_DEFAULTS;
  return { dir, env };
}

/** What a worker prints (one JSON line). */
export interface WorkerReport {
  /** The library produced a configuration. */
  ok: boolean;
  /** The configuration it produced (test data only: the fixture holds no real secret). */
  value?: { name?: unknown; db?: Record<string, unknown> };
  /** Its error message, when it refused. */
  error?: string;
  /** Milliseconds from before importing the library to the configuration in hand. */
  loadMs?: number;
  /** CPU milliseconds (user + system) over the same span: what contention on a shared machine does not inflate. */
  cpuMs?: number;
  /** Task-specific answer: provenance of db.port, the value after a reload... */
  answer?: unknown;
  /** node-config: it printed a warning. */
  warned?: boolean;
}

/** The new `config/default.json` of the reload task (a new `name`, which no other layer sets); workers get it as RELOADED_DEFAULTS. */
export const RELOADED_DEFAULTS = `${JSON.stringify({ ...DEFAULTS, name: 'changed' }, null, 2)}\n`;

/** The libraries compared. */
export type Library = 'c12' | 'node-config' | 'convict' | 'reloadkit';
export const LIBRARIES: readonly Library[] = ['c12', 'node-config', 'convict', 'reloadkit'];

const HERE = dirname(fileURLToPath(import.meta.url));

/** The worker script of `library`. */
export function workerPath(library: Library): string {
  return join(HERE, `${library}.mjs`);
}

/**
 * Runs `library`'s worker on a fresh fixture of `task`, in a fresh process whose environment is
 * PATH plus the task's variables, and returns its report and the process's wall time.
 * `fromSource`: reloadkit from src/ through tsx (tests) rather than dist/ (the bench); `extra`:
 * more worker arguments (`--valibot`).
 */
export async function runWorker(library: Library, task: Task, { fromSource = false, extra = [] as string[] } = {}): Promise<WorkerReport & { wallMs: number; dir: string }> {
  const { dir, env } = await fixture(task);
  const args = library === 'reloadkit' && fromSource ? ['--import', 'tsx', workerPath(library), task, dir, '--src', ...extra] : [workerPath(library), task, dir, ...extra];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const wallMs = performance.now() - started;
      const line = out.trim().split('\n').pop();
      void rm(dir, { recursive: true, force: true });
      if (!line) reject(new Error(`${library} ${task}: no report (exit ${code}): ${err.slice(0, 1500)}`));
      else resolve({ ...(JSON.parse(line) as WorkerReport), wallMs, dir });
    });
  });
}

/** Lines of glue: the non-blank, non-comment lines between `// glue:start` and `// glue:end`. */
export async function glueLines(library: Library): Promise<number> {
  const text = await readFile(workerPath(library), 'utf8');
  const body = text.slice(text.indexOf('// glue:start'), text.indexOf('// glue:end'));
  return body
    .split('\n')
    .slice(1)
    .filter((line) => line.trim() !== '' && !line.trim().startsWith('//')).length;
}
