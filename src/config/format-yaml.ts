/**
 * YAML through `yaml` (eemeli/yaml: YAML 1.2, no dependencies, a document model with a source
 * range on every node, error codes rather than only prose). Errors are reported by code and
 * position; the library's pretty message quotes the source line, ours does not.
 *
 * @module
 */
import type { Document, LineCounter as LineCounterType } from 'yaml';
import { ConfigParseError } from './parse-error.js';
import type { ParsedFile } from './parsed.js';
import { joinPath } from './paths.js';

type Yaml = typeof import('yaml');
let yaml: Promise<Yaml> | undefined;

/** Parses one YAML document (a file of several documents is an error: which one would win?). */
export async function parseYamlFile(text: string, file: string): Promise<ParsedFile> {
  const Y = await (yaml ??= import('yaml'));
  const counter = new Y.LineCounter();
  const docs = Y.parseAllDocuments(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  if (list.length > 1) {
    const at = list[1]?.range?.[0] ?? 0;
    throw new ConfigParseError(file, 'YAML', counter.linePos(at), 'more than one document (---); a configuration file holds one');
  }
  const doc = list[0];
  if (doc === undefined) return { value: {}, lines: new Map(), alternates: new Map() };
  const problem = doc.errors[0];
  if (problem !== undefined) {
    const pos = counter.linePos(problem.pos[0]);
    throw new ConfigParseError(file, 'YAML', { line: pos.line, column: pos.col }, problem.code.toLowerCase().replace(/_/g, ' '));
  }
  const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
  const lines = new Map<string, number>();
  collectLines(Y, doc, doc.contents, '', counter, lines);
  return { value: value ?? {}, lines, alternates: new Map() };
}

function collectLines(Y: Yaml, doc: Document, node: unknown, path: string, counter: LineCounterType, lines: Map<string, number>): void {
  if (Y.isMap(node)) {
    for (const pair of node.items) {
      const key = pair.key;
      const name = Y.isScalar(key) ? String(key.value) : undefined;
      if (name === undefined) continue;
      const childPath = joinPath(path, name);
      const start = Y.isNode(key) ? key.range?.[0] : undefined;
      if (start !== undefined) lines.set(childPath, counter.linePos(start).line);
      collectLines(Y, doc, pair.value, childPath, counter, lines);
    }
  } else if (Y.isSeq(node)) {
    node.items.forEach((item, i) => {
      const childPath = joinPath(path, String(i));
      const start = Y.isNode(item) ? item.range?.[0] : undefined;
      if (start !== undefined) lines.set(childPath, counter.linePos(start).line);
      collectLines(Y, doc, item, childPath, counter, lines);
    });
  }
  // An alias is not followed: its paths take the line of the key that holds it, and an anchor
  // that contains its own alias cannot send this walk round in circles.
}
