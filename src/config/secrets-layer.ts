/**
 * Secrets as a layer, in the two shapes deployments use:
 * - the `_FILE` convention: `DB_PASSWORD_FILE=/run/secrets/db` holds the path of the file whose
 *   content `DB_PASSWORD` would have held, so it lands where `DB_PASSWORD` would (through the
 *   environment mapping: `APP_DB__PASSWORD_FILE` → `db.password`, or `map: { DB_PASSWORD: ... }`);
 * - a directory of one file per key (a Kubernetes Secret volume, Docker's `/run/secrets`): the
 *   file `db.password` (or `DB__PASSWORD`) sets `db.password`.
 * Each file's trailing newline is dropped. Every file is watched, so a rotated secret reloads.
 *
 * @module
 */
import { resolve } from 'node:path';
import { LoadError } from '../errors.js';
import { directorySource } from '../file/directory-source.js';
import { fileSource } from '../file/file-source.js';
import type { FileWatchOptions } from '../file/options.js';
import type { Hint } from '../types.js';
import { envPath, stringLayerReading, type EnvMapping } from './env-layer.js';
import type { Layer } from './layer.js';
import { readIfExists } from './read-text.js';

/** One trailing newline (what `echo` and most editors add) is not part of a secret. */
function secretText(buffer: Buffer): string {
  return buffer.toString('utf8').replace(/\r?\n$/, '');
}

/** The `_FILE` variables of `vars` that the mapping places, with their target path. */
function fileVariables(vars: Readonly<Record<string, string | undefined>>, mapping: EnvMapping): [string, string, string[]][] {
  if (mapping.fileSuffix === false) return [];
  const suffix = mapping.fileSuffix;
  const out: [string, string, string[]][] = [];
  for (const name of Object.keys(vars).sort()) {
    const path = vars[name];
    if (!name.endsWith(suffix) || path === undefined || path === '' || mapping.map[name] !== undefined) continue;
    const segments = envPath(name.slice(0, -suffix.length), mapping);
    if (segments !== undefined) out.push([name, path, segments]);
  }
  return out;
}

/** The `_FILE` layer. Which variables exist is read from the environment at each read. */
export function secretFilesLayer(mapping: EnvMapping, watch: FileWatchOptions | false): Layer {
  const layer: Layer = {
    describe: () => `secret files (*${mapping.fileSuffix || ''})`,
    async read({ signal, vars }) {
      const entries: [string[], string, string][] = [];
      for (const [name, path, segments] of fileVariables(vars, mapping)) {
        const buffer = await readIfExists(resolve(path), path, signal);
        if (buffer === undefined) throw new LoadError(`secret file ${path} named by ${name} does not exist`, { source: `secret file ${path}` });
        entries.push([segments, secretText(buffer), `secret file ${path} (${name})`]);
      }
      return stringLayerReading(entries, 'secret files', true);
    },
  };
  if (watch !== false) {
    layer.watch = (hint: (h: Hint) => void) => {
      const stops = fileVariables(process.env, mapping).map(([, path]) => fileSource(path, { ...watch, parse: 'buffer' }).watch(hint));
      return async () => {
        await Promise.all(stops.map((stop) => stop()));
      };
    };
  }
  return layer;
}

/** A directory of one file per key. */
export function secretDirectoryLayer(dir: string, watch: FileWatchOptions | false): Layer {
  const source = directorySource(dir, { ...(watch === false ? {} : watch), parse: 'buffer' });
  const layer: Layer = {
    describe: () => `secrets ${dir}`,
    async read({ signal }) {
      const files = (await source.read({ signal })) as Record<string, Buffer>;
      const entries: [string[], string, string][] = [];
      for (const key of Object.keys(files)) {
        const segments = key.split(/__|\./);
        if (segments.some((s) => s === '')) continue;
        entries.push([segments, secretText(files[key]!), `secret ${dir.replace(/\/$/, '')}/${key}`]);
      }
      return stringLayerReading(entries, `secrets ${dir}`, true);
    },
  };
  if (watch !== false) layer.watch = (hint) => source.watch(hint);
  return layer;
}
