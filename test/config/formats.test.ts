/**
 * Every format read from a real file: the value, the line that set each path, and parse errors
 * that name the file, line and column without quoting the file (a secret sits on the bad line).
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { configSource, ConfigParseError } from '../../src/config/index.js';
import { provenanceOf } from '../../src/support/provenance.js';
import { configDir } from './helpers.js';

let dir: Awaited<ReturnType<typeof configDir>>;
before(async () => {
  dir = await configDir();
});
after(() => dir.cleanup());

const signal = new AbortController().signal;
const read = async (file: string) => {
  const value = await configSource({ files: [file], watch: false, interpolate: false }).read({ signal });
  return { value, provenance: provenanceOf(value) };
};

const expected = { db: { host: 'h', port: 5432 }, tags: ['a', 'b'] };

const good: Record<string, { text: string; lines: Record<string, number> }> = {
  'c.json': { text: '{\n  "db": {\n    "host": "h",\n    "port": 5432\n  },\n  "tags": ["a", "b"]\n}\n', lines: { 'db.host': 3, 'db.port': 4, tags: 6 } },
  'c.jsonc': { text: '// comment\n{\n  "db": { "host": "h", /* inline */\n    "port": 5432, },\n  "tags": ["a", "b",],\n}\n', lines: { 'db.host': 3, 'db.port': 4, tags: 5 } },
  'c.yaml': { text: '# top\ndb:\n  host: h\n  port: 5432\ntags:\n  - a\n  - b\n', lines: { 'db.host': 3, 'db.port': 4, tags: 5 } },
  'c.toml': { text: 'tags = ["a", "b"]\n\n[db]\nhost = "h"\nport = 5432\n', lines: { 'db.host': 4, 'db.port': 5, tags: 1 } },
  'c.ini': { text: 'tags = ["a","b"]\n; comment\n[db]\nhost = h\nport = 5432\n', lines: { 'db.host': 4, 'db.port': 5, tags: 1 } },
  'c.env': { text: 'DB__HOST=h\nDB__PORT=5432\nTAGS=["a","b"]\n', lines: {} },
};

describe('formats by extension', () => {
  for (const [name, { text, lines }] of Object.entries(good)) {
    test(`${name}: value and the line of every leaf`, async () => {
      const file = await dir.write(name, text);
      const { value, provenance } = await read(file);
      if (name.endsWith('.env')) {
        assert.deepEqual(value, { DB: { HOST: 'h', PORT: 5432 }, TAGS: ['a', 'b'] });
        assert.deepEqual(provenance, { 'DB.HOST': `${file}:1`, 'DB.PORT': `${file}:2`, TAGS: `${file}:3` });
        return;
      }
      assert.deepEqual(value, expected);
      assert.deepEqual(provenance, Object.fromEntries(Object.entries(lines).map(([path, line]) => [path, `${file}:${line}`])));
    });
  }

  test('c.json5: value; provenance names the file (JSON5 gives no positions)', async () => {
    const file = await dir.write('c.json5', "{\n  db: { host: 'h', port: 0x1538 },\n  tags: ['a', 'b',],\n}\n");
    const { value, provenance } = await read(file);
    assert.deepEqual(value, expected);
    assert.deepEqual(provenance, { 'db.host': file, 'db.port': file, tags: file });
  });

  test('TOML arrays of tables and dotted keys get their lines', async () => {
    const file = await dir.write('t.toml', 'a.b = 1\n\n[[servers]]\nname = "x"\n\n[[servers]]\nname = "y"\n');
    const { value, provenance } = await read(file);
    assert.deepEqual(value, { a: { b: 1 }, servers: [{ name: 'x' }, { name: 'y' }] });
    assert.deepEqual(provenance, { 'a.b': `${file}:1`, servers: `${file}:3` });
  });

  test('a key named __proto__ stays a plain key in every format', async () => {
    for (const [name, text] of [
      ['p.json', '{"__proto__": {"polluted": true}}'],
      ['p.jsonc', '{"__proto__": {"polluted": true}}'],
      ['p.yaml', '__proto__:\n  polluted: true\n'],
      ['p.ini', '[__proto__]\npolluted = true\n'],
    ] as const) {
      const { value } = await read(await dir.write(name, text));
      assert.equal(({} as { polluted?: boolean }).polluted, undefined, name);
      assert.equal(Object.getPrototypeOf(value), Object.prototype, name);
    }
  });
});

describe('parse errors: file, line and column, never the content', () => {
  const bad: [string, string, string, number, number | undefined][] = [
    ['bad.json', '{\n  "password": hunter2\n}\n', 'JSON', 2, 15],
    ['bad.jsonc', '{\n  "password": hunter2\n}\n', 'JSONC', 2, 15],
    ['bad.json5', '{\n  password: hunter2\n}\n', 'JSON5', 2, 13],
    ['bad.yaml', 'db:\n  password: @hunter2\n', 'YAML', 2, 13],
    ['bad.toml', 'a = 1\npassword = hunter2\n', 'TOML', 2, undefined],
    ['bad.ini', '[db]\npassword hunter2\n', 'INI', 2, undefined],
    ['bad.env', 'OK=1\npassword hunter2\n', 'dotenv', 2, undefined],
  ];
  for (const [name, text, format, line, column] of bad) {
    test(`${name}`, async () => {
      const file = await dir.write(name, text);
      const error = await read(file).then(
        () => assert.fail('expected a parse error'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof Error);
      const cause = error.cause instanceof ConfigParseError ? error.cause : error;
      assert.ok(cause instanceof ConfigParseError, `got ${String(error)}`);
      assert.equal(cause.code, 'RELOADKIT_CONFIG_PARSE');
      assert.equal(cause.format, format);
      assert.equal(cause.file, file);
      assert.equal(cause.line, line);
      if (column !== undefined) assert.equal(cause.column, column);
      assert.ok(error.message.includes(`invalid ${format} in ${file} at line ${line}`), error.message);
      assert.ok(!error.message.includes('hunter2'), error.message);
    });
  }

  test('a YAML file of two documents is refused (which one would win?)', async () => {
    const file = await dir.write('two.yaml', 'a: 1\n---\na: 2\n');
    await assert.rejects(read(file), /invalid YAML in .*two\.yaml at line 2.*more than one document/);
  });

  test('an extension no parser knows is a TypeError at creation, naming the way out', () => {
    assert.throws(() => configSource({ files: ['app.conf'] }), /cannot tell the format of `app\.conf`.*\{ path, format \}/);
    assert.doesNotThrow(() => configSource({ files: [{ path: 'app.conf', format: 'ini' }], watch: false }));
  });
});
