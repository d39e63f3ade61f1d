/**
 * Runs one `reloadkit` command against the admin endpoint and decides the exit code:
 * 0 done, 1 rejected or refused (HTTP 422, or a 409 that carries a result: refused, paused),
 * 2 usage, auth, connection or any other error, with a one-line reason on stderr.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { parseCommand, USAGE, UsageError, type Command, type GlobalOptions } from './args.js';
import { baseHint, isRouteNotFound } from './base-hint.js';
import { ClientError, request, type AdminAnswer } from './client.js';
import {
  changedLine,
  dryRunReport,
  historyTable,
  rejectionLine,
  resultTable,
  retainedLine,
  statusTable,
  unitDetail,
  type HistoryRow,
  type ResultRow,
  type StatusRow,
} from './format.js';

/** Where the command writes, and its environment. */
export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** True when stdout is a terminal: `fleet` and `rollout` redraw progress in place. */
  isTTY?: boolean;
  /** The terminal's size now, for the views `rollout` redraws. @default 100 × 24 */
  size?: () => { columns?: number; rows?: number };
}

export const EXIT_OK = 0;
export const EXIT_REJECTED = 1;
export const EXIT_ERROR = 2;

type Executable = Exclude<Command, { kind: 'help' }>;

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

/**
 * The candidate of `validate --file`. Its text is never quoted in a message (a config file may
 * hold secrets): a JSON error says where, not what.
 */
async function candidateOf(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read --file '${file}': ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    const at = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new UsageError(`--file '${file}' is not valid JSON${at === undefined ? '' : ` (at position ${at})`}`);
  }
}

function unitPath(unit: string): string {
  return `/units/${encodeURIComponent(unit)}`;
}

