/**
 * What an operator sees: `changedPaths` on results and in the jsonlAudit line (a real file),
 * `expose` in status() (and nothing else), and a misspelt option in plain JavaScript.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonlAudit, reloadable } from '../../src/index.js';
import { fileSource } from '../../src/file/index.js';
// @ts-expect-error -- a plain JavaScript fixture without types, on purpose
import { farOff, misspelt } from './fixtures/misspelt-option.mjs';

test('changedPaths: on committed (rollbacks too) results and in the jsonlAudit line, paths only, never values', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rk-changed-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'config.json');
  const auditPath = join(dir, 'audit.jsonl');
  await writeFile(path, JSON.stringify({ db: { size: 5, password: 'hunter2-secret' }, greeting: 'hi', logLevel: 'info' }));
  const audit = jsonlAudit(auditPath);
  const unit = reloadable({ name: 'db', source: { describe: () => 'file', read: (ctx) => fileSource(path).read(ctx) }, retry: false, audit });
  await unit.start();
  await writeFile(path, JSON.stringify({ db: { size: 10, password: 'hunter3-secret' }, greeting: 'hello', logLevel: 'info' }));
  const result = await unit.reload({ actor: 'ops' });
  assert.deepEqual(result.changedPaths, ['db.password', 'db.size', 'greeting']);
  const rolled = await unit.rollback();
  assert.deepEqual(rolled.changedPaths, ['db.password', 'db.size', 'greeting']);
  assert.deepEqual((await unit.reload()).changedPaths, undefined, 'refused: no changedPaths');
  await unit.close();
  await audit.close();
  const text = await readFile(auditPath, 'utf8');
  const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const reload = lines.find((l) => l.action === 'reload' && l.outcome === 'committed')!;
  assert.deepEqual(reload.changedPaths, ['db.password', 'db.size', 'greeting']);
  const rollback = lines.find((l) => l.action === 'rollback')!;
  assert.deepEqual(rollback.changedPaths, ['db.password', 'db.size', 'greeting']);
  assert.equal(text.includes('hunter'), false, 'never a value');
  assert.equal(text.includes('hello'), false);
});

test('expose: status().exposed holds the live values at the listed paths only; objects are not exposed; the option is checked', async (t) => {
  let value: Record<string, unknown> = { logLevel: 'info', db: { size: 5, password: 'p4ss', hosts: ['a', 'b'] }, servers: [{ host: 'h1' }] };
  const unit = reloadable({ name: 'cfg', load: () => structuredClone(value), expose: ['logLevel', 'db.size', 'db.hosts', 'db', 'servers.0.host', 'missing.path'] });
  t.after(() => unit.close());
  assert.equal(unit.status().exposed, undefined, 'nothing before the first commit');
  await unit.start();
  assert.deepEqual(unit.status().exposed, { logLevel: 'info', 'db.size': 5, 'db.hosts': ['a', 'b'], 'servers.0.host': 'h1' });
  assert.equal(JSON.stringify(unit.status()).includes('p4ss'), false);
  value = { ...value, logLevel: 'debug' };
  await unit.reload();
  assert.equal(unit.status().exposed?.logLevel, 'debug');

  const plain = reloadable({ name: 'plain', load: () => ({ logLevel: 'info' }) });
  await plain.start();
  assert.equal(plain.status().exposed, undefined, 'default: nothing exposed, hashes only');
  await plain.close();
  assert.throws(() => reloadable({ name: 'x', load: () => 1, expose: 'logLevel' as never }), { name: 'TypeError', message: "Expected `expose` to be an array of dotted paths such as ['logLevel', 'db.size'], got 'logLevel'." });
  assert.throws(() => reloadable({ name: 'x', load: () => 1, expose: ['db..size'] }), { name: 'TypeError', message: "Expected `expose[0]` to be a dotted path such as 'db.size', got 'db..size'." });
  assert.throws(() => reloadable({ name: 'x', load: () => 1, expose: ['ok', ''] }), { name: 'TypeError', message: "Expected `expose[1]` to be a dotted path such as 'db.size', got ''." });
  assert.throws(() => reloadable({ name: 'x', load: () => 1, expose: [3 as never] }), { name: 'TypeError', message: 'Expected `expose[0]` to be a dotted path such as \'db.size\', got 3.' });
});

test('a misspelt option in plain JavaScript throws a TypeError naming the key and the closest valid one', () => {
  assert.throws(() => misspelt(), { name: 'TypeError', message: 'reloadable: unknown option `trigger`; did you mean `triggers`?' });
  assert.throws(() => farOff(), { name: 'TypeError', message: /^reloadable: unknown option `colour` \(known options: `name`, `load`, .*`expose`\)$/ });
});
