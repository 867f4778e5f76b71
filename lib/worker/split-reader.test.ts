import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planMapTasks } from '../coordinator/inputs.js';
import { decodePiece, mapChunkBytes, PieceSize, readSplitBytes, readSplitChunks, reusableScratch, WHOLE_FILE_BYTES } from './split-reader.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemr-splits-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, data: string | Buffer): string {
  fs.writeFileSync(path.join(dir, name), data);
  return name;
}

/** Reads every split of `file` planned at `splitBytes` and returns the pieces. */
function pieces(file: string, splitBytes: number): Buffer[] {
  const tasks = planMapTasks([file], dir, { splitBytes, pack: false, workers: 1 });
  return tasks.map(([split]) => readSplitBytes(path.join(dir, file), split!));
}

describe('splits', () => {
  const text = Array.from({ length: 500 }, (_, i) => `line ${i} ${'x'.repeat(i % 37)}\n`).join('');

  it('cut at line boundaries: every line exactly once, whole, in order, for every split size', () => {
    const f = write('a.txt', text);
    for (const size of [1, 2, 3, 7, 10, 64, 100, 999, text.length - 1, text.length, text.length + 1]) {
      const got = pieces(f, size);
      expect(Buffer.concat(got).toString(), `split size ${size}`).toBe(text);
      for (const p of got) if (p.length > 0) expect(p.toString().endsWith('\n'), `split size ${size}`).toBe(true);
    }
  });

  it('reads the same pieces into one reused buffer, larger splits then smaller ones', () => {
    const f = write('reuse.txt', text);
    const scratch = reusableScratch();
    for (const size of [text.length, 999, 100, 7, 999]) {
      const tasks = planMapTasks([f], dir, { splitBytes: size, pack: false, workers: 1 });
      const got = tasks.map(([split]) => readSplitBytes(path.join(dir, f), split!, scratch).toString());
      expect(got, `split size ${size}`).toEqual(pieces(f, size).map((b) => b.toString()));
    }
  });

  it('keeps a last line without a newline, CRLF lines and empty lines', () => {
    const t = 'a\r\nb\r\n\n\nlong line here\nno newline at end';
    const f = write('b.txt', t);
    for (const size of [1, 2, 4, 5, 6, 9, 100]) expect(Buffer.concat(pieces(f, size)).toString()).toBe(t);
  });

  it('a line longer than several splits belongs to the split it starts in', () => {
    const t = `short\n${'y'.repeat(1000)}\nend\n`;
    const f = write('c.txt', t);
    const got = pieces(f, 100).map((b) => b.toString());
    expect(got.join('')).toBe(t);
    expect(got.filter((p) => p.includes('y'))).toEqual([`short\n${'y'.repeat(1000)}\n`]);
    expect(got.filter((p) => p !== '').length).toBe(2);
  });

  it('splits bytes, not characters: multi-byte UTF-8, NUL and invalid bytes survive', () => {
    const data = Buffer.concat(
      Array.from({ length: 200 }, (_, i) => Buffer.concat([Buffer.from(`é中\u{1F600}${i}\0`), Buffer.from([0xff, 0xc3, 0x0a])])),
    );
    const f = write('d.bin', data);
    for (const size of [1, 3, 5, 17, 256, 4096]) expect(Buffer.concat(pieces(f, size)).equals(data)).toBe(true);
  });

  it('an empty file is one task that reads nothing', () => {
    const f = write('e.txt', '');
    expect(pieces(f, 10).map((b) => b.length)).toEqual([0]);
  });
});

describe('map input pieces', () => {
  it('cut a split into pieces at line ends: the same bytes as the whole split, each line whole', () => {
    const text = Array.from({ length: 3000 }, (_, i) => `${i} ${'é'.repeat(i % 13)} ${'x'.repeat(i % 200)}\n`).join('') + 'tail without newline';
    const f = write('p.txt', text);
    const whole = readSplitBytes(path.join(dir, f), { path: f, start: 0, end: -1 });
    for (const splitSize of [5000, 100_000, text.length * 4]) {
      for (const chunk of [1, 64, 1000, 4096, 1 << 20]) {
        const tasks = planMapTasks([f], dir, { splitBytes: splitSize, pack: false, workers: 1 });
        const all: Buffer[] = [];
        for (const [split] of tasks) {
          const scratch = reusableScratch();
          for (const piece of readSplitChunks(path.join(dir, f), split!, chunk, scratch)) {
            const copy = Buffer.from(piece); // a piece is valid until the next one
            // A piece ends at a line end (or the file's end), and is no larger than the chunk unless one line is.
            if (copy.length > chunk) expect(copy.subarray(0, -1).includes(10), `chunk ${chunk}`).toBe(false);
            all.push(copy);
          }
          for (const p of all.slice(0, -1)) expect(p[p.length - 1], `chunk ${chunk}`).toBe(10);
        }
        expect(Buffer.concat(all).equals(whole), `split ${splitSize}, chunk ${chunk}`).toBe(true);
      }
    }
  });

  it('decodes a piece as UTF-8 does, whether it is ASCII (small or large), multi-byte or invalid', () => {
    const ascii = Buffer.from('plain ASCII, tabs\tand NUL\0 '.repeat(80_000)); // over 1 MB: Node keeps it outside the heap
    const cases = [Buffer.alloc(0), Buffer.from('word\n'), ascii, Buffer.from('é中\u{1F600} x\n'), Buffer.from([0x61, 0xff, 0xc3, 0x0a, 0x80]), Buffer.concat([ascii, Buffer.from('ü')])];
    for (const b of cases) {
      const { text } = decodePiece(b);
      expect(text === b.toString('utf8'), `${b.length} bytes`).toBe(true);
    }
    // The Latin-1 path must never see a byte above 0x7f: it would turn 'ü' into two characters.
    expect(decodePiece(Buffer.from('über')).text).toBe('über');
    // A large ASCII piece is counted as text off the heap; a small one, or UTF-8, is on it.
    expect(decodePiece(ascii).outsideHeap).toBe(ascii.length);
    expect(decodePiece(Buffer.from('word\n')).outsideHeap).toBe(0);
    expect(decodePiece(cases[5]!).outsideHeap).toBe(0);
  });

  it('a file up to 1 MiB is one map call, a larger one several', () => {
    expect(mapChunkBytes(256 * 1024 * 1024, WHOLE_FILE_BYTES)).toBe(WHOLE_FILE_BYTES);
    const big = mapChunkBytes(256 * 1024 * 1024, 64 * 1024 * 1024);
    expect(big).toBeLessThan(WHOLE_FILE_BYTES);
    // Pieces are sized for V8's young generation, not the budget.
    expect(big).toBe(64 * 1024);
    expect(mapChunkBytes(4 * 1024 * 1024 * 1024, 64 * 1024 * 1024)).toBe(big);
  });
});

