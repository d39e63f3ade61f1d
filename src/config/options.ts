/**
 * The options of `configSource` and `layered`, documented, and their checks: every mistake is a
 * precise `TypeError` when the source is created, never a surprise at the first reload.
 *
 * @module
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { describeValue } from '../support/describe-value.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import type { Source } from '../types.js';
import { FORMATS, type ConfigFormat } from './formats.js';
import type { MergeRule } from './merge.js';

/** One entry of `files` given as an object. */
export interface ConfigFileOptions {
  /**
   * The file. `{env}` or `${NODE_ENV}` in it stand for the environment's name; such an entry is
   * skipped when no environment is set. Relative paths resolve against `process.cwd()`.
   * @example 'config/config.${NODE_ENV}.yaml'
   */
  path: string;
  /**
   * The file may be missing (and may appear or disappear later: it is watched either way).
   * A missing required file fails the load; a missing `config.${NODE_ENV}.*` names the
   * environments that do have a file (so `NODE_ENV=prodution` is caught).
   * @default false
   * @example { path: 'config.local.yaml', optional: true }
   */
  optional?: boolean;
  /**
   * The format, when the extension does not tell it.
   * @default by extension: .json, .jsonc, .json5, .yaml/.yml, .toml, .ini, .env
   * @example { path: 'app.conf', format: 'ini' }
   */
  format?: ConfigFormat;
}

/** How the environment maps onto the configuration. */
export interface EnvOptions {
  /**
   * Variables starting with this prefix are configuration: `APP_DB__PORT` → `db.port`. The rest
   * of the name is split on `separator` and lower-cased, then matched to an existing key ignoring
   * case, `_` and `-` (so `APP_DB__MAX_CONNECTIONS` lands on `db.maxConnections` when the
   * defaults or a file spell it so). Without a prefix only `map` applies.
   * @default undefined (no prefix mapping)
   * @example { prefix: 'APP_' }
   */
  prefix?: string;
  /**
   * What separates nesting levels in a variable name.
   * @default '__'
   * @example { prefix: 'APP_', separator: '__' } // APP_DB__PORT → db.port
   */
  separator?: string;
  /**
   * Explicit variable → dotted path entries, for names that follow no convention.
   * @default {}
   * @example { map: { DATABASE_URL: 'db.url', PORT: 'server.port' } }
   */
  map?: Record<string, string>;
}

/** Where secrets come from. */
export interface SecretsOptions {
  /**
   * A directory of one file per key (a Kubernetes Secret volume, Docker's `/run/secrets`): the
   * file `db.password` (or `DB__PASSWORD`) sets `db.password`. Watched; `..data` swaps are whole.
   * @default undefined
   * @example { dir: '/etc/secrets' }
   */
  dir?: string;
  /**
   * The `_FILE` convention: `<NAME><fileSuffix>=/path` sets what `<NAME>` would set (through
   * the `env` mapping) to the file's content, minus a trailing newline. `false` turns it off.
   * @default '_FILE'
   * @example { fileSuffix: '_FILE' } // APP_DB__PASSWORD_FILE=/run/secrets/db → db.password
   */
  fileSuffix?: string | false;
}

/** File-watch tuning shared by every watched file of the stack. */
export interface ConfigWatchOptions {
  /**
   * Quiet period after the last filesystem event, in ms.
   * @default 100
   * @example { debounceMs: 50 }
   */
  debounceMs?: number;
  /**
   * Longest delay after the first event of a burst, in ms.
   * @default max(1000, debounceMs)
   * @example { maxWaitMs: 2000 }
   */
  maxWaitMs?: number;
  /**
   * Poll instead of native events (NFS, some container volumes); `true` polls every 500 ms.
   * @default false
   * @example { polling: { intervalMs: 1000 } }
   */
  polling?: boolean | { intervalMs?: number };
}

