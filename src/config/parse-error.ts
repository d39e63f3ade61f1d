/**
 * The error for a configuration file that does not parse: it names the file, the format, the
 * 1-based line and column, and a reason in our own words. Parsers quote the text they choke on
 * (which may hold a password); this message never does.
 *
 * @module
 */
import { LoadError } from '../errors.js';

/** A file of a known format that is not valid in that format. */
export class ConfigParseError extends LoadError {
  readonly file: string;
  readonly format: string;
  readonly line: number | undefined;
  readonly column: number | undefined;
  constructor(file: string, format: string, position: { line?: number; column?: number }, reason: string) {
    const at = position.line === undefined ? '' : ` at line ${position.line}${position.column === undefined ? '' : `, column ${position.column}`}`;
    super(`invalid ${format} in ${file}${at}: ${reason}`, { source: `file ${file}` }, 'RELOADKIT_CONFIG_PARSE');
    this.file = file;
    this.format = format;
    this.line = position.line;
    this.column = position.column;
  }
}
