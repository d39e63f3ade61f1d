/**
 * `configSource(options)` and `layered(sources)`: a stack of layers read as one reloadkit
 * `Source`. Each read reads every layer, merges them lowest first, lets the schema decide between a
 * coerced value and its raw string, and attaches the provenance of every leaf. A layer that fails
 * fails the read (so the unit keeps its live generation) with an error naming the layer.
 *
 * @module
 */
import { resolve } from 'node:path';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { LoadError, ReloadkitError } from '../errors.js';
import { fileSource } from '../file/file-source.js';
import type { FileWatchOptions } from '../file/options.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { withProvenance } from '../support/provenance.js';
import { safeMessage } from '../support/safe-message.js';
import type { Hint, Source } from '../types.js';
import { argvLayer, envLayer, type EnvMapping } from './env-layer.js';
import { fileLayer, namesEnvironment, type FileEntry } from './file-layer.js';
import { defaultsLayer, sourceLayer, type Layer, type LayerContext, type LayerReading } from './layer.js';
import { mergeLayers, type MergeRule } from './merge.js';
import { checkConfigOptions, checkMerge, checkSchema, LAYERED_KEYS, type ConfigSourceOptions, type LayeredOptions } from './options.js';
import { readIfExists } from './read-text.js';
import { preferStrings } from './schema-strings.js';
import { secretDirectoryLayer, secretFilesLayer } from './secrets-layer.js';

/** The `Source` a configuration stack is; `layers()` names its layers, lowest first. */
export interface ConfigSource extends Source<Record<string, unknown>> {
  layers(): string[];
  watch(hint: (h: Hint) => void): () => Promise<void>;
}

/** The environment as a layer reads it: the dotenv file under the real environment. */
interface Environment {
  read(signal: AbortSignal): Promise<Pick<LayerContext, 'vars' | 'dotenvOrigins'>>;
  watch?(hint: (h: Hint) => void): () => Promise<void>;
}

function environment(dotenv: string | undefined, watch: FileWatchOptions | false): Environment {
  if (dotenv === undefined) return { read: () => Promise.resolve({ vars: { ...process.env }, dotenvOrigins: new Map() }) };
  const absolute = resolve(dotenv);
  const env: Environment = {
    async read(signal) {
      const buffer = await readIfExists(absolute, dotenv, signal);
      // Imported on first use, like every format: only a stack with a dotenv file pays for it.
      const { parseDotenv } = await import('./format-ini.js');
      const vars: Record<string, string | undefined> = {};
      const dotenvOrigins = new Map<string, string>();
      for (const entry of buffer === undefined ? [] : parseDotenv(buffer.toString('utf8'), dotenv)) {
        vars[entry.name] = entry.value;
        dotenvOrigins.set(entry.name, `${dotenv}:${entry.line} (${entry.name})`);
      }
      for (const [name, value] of Object.entries(process.env)) {
        if (value === undefined) continue;
        vars[name] = value;
        dotenvOrigins.delete(name);
      }
      return { vars, dotenvOrigins };
    },
  };
  if (watch !== false) {
    const source = fileSource(dotenv, { ...watch, parse: 'buffer' });
    env.watch = (hint) => source.watch(hint);
  }
  return env;
}

/** Reads, merges and annotates a stack of layers. */
function stack(name: string, layers: Layer[], env: Environment, rules: Readonly<Record<string, MergeRule>>, schema: StandardSchemaV1 | undefined): ConfigSource {
  const names = layers.map((layer) => layer.describe());
  const description = `${name} (${names.join(' < ')})`;
  return {
    describe: () => description,
    layers: () => [...names],
    async read({ signal }) {
      let context: LayerContext;
      try {
        context = { signal, ...(await env.read(signal)) };
      } catch (error) {
        throw layerFailure('dotenv', error);
      }
      const settled = await Promise.allSettled(layers.map((layer) => layer.read(context)));
      signal?.throwIfAborted();
      const failed = settled.flatMap((outcome, i) => (outcome.status === 'rejected' ? [[names[i]!, outcome.reason] as const] : []));
      if (failed.length > 0) {
        const [layer, error] = failed[0]!;
        throw layerFailure(layer, error, failed.length - 1);
      }
      const readings = settled.map((outcome, i) => ({ name: names[i]!, reading: (outcome as PromiseFulfilledResult<LayerReading>).value }));
      const merged = mergeLayers(readings, rules);
      const { value } = await preferStrings(merged.value, merged.alternates, schema);
      return withProvenance(value, merged.provenance);
    },
    watch(hint) {
      const stops = [env.watch?.(hint), ...layers.map((layer) => layer.watch?.(hint))].filter((stop) => stop !== undefined);
      return async () => {
        await Promise.all(stops.map((stop) => stop()));
      };
    },
  };
}

/** The error for a broken layer: which layer, and why (its own message is already value-free). */
function layerFailure(layer: string, error: unknown, others = 0): Error {
  if (error instanceof Error && error.name === 'AbortError') return error;
  const more = others > 0 ? ` (and ${others} more layer${others > 1 ? 's' : ''})` : '';
  const why = error instanceof ReloadkitError ? error.message : safeMessage(error);
  return new LoadError(`layer ${layer} failed${more}: ${why}`, { source: layer, cause: error });
}

