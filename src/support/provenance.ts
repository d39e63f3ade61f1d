/**
 * Provenance: which layer set each leaf of a raw candidate (`db.port` → `env APP_DB__PORT`,
 * `config.production.yaml:12`). A source that merges layers attaches the map to the object its
 * `read()` returns; the pipeline carries it with the candidate, names the layer in validation
 * issues, and reports the live generation's map in `status().provenance`. Layer descriptions are
 * names and positions, never values.
 *
 * The map rides beside the value in a module-private `WeakMap`, so the value itself stays plain
 * data: hashing, schemas and `changedPaths` see exactly what the source produced.
 *
 * @module
 */

/** Dotted leaf path → where it was set (a file and line, an environment variable, a secret file). */
export type Provenance = Readonly<Record<string, string>>;

const attached = new WeakMap<object, Provenance>();

/**
 * Attaches `provenance` to `raw` and returns `raw`. Values that are not objects cannot carry one
 * and are returned unchanged.
 *
 * @example
 * ```ts
 * return withProvenance(merged, { 'db.port': 'env APP_DB__PORT', 'db.host': 'config.yaml:3' });
 * ```
 */
export function withProvenance<T>(raw: T, provenance: Provenance): T {
  if (typeof raw === 'object' && raw !== null) attached.set(raw, Object.freeze({ ...provenance }));
  return raw;
}

/** The provenance attached to `raw` by its source, if any. */
export function provenanceOf(raw: unknown): Provenance | undefined {
  return typeof raw === 'object' && raw !== null ? attached.get(raw) : undefined;
}

/**
 * Where `path` (or the nearest ancestor that a layer set as a whole) came from. For a path that no
 * layer set itself, but whose children some did, the first child's layer is not a fair answer, so
 * this returns undefined.
 *
 * @example
 * ```ts
 * originOf({ 'db.port': 'env APP_DB__PORT' }, 'db.port'); // 'env APP_DB__PORT'
 * originOf({ 'tags': 'config.yaml:4' }, 'tags.1');       // 'config.yaml:4'
 * ```
 */
export function originOf(provenance: Provenance | undefined, path: string): string | undefined {
  if (provenance === undefined) return undefined;
  for (let p = path; p !== ''; p = p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '') {
    const layer = provenance[p];
    if (layer !== undefined) return layer;
  }
  return undefined;
}
