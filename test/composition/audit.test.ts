import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditLine, jsonlAudit } from '../../src/index.js';
import type { AuditRecord } from '../../src/types.js';

const record = (n: number, extra: Partial<AuditRecord> = {}): AuditRecord => ({
  id: `a${n}`,
  unit: 'config',
  action: 'reload',
  trigger: { kind: 'manual' },
  actor: 'ops',
  reason: `change ${n}`,
  startedAt: new Date(0).toISOString(),
  durationMs: 1.5,
  outcome: 'committed',
  from: n,
  to: n + 1,
  hash: `sha256:${'0'.repeat(64)}`,
  ...extra,
});

test('jsonlAudit: one parseable line per record, in order, without blocking write()', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rk-audit-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'nested', 'audit.jsonl');
  const audit = jsonlAudit(path);
  for (let i = 0; i < 500; i++) audit.write(record(i));
  // write() only queued: nothing can be on disk in the same tick.
  assert.equal(audit.stats.written, 0);
  await audit.flush();
  const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
  assert.equal(lines.length, 500);
  lines.forEach((line, i) => {
    const parsed = JSON.parse(line) as AuditRecord;
    assert.equal(parsed.id, `a${i}`);
    assert.equal(parsed.reason, `change ${i}`);
  });
  assert.deepEqual(audit.stats, { written: 500, dropped: 0, pending: 0 });
  await audit.close();
  audit.write(record(999));
  await audit.flush();
  assert.equal((await readFile(path, 'utf8')).trimEnd().split('\n').length, 500, 'writes after close are ignored');
});

test('auditLine keeps only the documented fields and reduces errors to { code, message }', () => {
  const error = Object.assign(new Error('[config] validation failed'), { code: 'RELOADKIT_VALIDATION', payload: { password: 'hunter2' } });
  const line = auditLine({ ...record(1, { outcome: 'rejected', stage: 'validate', error }), value: { password: 'hunter2' } } as unknown as AuditRecord);
  assert.doesNotMatch(line, /hunter2/);
  const parsed = JSON.parse(line);
  assert.deepEqual(parsed.error, { code: 'RELOADKIT_VALIDATION', message: '[config] validation failed' });
  assert.equal(parsed.value, undefined);
  assert.equal(parsed.stage, 'validate');
});

test('jsonlAudit: a failed append is reported through onError and error events, and the sink keeps working', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rk-audit-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // A regular file where a directory is expected: every append fails (ENOTDIR).
  await writeFile(join(dir, 'file'), 'x');
  const errors: Error[] = [];
  const events: { dropped: number; where: string }[] = [];
  const bad = jsonlAudit(join(dir, 'file', 'audit.jsonl'), { onError: (e) => errors.push(e) });
  bad.on('error', (e) => events.push({ dropped: e.dropped, where: e.where }));
  const first = bad.write(record(1));
  bad.write(record(2)); // not awaited: must not become an unhandled rejection
  await bad.flush();
  await assert.rejects(first, /could not append 2 record\(s\)/);
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.message, /^\[audit\] could not append 2 record\(s\) to .*audit\.jsonl: /);
  assert.deepEqual(events, [{ dropped: 2, where: 'audit' }]);
  assert.equal(bad.stats.dropped, 2);
});

test('jsonlAudit: a full queue drops records and reports once instead of growing without bound', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rk-audit-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const errors: Error[] = [];
  const audit = jsonlAudit(join(dir, 'a.jsonl'), { maxPending: 10, onError: (e) => errors.push(e) });
  for (let i = 0; i < 25; i++) audit.write(record(i));
  await audit.flush();
  assert.equal(audit.stats.written, 10);
  assert.equal(audit.stats.dropped, 15);
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.message, /more than 10 records waiting/);
});

test('jsonlAudit: precise TypeErrors for bad options', () => {
  assert.throws(() => jsonlAudit(''), { name: 'TypeError', message: "jsonlAudit: expected `path` to be a non-empty string, got ''" });
  assert.throws(() => jsonlAudit('a.jsonl', { maxPending: 0 }), { name: 'TypeError', message: 'jsonlAudit: expected `maxPending` to be a positive integer, got 0' });
  assert.throws(() => jsonlAudit('a.jsonl', { onError: 'log' as unknown as () => void }), { name: 'TypeError', message: /onError/ });
});
