/**
 * Runs every `ts` block of docs/composition.md and docs/observability.md as a program, with the
 * `reloadkit` specifiers mapped to the sources, so the documentation cannot drift from the code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SUBPATHS: Record<string, string> = {
  reloadkit: 'src/index.ts',
  'reloadkit/testing': 'src/testing/index.ts',
  'reloadkit/prometheus': 'src/metrics/prometheus.ts',
  'reloadkit/opentelemetry': 'src/metrics/opentelemetry.ts',
};

/** The ```ts blocks of a Markdown file (a block fenced as ```ts no-run is skipped). */
export function snippets(markdown: string): { line: number; code: string }[] {
  const out: { line: number; code: string }[] = [];
  const re = /^```ts\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) {
    out.push({ line: markdown.slice(0, m.index).split('\n').length, code: m[1]! });
  }
  return out;
}

function mapImports(code: string): string {
  return code.replace(/from '(reloadkit(?:\/[a-z]+)?)'/g, (whole, spec: string) => {
    const target = SUBPATHS[spec];
    assert.ok(target, `unknown subpath ${spec}`);
    return `from '${pathToFileURL(join(root, target)).href}'`;
  });
}

for (const doc of ['docs/composition.md', 'docs/observability.md']) {
  test(`${doc}: every ts snippet runs`, { timeout: 180_000 }, async (t) => {
    const blocks = snippets(await readFile(join(root, doc), 'utf8'));
    assert.ok(blocks.length >= 3, `${doc} has runnable snippets`);
    // Inside the repository, so bare imports (zod, prom-client...) resolve from its node_modules.
    const dir = await mkdtemp(join(root, 'test', 'composition', '.snippets-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    for (const block of blocks) {
      const file = join(dir, `line-${block.line}.ts`);
      await writeFile(file, `${mapImports(block.code)}\nexport {};\n`);
      await t.test(`snippet at ${doc}:${block.line}`, async () => {
        try {
          await run(process.execPath, ['--import', 'tsx', file], { cwd: root, timeout: 60_000 });
        } catch (error) {
          const e = error as { stderr?: string; stdout?: string; message: string };
          assert.fail(`snippet at ${doc}:${block.line} failed:\n${e.stderr || e.message}`);
        }
      });
    }
  });
}
