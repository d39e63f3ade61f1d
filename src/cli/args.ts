/**
 * Command-line parsing of the `reloadkit` command (`util.parseArgs`, strict): turns argv into one
 * validated command, or a usage error with a one-line reason.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';

export const DEFAULT_URL = 'http://127.0.0.1:9464/reloadkit';

/** Global options shared by every subcommand. */
export interface GlobalOptions {
  url: string;
  tokenFile?: string;
  json: boolean;
  timeoutMs: number;
}

/** One parsed command. */
export type Command =
  | { kind: 'help' }
  | { kind: 'status'; unit?: string; options: GlobalOptions }
  | { kind: 'reload'; unit?: string; all: boolean; reason?: string; force: boolean; options: GlobalOptions }
  | { kind: 'rollback'; unit: string; to?: number; reason?: string; options: GlobalOptions };

/** A problem with the command line: exit code 2. */
export { UsageError };

export const USAGE = `Usage:
  reloadkit status [unit]                      units' state, generation, hash, last attempt
  reloadkit reload <unit> | --all [--force]    reload one unit, or every unit
  reloadkit rollback <unit> [--to N]           return to generation N (default: the previous one)

Options:
  --url URL          admin base URL (default: $RELOADKIT_URL or ${DEFAULT_URL})
  --token-file PATH  read the bearer token from a file (default: $RELOADKIT_TOKEN)
  --reason TEXT      recorded in the audit log with the token's actor
  --json             print JSON instead of a table
  --timeout MS       give up after MS milliseconds (default 30000)
  -h, --help         show this help

Exit codes: 0 done, 1 rejected, 2 usage, auth or connection error.`;

/**
 * Parses `argv` (without `node` and the script) into a command.
 *
 * @example
 * ```ts
 * parseCommand(['reload', 'config', '--reason', 'deploy 42'], process.env);
 * // { kind: 'reload', unit: 'config', all: false, reason: 'deploy 42', force: false, options: {...} }
 * ```
 */
export function parseCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        url: { type: 'string' },
        'token-file': { type: 'string' },
        json: { type: 'boolean', default: false },
        timeout: { type: 'string' },
        all: { type: 'boolean', default: false },
        force: { type: 'boolean', default: false },
        to: { type: 'string' },
        reason: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]!);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  const [name, ...rest] = positionals;
  if (name === undefined) throw new UsageError('missing command: status, reload or rollback');

  const url = values.url ?? (env.RELOADKIT_URL || DEFAULT_URL);
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(url);
  } catch {
    throw new UsageError(`invalid --url '${url}'`);
  }
  if (parsedUrl.protocol !== 'http:' && parsedUrl.protocol !== 'https:') throw new UsageError(`--url must be http or https, got '${parsedUrl.protocol}'`);
  const timeoutMs = values.timeout === undefined ? 30_000 : Number(values.timeout);
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout must be a positive integer of milliseconds, got '${values.timeout}'`);
  const options: GlobalOptions = { url: url.replace(/\/+$/, ''), json: values.json, timeoutMs };
  if (values['token-file'] !== undefined) options.tokenFile = values['token-file'];

  const only = (allowed: string[]) => {
    for (const flag of ['all', 'force', 'to', 'reason'] as const) {
      const given = typeof values[flag] === 'boolean' ? values[flag] === true : values[flag] !== undefined;
      if (given && !allowed.includes(flag)) throw new UsageError(`--${flag} does not apply to '${name}'`);
    }
  };
  const noExtra = (max: number) => {
    if (rest.length > max) throw new UsageError(`unexpected argument '${rest[max]}'`);
  };

  switch (name) {
    case 'status': {
      only([]);
      noExtra(1);
      return rest[0] === undefined ? { kind: 'status', options } : { kind: 'status', unit: rest[0], options };
    }
    case 'reload': {
      only(['all', 'force', 'reason']);
      noExtra(1);
      const unit = rest[0];
      if (unit === undefined && !values.all) throw new UsageError("reload needs a unit name or --all");
      if (unit !== undefined && values.all) throw new UsageError('give a unit name or --all, not both');
      const cmd: Command = { kind: 'reload', all: values.all, force: values.force, options };
      if (unit !== undefined) cmd.unit = unit;
      if (values.reason !== undefined) cmd.reason = values.reason;
      return cmd;
    }
    case 'rollback': {
      only(['to', 'reason']);
      noExtra(1);
      const unit = rest[0];
      if (unit === undefined) throw new UsageError('rollback needs a unit name');
      const cmd: Command = { kind: 'rollback', unit, options };
      if (values.to !== undefined) {
        const to = Number(values.to);
        if (!/^\d+$/.test(values.to) || !Number.isSafeInteger(to) || to < 1) throw new UsageError(`--to must be a positive generation id, got '${values.to}'`);
        cmd.to = to;
      }
      if (values.reason !== undefined) cmd.reason = values.reason;
      return cmd;
    }
    default:
      throw new UsageError(`unknown command '${name}': use status, reload or rollback`);
  }
}
