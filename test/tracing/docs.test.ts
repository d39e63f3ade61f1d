// Runs every `ts` block of docs/tracing.md as a program, with the `reloadkit` specifiers mapped
// to the sources, so the documentation cannot drift from the code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SUBPATHS: Record<string, string> = { reloadkit: 'src/index.ts', 'reloadkit/opentelemetry': 'src/metrics/opentelemetry.ts' };

test('docs/tracing.md: every ts snippet runs', { timeout: 120_000 }, async (t) => {
  const markdown = await readFile(join(root, 'docs/tracing.md'), 'utf8');
  const blocks = [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => ({ line: markdown.slice(0, m.index).split('\n').length, code: m[1]! }));
  assert.ok(blocks.length >= 1, 'docs/tracing.md has a runnable snippet');
  const dir = await mkdtemp(join(root, 'test', 'tracing', '.snippets-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const block of blocks) {
    const code = block.code.replace(/from '(reloadkit(?:\/[a-z]+)?)'/g, (_, spec: string) => `from '${pathToFileURL(join(root, SUBPATHS[spec]!)).href}'`);
    const file = join(dir, `line-${block.line}.ts`);
    await writeFile(file, `${code}\nexport {};\n`);
    try {
      await run(process.execPath, ['--import', 'tsx', file], { cwd: root, timeout: 60_000 });
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      assert.fail(`snippet at docs/tracing.md:${block.line} failed:\n${e.stderr || e.message}`);
    }
  }
});
