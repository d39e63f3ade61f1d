#!/usr/bin/env node
/**
 * `npm run build`: the published `dist/`.
 *
 * - Types: `tsc -p tsconfig.build.json --emitDeclarationOnly`, one `.d.ts` per source module (the
 *   API reference and editors read them as written).
 * - Code: esbuild bundles every entry point of package.json (`exports` and `bin`) from `src/`,
 *   with code splitting, so a module two entry points share is one shared chunk, loaded once:
 *   `reloadkit` and `reloadkit/config` see the same classes, the same error types and the same
 *   module-private state. Dependencies stay imports (nothing third-party is bundled).
 *
 * Why bundle: a service imports reloadkit at startup, and Node's ESM loader pays per module
 * (resolve, read, compile, link). `reloadkit` + `reloadkit/config` were 71 of our own modules;
 * bundled they are a handful of files, and the import costs about half (docs/performance.md).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** `./dist/config/index.js` → `src/config/index.ts`, for every exported path and the binary. */
function entryPoints() {
  const targets = [];
  for (const target of Object.values(pkg.exports)) {
    const file = typeof target === 'string' ? target : target.default;
    if (typeof file === 'string' && file.startsWith('./dist/')) targets.push(file);
  }
  targets.push(...Object.values(pkg.bin ?? {}));
  return [...new Set(targets)].map((file) => ({ in: join(root, 'src', file.slice('./dist/'.length).replace(/\.js$/, '.ts')), out: file.slice('./dist/'.length).replace(/\.js$/, '') }));
}

// `--outdir <dir>` and `--code-only` (no declarations): the package test bundles into a
// scratch directory inside the repository, so the bundle's imports resolve node_modules.
const outdirArg = process.argv.indexOf('--outdir');
const outdir = outdirArg > 0 ? join(process.cwd(), process.argv[outdirArg + 1]) : join(root, 'dist');
const codeOnly = process.argv.includes('--code-only');

rmSync(outdir, { recursive: true, force: true });

if (!codeOnly) {
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json'), '--emitDeclarationOnly', '--outDir', outdir], { stdio: 'inherit' });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
}

await build({
  absWorkingDir: root,
  entryPoints: entryPoints(),
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: true,
  sourcesContent: true,
  // Names stay readable in stack traces and profiles.
  minify: false,
  keepNames: false,
  legalComments: 'none',
  logLevel: 'warning',
});
