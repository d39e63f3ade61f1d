import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistry, jsonlAudit, reloadable } from '../../src/index.js';
import { fakeSource, fakeTrigger } from '../../src/testing/index.js';
import type { AuditRecord } from '../../src/types.js';
import { waitFor } from '../helpers/wait.js';

function unitWith(name: string, value: Record<string, unknown>) {
  const source = fakeSource(value, { name: `${name}.json`, hintOnSet: false });
  const unit = reloadable({ name, source, retry: false });
  return { source, unit };
}

test('registry: add, get, units, status, reloadAll; duplicate names throw precisely', async (t) => {
  const registry = createRegistry();
  t.after(() => registry.close());
  const a = unitWith('a', { n: 1 });
  const b = unitWith('b', { n: 1 });
  assert.equal(registry.add(a.unit), a.unit);
  registry.add(b.unit);
  assert.throws(() => registry.add(unitWith('a', {}).unit), {
    code: 'RELOADKIT_DUPLICATE_NAME',
    message: '[registry] a member named "a" is already registered: unit names must be unique per registry',
  });
  assert.equal(registry.get('a'), a.unit);
  assert.equal(registry.get('nope'), undefined);
  assert.deepEqual(registry.units(), [a.unit, b.unit]);
  registry.units().pop();
  assert.equal(registry.units().length, 2, 'units() returns a copy');

  assert.equal(registry.status().ready, false);
  await registry.start();
  const status = registry.status();
  assert.equal(status.ready, true);
  assert.deepEqual(status.units.map((u) => [u.name, u.generation, u.state]), [['a', 1, 'ready'], ['b', 1, 'ready']]);
  assert.match(String(status.units[0]!.hash), /^sha256:[0-9a-f]{64}$/);

  b.source.set({ n: 2 });
  const all = await registry.reloadAll({ reason: 'test', actor: 'me' });
  assert.equal(all.ok, true);
  assert.deepEqual(all.results.map((r) => [r.unit, r.status]), [['a', 'unchanged'], ['b', 'committed']]);

  b.source.failNext(1);
  const partial = await registry.reloadAll();
  assert.equal(partial.ok, false);
  assert.deepEqual(partial.results.map((r) => r.status), ['unchanged', 'rejected']);
});

test('registry: triggers start before the first loads, and hints reload every member (coalesced)', async (t) => {
  const registry = createRegistry();
  t.after(() => registry.close());
  const trigger = fakeTrigger();
  let startedBeforeLoad: boolean | undefined;
  let loads = 0;
  const unit = reloadable({
    name: 'watched',
    load: () => {
      startedBeforeLoad ??= trigger.started;
      loads++;
      return { loads: Math.min(loads, 2) };
    },
    retry: false,
  });
  registry.add(unit);
  registry.addTrigger(trigger);
  assert.throws(() => registry.addTrigger(trigger), { name: 'TypeError', message: 'registry.addTrigger: this trigger is already added' });
  await registry.start();
  assert.equal(startedBeforeLoad, true, 'watch before read');

  trigger.fire({ kind: 'test' }, 100);
  await waitFor(() => unit.current?.id === 2, { message: 'commit after the burst' });
  assert.deepEqual(unit.current?.trigger, { kind: 'test' });
  // close() waits for the reloadAll in flight; then every load the burst caused has run.
  await registry.close();
  // 100 hints: one reloadAll plus at most one coalesced follow-up, after the initial load.
  assert.ok(loads >= 2 && loads <= 3, `a burst of 100 hints caused at most 2 loads (got ${loads - 1})`);
  assert.equal(trigger.started, false, 'close() stops the triggers');
  assert.equal(unit.status().state, 'closed');
  assert.throws(() => registry.add(unitWith('late', {}).unit), { code: 'RELOADKIT_CLOSED' });
  await assert.rejects(registry.reloadAll(), { code: 'RELOADKIT_CLOSED' });
});

