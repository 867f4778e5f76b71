import { describe, expect, it } from 'vitest';
import { escapeTsv, formatRecord, unescapeTsv } from '../storage/output-format.js';
import { decodeValue, decodeValues, encodeValue } from './values.js';

const AWKWARD = ['', 'plain', '\0', '\0J42', '\0\0x', 'J', 'tab\tnew\nline\r\\', 'é😀', '\\t literally', 'lone\ud800', '\udc00lone', 'pair😀ok'];

describe('values through the shuffle', () => {
  it('strings come back as the same string, even those that begin with NUL; other JSON values come back parsed', () => {
    for (const s of AWKWARD) expect(decodeValue(encodeValue(s))).toBe(s);
    for (const v of [0, -1.5, true, false, null, [1, 'a', [null]], { a: { b: [1, 2] } }]) expect(decodeValue(encodeValue(v))).toEqual(v);
    expect(encodeValue('plain')).toBe('plain');
    expect(() => encodeValue(undefined)).toThrow(/not JSON-serializable/);
  });

  it('decodeValues leaves a list of plain strings untouched and decodes mixed lists', () => {
    const plain = ['a', 'b'];
    expect(decodeValues(plain)).toBe(plain);
    expect(decodeValues([encodeValue(1), 'x', encodeValue('\0y')])).toEqual([1, 'x', '\0y']);
  });
});

describe('tsv escapes', () => {
  it('round-trip every awkward string, and keep lines and fields whole', () => {
    for (const s of AWKWARD) {
      const e = escapeTsv(s);
      expect(e).not.toMatch(/[\t\n\r]/);
      expect(unescapeTsv(e)).toBe(s);
      const line = formatRecord('tsv', s, s);
      expect(line.split('\n')).toHaveLength(2);
      expect(line.slice(0, -1).split('\t')).toHaveLength(2);
    }
  });

  it('jsonl and text lines', () => {
    expect(formatRecord('jsonl', 'k\n', { n: 1 })).toBe('{"key":"k\\n","value":{"n":1}}\n');
    expect(formatRecord('text', 'k', 3)).toBe('k 3\n');
    expect(formatRecord('text', 'k', 'v w')).toBe('k v w\n');
  });
});
