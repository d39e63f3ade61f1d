import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { JsonSyntaxError, parseJson, resolveParser, defaultParseFor } from '../../src/file/parse.js';
import { lineColumn, locateJsonError } from '../../src/file/json-locate.js';

const fail = (text: string): JsonSyntaxError => {
  try {
    parseJson(Buffer.from(text), 'conf/config.json');
  } catch (error) {
    assert.ok(error instanceof JsonSyntaxError);
    assert.equal(error.code, 'RELOADKIT_JSON_SYNTAX');
    assert.equal(error.stage, 'load');
    return error;
  }
  assert.fail('expected a JsonSyntaxError');
};

test('truncated JSON names the file, line and column of the end of input', () => {
  const error = fail('{\n  "port": 8080,\n  "host": "lo');
  assert.equal(error.message, 'invalid JSON in conf/config.json at line 3, column 14: unexpected end of input');
  assert.equal(error.line, 3);
  assert.equal(error.column, 14);
  assert.equal(error.file, 'conf/config.json');
});

test('an unexpected token is located without quoting the content', () => {
  const error = fail('{\n  "secret": hunter2\n}');
  assert.equal(error.message, "invalid JSON in conf/config.json at line 2, column 13: unexpected character 'h'");
  assert.doesNotMatch(error.message, /hunter2/);
});

test('trailing commas, missing colons and trailing garbage', () => {
  assert.match(fail('[1, 2,]').message, /line 1, column 7: trailing comma/);
  assert.match(fail('{"a" 1}').message, /line 1, column 6: expected ':'/);
  assert.match(fail('{"a": 1} x').message, /line 1, column 10: unexpected character 'x' after the JSON value/);
  assert.match(fail('').message, /line 1, column 1: the file is empty/);
  assert.match(fail('\r\n{"a": tru}').message, /line 2, column 10: unexpected character '}'/);
});

test('a UTF-8 BOM is accepted', () => {
  assert.deepEqual(parseJson(Buffer.from('\ufeff{"a":1}'), 'x.json'), { a: 1 });
});

test('the locator agrees with JSON.parse on arbitrary JSON and on corrupted JSON', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.nat(), (value, cut) => {
      const text = JSON.stringify(value, null, 1);
      assert.equal(locateJsonError(text), undefined);
      const truncated = text.slice(0, cut % (text.length + 1));
      let valid = true;
      try {
        JSON.parse(truncated);
      } catch {
        valid = false;
      }
      assert.equal(locateJsonError(truncated) === undefined, valid);
    }),
    { numRuns: 300 },
  );
});

test('lineColumn counts \\n, \\r\\n and \\r line ends', () => {
  assert.deepEqual(lineColumn('ab\ncd', 4), { line: 2, column: 2 });
  assert.deepEqual(lineColumn('ab\r\ncd', 5), { line: 2, column: 2 });
  assert.deepEqual(lineColumn('ab\rcd', 3), { line: 2, column: 1 });
});

test('parsers by name, by extension and custom', () => {
  assert.equal(defaultParseFor('a/config.JSON'), 'json');
  assert.equal(defaultParseFor('a/LOG_LEVEL'), 'text');
  assert.equal(resolveParser(undefined, 'x.txt')(Buffer.from('hi\n'), 'x.txt'), 'hi\n');
  const buffer = resolveParser('buffer', 'x.json')(Buffer.from('{}'), 'x.json');
  assert.ok(Buffer.isBuffer(buffer));
  const custom = resolveParser((b, p) => `${p}:${b.length}`, 'x.yaml');
  assert.equal(custom(Buffer.from('abc'), 'x.yaml'), 'x.yaml:3');
  assert.throws(() => resolveParser('yaml' as never, 'x'), { name: 'TypeError', message: /Expected `parse` to be 'json', 'text', 'buffer' or a function, got 'yaml'/ });
});
