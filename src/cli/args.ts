/**
 * Command-line parsing of the `reloadkit` command (`util.parseArgs`, strict): turns argv into one
 * validated command, or a usage error with a one-line reason.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { closest } from '../support/known-keys.js';

export const DEFAULT_URL = 'http://127.0.0.1:9464/reloadkit';

/** Global options shared by every subcommand. */
export interface GlobalOptions {
  url: string;
  tokenFile?: string;
  json: boolean;
  timeoutMs: number;
}

/** What `invalidate` drops: exactly one of a key, a prefix or every entry. */
export type InvalidateTarget = { key: string } | { prefix: string } | { all: true };

/** One parsed command. */
export type Command =
  | { kind: 'help' }
  | { kind: 'status'; unit?: string; options: GlobalOptions }
  | { kind: 'reload'; unit?: string; all: boolean; reason?: string; force: boolean; options: GlobalOptions }
  | { kind: 'rollback'; unit: string; to?: number; reason?: string; options: GlobalOptions }
  | { kind: 'history'; unit: string; options: GlobalOptions }
  | { kind: 'invalidate'; unit: string; target: InvalidateTarget; refresh: boolean; reason?: string; options: GlobalOptions }
  | { kind: 'pause'; unit: string; reason?: string; options: GlobalOptions }
  | { kind: 'resume'; unit: string; options: GlobalOptions }
  | { kind: 'clear-refused'; unit: string; options: GlobalOptions }
  | { kind: 'validate'; unit: string; file?: string; reason?: string; options: GlobalOptions };

/** A problem with the command line: exit code 2. */
export { UsageError };

const COMMANDS = ['status', 'reload', 'validate', 'rollback', 'history', 'pause', 'resume', 'clear-refused', 'invalidate'] as const;

export const USAGE = `Usage:
  reloadkit status [unit]                      units' state, generation, hash, last attempt, reason
  reloadkit reload <unit> | --all [--force]    reload one unit, or every unit
  reloadkit validate <unit> [--file F]         dry run: would the source's config (or F's JSON) commit?
  reloadkit rollback <unit> [--to N]           return to generation N (default: the previous one)
  reloadkit history <unit>                     the retained generations a rollback can return to
  reloadkit pause <unit> | resume <unit>       hold hints and reloads; resume runs the one pending reload
  reloadkit clear-refused <unit>               forget the config hashes a rollback or verify refused
  reloadkit invalidate <cache> --key K | --prefix P | --all [--refresh]
                                               drop (or reload in place) cache entries
  reloadkit fleet …  |  reloadkit rollout …    fleet status, commands and rollouts over etcd
                                               (see reloadkit fleet --help, docs/fleet.md)

Options:
  --url URL          admin base URL (default: $RELOADKIT_URL or ${DEFAULT_URL})
  --token-file PATH  read the bearer token from a file (default: $RELOADKIT_TOKEN)
  --reason TEXT      recorded in the audit log with the token's actor (not on resume, clear-refused)
  --json             print JSON instead of a table
  --timeout MS       give up after MS milliseconds (default 30000)
  -h, --help         show this help

Exit codes: 0 done, 1 rejected or refused, 2 usage, auth or connection error.`;

/** The flags that belong to some subcommands only. */
const SPECIFIC_FLAGS = ['all', 'force', 'to', 'reason', 'key', 'prefix', 'refresh', 'file'] as const;
type SpecificFlag = (typeof SPECIFIC_FLAGS)[number];

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
        key: { type: 'string' },
        prefix: { type: 'string' },
        refresh: { type: 'boolean', default: false },
        file: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]!);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  const [name, ...rest] = positionals;
  if (name === undefined) throw new UsageError(`missing command: ${COMMANDS.join(', ')}`);

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

  const only = (allowed: SpecificFlag[]) => {
    for (const flag of SPECIFIC_FLAGS) {
      const given = typeof values[flag] === 'boolean' ? values[flag] === true : values[flag] !== undefined;
      if (given && !allowed.includes(flag)) throw new UsageError(`--${flag} does not apply to '${name}'`);
    }
  };
  const noExtra = (max: number) => {
    if (rest.length > max) throw new UsageError(`unexpected argument '${rest[max]}'`);
  };
  /** The one unit name the command takes. */
  const oneUnit = (allowed: SpecificFlag[]): string => {
    only(allowed);
    noExtra(1);
    if (rest[0] === undefined) throw new UsageError(`${name} needs a unit name`);
    return rest[0];
  };
  const withReason = <C extends { reason?: string }>(cmd: C): C => {
    if (values.reason !== undefined) cmd.reason = values.reason;
    return cmd;
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
      if (unit === undefined && !values.all) throw new UsageError('reload needs a unit name or --all');
      if (unit !== undefined && values.all) throw new UsageError('give a unit name or --all, not both');
      const cmd: Command = { kind: 'reload', all: values.all, force: values.force, options };
      if (unit !== undefined) cmd.unit = unit;
      return withReason(cmd);
    }
    case 'rollback': {
      const cmd: Command = { kind: 'rollback', unit: oneUnit(['to', 'reason']), options };
      if (values.to !== undefined) {
        const to = Number(values.to);
        if (!/^\d+$/.test(values.to) || !Number.isSafeInteger(to) || to < 1) throw new UsageError(`--to must be a positive generation id, got '${values.to}'`);
        cmd.to = to;
      }
      return withReason(cmd);
    }
    case 'history':
      return { kind: 'history', unit: oneUnit([]), options };
    case 'pause':
      return withReason<Command & { kind: 'pause' }>({ kind: 'pause', unit: oneUnit(['reason']), options });
    case 'resume':
    case 'clear-refused':
      // Their audit records carry the token's actor only.
      return { kind: name, unit: oneUnit([]), options };
    case 'validate': {
      const cmd: Command = { kind: 'validate', unit: oneUnit(['file', 'reason']), options };
      if (values.file !== undefined) cmd.file = values.file;
      return withReason(cmd);
    }
    case 'invalidate': {
      const unit = oneUnit(['key', 'prefix', 'all', 'refresh', 'reason']);
      const given = (['key', 'prefix', 'all'] as const).filter((f) => (f === 'all' ? values.all : values[f] !== undefined));
      if (given.length !== 1) throw new UsageError(`invalidate needs exactly one of --key K, --prefix P or --all${given.length > 1 ? `, got --${given.join(' and --')}` : ''}`);
      let target: InvalidateTarget;
      if (values.key !== undefined) target = { key: values.key };
      else if (values.prefix !== undefined) {
        if (values.prefix === '') throw new UsageError('--prefix must not be empty: use --all to invalidate every entry');
        target = { prefix: values.prefix };
      } else target = { all: true };
      return withReason<Command & { kind: 'invalidate' }>({ kind: 'invalidate', unit, target, refresh: values.refresh, options });
    }
    default: {
      const guess = closest(name, COMMANDS);
      throw new UsageError(`unknown command '${name}'${guess ? ` (did you mean '${guess}'?)` : ''}: use ${COMMANDS.join(', ')}`);
    }
  }
}
