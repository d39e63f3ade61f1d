/**
 * `explain(unit, path)`: which layer set a path of the live configuration, from the unit's
 * `status().provenance` (layer names and positions, never values).
 *
 * @module
 */
import { originOf, type Provenance } from '../support/provenance.js';

/**
 * Where `path` of the unit's live value came from (`env APP_DB__PORT`, `config.production.yaml:12`,
 * `secret file /run/secrets/db (DB_PASSWORD_FILE)`), or undefined when no layer set it.
 *
 * @example
 * ```ts
 * explain(config, 'db.port'); // 'env APP_DB__PORT'
 * ```
 */
export function explain(unit: { status(): object }, path: string): string | undefined {
  if (typeof unit?.status !== 'function') throw new TypeError('explain: expected a unit (anything with status())');
  if (typeof path !== 'string' || path === '') throw new TypeError('explain: expected `path` to be a dotted path such as `db.port`');
  const provenance = (unit.status() as { provenance?: unknown }).provenance;
  return originOf(typeof provenance === 'object' && provenance !== null ? (provenance as Provenance) : undefined, path);
}
