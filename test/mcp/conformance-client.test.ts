/** The conformance suite's client scenarios that apply, against the adapter (see conformance.test.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLIENT_SCENARIOS, client, conformance } from './conformance/run.js';

for (const scenario of CLIENT_SCENARIOS) {
  test(`conformance client scenario ${scenario} passes against the adapter`, async () => {
    const { ok, out } = await conformance(['client', '--command', `"${process.execPath}" --import tsx "${client}"`, '--scenario', scenario]);
    assert.ok(ok, `${scenario}:\n${out.slice(-3000)}`);
  });
}
