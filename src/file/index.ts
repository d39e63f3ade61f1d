/**
 * `reloadkit/file`: files and directories as sources of reloadable units. They survive the ways
 * real deployments change files — in-place writes, temp-file-and-rename, editor saves, deletions,
 * symlink switches and Kubernetes ConfigMap/Secret volume swaps. See docs/triggers.md.
 *
 * @module
 */
export { fileSource, type FileSource, type FileSourceOptions } from './file-source.js';
export { directorySource, type DirectorySource, type DirectorySourceOptions } from './directory-source.js';
export { JsonSyntaxError, parseJson, type ParseOption } from './parse.js';
export { FileReadError } from './read-error.js';
export type { FileWatchOptions } from './options.js';
