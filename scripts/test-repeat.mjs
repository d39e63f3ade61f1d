#!/usr/bin/env node
// `npm run test:repeat -- N [files...]`: runs the suite N times (default 5) and prints every test
// that failed in any run, with the runs it failed in. A test that fails once in N is a flaky test:
// it will fail a CI run sooner or later, so fix it at its cause.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testArgs } from './test-files.mjs';

const [countArg, ...files] = process.argv.slice(2);
const runs = countArg === undefined ? 5 : Number(countArg);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`test:repeat: expected a positive run count, got ${JSON.stringify(countArg)}`);
  process.exit(2);
}

/** Runs the suite once with the TAP reporter; resolves with the failed tests' titles and the exit code. */
function runOnce() {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, testArgs(files, ['--test-reporter=tap']), { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => (text += chunk));
    child.on('exit', (code) => {
      // Nested subtests are indented; a failing parent repeats its child's failure, so keep leaves
      // and parents alike: the title says which is which.
      const failed = [...text.matchAll(/^\s*not ok \d+ - (.+?)(?: # .*)?$/gm)].map((m) => m[1]);
      const summary = /^# pass (\d+)[\s\S]*?^# fail (\d+)/m.exec(text);
      resolve({ code: code ?? 1, failed, pass: summary?.[1] ?? '?', fail: summary?.[2] ?? '?', text });
    });
  });
}

const failures = new Map();
let bad = 0;
for (let i = 1; i <= runs; i++) {
  const started = Date.now();
  const { code, failed, pass, fail, text } = await runOnce();
  console.log(`run ${i}/${runs}: exit ${code}, ${pass} passed, ${fail} failed (${Math.round((Date.now() - started) / 1000)} s)`);
  // Named at once, not only at the end: a long repeat that is stopped early still says what failed.
  for (const title of failed) console.log(`  failed in run ${i}: ${title}`);
  if (code !== 0) {
    // The whole TAP output of a failed run: a flake that does not come back is known only from it.
    const file = join(tmpdir(), `reloadkit-repeat-${process.pid}-run${i}.tap`);
    writeFileSync(file, text);
    console.log(`  run ${i} output: ${file}`);
  }
  if (code !== 0) bad++;
  for (const title of failed) failures.set(title, [...(failures.get(title) ?? []), i]);
}
if (failures.size === 0 && bad === 0) {
  console.log(`test:repeat: ${runs} of ${runs} runs clean`);
} else {
  console.log(`test:repeat: ${bad} of ${runs} runs failed; tests that failed:`);
  for (const [title, which] of failures) console.log(`  ${title}  (run ${which.join(', ')})`);
  process.exit(1);
}
