/**
 * Every ```ts block of docs/*.md and README.md type-checks against the sources, in one compiler
 * program, with `reloadkit/*` resolved through package.json `exports`. A failure names the
 * Markdown file and line of each diagnostic. (docs/composition.md and docs/observability.md are
 * also run as programs: test/composition/docs.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { documentedSnippets, exportPaths, removeDir, root, snippets, typecheckSnippets } from './snippets.js';

test('docs: every documented TypeScript snippet type-checks (file:line for each diagnostic)', { timeout: 300_000 }, async (t) => {
  const all = await documentedSnippets();
  const skipped = all.filter((s) => s.flags.includes('skip-typecheck'));
  const checked = all.filter((s) => !s.flags.includes('skip-typecheck'));
  assert.ok(checked.length >= 40, `found ${checked.length} snippets: the extraction lost some`);
  assert.ok(skipped.length <= 2, `skip-typecheck is for deliberately partial fragments, and rare: ${skipped.map((s) => `${s.doc}:${s.line}`).join(', ')}`);
  // A snippet with a known error rides along, so a harness that reports nothing cannot pass.
  const canary = snippets("```ts\nimport { reloadable } from 'reloadkit';\nconst n: number = reloadable;\n```\n", 'canary.md');
  const dir = await mkdtemp(join(root, 'test', 'docs', '.typecheck-'));
  t.after(() => removeDir(dir));
  const diagnostics = await typecheckSnippets([...checked, ...canary], dir);
  const canaryHits = diagnostics.filter((d) => d.where.startsWith('canary.md:'));
  assert.deepEqual(canaryHits.map((d) => d.where), ['canary.md:3:7'], 'the canary error is found, at its Markdown line');
  const real = diagnostics.filter((d) => !d.where.startsWith('canary.md:'));
  assert.equal(real.length, 0, `documented snippets do not type-check:\n${real.map((d) => `  ${d.where}  ${d.message}`).join('\n')}`);
});

test('docs: snippet extraction reads flags and fence lines', () => {
  const md = 'text\n```ts\nconst a = 1;\n```\n\n```ts no-run\nconst b = 2;\n```\n```ts skip-typecheck\nx\n```\n```js\nnot ts\n```\n';
  assert.deepEqual(
    snippets(md, 'x.md').map((s) => [s.line, s.flags, s.code]),
    [
      [2, [], 'const a = 1;\n'],
      [6, ['no-run'], 'const b = 2;\n'],
      [9, ['skip-typecheck'], 'x\n'],
    ],
  );
});

test('docs: every package.json export maps to a source file', async () => {
  const paths = await exportPaths();
  assert.equal(paths.reloadkit, 'src/index.ts');
  assert.equal(paths['reloadkit/prometheus'], 'src/metrics/prometheus.ts');
  assert.ok(Object.keys(paths).length >= 14);
});
