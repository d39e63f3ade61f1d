/**
 * The gap tracker and the envelope, as pure logic. Property tests (fast-check) over what a
 * transport can do to a publisher's messages: lose some, duplicate some, reorder them, and the
 * publisher restarting (a new epoch, numbering from 1 again):
 * - nothing is delivered twice;
 * - a lost message is always followed by a gap once a later message of its instance arrives;
 * - in order, without loss, duplicates are dropped and no gap is ever reported;
 * - reordered without loss, every message is delivered exactly once.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createGapTracker } from '../../src/support/delivery/gap-tracker.js';
import { decodeEnvelope, encodeEnvelope } from '../../src/support/delivery/envelope.js';
import { createReceiver } from '../../src/support/delivery/receiver.js';

interface Msg {
  pub: string;
  epoch: string;
  seq: number;
}
const id = (m: Msg) => `${m.pub}/${m.epoch}/${m.seq}`;

/** What publishers sent, in order: per publisher, 1..3 instances (epochs) of 0..25 messages each. */
const sent = fc
  .array(fc.array(fc.integer({ min: 0, max: 25 }), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 })
  .map((pubs) => {
    const perPub: Msg[][] = pubs.map((epochs, p) => epochs.flatMap((count, e) => Array.from({ length: count }, (_, i) => ({ pub: `p${p}`, epoch: `e${e}`, seq: i + 1 }))));
    return perPub;
  });

/** Interleaves the publishers' streams (each stays in its own order) as `picks` chooses. */
function interleave(perPub: Msg[][], picks: number[]): Msg[] {
  const queues = perPub.map((q) => [...q]);
  const out: Msg[] = [];
  let i = 0;
  while (queues.some((q) => q.length > 0)) {
    const live = queues.filter((q) => q.length > 0);
    const q = live[(picks[i++ % Math.max(1, picks.length)] ?? 0) % live.length]!;
    out.push(q.shift()!);
  }
  return out;
}

function run(messages: Msg[]) {
  const tracker = createGapTracker({ now: () => 0 });
  const delivered: Msg[] = [];
  const log: { msg: Msg; deliver: boolean; gap: boolean }[] = [];
  for (const msg of messages) {
    const o = tracker.observe(msg);
    if (o.deliver) delivered.push(msg);
    log.push({ msg, deliver: o.deliver, gap: o.gap !== undefined });
  }
  return { delivered, log };
}

