// The test file list and the node:test command line, shared by `npm test` and `npm run test:repeat`.
// Node 20 has no glob support in `--test`, so the file list is built here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every `*.test.ts` under `dir`, sorted, depth first. */
export function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...collect(full));
    else if (name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

/** Arguments for `node` that run `files` (all of test/ when empty) on node:test through tsx. */
export function testArgs(files, extra = []) {
  const list = files.length > 0 ? files : collect('test');
  return ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=120000', ...extra, ...list];
}
