/**
 * Runs one `reloadkit` command against the admin endpoint and decides the exit code:
 * 0 done, 1 rejected (HTTP 422), 2 usage, auth, connection or any other error, with a one-line
 * reason on stderr.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { parseCommand, USAGE, UsageError, type Command, type GlobalOptions } from './args.js';
import { ClientError, request, type AdminAnswer } from './client.js';
import { rejectionLine, resultTable, statusTable, type ResultRow, type StatusRow } from './format.js';

/** Where the command writes, and its environment. */
export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export const EXIT_OK = 0;
export const EXIT_REJECTED = 1;
export const EXIT_ERROR = 2;

async function tokenOf(options: GlobalOptions, env: CliIo['env']): Promise<string | undefined> {
  if (options.tokenFile !== undefined) {
    let text: string;
    try {
      text = await readFile(options.tokenFile, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read --token-file '${options.tokenFile}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    const token = text.trim();
    if (token === '') throw new UsageError(`--token-file '${options.tokenFile}' is empty`);
    return token;
  }
  return env.RELOADKIT_TOKEN?.trim() || undefined;
}

function unitPath(unit: string): string {
  return `/units/${encodeURIComponent(unit)}`;
}

/** The HTTP error of an answer as one line: `401 unauthorized: missing or invalid bearer token`. */
function failureLine(answer: AdminAnswer): string {
  const error = (answer.body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const code = typeof error?.code === 'string' ? ` ${error.code}` : '';
  const message = typeof error?.message === 'string' ? `: ${error.message.replace(/\s+/g, ' ')}` : '';
  return `HTTP ${answer.status}${code}${message}`;
}

async function execute(command: Exclude<Command, { kind: 'help' }>, io: CliIo): Promise<number> {
  const { options } = command;
  const token = await tokenOf(options, io.env);
  const call = (path: string, method = 'GET', body?: unknown) => request(`${options.url}${path}`, { method, token, body, timeoutMs: options.timeoutMs });
  const print = (json: unknown, text: () => string) => io.stdout(options.json ? JSON.stringify(json, null, 2) : text());
  const fail = (answer: AdminAnswer) => {
    io.stderr(`reloadkit: ${failureLine(answer)}`);
    return EXIT_ERROR;
  };

  if (command.kind === 'status') {
    const answer = await call(command.unit === undefined ? '/units' : unitPath(command.unit));
    if (answer.status !== 200) return fail(answer);
    const units = command.unit === undefined ? (answer.body as { units: StatusRow[] }).units : [answer.body as StatusRow];
    print(answer.body, () => statusTable(units));
    return EXIT_OK;
  }

  let answer: AdminAnswer;
  let results: ResultRow[];
  if (command.kind === 'reload') {
    const body: Record<string, unknown> = {};
    if (command.reason !== undefined) body.reason = command.reason;
    if (command.force) body.force = true;
    answer = await call(command.all ? '/reload' : `${unitPath(command.unit!)}/reload`, 'POST', body);
    if (answer.status !== 200 && answer.status !== 422) return fail(answer);
    results = command.all ? (answer.body as { results: ResultRow[] }).results : [answer.body as ResultRow];
  } else {
    const body: Record<string, unknown> = {};
    if (command.to !== undefined) body.to = command.to;
    if (command.reason !== undefined) body.reason = command.reason;
    answer = await call(`${unitPath(command.unit)}/rollback`, 'POST', body);
    if (answer.status !== 200 && answer.status !== 422) return fail(answer);
    results = [answer.body as ResultRow];
  }
  print(answer.body, () => resultTable(results));
  if (answer.status === 422) {
    const rejected = results.filter((r) => r.status === 'rejected');
    io.stderr(`reloadkit: ${rejected.map(rejectionLine).join('; ') || failureLine(answer)}`);
    return EXIT_REJECTED;
  }
  return EXIT_OK;
}

/**
 * Runs the command line `argv` and resolves to the exit code.
 *
 * @example
 * ```ts
 * const code = await runCli(['status', '--json'], { env: process.env, stdout: console.log, stderr: console.error });
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const command = parseCommand(argv, io.env);
    if (command.kind === 'help') {
      io.stdout(USAGE);
      return EXIT_OK;
    }
    return await execute(command, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`reloadkit: ${error.message} (see reloadkit --help)`);
      return EXIT_ERROR;
    }
    if (error instanceof ClientError) {
      io.stderr(`reloadkit: ${error.message}`);
      return EXIT_ERROR;
    }
    io.stderr(`reloadkit: unexpected answer: ${(error as Error).message ?? String(error)}`.replace(/\s+/g, ' '));
    return EXIT_ERROR;
  }
}