/** Options of `configSource`. Layers, lowest precedence first: defaults, files, env (over dotenv), secrets, argv, remote. */
export interface ConfigSourceOptions {
  /**
   * The lowest layer: values used when no other layer sets them.
   * @default {}
   * @example { defaults: { db: { host: 'localhost', port: 5432 } } }
   */
  defaults?: Record<string, unknown>;
  /**
   * Configuration files, lowest first; later files override earlier ones.
   * @default []
   * @example ['config/default.yaml', 'config/config.${NODE_ENV}.yaml', { path: 'config/local.yaml', optional: true }]
   */
  files?: readonly (string | ConfigFileOptions)[];
  /**
   * Environment variables as a layer above the files.
   * @default undefined (the environment is not read)
   * @example { prefix: 'APP_', separator: '__', map: { DATABASE_URL: 'db.url' } }
   */
  env?: EnvOptions;
  /**
   * A dotenv file loaded *below* the real environment: a variable set in both takes the real
   * value. Optional (a missing file is fine) and watched. Its variables also feed `${VAR}`
   * interpolation and the `_FILE` convention.
   * @default undefined
   * @example { dotenv: '.env' }
   */
  dotenv?: string;
  /**
   * Secrets above the environment: `true` for the `_FILE` convention alone, a directory path, or
   * both as an object.
   * @default undefined
   * @example { secrets: { dir: '/etc/secrets' } }
   */
  secrets?: true | string | SecretsOptions;
  /**
   * The command line above secrets: `true` reads `process.argv.slice(2)`; or the arguments.
   * `--db.port=6543` sets `db.port`, a bare `--verbose` sets `verbose: true`.
   * @default false
   * @example { argv: true }
   */
  argv?: boolean | readonly string[];
  /**
   * Any reloadkit sources (etcd, Redis, NATS, MCP, HTTP) as the top layer(s), lowest first.
   * Each must read an object; its watch hints reload the stack.
   * @default []
   * @example { remote: etcdSource(client, { key: '/app/config' }) }
   */
  remote?: Source<unknown> | readonly Source<unknown>[];
  /**
   * Per-path merge rules. Objects merge deeply and arrays are replaced unless a path says
   * otherwise: `replace` takes a higher layer's object whole, `append` concatenates arrays.
   * @default {}
   * @example { merge: { 'db.pool': 'replace', plugins: 'append' } }
   */
  merge?: Record<string, MergeRule>;
  /**
   * The unit's schema, so that coercion defers to it: where a value parsed from a string
   * (`APP_NAME=42`) fails and the raw string passes, the string is kept. Pass the same schema as
   * the unit's; the unit still validates the result.
   * @default undefined (JSON literals are parsed, everything else stays a string)
   * @example { schema: ConfigSchema }
   */
  schema?: StandardSchemaV1;
  /**
   * The environment's name for `{env}` / `${NODE_ENV}` in file paths.
   * @default process.env.NODE_ENV
   * @example { nodeEnv: 'staging' }
   */
  nodeEnv?: string;
  /**
   * `${VAR}` and `${VAR:-default}` in string values of files, against the environment.
   * @default true
   * @example { interpolate: false }
   */
  interpolate?: boolean;
  /**
   * Watch every file (configuration files, dotenv, secrets), or `false` to reload only when
   * asked. An object tunes debouncing and polling.
   * @default true
   * @example { watch: { debounceMs: 50 } }
   */
  watch?: boolean | ConfigWatchOptions;
}

/** Options of `layered`. */
export interface LayeredOptions {
  /**
   * Per-path merge rules, as for `configSource`.
   * @default {}
   * @example { merge: { plugins: 'append' } }
   */
  merge?: Record<string, MergeRule>;
  /**
   * The unit's schema, as for `configSource`: where a value parsed from a string fails and the
   * string passes, the string is kept.
   * @default undefined
   * @example { schema: ConfigSchema }
   */
  schema?: StandardSchemaV1;
}

export const CONFIG_KEYS = ['defaults', 'files', 'env', 'dotenv', 'secrets', 'argv', 'remote', 'merge', 'schema', 'nodeEnv', 'interpolate', 'watch'] as const;
const FILE_KEYS = ['path', 'optional', 'format'];
const ENV_KEYS = ['prefix', 'separator', 'map'];
const SECRETS_KEYS = ['dir', 'fileSuffix'];
const WATCH_KEYS = ['debounceMs', 'maxWaitMs', 'polling'];
export const LAYERED_KEYS = ['merge', 'schema'];
const RULES: readonly MergeRule[] = ['deep', 'replace', 'append'];

const WHO = 'configSource';

