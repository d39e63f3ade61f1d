/**
 * Pure logic, checked by properties: coercion never guesses (a string is parsed only when it is
 * exactly a JSON number, boolean, array or object), and the merge gives every leaf to the highest
 * layer that set it, with a provenance entry for every leaf.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { coerceString } from '../../src/config/coerce.js';
import { mergeLayers } from '../../src/config/merge.js';
import { getPath, isPlainObject, leafPaths } from '../../src/config/paths.js';
import { preferStrings } from '../../src/config/schema-strings.js';
import { z } from 'zod';

describe('coerceString', () => {
  test('examples: what is parsed and what stays a string', () => {
    const parsed: [string, unknown][] = [['6543', 6543], ['-1.5', -1.5], ['1e3', 1000], ['true', true], ['false', false], ['["a","b"]', ['a', 'b']], ['{"a":1}', { a: 1 }], ['0', 0]];
    for (const [raw, value] of parsed) assert.deepEqual(coerceString(raw), { value, parsed: true }, raw);
    const kept = ['5432x', 'no', 'yes', 'on', 'off', 'TRUE', 'True', '007', ' 1', '1 ', '0x10', '1_000', '', 'null', '"quoted"', '[a, b]', '{a:1}', 'NaN', 'Infinity', '9007199254740993', '+1', '.5', '1.'];
    for (const raw of kept) assert.deepEqual(coerceString(raw), { value: raw, parsed: false }, raw);
  });

  test('property: a parsed value is exactly what JSON says the string means; anything else is the string itself', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.integer().map(String), fc.double().map(String), fc.constantFrom('true', 'false', 'no', 'yes')), (raw) => {
        const { value, parsed } = coerceString(raw);
        if (!parsed) {
          assert.equal(value, raw);
          return;
        }
        // What JSON says, less any `__proto__` key: coercion drops those so they never reach a prototype.
        assert.deepEqual(value, JSON.parse(raw, (k: string, v: unknown) => (k === '__proto__' ? undefined : v)));
        assert.ok(typeof value === 'number' || typeof value === 'boolean' || Array.isArray(value) || isPlainObject(value), `parsed ${raw} to ${typeof value}`);
        if (typeof value === 'number') assert.ok(Number.isSafeInteger(value) || !Number.isInteger(value) || /[.eE]/.test(raw), `${raw} lost precision`);
      }),
      { numRuns: 2000 },
    );
  });
});

const key = fc.constantFrom('a', 'b', 'c', 'd');
const leaf = fc.oneof(fc.integer(), fc.string({ maxLength: 3 }), fc.boolean(), fc.array(fc.integer(), { maxLength: 2 }));
const tree: fc.Arbitrary<Record<string, unknown>> = fc.letrec((tie) => ({
  node: fc.dictionary(key, fc.oneof({ depthSize: 'small' }, leaf, tie('node')), { maxKeys: 3, noNullPrototype: true }),
})).node as fc.Arbitrary<Record<string, unknown>>;

/** The highest layer whose own value at `path` (or an ancestor it set as a non-object) decides it. */
function expectedAt(layers: Record<string, unknown>[], path: string): { value: unknown; layer: number } | undefined {
  for (let i = layers.length - 1; i >= 0; i--) {
    const segments = path.split('.');
    let node: unknown = layers[i];
    let decided = true;
    for (const segment of segments) {
      if (!isPlainObject(node) || !Object.prototype.hasOwnProperty.call(node, segment)) {
        decided = false;
        break;
      }
      node = node[segment];
    }
    if (decided) return { value: node, layer: i };
    // A layer that set an ancestor to a non-object cut off everything below from lower layers.
    let ancestor: unknown = layers[i];
    for (const segment of segments.slice(0, -1)) {
      if (!isPlainObject(ancestor) || !Object.prototype.hasOwnProperty.call(ancestor, segment)) break;
      ancestor = ancestor[segment];
      if (!isPlainObject(ancestor)) return undefined;
    }
  }
  return undefined;
}

describe('mergeLayers', () => {
  test('property: every leaf comes from the highest layer that set it, and its provenance says so', () => {
    fc.assert(
      fc.property(fc.array(tree, { minLength: 1, maxLength: 4 }), (layers) => {
        const readings = layers.map((value, i) => ({ name: `L${i}`, reading: { value, origins: new Map<string, string>(), fallback: `L${i}`, alternates: new Map<string, string>() } }));
        const merged = mergeLayers(readings, {});
        assert.deepEqual(Object.keys(merged.provenance).sort(), leafPaths(merged.value).sort());
        for (const path of leafPaths(merged.value)) {
          const want = expectedAt(layers, path);
          assert.ok(want, `leaf ${path} has a setter`);
          assert.deepEqual(getPath(merged.value, path), want.value, path);
          assert.equal(merged.provenance[path], `L${want.layer}`, path);
        }
      }),
      { numRuns: 500 },
    );
  });

  test('the merge copies: mutating the result never reaches a layer (defaults stay intact)', () => {
    const defaults = { db: { tags: ['a'] } };
    const merged = mergeLayers([{ name: 'd', reading: { value: defaults, origins: new Map(), fallback: 'd', alternates: new Map() } }], {});
    (merged.value.db as { tags: string[] }).tags.push('b');
    assert.deepEqual(defaults, { db: { tags: ['a'] } });
  });
});

describe('preferStrings: the schema has the last word', () => {
  test('a parsed value goes back to its string only where the string passes and the parsed one fails', async () => {
    const schema = z.object({ name: z.string(), port: z.number(), bad: z.number() });
    const value = { name: 42, port: 8080, bad: '5432x' } as Record<string, unknown>;
    const alternates = new Map([['name', '42'], ['port', '8080']]);
    const { restored } = await preferStrings(value, alternates, schema);
    assert.deepEqual(restored, ['name']);
    assert.deepEqual(value, { name: '42', port: 8080, bad: '5432x' });
  });

  test('when the string fails too, the parsed value stays (the error speaks of what was parsed)', async () => {
    const value = { port: 70000 } as Record<string, unknown>;
    const { restored } = await preferStrings(value, new Map([['port', '70000']]), z.object({ port: z.number().max(65535) }));
    assert.deepEqual(restored, []);
    assert.deepEqual(value, { port: 70000 });
  });
});

describe('jsonLines', () => {
  test('property: the line of every key and item equals the one jsonc-parser reports (any JSON, any spacing)', async () => {
    const { parseTree } = await import('jsonc-parser');
    const { jsonLines } = await import('../../src/config/json-lines.js');
    const reference = (text: string): Map<string, number> => {
      const out = new Map<string, number>();
      const lineOf = (offset: number) => text.slice(0, offset).split('\n').length;
      const walk = (node: import('jsonc-parser').Node, path: string): void => {
        if (node.type === 'object') {
          for (const property of node.children ?? []) {
            const [k, v] = property.children!;
            const child = path === '' ? String(k!.value) : `${path}.${String(k!.value)}`;
            out.set(child, lineOf(k!.offset));
            if (v) walk(v, child);
          }
        } else if (node.type === 'array') {
          (node.children ?? []).forEach((item, i) => {
            const child = path === '' ? String(i) : `${path}.${i}`;
            out.set(child, lineOf(item.offset));
            walk(item, child);
          });
        }
      };
      walk(parseTree(text)!, '');
      return out;
    };
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(0, 2, '\t'), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        assert.deepEqual(jsonLines(text), reference(text));
      }),
      { numRuns: 1000 },
    );
  });
});
