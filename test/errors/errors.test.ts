// The error table of docs/errors.md against the code (the way undici's test/errors.js checks its
// errors): every error class exported by a public entry point (and every class of src/errors.ts)
// extends ReloadkitError, has its own class name as `name`, and has a documented row for its
// code; every code of the `ErrorCode` union has a row and every row names a real code and a real
// class; every `RELOADKIT_*` literal in src/ is a code or a documented warning; and no class in
// src/ extends a built-in error directly, so nothing escapes the base class.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { errorInfo, FileReadError, LoadError, ReloadkitError } from '../../src/errors.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SRC = join(ROOT, 'src');

/**
 * Known gaps in code other areas own, each to disappear when that code moves to the scheme: the
 * test fails once an entry is no longer needed, so the list only shrinks.
 */
const AWAITING = {
  /** class -> the code it still carries instead of its documented one. */
  codes: new Map<string, string>(),
  /** Codes still in the union while their last throwers move to the split codes; no row. */
  retiring: new Set<string>(),
  /** `file: class` declarations that still extend a built-in error. */
  builtinSubclasses: new Set<string>(),
};

interface Row {
  code: string;
  className: string;
  meaning: string;
}

function tableRows(): { errors: Row[]; warnings: string[] } {
  const text = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
  const errors: Row[] = [];
  const warnings: string[] = [];
  for (const line of text.split('\n')) {
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    const code = /^`(RELOADKIT_[A-Z0-9_]+)`$/.exec(cells[0] ?? '')?.[1];
    if (code === undefined) continue;
    if (cells.length === 5) errors.push({ code, className: cells[1]!.replace(/`/g, ''), meaning: cells[2]! });
    else if (cells.length === 3) warnings.push(code);
    else assert.fail(`docs/errors.md: a row for ${code} has ${cells.length} columns (5 for errors, 3 for warnings)`);
  }
  return { errors, warnings };
}

/** The members of `ErrorCode`, as the type checker sees them (aliases and unions included). */
function unionCodes(): Set<string> {
  const file = join(SRC, 'errors.ts');
  const program = ts.createProgram([file], { strict: true, noEmit: true, skipLibCheck: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022 });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file)!;
  const alias = source.statements.find((s): s is ts.TypeAliasDeclaration => ts.isTypeAliasDeclaration(s) && s.name.text === 'ErrorCode');
  assert.ok(alias, 'src/errors.ts declares `type ErrorCode`');
  const type = checker.getTypeAtLocation(alias.name);
  const members = type.isUnion() ? type.types : [type];
  return new Set(members.map((t) => (t.isStringLiteral() ? t.value : assert.fail(`ErrorCode has a non-literal member ${checker.typeToString(t)}`))));
}

/** Public entry points: `.` and every subpath of package.json `exports`, mapped to src/. */
function entryPoints(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, string | { default?: string }> };
  const files = new Set<string>(['src/errors.ts']);
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    const out = typeof target === 'string' ? target : target.default;
    if (subpath === './package.json' || out === undefined || !out.startsWith('./dist/')) continue;
    files.add(`src/${out.slice('./dist/'.length).replace(/\.js$/, '.ts')}`);
  }
  return [...files];
}

type ErrorClass = new (...args: unknown[]) => Error;

async function exportedErrorClasses(): Promise<Map<string, { cls: ErrorClass; from: string[] }>> {
  const found = new Map<string, { cls: ErrorClass; from: string[] }>();
  for (const file of entryPoints()) {
    const mod = (await import(pathToFileURL(join(ROOT, file)).href)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(mod)) {
      if (typeof value !== 'function' || !(value.prototype instanceof Error || value === Error)) continue;
      const seen = found.get(name);
      if (seen) {
        assert.equal(seen.cls, value, `${name} exported by ${seen.from.join(', ')} and ${file} must be one class`);
        seen.from.push(file);
      } else found.set(name, { cls: value as ErrorClass, from: [file] });
    }
  }
  return found;
}

/** An instance of `cls` carrying one of `codes`: tries the constructor shapes the classes use. */
function probe(cls: ErrorClass, codes: readonly string[]): Error | undefined {
  const code = codes[0] ?? 'RELOADKIT_UNKNOWN';
  const shapes: unknown[][] = [['probe message'], ['probe message', {}], ['probe message', {}, {}], [code, 'probe message'], [400, code, 'probe message']];
  let last: Error | undefined;
  for (const args of shapes) {
    try {
      const instance = new cls(...args);
      last = instance;
      if (codes.includes((instance as { code?: unknown }).code as string)) return instance;
    } catch {
      // this shape does not fit the constructor: try the next
    }
  }
  return last;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('errors: docs/errors.md is the table of every error', () => {
  const { errors: rows, warnings } = tableRows();
  const codes = unionCodes();

  it('the table has rows, one per code', () => {
    assert.ok(rows.length >= 20, `docs/errors.md has ${rows.length} rows`);
    const seen = new Set<string>();
    for (const row of rows) {
      assert.ok(!seen.has(row.code), `${row.code} has two rows: one code per meaning`);
      seen.add(row.code);
      assert.ok(row.meaning.length > 0, `${row.code} says what it means`);
    }
  });

  it('every row names a real code, and every code has a row', () => {
    for (const row of rows) assert.ok(codes.has(row.code), `docs/errors.md: ${row.code} is not a member of ErrorCode (src/errors.ts)`);
    for (const code of codes) {
      assert.match(code, /^RELOADKIT_[A-Z0-9_]+$/, 'one naming scheme');
      if (AWAITING.retiring.has(code)) {
        assert.ok(!rows.some((r) => r.code === code), `${code} is retiring: it has no row`);
        continue;
      }
      assert.ok(rows.some((r) => r.code === code), `ErrorCode member ${code} has no row in docs/errors.md`);
    }
  });

  it('every exported error class: under ReloadkitError, its own name, a documented code', async () => {
    const classes = await exportedErrorClasses();
    assert.ok(classes.size >= 15, `found ${classes.size} error classes`);
    for (const [name, { cls, from }] of classes) {
      const where = `${name} (${from.join(', ')})`;
      assert.ok(cls === ReloadkitError || cls.prototype instanceof ReloadkitError, `${where} extends ReloadkitError`);
      const documented = rows.filter((r) => r.className === name).map((r) => r.code);
      assert.ok(documented.length > 0, `${where} has a row in docs/errors.md`);
      const instance = probe(cls, documented);
      assert.ok(instance, `${where} can be constructed`);
      assert.equal(instance.name, name, `${where}: name is the class name`);
      assert.ok(instance instanceof ReloadkitError);
      const code = instance.code;
      const awaiting = AWAITING.codes.get(name);
      if (awaiting !== undefined && code === awaiting) continue;
      assert.equal(awaiting, undefined, `${name} now carries a documented code: remove it from AWAITING.codes`);
      assert.ok(documented.includes(code), `${where}: code ${code} is documented for it (rows: ${documented.join(', ')})`);
      const json = instance.toJSON();
      assert.equal(json.code, code);
      assert.equal(json.name, name);
    }
    for (const row of rows) {
      if (row.className === '—') continue;
      assert.ok(classes.has(row.className), `docs/errors.md: ${row.code} names class ${row.className}, which no entry point exports`);
    }
  });

  it('every RELOADKIT_* literal in src/ is a code or a documented warning', () => {
    const unknown: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/['"`](RELOADKIT_[A-Z0-9_]+)['"`]/g)) {
        const code = match[1]!;
        if (!codes.has(code) && !warnings.includes(code)) unknown.push(`${relative(ROOT, file)}: ${code}`);
      }
    }
    assert.deepEqual(unknown, [], 'undocumented codes');
  });

  it('no class in src/ extends a built-in error directly (only ReloadkitError does)', () => {
    const builtins = new Set(['Error', 'TypeError', 'RangeError', 'SyntaxError', 'EvalError', 'ReferenceError', 'URIError', 'AggregateError']);
    const offenders: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const rel = relative(ROOT, file);
      for (const match of readFileSync(file, 'utf8').matchAll(/^(?:export\s+)?(?:abstract\s+)?class\s+(\w+)\s+extends\s+(\w+)/gm)) {
        const [, name, base] = match;
        if (!builtins.has(base!)) continue;
        if (rel === 'src/errors.ts' && name === 'ReloadkitError') continue;
        offenders.push(`${rel}: ${name}`);
      }
    }
    const unexpected = offenders.filter((o) => !AWAITING.builtinSubclasses.has(o));
    assert.deepEqual(unexpected, [], 'classes outside the base');
    for (const pending of AWAITING.builtinSubclasses) assert.ok(offenders.includes(pending), `${pending} is fixed: remove it from AWAITING.builtinSubclasses`);
  });

  it('errorInfo speaks the one scheme: a foreign error is RELOADKIT_UNKNOWN, its own code stays on it', () => {
    assert.deepEqual(errorInfo(new LoadError('x')), { code: 'RELOADKIT_LOAD', message: 'x' });
    assert.deepEqual(errorInfo(Object.assign(new Error('gone'), { code: 'ENOENT' })), { code: 'RELOADKIT_UNKNOWN', message: 'gone' });
    assert.deepEqual(errorInfo(Object.assign(new Error('lib'), { code: 'ERR_SOMETHING' })), { code: 'RELOADKIT_UNKNOWN', message: 'lib' });
    assert.deepEqual(errorInfo('thrown string'), { code: 'RELOADKIT_UNKNOWN', message: 'thrown string' });
    // Another copy of the package: not an instance of this ReloadkitError, but a reloadkit code.
    assert.deepEqual(errorInfo(Object.assign(new Error('v'), { code: 'RELOADKIT_VALIDATION' })), { code: 'RELOADKIT_VALIDATION', message: 'v' });
    assert.deepEqual(errorInfo({ code: 'RELOADKIT_VALIDATION', message: 'not an error' }).code, 'RELOADKIT_UNKNOWN');
    const read = new FileReadError('/etc/app.json', Object.assign(new Error('raw'), { code: 'EACCES', syscall: 'open' }));
    assert.deepEqual({ code: read.code, errno: read.errno, syscall: read.syscall, stage: read.stage }, { code: 'RELOADKIT_FILE_READ', errno: 'EACCES', syscall: 'open', stage: 'load' });
    assert.equal(read.message, 'cannot read /etc/app.json: permission denied (EACCES)');
  });
});