test('registry: a member that fails to start rejects start(); a new start() retries; a failing trigger is an error event', async (t) => {
  const registry = createRegistry();
  t.after(() => registry.close());
  const ok = unitWith('ok', { a: 1 });
  const flaky = unitWith('flaky', { a: 1 });
  flaky.source.failNext(1, new Error('connection refused'));
  registry.add(ok.unit);
  registry.add(flaky.unit);
  const trigger = fakeTrigger();
  const broken = fakeTrigger({ startError: new Error('no watch available') });
  const errors: { where: string; message: string }[] = [];
  registry.on('error', (e) => errors.push({ where: e.where, message: e.error.message }));
  registry.addTrigger(trigger);
  registry.addTrigger(broken);
  await assert.rejects(registry.start(), (e: Error & { code?: string }) => /flaky|connection refused/.test(e.message));
  assert.equal(registry.status().ready, false);
  await registry.start();
  assert.equal(registry.status().ready, true);
  assert.equal(trigger.stats.starts, 1, 'a retried start() does not start a running trigger twice');
  assert.equal(broken.stats.starts, 2, 'a trigger that failed to start is retried');
  assert.deepEqual(errors, [
    { where: 'trigger.start', message: 'no watch available' },
    { where: 'trigger.start', message: 'no watch available' },
  ]);
});

test('registry audit: jsonlAudit lines carry actor, reason, outcome and hash — never a config value', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rk-registry-audit-'));
  const path = join(dir, 'audit.jsonl');
  const audit = jsonlAudit(path);
  const registry = createRegistry({ audit });
  t.after(async () => {
    await registry.close();
    await audit.close();
    await rm(dir, { recursive: true, force: true });
  });
  const secret = 'hunter2-do-not-log';
  const db = unitWith('db', { password: secret, host: 'replica-west.internal' });
  registry.add(db.unit);
  await registry.start();
  db.source.set({ password: `${secret}-rotated`, host: 'replica-west.internal' });
  await registry.reloadAll({ actor: 'alice', reason: 'rotate password' });
  await registry.reloadAll({ actor: 'bob', reason: 'no-op' });
  db.source.failNext(1, new Error('connection refused'));
  await registry.reloadAll({ actor: 'carol', reason: 'broken source' });
  await waitFor(async () => {
    await audit.flush();
    return (await readFile(path, 'utf8').catch(() => '')).trimEnd().split('\n').length >= 4;
  }, { message: 'four audit lines' });

  const text = await readFile(path, 'utf8');
  const records = text.trimEnd().split('\n').map((l) => JSON.parse(l) as AuditRecord);
  assert.deepEqual(records.map((r) => [r.action, r.outcome, r.actor ?? null, r.reason ?? null]), [
    ['start', 'committed', null, null],
    ['reload', 'committed', 'alice', 'rotate password'],
    ['reload', 'unchanged', 'bob', 'no-op'],
    ['reload', 'rejected', 'carol', 'broken source'],
  ]);
  for (const r of records.slice(0, 3)) assert.match(String(r.hash), /^sha256:[0-9a-f]{64}$/);
  assert.equal(records[1]!.from, 1);
  assert.equal(records[1]!.to, 2);
  assert.equal(records[3]!.stage, 'load');
  assert.equal(typeof records[3]!.error?.code, 'string');
  assert.ok(!text.includes(secret), 'no secret in the audit trail');
  assert.ok(!text.includes('replica-west'), 'no config value in the audit trail');
});

test('registry audit: a failing jsonlAudit sink surfaces as error events and never blocks reloads', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rk-registry-audit-'));
  // A regular file where the audit directory should be: every append fails.
  await writeFile(join(dir, 'file'), 'x');
  const audit = jsonlAudit(join(dir, 'file', 'audit.jsonl'));
  const registry = createRegistry({ audit });
  t.after(async () => {
    await registry.close();
    await rm(dir, { recursive: true, force: true });
  });
  const errors: { unit?: string; where: string }[] = [];
  registry.on('error', (e) => errors.push({ unit: e.unit, where: e.where }));
  const u = unitWith('u', { a: 1 });
  registry.add(u.unit);
  await registry.start();
  u.source.set({ a: 2 });
  assert.equal((await registry.reloadAll()).ok, true, 'reloads go on while the audit file is broken');
  await waitFor(() => errors.filter((e) => e.where === 'audit').length >= 2, { message: 'audit error events' });
  assert.deepEqual(errors[0], { unit: 'u', where: 'audit' });
  assert.equal(u.unit.status().errors, 2);
});