describe('PieceSize', () => {
  const MiB = 1024 * 1024;
  const memory = 256 * MiB;
  const split = 64 * MiB;

  it('keeps a pair-per-word app at the base size and grows pieces for an app that returns few pairs', () => {
    const dense = new PieceSize(memory, split);
    const base = dense.next;
    expect(base).toBe(mapChunkBytes(memory, split));
    for (let i = 0; i < 6; i++) dense.observe(dense.next, Math.round(dense.next * 0.18), 10 * MiB);
    expect(dense.next).toBe(base);

    const sparse = new PieceSize(memory, split);
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      sparse.observe(sparse.next, Math.round(sparse.next * 0.001), 10 * MiB);
      seen.push(sparse.next);
    }
    // At most 4x a step, up to 1/8 of the memory budget.
    expect(seen[0]).toBe(base * 4);
    expect(seen.at(-1)).toBe(memory / 8);
    expect(Math.max(...seen)).toBeLessThanOrEqual(memory / 8);
  });

  it('a sparse app grows until a call returns --memory/2048 pairs, and a dense call puts it back', () => {
    const s = new PieceSize(memory, split);
    // 20 pairs per KiB: a 1/8-of-budget piece would return 655k pairs, so it stops short of that.
    for (let i = 0; i < 8; i++) s.observe(s.next, Math.round((s.next / 1024) * 20), 10 * MiB);
    const fit = s.next;
    expect(fit).toBeGreaterThan(mapChunkBytes(memory, split));
    expect(fit).toBeLessThan(memory / 8);
    expect((fit / 1024) * 20).toBeLessThanOrEqual(memory / 2048 + 1);
    s.observe(s.next, Math.round(s.next * 0.15), 10 * MiB);
    expect(s.next).toBe(mapChunkBytes(memory, split));
  });

  it('a later split of the same job starts at the size an earlier one learned; a whole-file split learns nothing', () => {
    const first = new PieceSize(memory, split);
    for (let i = 0; i < 3; i++) first.observe(first.next, 10, 10 * MiB);
    expect(first.learned).toBe(first.next);
    const second = new PieceSize(memory, split, first.learned);
    expect(second.next).toBe(first.next);
    // Never past this split's own bounds.
    expect(first.learned).toBeGreaterThan(2 * MiB);
    expect(new PieceSize(16 * MiB, split, first.learned).next).toBe(2 * MiB);
    const whole = new PieceSize(memory, WHOLE_FILE_BYTES, first.learned);
    expect(whole.next).toBe(WHOLE_FILE_BYTES);
    expect(whole.learned).toBe(0);
  });

  it('goes back to the base size when the heap passes half the budget', () => {
    const s = new PieceSize(memory, split);
    s.observe(s.next, 10, 10 * MiB);
    expect(s.next).toBeGreaterThan(mapChunkBytes(memory, split));
    s.observe(s.next, 10, memory * 0.6);
    expect(s.next).toBe(mapChunkBytes(memory, split));
  });

  it('a split read with a growing piece size gives every line once, in order, cut at line ends', () => {
    const lines = Array.from({ length: 40_000 }, (_, i) => `line ${i} ${'x'.repeat(i % 37)}\n`).join('');
    const f = write('grow.txt', lines);
    const sizer = { next: 1000, max: 64_000 };
    const got: Buffer[] = [];
    for (const piece of readSplitChunks(path.join(dir, f), { path: f, start: 0, end: -1 }, sizer, reusableScratch())) {
      const copy = Buffer.from(piece);
      if (copy.length > sizer.next) expect(copy.subarray(0, -1).includes(10)).toBe(false);
      expect(copy[copy.length - 1]).toBe(10);
      got.push(copy);
      sizer.next = Math.min(sizer.max, sizer.next * 2);
    }
    expect(Buffer.concat(got).toString()).toBe(lines);
    expect(got.length).toBeGreaterThan(5);
  });
});
