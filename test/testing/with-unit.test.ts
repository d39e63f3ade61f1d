import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { reloadable } from '../../src/index.js';
import { createFakeClock, fakeSource, fakeTrigger } from '../../src/testing/index.js';
import { waitFor } from '../helpers/wait.js';

const Config = z.object({ host: z.string(), port: z.number() });

test('testing kit with a real unit: failures, torn values and hangs never reach readers', async (t) => {
  const clock = createFakeClock();
  const source = fakeSource({ host: 'db1', port: 5432 }, { name: 'config.json', clock, hintOnSet: false });
  const unit = reloadable({ name: 'config', source, schema: Config, retry: false, clock, timeouts: { load: 1_000 } });
  t.after(() => unit.close());
  await unit.start();

  source.failNext(1);
  const failed = await unit.reload();
  assert.equal(failed.status, 'rejected');
  assert.equal(failed.stage, 'load');
  assert.match(failed.error!.message, /^\[config\] load failed \(fake config\.json\)/);

  source.partialNext(); // { host } only: the schema rejects it
  const torn = await unit.reload();
  assert.equal(torn.stage, 'validate');
  assert.equal(torn.error?.code, 'RELOADKIT_VALIDATION');

  source.hangNext();
  const hanging = unit.reload();
  await waitFor(() => source.stats.hung === 1, { message: 'the read hangs' });
  await clock.advanceAsync(1_000); // the load timeout fires on virtual time
  const timedOut = await hanging;
  assert.equal(timedOut.error?.code, 'RELOADKIT_TIMEOUT');
  assert.equal(timedOut.stage, 'load');

  assert.deepEqual(unit.get(), { host: 'db1', port: 5432 });
  assert.equal(unit.current?.id, 1, 'no failed attempt committed');
  assert.equal(source.stats.reads, 4);
});

test('testing kit with a real unit: a burst of duplicate hints and trigger fires costs at most 2 loads', async (t) => {
  const source = fakeSource({ n: 1 }, { name: 'flags.json' });
  const trigger = fakeTrigger();
  const unit = reloadable({ name: 'flags', source, retry: false, triggers: [trigger] });
  t.after(() => unit.close());
  await unit.start();
  assert.equal(source.stats.watchers, 1, 'the unit watches the source');
  assert.equal(trigger.started, true);
  const before = source.stats.reads;

  source.duplicateHints(500);
  source.set({ n: 2 }); // 500 hints at once
  trigger.fire({ kind: 'test' }, 500);
  await waitFor(() => unit.current?.id === 2, { message: 'commit of n=2' });
  await unit.reload(); // settles after every earlier run
  // 1000 hints → one run plus one coalesced follow-up; the explicit reload adds at most one.
  assert.ok(source.stats.reads - before <= 3, `loads: ${source.stats.reads - before}`);
  assert.deepEqual(unit.get(), { n: 2 });
  await unit.close();
  assert.equal(source.stats.watchers, 0, 'close() unwatches');
  assert.equal(trigger.started, false);
});
