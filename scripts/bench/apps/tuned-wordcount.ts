/**
 * BENCH CONTENDER, NOT AN EXAMPLE: wordcount hand-tuned (an in-mapper combiner with its own
 * hash table, a Unicode letter table and FNV), kept to show what hand-tuning still buys over
 * the bundled apps/wordcount, which is the plain code a user writes. Same output, byte for byte.
 */
// Bundled apps import the App API directly rather than the whole package entry, so a worker
// process starts without loading the coordinator side.
import { registerApp, type App, type KeyValue } from '../../../lib/app/index.js';

/**
 * Per UTF-16 code unit: 1 a letter (\p{L}), 2 a high surrogate (the pair decides), 0 neither.
 * A table instead of /\p{L}+/gu because the regex, a substring per match and a Map lookup
 * per word cost ~3x the whole scan below; the definition of a letter is the regex's.
 */
const UNIT = new Uint8Array(0x10000);
{
  const letter = /^\p{L}$/u;
  for (let c = 0; c < 0x10000; c++) {
    if (c >= 0xd800 && c < 0xdc00) UNIT[c] = 2;
    else if (c >= 0xdc00 && c < 0xe000) UNIT[c] = 0;
    else if (c < 0x80) UNIT[c] = ((c | 32) - 97) >>> 0 < 26 ? 1 : 0;
    else UNIT[c] = letter.test(String.fromCharCode(c)) ? 1 : 0;
  }
}
const astral = new Map<number, boolean>();
function isAstralLetter(cp: number): boolean {
  let v = astral.get(cp);
  if (v === undefined) {
    v = /^\p{L}$/u.test(String.fromCodePoint(cp));
    astral.set(cp, v);
  }
  return v;
}

/** Code units of the letter at `i` (1, or 2 for an astral letter), 0 if none starts there. */
function letterAt(s: string, i: number, n: number): number {
  const t = UNIT[s.charCodeAt(i)]!;
  if (t !== 2) return t;
  if (i + 1 >= n) return 0;
  const lo = s.charCodeAt(i + 1);
  if (lo < 0xdc00 || lo >= 0xe000) return 0;
  return isAstralLetter(0x10000 + ((s.charCodeAt(i) - 0xd800) << 10) + (lo - 0xdc00)) ? 2 : 0;
}

/**
 * Word -> count for one stretch of text, as an open-addressing table whose words are copied
 * into a small arena: comparing against the arena stays in cache, where comparing against the
 * word's first occurrence in a 64 MiB split would miss it once per word.
 */
class WordTable {
  private mask = (1 << 14) - 1;
  private slots = new Int32Array(1 << 14).fill(-1);
  private off = new Int32Array(1 << 13);
  private len = new Int32Array(1 << 13);
  private hash = new Int32Array(1 << 13);
  private count = new Float64Array(1 << 13);
  /** Where each word first occurred in the text: its string is cut from there when drained. */
  private first = new Int32Array(1 << 13);
  private arena = new Uint16Array(1 << 16);
  private used = 0;
  size = 0;

  /** Counts the word s[start, end) whose FNV-1a hash over code units is `h`. */
  add(s: string, start: number, end: number, h: number): void {
    const n = end - start;
    const arena = this.arena;
    for (let slot = h & this.mask; ; slot = (slot + 1) & this.mask) {
      const e = this.slots[slot]!;
      if (e === -1) {
        this.insert(slot, s, start, n, h);
        return;
      }
      if (this.hash[e] === h && this.len[e] === n) {
        const o = this.off[e]!;
        let k = 0;
        while (k < n && arena[o + k] === s.charCodeAt(start + k)) k++;
        if (k === n) {
          this.count[e]!++;
          return;
        }
      }
    }
  }

