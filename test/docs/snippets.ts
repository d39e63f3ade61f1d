/**
 * The TypeScript snippets of the documentation, and the compiler run that type-checks them. A
 * snippet is a fenced block whose info string starts with `ts`; words after it are flags:
 * `no-run` (type-checked, never executed) and `skip-typecheck` (neither: only for a deliberately
 * partial fragment, with the reason in the prose around it).
 */
import { copyFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Snippet {
  /** The Markdown file, relative to the repository (`docs/http.md`). */
  doc: string;
  /** Line of the opening fence in the Markdown file (1-based). */
  line: number;
  code: string;
  flags: string[];
}

/** The ```ts blocks of a Markdown text. */
export function snippets(markdown: string, doc: string): Snippet[] {
  const out: Snippet[] = [];
  const re = /^```ts((?:[ \t]+[\w-]+)*)[ \t]*\n([\s\S]*?)^```[ \t]*$/gm;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) {
    out.push({ doc, line: markdown.slice(0, m.index).split('\n').length, code: m[2]!, flags: m[1]!.trim().split(/\s+/).filter(Boolean) });
  }
  return out;
}

/** Every documented snippet: docs/*.md and README.md. */
export async function documentedSnippets(): Promise<Snippet[]> {
  const docs = (await readdir(join(root, 'docs'))).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`);
  const all: Snippet[] = [];
  for (const doc of [...docs, 'README.md']) all.push(...snippets(await readFile(join(root, doc), 'utf8'), doc));
  return all;
}

/** `reloadkit` and each `reloadkit/<subpath>` of package.json `exports`, mapped to its source file. */
export async function exportPaths(): Promise<Record<string, string>> {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { name: string; exports: Record<string, string | { types?: string }> };
  const out: Record<string, string> = {};
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    const types = typeof target === 'string' ? target : target.types;
    if (types === undefined || !types.endsWith('.d.ts')) continue;
    const source = types.replace(/^\.\/dist\//, 'src/').replace(/\.d\.ts$/, '.ts');
    out[subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`] = source;
  }
  return out;
}

export interface SnippetDiagnostic {
  /** `docs/http.md:42`: where in the Markdown file. */
  where: string;
  message: string;
}

/**
 * Type-checks `list` in one compiler program, each snippet its own ES module under `dir` (inside
 * the repository, so packages resolve from its node_modules), with `reloadkit` specifiers mapped to
 * the sources through `paths`. The modules of test/docs/fixtures stand for the reader's own
 * modules that snippets import (`./pool.js`); `.d.ts` files there are ambient. Returns the
 * diagnostics located in the snippets, by Markdown line.
 */
export async function typecheckSnippets(list: Snippet[], dir: string): Promise<SnippetDiagnostic[]> {
  await mkdir(dir, { recursive: true });
  const paths = Object.fromEntries(Object.entries(await exportPaths()).map(([spec, file]) => [spec, [join(root, file)]]));
  const files = new Map<string, Snippet>();
  const fixtures = join(root, 'test', 'docs', 'fixtures');
  // node-zookeeper-client ships no declarations: the tests' own view of it stands for the reader's.
  const ambient: string[] = [join(root, 'test', 'zookeeper', 'node-zookeeper-client.d.ts')];
  for (const name of await readdir(fixtures)) {
    if (name.endsWith('.d.ts')) ambient.push(join(fixtures, name));
    else if (name.endsWith('.ts')) await copyFile(join(fixtures, name), join(dir, name));
  }
  for (const snippet of list) {
    const file = join(dir, `${snippet.doc.replace(/[^\w]+/g, '-')}-${snippet.line}.ts`);
    // `export {}` makes every snippet a module (top-level await, no shared globals).
    await writeFile(file, `${snippet.code}\nexport {};\n`);
    files.set(file, snippet);
  }
  const config = ts.readConfigFile(join(root, 'tsconfig.json'), (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const options: ts.CompilerOptions = { ...parsed.options, noEmit: true, paths, noUnusedLocals: false, noUnusedParameters: false };
  const program = ts.createProgram([...files.keys(), ...ambient], options);
  const out: SnippetDiagnostic[] = [];
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const snippet = d.file ? files.get(join(d.file.fileName)) : undefined;
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file) {
      out.push({ where: '(program)', message });
      continue;
    }
    if (!snippet) continue; // a diagnostic in the sources: `tsc -p tsconfig.json` reports those
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
    out.push({ where: `${snippet.doc}:${snippet.line + 1 + line}:${character + 1}`, message: `TS${d.code}: ${message}` });
  }
  return out;
}

/** Removes a snippet directory. */
export function removeDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}

/** `dir` relative to the repository, for messages. */
export function rel(path: string): string {
  return relative(root, path);
}