test('registry: a hint that arrives while members start is not lost: it reloads them once they have started', async (t) => {
  const registry = createRegistry();
  t.after(() => registry.close());
  const trigger = fakeTrigger();
  let value = 1;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let loads = 0;
  const unit = reloadable({
    name: 'slow',
    retry: false,
    load: async () => {
      loads++;
      const seen = value;
      if (loads === 1) await gate; // the initial load read value 1 and is still running
      return { value: seen };
    },
  });
  registry.add(unit);
  registry.addTrigger(trigger);
  const starting = registry.start();
  await waitFor(() => loads === 1, { message: 'initial load running' });
  value = 2;
  trigger.fire({ kind: 'changed' }); // the change lands between the watch and the end of the first read
  release();
  await starting;
  await waitFor(() => unit.current?.value.value === 2, { message: 'the change is picked up after start' });
  assert.deepEqual(unit.current?.trigger, { kind: 'changed' });
});

test('registry: a cache is a member like a unit (status, reloadAll, audit, close)', async (t) => {
  const { reloadableCache } = await import('../../src/cache/index.js');
  const records: AuditRecord[] = [];
  const registry = createRegistry({ audit: (r) => void records.push(r) });
  t.after(() => registry.close());
  const users = reloadableCache({ name: 'users', load: (key: string) => ({ key, plan: 'free' }) });
  registry.add(users);
  registry.add(unitWith('config', { a: 1 }).unit);
  assert.throws(() => registry.add(reloadableCache({ name: 'config', load: () => 1 })), { code: 'RELOADKIT_DUPLICATE_NAME' });
  await registry.start();
  await users.get('u1');
  const all = await registry.reloadAll({ actor: 'ops', reason: 'refresh' });
  assert.deepEqual(all.results.map((r) => r.unit), ['users', 'config']);
  assert.deepEqual(registry.status().units.map((s) => s.name), ['users', 'config']);
  assert.ok(records.some((r) => r.unit === 'users'), 'the registry sink receives the cache records');
  assert.ok(records.some((r) => r.unit === 'config' && r.actor === 'ops'));
});

test('registry typed by its members: get(name) keeps the unit type; members are added in key order and keyed by name', async (t) => {
  let beta = false;
  const flags = reloadable({ name: 'flags', load: () => ({ beta }) });
  const limits = reloadable({ name: 'limits', load: () => ({ rps: 100 }) });
  const registry = createRegistry({ members: { flags, limits } });
  t.after(() => registry.close());
  assert.deepEqual(registry.units(), [flags, limits], 'members added at once, in key order');
  assert.equal(registry.get('flags'), flags);

  await registry.start();
  // Compile-time: the member's own events and value types survive the lookup (tsc checks this file).
  const committed = new Promise<number>((resolve) => registry.get('flags').on('committed', (e) => resolve(e.current.id)));
  beta = true;
  await registry.reloadAll();
  assert.equal(await committed, 2);
  const value: { beta: boolean } = registry.get('flags').get();
  assert.equal(value.beta, true);
  // Members added later are found by the untyped overload, typed by the caller.
  const late = registry.add(reloadable({ name: 'late', load: () => ({ on: true }) }));
  await late.start();
  assert.equal(registry.get<typeof late>('late')?.get().on, true);
  assert.equal(registry.get('missing'), undefined);
  // @ts-expect-error: an untyped lookup is a RegistryMember, whose only event is `error`.
  registry.get('late')?.on('committed', () => {});
});

test('createRegistry: precise TypeErrors for unknown options and bad members', () => {
  const flags = reloadable({ name: 'flags', load: () => ({}) });
  assert.throws(() => createRegistry({ audits: [] } as never), { name: 'TypeError', message: 'createRegistry: unknown option `audits`; did you mean `audit`?' });
  assert.throws(() => createRegistry({ members: { flag: flags } }), {
    name: 'TypeError',
    message: 'createRegistry: `members.flag` is named "flags": key each member by its name (`{ \'flags\': … }`) so that get(\'flag\') finds it',
  });
  assert.throws(() => createRegistry({ members: { flags: { name: 'flags' } } as never }), {
    name: 'TypeError',
    message: 'createRegistry: `members.flags`: member "flags" has no start() method: it is not a unit or cache',
  });
  assert.throws(() => createRegistry({ members: [flags] as never }), { name: 'TypeError', message: /expected `members` to be an object of units keyed by their names, got an array/ });
});
