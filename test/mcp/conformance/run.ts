/** Running the conformance CLI (shared by the server and client conformance tests). */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const cli = join(dirname(require.resolve('@modelcontextprotocol/conformance/package.json')), 'dist', 'index.js');
const register = fileURLToPath(new URL('./register.mjs', import.meta.url));
export const client = fileURLToPath(new URL('./client.ts', import.meta.url));

/** The server scenarios that apply to a model service (the others need the suite's reference fixtures). */
export const SERVER_SCENARIOS = ['server-initialize', 'ping', 'tools-list', 'tools-call-error', 'server-sse-multiple-streams', 'resources-list', 'dns-rebinding-protection'];
/** The client scenarios that apply to the adapter (no OAuth, no elicitation). */
export const CLIENT_SCENARIOS = ['initialize', 'tools_call', 'sse-retry'];

export async function conformance(args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', register, cli, ...args], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
    const out = stdout + stderr;
    return { ok: !/FAILED|\b[1-9]\d* failed/.test(out), out };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    return { ok: false, out: `${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

