// Pure formatting and mapping logic of the operator surfaces: the REASON cell, the unit detail
// (exposed values, refused hashes, pause), what-changed lines, the dry-run report, the retained
// list named as `history` names it, and the HTTP status of each result status.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changedLine, dryRunReport, historyTable, reasonOf, retainedLine, statusTable, unitDetail, type StatusRow } from '../../src/cli/format.js';
import { statusCodeOf, statusCodeOfAll } from '../../src/http/serialize.js';

const row = (over: Partial<StatusRow>): StatusRow => ({ name: 'db', state: 'ready', generation: 2, hash: 'sha256:' + 'a'.repeat(64), committedAt: 0, lastAttempt: null, leases: 0, ...over });

describe('operator formatting', () => {
  it('REASON: the code and one-line message of an attempt that did not go through, else a degraded reason, else a pause', () => {
    const rejected = row({ lastAttempt: { at: 1, outcome: 'rejected', stage: 'validate', error: { code: 'RELOADKIT_VALIDATION', message: '[db] validation failed:\n  port: expected number' } } });
    assert.equal(reasonOf(rejected), 'RELOADKIT_VALIDATION: [db] validation failed: port: expected number');
    assert.equal(reasonOf(row({ lastAttempt: { at: 1, outcome: 'refused', stage: 'refused', error: { code: 'RELOADKIT_REFUSED', message: 'refused' } } })), 'RELOADKIT_REFUSED: refused');
    assert.equal(reasonOf(row({ lastAttempt: { at: 1, outcome: 'committed' } })), '');
    assert.equal(reasonOf(row({ state: 'degraded', reason: 'served from lastKnownGood' })), 'served from lastKnownGood');
    assert.equal(reasonOf(row({ paused: { since: 0, reason: 'incident', pending: false } })), 'paused: incident');
    const long = row({ lastAttempt: { at: 1, outcome: 'rejected', error: { code: 'X', message: 'm'.repeat(500) } } });
    assert.equal(reasonOf(long).length, 120);
    assert.ok(reasonOf(long).endsWith('…'));
    const table = statusTable([rejected, row({ name: 'config' })]).split('\n');
    assert.match(table[0]!, /LEASES {2}REASON$/);
    assert.match(table[1]!, /0 {7}RELOADKIT_VALIDATION: /);
  });

  it('unit detail: exposed values (JSON), refused hashes (short), the pause', () => {
    const text = unitDetail(row({ exposed: { greeting: 'hi', 'db.size': 5 }, refused: ['sha256:' + 'b'.repeat(64)], paused: { since: 0, actor: 'ops', reason: 'x', pending: true } }));
    assert.equal(text, ['exposed:', '  greeting = "hi"', '  db.size = 5', `refused: sha256:${'b'.repeat(12)}`, 'paused since 1970-01-01T00:00:00Z by ops: x (a reload is pending)'].join('\n'));
    assert.equal(unitDetail(row({})), '');
  });

  it('changed lines and the dry-run report', () => {
    assert.equal(changedLine({ changedPaths: ['db.size', 'greeting'] }), 'changed: db.size, greeting');
    assert.equal(changedLine({}), '');
    assert.equal(
      dryRunReport({ unit: 'db', status: 'rejected', generation: 1, durationMs: 1, stage: 'validate', error: { code: 'RELOADKIT_VALIDATION', message: 'bad\nport' } }),
      'db rejected\nstage: validate\ncode: RELOADKIT_VALIDATION\nmessage: bad port',
    );
    assert.equal(dryRunReport({ unit: 'db', status: 'would-commit', generation: 1, durationMs: 1, hash: 'sha256:' + 'c'.repeat(64), changedPaths: ['a.b', 'c'] }), `db would-commit sha256:${'c'.repeat(12)}\nchanged: a.b, c`);
  });

  it('the retained list names generations as history does', () => {
    const gens = [3, 2, 1].map((id) => ({ id, hash: `sha256:${String(id).repeat(64)}`, committedAt: 0, trigger: { kind: 'http' } }));
    const labels = historyTable(gens).split('\n').slice(1).map((l) => l.split(/\s{2,}/)[0]);
    assert.equal(retainedLine([3, 2, 1]), `retained: ${labels.join(', ')}`);
    assert.equal(retainedLine([]), 'retained: none');
  });

  it('HTTP status by result: 200 through, 422 rejected, 409 refused or paused; reload-all picks the worst', () => {
    assert.equal(statusCodeOf({ status: 'committed', ok: true }), 200);
    assert.equal(statusCodeOf({ status: 'unchanged', ok: true }), 200);
    assert.equal(statusCodeOf({ status: 'would-commit', ok: true }), 200);
    assert.equal(statusCodeOf({ status: 'rejected', ok: false }), 422);
    assert.equal(statusCodeOf({ status: 'refused', ok: false }), 409);
    assert.equal(statusCodeOf({ status: 'paused', ok: false }), 409);
    assert.equal(statusCodeOfAll([{ status: 'committed', ok: true }, { status: 'unchanged', ok: true }]), 200);
    assert.equal(statusCodeOfAll([{ status: 'paused', ok: false }, { status: 'rejected', ok: false }]), 422);
    assert.equal(statusCodeOfAll([{ status: 'paused', ok: false }, { status: 'committed', ok: true }]), 409);
    assert.equal(statusCodeOfAll([]), 200);
  });
});
