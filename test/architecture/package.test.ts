/**
 * The published code is a bundle (scripts/build.mjs): every entry point of package.json, split so
 * that a module two entry points share is one chunk. Built here into a scratch directory and run
 * by plain node (no loader hook): every exported path loads; classes and module state are shared
 * across entry points (an error thrown by `reloadkit/file` is an instance of the root's
 * `ReloadkitError`, a `reloadkit/config` source feeds a root `reloadable`); the binary runs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const out = join('.tmp', `bundle-${process.pid}`);
const outdir = join(root, out);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, string | { default: string }>; bin: Record<string, string> };

/** Runs an ES module body with plain node in the repository (so dependencies resolve). */
function runModule(body: string): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', body], { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
}

describe('the built package', () => {
  before(() => {
    const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--code-only', '--outdir', out], { cwd: root, encoding: 'utf8' });
    assert.equal(build.status, 0, build.stderr);
  });
  after(() => rmSync(outdir, { recursive: true, force: true }));

  it('every exported path loads with plain node and exports something', () => {
    const paths = Object.values(pkg.exports)
      .map((target) => (typeof target === 'string' ? target : target.default))
      .filter((file) => file.startsWith('./dist/'))
      .map((file) => join(outdir, file.slice('./dist/'.length)));
    const counts = JSON.parse(runModule(`
      const counts = {};
      for (const file of ${JSON.stringify(paths)}) counts[file] = Object.keys(await import(file)).length;
      process.stdout.write(JSON.stringify(counts));
    `)) as Record<string, number>;
    assert.equal(Object.keys(counts).length, paths.length);
    for (const [file, count] of Object.entries(counts)) assert.ok(count > 0, `${file} exports nothing`);
  });

  it('entry points share one copy of each module: classes and state are the same across them', () => {
    const result = JSON.parse(runModule(`
      const root = await import(${JSON.stringify(join(outdir, 'index.js'))});
      const file = await import(${JSON.stringify(join(outdir, 'file', 'index.js'))});
      const config = await import(${JSON.stringify(join(outdir, 'config', 'index.js'))});
      const failing = root.reloadable({ name: 'missing', source: file.fileSource('/nonexistent/reloadkit/config.json'), retry: false });
      let shared = false;
      try { await failing.start(); } catch (error) { shared = error instanceof root.ReloadkitError; }
      await failing.close();
      const unit = root.reloadable({ name: 'layered', source: config.configSource({ defaults: { port: 8080 } }), retry: false });
      await unit.start();
      const value = unit.get();
      const provenance = config.explain(unit, 'port');
      await unit.close();
      process.stdout.write(JSON.stringify({ shared, value, provenance }));
    `)) as { shared: boolean; value: unknown; provenance: unknown };
    assert.equal(result.shared, true, 'an error from reloadkit/file is an instance of the root ReloadkitError');
    assert.deepEqual(result.value, { port: 8080 });
    assert.ok(result.provenance, 'explain() from reloadkit/config reads the provenance the root unit keeps');
  });

  it('the binary runs', () => {
    const bin = join(outdir, pkg.bin.reloadkit!.slice('./dist/'.length));
    assert.match(readFileSync(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/);
    const help = spawnSync(process.execPath, [bin, '--help'], { cwd: root, encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /reloadkit status/);
  });
});
