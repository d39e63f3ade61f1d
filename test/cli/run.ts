// Spawns the real `reloadkit` command (`node --import tsx src/cli/main.ts`) and checks its
// one-line failure reasons: shared by the CLI tests.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../src/cli/run.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `reloadkit ...args` with RELOADKIT_TOKEN / RELOADKIT_URL only from `env`. */
export function reloadkit(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const childEnv: Record<string, string | undefined> = { ...process.env, RELOADKIT_TOKEN: undefined, RELOADKIT_URL: undefined, ...env };
  for (const key of Object.keys(childEnv)) if (childEnv[key] === undefined) delete childEnv[key];
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: childEnv as NodeJS.ProcessEnv, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Exactly one line on stderr, starting with `reloadkit:`. */
export function assertOneLineReason(run: Run, pattern: RegExp): void {
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got: ${run.stderr}`);
  assert.match(lines[0]!, /^reloadkit: /);
  assert.match(lines[0]!, pattern);
}

/**
 * The same command run in this process (`runCli`, the code `main.ts` runs), against the same real
 * endpoint over a real socket: for the tests that are about what the command says and does, not
 * about the process around it (test/cli/cli.test.ts spawns the real binary). Cheaper on a loaded
 * machine than a tsx process per call.
 */
export async function reloadkitHere(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { env, stdout: (t) => void (stdout += `${t}\n`), stderr: (t) => void (stderr += `${t}\n`) });
  return { code, stdout, stderr };
}