/** The HTTP error of an answer as one line: `401 unauthorized: missing or invalid bearer token`. */
function failureLine(answer: AdminAnswer): string {
  if (!answer.json) return `HTTP ${answer.status} (not a reloadkit answer)`;
  const error = (answer.body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const code = typeof error?.code === 'string' ? ` ${error.code}` : '';
  const message = typeof error?.message === 'string' ? `: ${error.message.replace(/\s+/g, ' ')}` : '';
  return `HTTP ${answer.status}${code}${message}`;
}

/** Whether an answer carries reload results (200, 422, or a 409 refused/paused) rather than an error. */
function isResultAnswer(answer: AdminAnswer, all: boolean): boolean {
  if (!answer.json || ![200, 409, 422].includes(answer.status)) return false;
  const body = answer.body as { status?: unknown; results?: unknown } | null;
  return all ? Array.isArray(body?.results) : typeof body?.status === 'string';
}

/** Exit 0 when every result went through (committed, unchanged, would-commit), 1 otherwise. */
function exitOf(results: ResultRow[]): number {
  return results.every((r) => r.ok !== false && ['committed', 'unchanged', 'would-commit'].includes(r.status)) ? EXIT_OK : EXIT_REJECTED;
}

async function execute(command: Executable, io: CliIo): Promise<number> {
  const { options } = command;
  const token = await tokenOf(options, io.env);
  const call = async (path: string, method = 'GET', body?: unknown): Promise<AdminAnswer> =>
    request(`${options.url}${path}`, { method, token, body, timeoutMs: options.timeoutMs, allowNonJson: true });
  const print = (json: unknown, text: () => string) => io.stdout(options.json ? JSON.stringify(json, null, 2) : text());
  const fail = async (answer: AdminAnswer) => {
    const hint = isRouteNotFound(answer) ? await baseHint(options.url, options.timeoutMs) : '';
    if (!answer.json && hint === '') throw new ClientError(`unexpected non-JSON answer (HTTP ${answer.status}) from ${options.url}`);
    io.stderr(`reloadkit: ${failureLine(answer)}${hint}`);
    return EXIT_ERROR;
  };
  /** Prints results (table or dry-run report), their changed paths, and a reason line per failure. */
  const report = (answer: AdminAnswer, results: ResultRow[], dryRun: boolean) => {
    print(answer.body, () => {
      if (dryRun) return results.map(dryRunReport).join('\n');
      const changed = results.filter((r) => r.status === 'committed').map((r) => changedLine(r, results.length > 1 ? `${r.unit} ` : '')).filter(Boolean);
      const retained = (answer.body as { retained?: unknown }).retained;
      const extra = Array.isArray(retained) ? [retainedLine(retained.filter((id): id is number => typeof id === 'number'))] : [];
      return [resultTable(results), ...changed, ...extra].join('\n');
    });
    const code = exitOf(results);
    if (code !== EXIT_OK) {
      const failed = results.filter((r) => !['committed', 'unchanged', 'would-commit'].includes(r.status));
      io.stderr(`reloadkit: ${failed.map(rejectionLine).join('; ') || failureLine(answer)}`);
    }
    return code;
  };

  switch (command.kind) {
    case 'status': {
      const answer = await call(command.unit === undefined ? '/units' : unitPath(command.unit));
      if (answer.status !== 200 || !answer.json) return fail(answer);
      const units = command.unit === undefined ? (answer.body as { units: StatusRow[] }).units : [answer.body as StatusRow];
      print(answer.body, () => [statusTable(units), ...(command.unit === undefined ? [] : [unitDetail(units[0]!)])].filter(Boolean).join('\n'));
      return EXIT_OK;
    }
    case 'history': {
      const answer = await call(`${unitPath(command.unit)}/history`);
      if (answer.status !== 200 || !answer.json) return fail(answer);
      print(answer.body, () => historyTable((answer.body as { generations: HistoryRow[] }).generations));
      return EXIT_OK;
    }
    case 'reload':
    case 'validate': {
      const body: Record<string, unknown> = {};
      if (command.reason !== undefined) body.reason = command.reason;
      if (command.kind === 'reload' && command.force) body.force = true;
      if (command.kind === 'validate') {
        body.dryRun = true;
        if (command.file !== undefined) body.candidate = await candidateOf(command.file);
      }
      const all = command.kind === 'reload' && command.all;
      const answer = await call(all ? '/reload' : `${unitPath(command.unit!)}/reload`, 'POST', body);
      if (!isResultAnswer(answer, all)) return fail(answer);
      const results = all ? (answer.body as { results: ResultRow[] }).results : [answer.body as ResultRow];
      return report(answer, results, command.kind === 'validate');
    }
    case 'rollback': {
      const body: Record<string, unknown> = {};
      if (command.to !== undefined) body.to = command.to;
      if (command.reason !== undefined) body.reason = command.reason;
      const answer = await call(`${unitPath(command.unit)}/rollback`, 'POST', body);
      if (!isResultAnswer(answer, false)) return fail(answer);
      return report(answer, [answer.body as ResultRow], false);
    }
    case 'pause':
    case 'resume':
    case 'clear-refused': {
      const body: Record<string, unknown> = {};
      if (command.kind === 'pause' && command.reason !== undefined) body.reason = command.reason;
      const answer = await call(`${unitPath(command.unit)}/${command.kind}`, 'POST', body);
      if (answer.status !== 200 || !answer.json) return fail(answer);
      const out = answer.body as { unit: string; result?: ResultRow; cleared?: number };
      const done = command.kind === 'pause' ? 'paused' : command.kind === 'resume' ? 'resumed' : `refused set cleared (${out.cleared ?? 0} hash(es))`;
      if (out.result === undefined) {
        print(answer.body, () => `${out.unit} ${done}`);
        return EXIT_OK;
      }
      // resume ran the reload that was held while paused.
      io.stdout(options.json ? JSON.stringify(answer.body, null, 2) : `${out.unit} ${done}; the pending reload ran:`);
      if (options.json) return exitOf([out.result]);
      return report({ ...answer, body: out.result }, [out.result], false);
    }
    case 'invalidate': {
      const body: Record<string, unknown> = { ...command.target };
      if (command.refresh) body.mode = 'refresh';
      if (command.reason !== undefined) body.reason = command.reason;
      const answer = await call(`${unitPath(command.unit)}/invalidate`, 'POST', body);
      if (answer.status !== 200 || !answer.json) return fail(answer);
      const out = answer.body as { unit: string; invalidated?: unknown };
      const count = typeof out.invalidated === 'number' ? `${out.invalidated} entr${out.invalidated === 1 ? 'y' : 'ies'}` : String(out.invalidated ?? '?');
      print(answer.body, () => `${out.unit}: ${command.refresh ? 'refreshed' : 'invalidated'} ${count}`);
      return EXIT_OK;
    }
  }
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
  // `fleet` and `rollout` talk to etcd, not to an admin endpoint: loaded only when used, so the
  // other commands never load the etcd client.
  if (argv[0] === 'fleet' || argv[0] === 'rollout') {
    const { fleetCli, rolloutCli } = await import('../fleet/cli.js');
    return (argv[0] === 'fleet' ? fleetCli : rolloutCli)(argv.slice(1), io);
  }
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