function fail(name: string, expected: string, value: unknown): never {
  throw new TypeError(`${WHO}: expected \`${name}\` to be ${expected}, got ${describeValue(value)}`);
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Checks `merge` rules (shared with `layered`). */
export function checkMerge(who: string, merge: unknown): void {
  if (merge === undefined) return;
  if (!isObject(merge)) throw new TypeError(`${who}: expected \`merge\` to be an object of path → rule, got ${describeValue(merge)}`);
  for (const [path, rule] of Object.entries(merge)) {
    if (!RULES.includes(rule as MergeRule)) throw new TypeError(`${who}: expected \`merge['${path}']\` to be 'deep', 'replace' or 'append', got ${describeValue(rule)}`);
  }
}

/** Checks a schema option (shared with `layered`). */
export function checkSchema(who: string, schema: unknown): void {
  if (schema === undefined) return;
  const std = (schema as { '~standard'?: { validate?: unknown } } | null)?.['~standard'];
  if (typeof std?.validate !== 'function') throw new TypeError(`${who}: expected \`schema\` to be a Standard Schema (zod, valibot, arktype...)`);
}

/** Checks every option of `configSource`; throws a `TypeError` naming the first bad one. */
export function checkConfigOptions(options: ConfigSourceOptions): void {
  if (!isObject(options)) fail('options', 'an object', options);
  rejectUnknownKeys(WHO, options, CONFIG_KEYS);
  if (options.defaults !== undefined && !isObject(options.defaults)) fail('defaults', 'an object', options.defaults);
  if (options.files !== undefined) {
    if (!Array.isArray(options.files)) fail('files', 'an array', options.files);
    options.files.forEach((entry: unknown, i) => {
      if (typeof entry === 'string') {
        if (entry === '') fail(`files[${i}]`, 'a non-empty path', entry);
        return;
      }
      if (!isObject(entry)) fail(`files[${i}]`, 'a path or { path, optional?, format? }', entry);
      rejectUnknownKeys(`${WHO}: files[${i}]`, entry, FILE_KEYS);
      if (typeof entry.path !== 'string' || entry.path === '') fail(`files[${i}].path`, 'a non-empty string', entry.path);
      if (entry.optional !== undefined && typeof entry.optional !== 'boolean') fail(`files[${i}].optional`, 'a boolean', entry.optional);
      if (entry.format !== undefined && !FORMATS.includes(entry.format as ConfigFormat)) fail(`files[${i}].format`, `one of ${FORMATS.join(', ')}`, entry.format);
    });
  }
  if (options.env !== undefined) {
    const env: unknown = options.env;
    if (!isObject(env)) fail('env', 'an object ({ prefix?, separator?, map? })', env);
    rejectUnknownKeys(`${WHO}: env`, env, ENV_KEYS);
    if (env.prefix !== undefined && (typeof env.prefix !== 'string' || env.prefix === '')) fail('env.prefix', 'a non-empty string (an empty prefix would read the whole environment)', env.prefix);
    if (env.separator !== undefined && (typeof env.separator !== 'string' || env.separator === '')) fail('env.separator', 'a non-empty string', env.separator);
    if (env.map !== undefined) {
      if (!isObject(env.map)) fail('env.map', 'an object of variable → dotted path', env.map);
      for (const [name, path] of Object.entries(env.map)) {
        if (typeof path !== 'string' || path === '' || path.split('.').some((s) => s === '')) fail(`env.map.${name}`, 'a dotted path', path);
      }
    }
  }
  if (options.dotenv !== undefined && (typeof options.dotenv !== 'string' || options.dotenv === '')) fail('dotenv', 'a file path', options.dotenv);
  const secrets: unknown = options.secrets;
  if (secrets !== undefined && secrets !== true && typeof secrets !== 'string') {
    if (!isObject(secrets)) fail('secrets', 'true, a directory or { dir?, fileSuffix? }', secrets);
    rejectUnknownKeys(`${WHO}: secrets`, secrets, SECRETS_KEYS);
    if (secrets.dir !== undefined && (typeof secrets.dir !== 'string' || secrets.dir === '')) fail('secrets.dir', 'a directory path', secrets.dir);
    if (secrets.fileSuffix !== undefined && secrets.fileSuffix !== false && (typeof secrets.fileSuffix !== 'string' || secrets.fileSuffix === '')) fail('secrets.fileSuffix', 'a non-empty string or false', secrets.fileSuffix);
  }
  if (typeof secrets === 'string' && secrets === '') fail('secrets', 'a directory path', secrets);
  const argv: unknown = options.argv;
  if (argv !== undefined && typeof argv !== 'boolean' && !(Array.isArray(argv) && argv.every((a) => typeof a === 'string'))) fail('argv', 'a boolean or an array of strings', argv);
  const remote: unknown = options.remote;
  if (remote !== undefined) {
    const list = Array.isArray(remote) ? remote : [remote];
    list.forEach((source: unknown, i) => {
      if (!isObject(source) || typeof source.read !== 'function' || typeof source.describe !== 'function') fail(`remote[${i}]`, 'a reloadkit Source (describe, read, watch?)', source);
    });
  }
  checkMerge(WHO, options.merge);
  checkSchema(WHO, options.schema);
  if (options.nodeEnv !== undefined && typeof options.nodeEnv !== 'string') fail('nodeEnv', 'a string', options.nodeEnv);
  if (options.interpolate !== undefined && typeof options.interpolate !== 'boolean') fail('interpolate', 'a boolean', options.interpolate);
  const watch: unknown = options.watch;
  if (watch !== undefined && typeof watch !== 'boolean') {
    if (!isObject(watch)) fail('watch', 'a boolean or { debounceMs?, maxWaitMs?, polling? }', watch);
    rejectUnknownKeys(`${WHO}: watch`, watch, WATCH_KEYS);
  }
}