const fileEntry = (entry: string | { path: string; optional?: boolean; format?: FileEntry['format'] }, interpolate: boolean): FileEntry =>
  typeof entry === 'string'
    ? { path: entry, optional: false, format: undefined, interpolate }
    : { path: entry.path, optional: entry.optional ?? false, format: entry.format, interpolate };

/**
 * A layered configuration as one reloadkit `Source`: defaults, then files, then the environment
 * (over a dotenv file), then secrets, then the command line, then remote sources. Give it to a unit
 * and the schema, validation before swap, rollback, audit and metrics apply to the merged value;
 * every watched layer reloads it; `status().provenance` names the layer of every leaf.
 *
 * @example
 * ```ts
 * import { reloadable } from 'reloadkit';
 * import { configSource } from 'reloadkit/config';
 *
 * const config = reloadable({
 *   name: 'config',
 *   schema: Config,
 *   source: configSource({
 *     defaults: { db: { host: 'localhost', port: 5432 } },
 *     files: ['config/default.yaml', 'config/config.${NODE_ENV}.yaml', { path: 'config/local.yaml', optional: true }],
 *     dotenv: '.env',
 *     env: { prefix: 'APP_', separator: '__', map: { DATABASE_URL: 'db.url' } },
 *     secrets: { dir: '/etc/secrets' },
 *     schema: Config,
 *   }),
 * });
 * await config.start();
 * ```
 */
export function configSource(options: ConfigSourceOptions = {}): ConfigSource {
  checkConfigOptions(options);
  const watch: FileWatchOptions | false = options.watch === false ? false : options.watch === true || options.watch === undefined ? {} : { ...options.watch };
  const nodeEnv = options.nodeEnv ?? process.env.NODE_ENV;
  const interpolate = options.interpolate ?? true;
  const secrets = options.secrets === true ? {} : typeof options.secrets === 'string' ? { dir: options.secrets } : options.secrets;
  const mapping: EnvMapping = {
    prefix: options.env?.prefix,
    separator: options.env?.separator ?? '__',
    map: { ...options.env?.map },
    fileSuffix: secrets === undefined ? false : (secrets.fileSuffix ?? '_FILE'),
  };
  const layers: Layer[] = [];
  if (options.defaults !== undefined) layers.push(defaultsLayer(options.defaults));
  const entries = (options.files ?? []).map((entry) => fileEntry(entry, interpolate));
  const plain = entries.filter((entry) => !namesEnvironment(entry.path)).map((entry) => resolve(entry.path));
  for (const entry of entries) {
    const layer = fileLayer(entry, nodeEnv, watch, plain);
    if (layer) layers.push(layer);
  }
  if (options.env !== undefined) layers.push(envLayer(mapping));
  if (secrets !== undefined && mapping.fileSuffix !== false) layers.push(secretFilesLayer(mapping, watch));
  if (secrets?.dir !== undefined) layers.push(secretDirectoryLayer(secrets.dir, watch));
  if (options.argv !== undefined && options.argv !== false) {
    const given = options.argv;
    layers.push(argvLayer(given === true ? () => process.argv.slice(2) : [...given]));
  }
  const remote = options.remote === undefined ? [] : Array.isArray(options.remote) ? options.remote : [options.remote as Source<unknown>];
  for (const source of remote) layers.push(sourceLayer(source));
  return stack('config', layers, environment(options.dotenv, watch), { ...options.merge }, options.schema);
}

/**
 * A custom stack of any reloadkit sources, lowest first, merged as `configSource` merges its layers.
 * A source that attaches provenance (a `configSource`) keeps it per path; any other is credited by
 * its `describe()`.
 *
 * @example
 * ```ts
 * const source = layered([configSource({ files: ['config.yaml'] }), etcdSource(client, { key: '/app/config' })]);
 * ```
 */
export function layered(sources: readonly Source<unknown>[], options: LayeredOptions = {}): ConfigSource {
  if (!Array.isArray(sources) || sources.length === 0) throw new TypeError('layered: expected a non-empty array of sources');
  sources.forEach((source: unknown, i) => {
    const s = source as Partial<Source<unknown>> | null;
    if (typeof s !== 'object' || s === null || typeof s.read !== 'function' || typeof s.describe !== 'function') {
      throw new TypeError(`layered: expected sources[${i}] to be a reloadkit Source (describe, read, watch?)`);
    }
  });
  if (typeof options !== 'object' || options === null) throw new TypeError('layered: expected `options` to be an object');
  rejectUnknownKeys('layered', options, LAYERED_KEYS);
  checkMerge('layered', options.merge);
  checkSchema('layered', options.schema);
  const none: Environment = { read: () => Promise.resolve({ vars: {}, dotenvOrigins: new Map() }) };
  return stack('layered', sources.map(sourceLayer), none, { ...options.merge }, options.schema);
}
