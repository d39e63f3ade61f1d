import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Lru, type LruNode } from '../../src/cache/lru.js';

class Node implements LruNode {
  constructor(readonly key: string, readonly n: number) {}
}

test('Lru matches a reference model (Map re-insertion order) under random get/set/delete', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.array(fc.tuple(fc.constantFrom('get', 'set', 'delete', 'peek'), fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g')), { minLength: 20, maxLength: 300, size: 'max' }),
      (max, ops) => {
        const lru = new Lru<Node>(max);
        const model = new Map<string, number>(); // insertion order = recency (oldest first)
        let n = 0;
        for (const [op, key] of ops) {
          if (op === 'get') {
            const got = lru.get(key);
            const want = model.get(key);
            assert.equal(got?.n, want);
            if (want !== undefined) {
              model.delete(key);
              model.set(key, want);
            }
          } else if (op === 'peek') {
            assert.equal(lru.peek(key)?.n, model.get(key));
          } else if (op === 'set') {
            n += 1;
            const had = model.get(key);
            const { replaced, evicted } = lru.set(new Node(key, n));
            assert.equal(replaced?.n, had);
            model.delete(key);
            model.set(key, n);
            const expectEvicted: number[] = [];
            while (model.size > max) {
              const oldest = model.keys().next().value as string;
              expectEvicted.push(model.get(oldest)!);
              model.delete(oldest);
            }
            assert.deepEqual(evicted.map((e) => e.n), expectEvicted);
          } else {
            assert.equal(lru.delete(key)?.n, model.get(key));
            model.delete(key);
          }
          assert.equal(lru.size, model.size);
          assert.ok(lru.size <= max);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('Lru rejects a non-positive max', () => {
  assert.throws(() => new Lru(0), /`max`/);
  assert.throws(() => new Lru(1.5), /`max`/);
});

test('Lru grows its slot arrays past the initial size and reuses freed slots', () => {
  const lru = new Lru<Node>(5000);
  for (let i = 0; i < 5000; i++) lru.set(new Node(`k${i}`, i));
  assert.equal(lru.size, 5000);
  assert.equal(lru.get('k0')?.n, 0);
  const { evicted } = lru.set(new Node('new', -1));
  assert.equal(evicted[0]?.n, 1, 'k1 is now the least recently used');
  for (let i = 2; i < 1000; i++) lru.delete(`k${i}`);
  for (let i = 0; i < 998; i++) lru.set(new Node(`again${i}`, i));
  assert.equal(lru.size, 5000);
  assert.equal(lru.clear().length, 5000);
  assert.equal(lru.size, 0);
  lru.set(new Node('after-clear', 1));
  assert.equal(lru.get('after-clear')?.n, 1);
});
