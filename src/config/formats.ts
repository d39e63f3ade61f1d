/**
 * Which parser reads which file, by extension: `.json`, `.jsonc`, `.json5`, `.yaml`/`.yml`,
 * `.toml`, `.ini`, and `.env` (also a file named `.env` or `.env.<something>`). Each format's
 * module (and its parser package) is imported the first time a file of that format is read: a
 * JSON-only configuration never loads the YAML, TOML or INI code, which a fresh process pays for.
 *
 * @module
 */
import { basename, extname } from 'node:path';
import { stripBom, type ParsedFile } from './parsed.js';

/** The formats `configSource` reads. */
export type ConfigFormat = 'json' | 'jsonc' | 'json5' | 'yaml' | 'toml' | 'ini' | 'env';

export const FORMATS: readonly ConfigFormat[] = ['json', 'jsonc', 'json5', 'yaml', 'toml', 'ini', 'env'];

const BY_EXTENSION: Record<string, ConfigFormat> = {
  '.json': 'json',
  '.jsonc': 'jsonc',
  '.json5': 'json5',
  '.yaml': 'yaml',
  '.yml': 'yaml',
  '.toml': 'toml',
  '.ini': 'ini',
  '.env': 'env',
};

/** Every extension a format is recognised by (used to list `config.<env>.*` candidates). */
export const EXTENSIONS: readonly string[] = Object.keys(BY_EXTENSION);

/**
 * The format of `path`, by extension, or undefined when none applies.
 *
 * @example
 * ```ts
 * formatOf('config.production.yaml'); // 'yaml'
 * formatOf('.env.local');             // 'env'
 * ```
 */
export function formatOf(path: string): ConfigFormat | undefined {
  const name = basename(path);
  if (name === '.env' || name.startsWith('.env.')) return 'env';
  return BY_EXTENSION[extname(name).toLowerCase()];
}

/** Parses the text of a configuration file in `format`; errors are `ConfigParseError`s. */
export async function parseConfigText(buffer: Buffer, file: string, format: ConfigFormat): Promise<ParsedFile> {
  const text = stripBom(buffer.toString('utf8'));
  switch (format) {
    case 'json':
      return (await import('./format-json.js')).parseJsonFile(text, file);
    case 'jsonc':
      return (await import('./format-json.js')).parseJsoncFile(text, file);
    case 'json5':
      return (await import('./format-json.js')).parseJson5File(text, file);
    case 'yaml':
      return (await import('./format-yaml.js')).parseYamlFile(text, file);
    case 'toml':
      return (await import('./format-toml.js')).parseTomlFile(text, file);
    case 'ini':
      return (await import('./format-ini.js')).parseIniFile(text, file);
    case 'env':
      return (await import('./format-ini.js')).parseDotenvFile(text, file);
  }
}
