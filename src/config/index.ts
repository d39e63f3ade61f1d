/**
 * `reloadkit/config`: layered configuration (defaults, files in every common format, the
 * environment over a dotenv file, secrets, the command line, remote stores) merged with the
 * provenance of every leaf and reloaded through a unit's pipeline. See docs/config.md.
 *
 * @module
 */
export { configSource, layered, type ConfigSource } from './source.js';
export { explain } from './explain.js';
export { ConfigParseError } from './parse-error.js';
export { coerceString } from './coerce.js';
export type { ConfigFormat } from './formats.js';
export type { MergeRule } from './merge.js';
export type { ConfigFileOptions, ConfigSourceOptions, ConfigWatchOptions, EnvOptions, LayeredOptions, SecretsOptions } from './options.js';
