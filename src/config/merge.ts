/**
 * The merge of a stack of layers, lowest first: objects merge deeply, everything else (arrays
 * included) is replaced by the higher layer; `rules` override that per path (`replace` an object
 * whole, `append` to an array). While merging we record, for every path a layer set, where it
 * came from, so that every leaf of the result has a provenance.
 *
 * @module
 */
import { LoadError } from '../errors.js';
import type { LayerReading } from './layer.js';
import { isPlainObject, joinPath, leafPaths, nearest, setOwn } from './paths.js';

/** How a path merges: `deep` (objects merge, the default), `replace` (the higher layer's value whole), `append` (arrays concatenate). */
export type MergeRule = 'deep' | 'replace' | 'append';

/** The merged value, the provenance of each leaf, and the raw strings behind coerced leaves. */
export interface Merged {
  value: Record<string, unknown>;
  provenance: Record<string, string>;
  alternates: Map<string, string>;
}

/** A copy of plain objects and arrays (other values, such as TOML dates, are shared). */
function copy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copy);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) setOwn(out, key, copy(value[key]));
    return out;
  }
  return value;
}

const fold = (key: string): string => key.toLowerCase().replace(/[_-]/g, '');

/** The existing key `key` should land on: itself, or the one key equal to it ignoring case, `_` and `-`. */
function landingKey(target: Record<string, unknown>, key: string): string {
  if (Object.prototype.hasOwnProperty.call(target, key)) return key;
  const matches = Object.keys(target).filter((k) => fold(k) === fold(key));
  return matches.length === 1 ? matches[0]! : key;
}

/**
 * Merges `layers` (lowest first; absent layers skipped) under `rules`.
 *
 * @example
 * ```ts
 * mergeLayers([defaults, file, env], { plugins: 'append' });
 * ```
 */
export function mergeLayers(layers: readonly { name: string; reading: LayerReading }[], rules: Readonly<Record<string, MergeRule>>): Merged {
  const root: Record<string, unknown> = {};
  const setAt = new Map<string, string>();
  const alternates = new Map<string, string>();

  const clearBelow = (path: string): void => {
    for (const map of [setAt, alternates]) {
      for (const key of map.keys()) if (key === path || key.startsWith(`${path}.`)) map.delete(key);
    }
  };

  const apply = (target: Record<string, unknown>, source: Record<string, unknown>, localPath: string, resultPath: string, reading: LayerReading): void => {
    const origin = (path: string): string => nearest(reading.origins, path) ?? reading.fallback;
    for (const key of Object.keys(source)) {
      const landed = reading.foldKeys ? landingKey(target, key) : key;
      const local = joinPath(localPath, key);
      const path = joinPath(resultPath, landed);
      const value = source[key];
      const rule = rules[path] ?? 'deep';
      const existing = Object.prototype.hasOwnProperty.call(target, landed) ? target[landed] : undefined;
      if (isPlainObject(value) && rule !== 'replace') {
        let child = existing;
        if (!isPlainObject(child)) {
          clearBelow(path);
          child = {};
          setOwn(target, landed, child);
        }
        if (Object.keys(value).length === 0 && Object.keys(child as object).length === 0) setAt.set(path, origin(local));
        else setAt.delete(path);
        apply(child as Record<string, unknown>, value, local, path, reading);
      } else if (rule === 'append' && Array.isArray(value) && Array.isArray(existing)) {
        setOwn(target, landed, [...existing, ...(copy(value) as unknown[])]);
        const before = nearest(setAt, path);
        clearBelow(path);
        setAt.set(path, before === undefined ? origin(local) : `${before} + ${origin(local)}`);
      } else {
        clearBelow(path);
        setOwn(target, landed, copy(value));
        setAt.set(path, origin(local));
        const raw = reading.alternates.get(local);
        if (raw !== undefined) alternates.set(path, raw);
      }
    }
  };

  for (const { name, reading } of layers) {
    if (reading.value === undefined) continue;
    if (!isPlainObject(reading.value)) {
      throw new LoadError(`layer ${name} did not produce an object (got ${Array.isArray(reading.value) ? 'an array' : typeof reading.value})`, { source: name });
    }
    apply(root, reading.value, '', '', reading);
  }

  const provenance: Record<string, string> = {};
  for (const path of leafPaths(root)) {
    const from = nearest(setAt, path);
    if (from !== undefined) provenance[path] = from;
  }
  return { value: root, provenance, alternates };
}
