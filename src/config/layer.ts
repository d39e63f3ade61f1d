/**
 * The internal shape of one layer of a configuration stack: what it read, where each path came
 * from, and the raw strings behind coerced values. `configSource` builds its layers from its
 * options; `layered()` wraps any reloadkit `Source` as one.
 *
 * @module
 */
import type { Hint, Source } from '../types.js';
import { provenanceOf } from '../support/provenance.js';
import type { Vars } from './interpolate.js';

/** What one layer read. */
export interface LayerReading {
  /** The layer's object, or undefined when the layer is absent this time (a missing optional file). */
  value: unknown;
  /** Layer-local dotted path → where it was set (`config.yaml:3`, `env APP_DB__PORT`). */
  origins: ReadonlyMap<string, string>;
  /** Where a path came from when no entry of `origins` covers it. */
  fallback: string;
  /** Layer-local dotted path → the raw string a coerced value was parsed from. */
  alternates: ReadonlyMap<string, string>;
  /**
   * Match this layer's keys to existing keys ignoring case, `_` and `-` (`APP_DB__MAX_CONNECTIONS`
   * lands on `db.maxConnections` when a lower layer spells it so). For environment-like layers.
   */
  foldKeys?: boolean;
}

/** What a layer's `read` is given. */
export interface LayerContext {
  signal: AbortSignal;
  /** The environment: the real one over the dotenv file. */
  vars: Vars;
  /** Variable name → where it was set, for variables that came from the dotenv file. */
  dotenvOrigins: ReadonlyMap<string, string>;
}

/** One layer. */
export interface Layer {
  describe(): string;
  read(ctx: LayerContext): Promise<LayerReading>;
  watch?(hint: (h: Hint) => void): () => void | Promise<void>;
}

/**
 * Any reloadkit `Source` as a layer: its provenance, when it attaches one (a nested
 * `configSource`), is kept per path; otherwise every path is credited to `describe()`.
 */
export function sourceLayer(source: Source<unknown>): Layer {
  const layer: Layer = {
    describe: () => source.describe(),
    async read({ signal }) {
      const value = await source.read({ signal });
      const provenance = provenanceOf(value);
      return { value, origins: new Map(Object.entries(provenance ?? {})), fallback: source.describe(), alternates: new Map() };
    },
  };
  if (typeof source.watch === 'function') layer.watch = (hint) => source.watch!(hint);
  return layer;
}

/** A fixed object (the `defaults` option). */
export function defaultsLayer(defaults: Record<string, unknown>): Layer {
  return {
    describe: () => 'defaults',
    read: () => Promise.resolve({ value: defaults, origins: new Map(), fallback: 'defaults', alternates: new Map() }),
  };
}
