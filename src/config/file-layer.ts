/**
 * One configuration file as a layer: the path may name the environment (`config.{env}.yaml`,
 * `config.${NODE_ENV}.yaml`), the file may be optional, and it is watched with the file source's
 * machinery (parent-directory watch, editors' renames, ConfigMap `..data` swaps, debounce).
 *
 * @module
 */
import { readdir } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { LoadError } from '../errors.js';
import { fileSource } from '../file/file-source.js';
import type { FileWatchOptions } from '../file/options.js';
import { EXTENSIONS, formatOf, parseConfigText, type ConfigFormat } from './formats.js';
import { interpolate } from './interpolate.js';
import type { Layer } from './layer.js';
import { readIfExists } from './read-text.js';

/** `{env}` and `${NODE_ENV}` in a file name stand for the environment's name. */
const PLACEHOLDER = /\{env\}|\$\{NODE_ENV\}/g;

/** A file entry after option checks. */
export interface FileEntry {
  path: string;
  optional: boolean;
  format: ConfigFormat | undefined;
  interpolate: boolean;
}

/** True when `template` names the environment. */
export function namesEnvironment(template: string): boolean {
  return new RegExp(PLACEHOLDER.source).test(template);
}

/**
 * The layer for `entry`, or undefined when the path names the environment and none is set
 * (there is no `config.undefined.yaml` to look for).
 */
export function fileLayer(entry: FileEntry, nodeEnv: string | undefined, watch: FileWatchOptions | false, others: readonly string[] = []): Layer | undefined {
  const templated = namesEnvironment(entry.path);
  if (templated && (nodeEnv === undefined || nodeEnv === '')) return undefined;
  const shown = templated ? entry.path.replace(PLACEHOLDER, nodeEnv!) : entry.path;
  const absolute = resolve(shown);
  const format = entry.format ?? formatOf(shown);
  if (format === undefined) {
    throw new TypeError(`configSource: cannot tell the format of \`${shown}\` from its extension; pass \`{ path, format }\` (${EXTENSIONS.join(', ')})`);
  }
  const layer: Layer = {
    describe: () => shown,
    async read({ signal, vars }) {
      const buffer = await readIfExists(absolute, shown, signal);
      if (buffer === undefined) {
        if (entry.optional) return { value: undefined, origins: new Map(), fallback: shown, alternates: new Map() };
        if (templated) throw await unknownEnvironment(entry.path, nodeEnv!, shown, others);
        throw new LoadError(`${shown} does not exist (mark it \`optional: true\` if it may be missing)`, { source: `file ${shown}` });
      }
      const parsed = await parseConfigText(buffer, shown, format);
      const alternates = new Map(parsed.alternates);
      const value = entry.interpolate ? interpolate(parsed.value, vars, { file: shown, lines: parsed.lines, alternates }) : parsed.value;
      const origins = new Map<string, string>();
      for (const [path, line] of parsed.lines) origins.set(path, `${shown}:${line}`);
      return { value, origins, fallback: shown, alternates };
    },
  };
  if (watch !== false) {
    const source = fileSource(shown, { ...watch, parse: 'buffer' });
    layer.watch = (hint) => source.watch(hint);
  }
  return layer;
}

/**
 * The error for `NODE_ENV=prodution`: the environment names no file. Lists the environments that
 * do have one next to it, so the typo is obvious (files that are layers of their own, such as
 * `default.json` beside `${NODE_ENV}.json`, are not environments).
 */
async function unknownEnvironment(template: string, nodeEnv: string, shown: string, others: readonly string[]): Promise<LoadError> {
  const dir = dirname(resolve(template.replace(PLACEHOLDER, 'x')));
  const pattern = basename(template);
  const stem = pattern.slice(0, pattern.lastIndexOf('.') > 0 ? pattern.lastIndexOf('.') : pattern.length);
  const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const matcher = new RegExp(`^${stem.split(PLACEHOLDER).map(escape).join('(.+?)')}\\.[^.]+$`);
  const names = new Set<string>();
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = matcher.exec(name);
    if (m?.[1] === undefined || others.includes(resolve(dir, name))) continue;
    if (EXTENSIONS.some((ext) => name.toLowerCase().endsWith(ext))) names.add(m[1]);
  }
  const known = names.size > 0 ? ` (files exist for: ${[...names].sort().join(', ')})` : '';
  return new LoadError(`NODE_ENV is '${nodeEnv}' but ${shown} does not exist${known}; mark the file \`optional: true\` if this environment needs none`, { source: `file ${shown}` });
}
