// The layers of src/, enforced from the imports themselves. Every .ts file under src/ is parsed
// (static imports, re-exports, `import type`, `import('…')` types and dynamic imports) and each
// relative import is checked against the rules:
// - core (src/core) imports only src/types.ts, src/errors.ts, src/support/ and npm packages;
// - compose (src/compose) imports core, types, errors and support; never an adapter or the barrel;
// - support imports only types.ts, errors.ts and support itself: no domain code;
// - types.ts (with reloadable-options.ts, the part it re-exports) and errors.ts are the leaves every
//   layer may import: they import only each other;
// - every other folder is an adapter (file, http, cache, mcp, ... and any folder added later):
//   it imports core, compose, types, errors and support, never another adapter nor the barrel
//   src/index.ts, except the declared edges below.
// A violation is named as `file -> import`.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SRC = join(ROOT, 'src');

/** Adapter-to-adapter imports that are part of the design. */
// fleet -> etcd: a fleet member's registration and state records ARE the etcd fleet reporter's
// (one engine, one record format, `readFleet` reads both); fleet builds on the etcd adapter.
// cli -> fleet: `reloadkit fleet …` / `reloadkit rollout …` run the fleet's command functions (loaded
// on first use only, so the admin-endpoint commands never load the etcd client).
const DECLARED_EDGES = new Set(['config -> file', 'fleet -> etcd', 'cli -> fleet']);

/**
 * Violations in code that is being moved (each listed `file -> import`); the test fails when one
 * is fixed and still listed, so this list only shrinks.
 */
const KNOWN_VIOLATIONS = new Set<string>([]);

const CORE = 'core';
const COMPOSE = 'compose';
const SUPPORT = 'support';
const LEAVES = new Set(['src/types.ts', 'src/reloadable-options.ts', 'src/errors.ts']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : /\.(c|m)?tsx?$/.test(e.name) && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : []));
}

/** Every module specifier a file mentions: imports, re-exports, import types, dynamic imports. */
export function specifiers(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      out.push(node.moduleReference.expression.text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      out.push(node.argument.literal.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      out.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** `src/a/b.ts` for a relative specifier of `file`; `undefined` for npm packages and builtins. */
function resolveRelative(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const absolute = normalize(join(dirname(file), specifier)).replace(/\.(c|m)?js$/, '.ts');
  return relative(ROOT, absolute).split(sep).join('/');
}

/** The layer of a path under src/: its first folder, or the file itself at the root. */
function layerOf(path: string): string {
  const parts = path.split('/');
  return parts.length > 2 ? parts[1]! : path;
}

function isAdapter(layer: string): boolean {
  return ![CORE, COMPOSE, SUPPORT].includes(layer) && !layer.startsWith('src/');
}

/** Why `from` may not import `to`, or `undefined` when it may. */
export function violation(from: string, to: string): string | undefined {
  if (!to.startsWith('src/')) return `${from} reaches outside src/`;
  const a = layerOf(from);
  const b = layerOf(to);
  if (a === b) return undefined;
  if (LEAVES.has(from)) return LEAVES.has(to) ? undefined : 'types.ts and errors.ts import only each other';
  if (LEAVES.has(to)) return undefined;
  if (to === 'src/index.ts') return 'nothing under src/ imports the package barrel';
  if (a === SUPPORT) return 'support imports no domain code';
  if (a === CORE) return b === SUPPORT ? undefined : 'core imports only types, errors and support';
  if (a === COMPOSE) return b === CORE || b === SUPPORT ? undefined : 'compose imports only core, types, errors and support';
  if (isAdapter(a)) {
    if (b === CORE || b === COMPOSE || b === SUPPORT) return undefined;
    if (DECLARED_EDGES.has(`${a} -> ${b}`)) return undefined;
    return `an adapter (${a}) never imports another adapter (${b})`;
  }
  return undefined; // the barrel itself may import everything
}

function allViolations(): { edge: string; why: string }[] {
  const found: { edge: string; why: string }[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = relative(ROOT, file).split(sep).join('/');
    for (const specifier of specifiers(file, readFileSync(file, 'utf8'))) {
      const to = resolveRelative(file, specifier);
      if (to === undefined) continue;
      const why = violation(from, to);
      if (why !== undefined) found.push({ edge: `${from} -> ${to}`, why });
    }
  }
  return found;
}

describe('architecture: layers of src/', () => {
  it('the rules themselves (a table of cases)', () => {
    const cases: [string, string, boolean][] = [
      ['src/core/unit.ts', 'src/types.ts', true],
      ['src/core/unit.ts', 'src/support/hash.ts', true],
      ['src/core/unit.ts', 'src/compose/group.ts', false],
      ['src/core/unit.ts', 'src/file/parse.ts', false],
      ['src/compose/group.ts', 'src/core/unit.ts', true],
      ['src/compose/group.ts', 'src/http/handler.ts', false],
      ['src/compose/group.ts', 'src/index.ts', false],
      ['src/support/http/guard.ts', 'src/errors.ts', true],
      ['src/support/http/guard.ts', 'src/core/unit.ts', false],
      ['src/http/handler.ts', 'src/support/http/body.ts', true],
      ['src/http/handler.ts', 'src/compose/registry.ts', true],
      ['src/http/handler.ts', 'src/cache/cache.ts', false],
      ['src/http/handler.ts', 'src/index.ts', false],
      ['src/config/source.ts', 'src/file/parse.ts', true],
      ['src/file/parse.ts', 'src/config/source.ts', false],
      ['src/zookeeper/source.ts', 'src/amqp/trigger.ts', false],
      ['src/fleet/rollout.ts', 'src/redis/source.ts', false],
      ['src/fleet/host.ts', 'src/etcd/fleet.ts', true], // the declared edge fleet -> etcd
      ['src/errors.ts', 'src/types.ts', true],
      ['src/types.ts', 'src/core/internal.ts', false],
      ['src/index.ts', 'src/cache/index.ts', true],
    ];
    for (const [from, to, allowed] of cases) assert.equal(violation(from, to) === undefined, allowed, `${from} -> ${to}`);
  });

  it('sees every kind of import', () => {
    const text = `import a from './a.js';\nimport type { B } from '../b.js';\nexport { c } from './c.js';\nexport * from './d.js';\ntype E = import('./e.js').E;\nconst f = await import('./f.js');\nimport 'node:fs';`;
    assert.deepEqual(specifiers('x.ts', text), ['./a.js', '../b.js', './c.js', './d.js', './e.js', './f.js', 'node:fs']);
  });

  it('no file under src/ breaks a layer rule', () => {
    const found = allViolations();
    const unexpected = found.filter((v) => !KNOWN_VIOLATIONS.has(v.edge)).map((v) => `${v.edge}: ${v.why}`);
    assert.deepEqual(unexpected, [], 'layer violations (file -> import: rule)');
    const edges = new Set(found.map((v) => v.edge));
    const fixed = [...KNOWN_VIOLATIONS].filter((edge) => !edges.has(edge));
    assert.deepEqual(fixed, [], 'fixed violations still listed in KNOWN_VIOLATIONS: remove them');
  });
});
