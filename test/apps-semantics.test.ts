/**
 * The bundled apps against the MIT lab's definitions, written the plain way: a word is a
 * maximal run of Unicode letters (Go's unicode.IsLetter, JavaScript's \p{L}). The fast
 * wordcount must count exactly what the plain definition counts, on real books and on random
 * text full of edge cases.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { KeyValue } from '../lib/app/app.js';
import { indexer } from '../apps/indexer/index.js';
import { wordcount } from '../apps/wordcount/index.js';
import { BOOKS } from './support/cli.js';

function reference(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const w of text.match(/\p{L}+/gu) ?? []) m.set(w, (m.get(w) ?? 0) + 1);
  return m;
}

async function fast(text: string): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  for (const { key, value } of (await wordcount.map('f', text)) as Iterable<KeyValue>) m.set(key, (m.get(key) ?? 0) + Number(value));
  return m;
}

const sorted = (m: Map<string, number>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

describe('wordcount', () => {
  it('counts the same words as /\\p{L}+/gu on every book', async () => {
    for (const b of BOOKS) {
      const text = fs.readFileSync(b, 'utf8');
      expect(sorted(await fast(text))).toEqual(sorted(reference(text)));
    }
  });

  it('counts the same words as /\\p{L}+/gu on random text with surrogates, marks and invalid sequences', async () => {
    const alphabet = ['a', 'Z', 'é', 'ß', ' ', '\n', '\r', '-', '1', 'ǅ', 'ʰ', '\u0301', '中', '𝔘', '𝟙', '😀', '\ud835', '\udd18', '\ufeff', '\ufffd', 'ﬁ', 'Ω', '_'];
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let round = 0; round < 200; round++) {
      let s = '';
      const n = Math.floor(rnd() * 400);
      for (let i = 0; i < n; i++) s += alphabet[Math.floor(rnd() * alphabet.length)];
      expect(sorted(await fast(s)), JSON.stringify(s)).toEqual(sorted(reference(s)));
    }
  });

  it('combine and reduce sum counts', () => {
    expect(wordcount.reduce!('x', ['1', '2', '39'])).toBe('42');
    expect(wordcount.combine!('x', ['5', '5'])).toBe('10');
  });
});

describe('indexer', () => {
  it('names each document once, sorted in byte order', async () => {
    const kvs = (await indexer.map('doc b', 'cat dog cat')) as KeyValue[];
    expect(kvs.map((k) => k.key).sort()).toEqual(['cat', 'dog']);
    expect(indexer.reduce!('cat', ['z', 'a b', 'Z', 'a b', 'é'])).toBe('4 Z,a b,z,é');
  });
});