  private insert(slot: number, s: string, start: number, n: number, h: number): void {
    const e = this.size++;
    if (e === this.off.length) {
      this.off = grow(this.off, Int32Array);
      this.len = grow(this.len, Int32Array);
      this.hash = grow(this.hash, Int32Array);
      this.count = grow(this.count, Float64Array);
      this.first = grow(this.first, Int32Array);
    }
    if (this.used + n > this.arena.length) {
      const bigger = new Uint16Array(Math.max(this.arena.length * 2, this.used + n));
      bigger.set(this.arena.subarray(0, this.used));
      this.arena = bigger;
    }
    for (let k = 0; k < n; k++) this.arena[this.used + k] = s.charCodeAt(start + k);
    this.off[e] = this.used;
    this.len[e] = n;
    this.hash[e] = h;
    this.count[e] = 1;
    this.first[e] = start;
    this.used += n;
    this.slots[slot] = e;
    if (this.size * 2 > this.slots.length) this.rehash();
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2).fill(-1);
    const mask = slots.length - 1;
    for (let e = 0; e < this.size; e++) {
      let slot = this.hash[e]! & mask;
      while (slots[slot] !== -1) slot = (slot + 1) & mask;
      slots[slot] = e;
    }
    this.slots = slots;
    this.mask = mask;
  }

  /**
   * The counted pairs of text `s`, one at a time; the table is empty afterwards. Strings are
   * made only here and die as soon as the shuffle has copied them: holding them in the table
   * would let them outlive young-generation collections and pile up as old garbage.
   */
  *drain(s: string): Generator<KeyValue> {
    for (let e = 0; e < this.size; e++) {
      const start = this.first[e]!;
      yield { key: s.slice(start, start + this.len[e]!), value: String(this.count[e]) };
    }
    this.slots.fill(-1);
    this.used = 0;
    this.size = 0;
  }
}

function grow<T extends Int32Array | Float64Array>(a: T, Ctor: new (n: number) => T): T {
  const b = new Ctor(a.length * 2);
  b.set(a);
  return b;
}

/**
 * Counts the words that start in s[from, limit) and returns where it stopped: past the last
 * such word, which may run beyond `limit`. Called chunk by chunk so that V8 optimizes it after
 * a few calls instead of interpreting one long loop over a whole split.
 */
function scan(s: string, from: number, limit: number, table: WordTable): number {
  const n = s.length;
  let i = from;
  while (i < limit) {
    let c = s.charCodeAt(i);
    let t = UNIT[c]!;
    if (t === 0) {
      i++;
      continue;
    }
    const start = i;
    let h = 0x811c9dc5 | 0;
    for (;;) {
      // The common case, a BMP letter, costs one read and one table lookup per character.
      if (t === 1) {
        h = Math.imul(h ^ c, 0x01000193);
        i++;
      } else {
        const w = letterAt(s, i, n);
        if (w === 0) break;
        h = Math.imul(Math.imul(h ^ c, 0x01000193) ^ s.charCodeAt(i + 1), 0x01000193);
        i += 2;
      }
      if (i >= n) break;
      c = s.charCodeAt(i);
      t = UNIT[c]!;
      if (t === 0) break;
    }
    if (i > start) table.add(s, start, i, h);
    else i++;
  }
  return i;
}

const CHUNK = 1 << 16;
/**
 * Distinct words held before handing them on. Counting inside map (an in-mapper combiner) makes
 * one pair per distinct word instead of one per occurrence; the cap keeps a split full of
 * distinct words from holding them all here, outside the shuffle's memory budget.
 */
const FLUSH_AT = 1 << 17;

function* countWords(contents: string): Generator<KeyValue> {
  const table = new WordTable();
  for (let i = 0; i < contents.length; ) {
    i = scan(contents, i, Math.min(contents.length, i + CHUNK), table);
    if (table.size >= FLUSH_AT) yield* table.drain(contents);
  }
  yield* table.drain(contents);
}

function sum(values: string[]): string {
  let n = 0;
  for (const v of values) n += Number(v);
  return String(n);
}

export const tunedWordcount: App = {
  map: (_filename: string, contents: string): Iterable<KeyValue> => countWords(contents),
  combine: (_key, values) => sum(values),
  reduce: (_key, values) => sum(values),
};

registerApp(tunedWordcount, { name: 'tuned-wordcount' });
