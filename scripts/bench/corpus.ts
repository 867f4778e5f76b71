import fs from 'node:fs';
import path from 'node:path';

/**
 * The wordcount corpus: the gutenberg books repeated to `size` bytes, with every non-ASCII byte
 * replaced by a space. The contenders define a word differently — kubemr's wordcount and the
 * Python mapper count runs of Unicode letters, `tr -cs 'A-Za-z'` runs of ASCII letters — and
 * on ASCII-only text both definitions pick exactly the same words, so outputs compare exactly.
 * (The books are ASCII already; the replacement only guards against a changed corpus.)
 */
export function buildWordcountCorpus(bookDir: string, out: string, size: number): { file: string; bytes: number; replaced: number } {
  const books = fs.readdirSync(bookDir).filter((f) => f.endsWith('.txt')).sort();
  if (books.length === 0) throw new Error(`no .txt books in ${bookDir}`);
  let replaced = 0;
  const one = Buffer.concat(books.map((b) => fs.readFileSync(path.join(bookDir, b))));
  for (let i = 0; i < one.length; i++) {
    if (one[i]! >= 0x80) {
      one[i] = 0x20;
      replaced++;
    }
  }
  const fd = fs.openSync(out, 'w');
  let written = 0;
  try {
    while (written < size) {
      // Whole lines only, so the last repetition does not end inside a word.
      let chunk = one.subarray(0, Math.min(one.length, size - written));
      if (chunk.length < one.length) chunk = chunk.subarray(0, chunk.lastIndexOf(10) + 1);
      if (chunk.length === 0) break;
      fs.writeSync(fd, chunk);
      written += chunk.length;
    }
  } finally {
    fs.closeSync(fd);
  }
  return { file: out, bytes: written, replaced: replaced * Math.ceil(size / one.length) };
}

/**
 * The high-cardinality corpus: `tokens` six-letter lowercase words, ten to a line, drawing on
 * `distinct` keys. Token j is key k = j mod distinct, spelled as the base-26 digits of
 * x = k * MUL mod 2^25: a bijection (MUL is odd), so there are exactly `distinct` keys, in
 * scrambled order (sorted input would flatter the sorts), and every output line can be checked
 * by inverting it — no oracle that would itself need the memory under test.
 */
export const HC_BITS = 25;
const HC_MOD = 2 ** HC_BITS;
const MUL = 0x1b873593 % HC_MOD | 1;
const WORD = 6;

export interface HighCardinality {
  file: string;
  bytes: number;
  tokens: number;
  distinct: number;
}

function spell(x: number, buf: Buffer, at: number): void {
  for (let d = WORD - 1; d >= 0; d--) {
    buf[at + d] = 97 + (x % 26);
    x = Math.floor(x / 26);
  }
}

export function buildHighCardinalityCorpus(out: string, size: number): HighCardinality {
  const tokens = Math.floor(size / (WORD + 1));
  const distinct = Math.min(HC_MOD - 1, Math.ceil(tokens * 0.52));
  const fd = fs.openSync(out, 'w');
  const buf = Buffer.allocUnsafe((WORD + 1) * 65536);
  try {
    for (let j = 0; j < tokens; ) {
      let at = 0;
      for (; at < buf.length && j < tokens; j++, at += WORD + 1) {
        spell(((j % distinct) * MUL) % HC_MOD, buf, at);
        buf[at + WORD] = j % 10 === 9 || j === tokens - 1 ? 10 : 32;
      }
      fs.writeSync(fd, buf, 0, at);
    }
  } finally {
    fs.closeSync(fd);
  }
  return { file: out, bytes: tokens * (WORD + 1), tokens, distinct };
}

/** MUL's inverse mod 2^25 (Newton's iteration doubles the correct bits each step). */
function inverse(a: number): number {
  let x = a;
  for (let i = 0; i < 5; i++) x = (x * (2 - ((a * x) % HC_MOD) + HC_MOD)) % HC_MOD;
  return x;
}
const MUL_INV = inverse(MUL);
// a * x stays below 2^50, exact in a double.
if ((MUL * MUL_INV) % HC_MOD !== 1) throw new Error('bench: bad inverse');

/**
 * Checks wordcount output over the high-cardinality corpus line by line: every key decodes to
 * a distinct index below `distinct`, with the count it must have, keys sorted within each file,
 * and no key missing.
 */
export function checkHighCardinality(outDir: string, hc: HighCardinality): string | undefined {
  const seen = new Uint8Array(Math.ceil(hc.distinct / 8));
  const base = Math.floor(hc.tokens / hc.distinct);
  const extra = hc.tokens % hc.distinct;
  let lines = 0;
  for (const f of fs.readdirSync(outDir).filter((n) => n.startsWith('mr-out-'))) {
    const data = fs.readFileSync(path.join(outDir, f), 'latin1');
    let prev = '';
    let from = 0;
    for (let nl = data.indexOf('\n'); nl !== -1; from = nl + 1, nl = data.indexOf('\n', from)) {
      const line = data.slice(from, nl);
      const sp = line.indexOf(' ');
      const word = line.slice(0, sp);
      if (word.length !== WORD || !/^[a-z]+$/.test(word)) return `${f}: unexpected key ${JSON.stringify(word)}`;
      if (word <= prev) return `${f}: keys out of order at ${word}`;
      prev = word;
      let x = 0;
      for (let i = 0; i < WORD; i++) x = x * 26 + word.charCodeAt(i) - 97;
      const k = (x * MUL_INV) % HC_MOD;
      if (x >= HC_MOD || k >= hc.distinct) return `${f}: ${word} is not a corpus key`;
      if (seen[k >> 3]! & (1 << (k & 7))) return `${f}: ${word} appears twice`;
      seen[k >> 3]! |= 1 << (k & 7);
      const want = base + (k < extra ? 1 : 0);
      if (line.slice(sp + 1) !== String(want)) return `${f}: ${word} counted ${line.slice(sp + 1)}, expected ${want}`;
      lines++;
    }
  }
  if (lines !== hc.distinct) return `${lines} keys in the output, expected ${hc.distinct}`;
  return undefined;
}

/**
 * Cuts `file` into `parts` files of about equal size at line boundaries, named part-NN.txt in
 * `dir`: the same text as several files, for contenders that read files whole.
 */
export function splitIntoFiles(file: string, dir: string, parts: number): string[] {
  const all = fs.readFileSync(file);
  fs.mkdirSync(dir, { recursive: true });
  const out: string[] = [];
  let at = 0;
  for (let p = 0; p < parts && at < all.length; p++) {
    let end = p === parts - 1 ? all.length : Math.round(((p + 1) * all.length) / parts);
    if (end < all.length) end = all.indexOf(10, end - 1) + 1 || all.length;
    const name = path.join(dir, `part-${String(p).padStart(Math.max(2, String(parts - 1).length), '0')}.txt`);
    fs.writeFileSync(name, all.subarray(at, end));
    out.push(name);
    at = end;
  }
  return out;
}