describe('gap tracker (properties)', () => {
  it('delivers nothing twice, and reports a gap after every loss once a later message of that instance arrives', () => {
    fc.assert(
      fc.property(
        sent,
        fc.array(fc.nat(), { maxLength: 60 }),
        fc.array(fc.constantFrom('keep', 'lose', 'dup', 'swap'), { maxLength: 200 }),
        (perPub, picks, fates) => {
          const ordered = interleave(perPub, picks);
          // The transport: lose, duplicate, or swap a message with the next one.
          const wire: Msg[] = [];
          const lost = new Set<string>();
          for (let i = 0; i < ordered.length; i++) {
            const fate = fates[i] ?? 'keep';
            const m = ordered[i]!;
            if (fate === 'lose') lost.add(id(m));
            else if (fate === 'dup') wire.push(m, m);
            else if (fate === 'swap' && i + 1 < ordered.length) {
              wire.push(ordered[i + 1]!, m);
              i++;
            } else wire.push(m);
          }
          const { delivered, log } = run(wire);
          const ids = delivered.map(id);
          assert.equal(new Set(ids).size, ids.length, 'delivered twice');
          // Every message that reached the subscriber is delivered (the publisher's first epoch
          // baseline included: reordered lower numbers are delivered once, not dropped).
          for (const m of wire) assert.ok(ids.includes(id(m)), `received but never delivered: ${id(m)}`);
          // Loss: a lost message followed (on the wire) by a later message of the same instance,
          // or by a later instance of the same publisher, must be covered by a gap at or after
          // the first message past the baseline... concretely: some gap after the loss point.
          const firstHeard = new Map<string, Msg>();
          for (const m of wire) if (!firstHeard.has(m.pub)) firstHeard.set(m.pub, m);
          for (const key of lost) {
            const [pub, epoch, seqText] = key.split('/') as [string, string, string];
            const seq = Number(seqText);
            const base = firstHeard.get(pub);
            if (!base) continue; // nothing from this publisher reached us at all
            const firstEpochBaseline = base.epoch === epoch && seq < base.seq;
            if (firstEpochBaseline) continue; // before the subscriber first heard: predates it
            const laterIndex = log.findIndex((l) => l.msg.pub === pub && l.msg.epoch === epoch && l.msg.seq > seq);
            if (laterIndex === -1) continue; // the instance's tail: nothing can reveal it
            assert.ok(log.slice(0, laterIndex + 1).some((l) => l.gap && l.msg.pub === pub), `lost ${key} without a gap`);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('in order without loss: duplicates dropped, no gap, every message once (restarts number from 1)', () => {
    fc.assert(
      fc.property(sent, fc.array(fc.nat(), { maxLength: 60 }), fc.array(fc.boolean(), { maxLength: 200 }), (perPub, picks, dups) => {
        const ordered = interleave(perPub, picks);
        const wire = ordered.flatMap((m, i) => (dups[i] ? [m, m] : [m]));
        const { delivered, log } = run(wire);
        assert.deepEqual(delivered.map(id), ordered.map(id));
        assert.equal(log.filter((l) => l.gap).length, 0);
      }),
      { numRuns: 300 },
    );
  });

  it('reordered without loss: every message delivered exactly once', () => {
    fc.assert(
      fc.property(
        sent.chain((perPub) => {
          const all = perPub.flat();
          return fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length });
        }),
        (wire) => {
          const { delivered } = run(wire);
          assert.deepEqual([...delivered.map(id)].sort(), [...wire.map(id)].sort());
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('gap tracker (cases)', () => {
  it('names the reason: a skipped number, a restarted publisher that lost its first messages', () => {
    const tracker = createGapTracker({ now: () => 42 });
    assert.deepEqual(tracker.observe({ pub: 'a', epoch: 'e1', seq: 7 }), { deliver: true });
    assert.deepEqual(tracker.observe({ pub: 'a', epoch: 'e1', seq: 9 }), { deliver: true, gap: { since: 42, reason: 'sequence' } });
    assert.deepEqual(tracker.observe({ pub: 'a', epoch: 'e1', seq: 8 }), { deliver: true });
    assert.deepEqual(tracker.observe({ pub: 'a', epoch: 'e1', seq: 8 }), { deliver: false });
    assert.deepEqual(tracker.observe({ pub: 'a', epoch: 'e2', seq: 1 }), { deliver: true });
    assert.deepEqual(tracker.observe({ pub: 'a', epoch: 'e3', seq: 4 }), { deliver: true, gap: { since: 42, reason: 'publisher-restart' } });
  });

  it('after rebase (a reconnect gap was reported), a jump is a new baseline, not another gap', () => {
    const tracker = createGapTracker({ now: () => 1 });
    tracker.observe({ pub: 'a', epoch: 'e', seq: 1 });
    tracker.rebase();
    assert.deepEqual(tracker.observe({ pub: 'a', epoch: 'e', seq: 50 }), { deliver: true });
    assert.deepEqual(tracker.observe({ pub: 'a', epoch: 'e', seq: 52 }), { deliver: true, gap: { since: 1, reason: 'sequence' } });
  });
});

describe('envelope and receiver', () => {
  it('round-trips an envelope; a broken one is invalid; anything else is foreign', () => {
    const text = encodeEnvelope({ pub: 'api', epoch: 'e', seq: 3, keys: ['user:1', 'user:2'] });
    assert.deepEqual(decodeEnvelope(text), { kind: 'envelope', envelope: { pub: 'api', epoch: 'e', seq: 3, keys: ['user:1', 'user:2'] } });
    assert.deepEqual(decodeEnvelope('user:1'), { kind: 'foreign', text: 'user:1' });
    assert.deepEqual(decodeEnvelope('{"keys":["a"]}'), { kind: 'foreign', text: '{"keys":["a"]}' });
    for (const bad of ['{"reloadkit":1,"pub":"a","epoch":"e","seq":"x"}', '{"reloadkit":1,"seq":1}', '{"reloadkit":2,"pub":"a","epoch":"e","seq":1}', '{"reloadkit":1,"pub":"a","epoch":"e","seq":1,"keys":"k"}', '{"reloadkit":1,']) {
      assert.equal(decodeEnvelope(bad).kind, 'invalid', bad);
    }
  });

  it('turns messages into hints: keys and gaps from envelopes, foreign messages through parse, undecodable ones reported once', () => {
    const reasons: string[] = [];
    const receiver = createReceiver({ kind: 'test', describe: 'test bus', now: () => 5, onUndeliverable: (r) => reasons.push(r), parse: (t) => (t === 'boom' ? (() => { throw new Error('no'); })() : { keys: t.split(',') }) });
    assert.deepEqual(receiver.receive(encodeEnvelope({ pub: 'p', epoch: 'e', seq: 1, keys: ['a'] })), { kind: 'test', detail: 'test bus: 1 key(s)', keys: ['a'] });
    assert.equal(receiver.receive(encodeEnvelope({ pub: 'p', epoch: 'e', seq: 1, keys: ['a'] })), undefined); // duplicate
    assert.deepEqual(receiver.receive(encodeEnvelope({ pub: 'p', epoch: 'e', seq: 3, prefix: 'user:' })), { kind: 'test', detail: 'test bus: prefix (gap: sequence)', prefix: 'user:', gap: { since: 5, reason: 'sequence' } });
    assert.deepEqual(receiver.receive('x,y'), { kind: 'test', detail: 'test bus: 2 key(s)', keys: ['x', 'y'] });
    assert.equal(receiver.receive('boom'), undefined);
    assert.equal(receiver.receive('{"reloadkit":1,"pub":"p","epoch":"e","seq":-1,"password":"hunter2"}'), undefined);
    assert.equal(reasons.length, 2);
    assert.ok(reasons.every((r) => !r.includes('hunter2')));
    assert.deepEqual(receiver.reconnected(), { kind: 'test', detail: 'test bus: reconnected (gap: reconnect)', gap: { since: 5, reason: 'reconnect' } });
  });
});
