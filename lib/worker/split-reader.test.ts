import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planMapTasks } from '../coordinator/inputs.js';
import { readSplitBytes, reusableScratch } from './split-reader.js';

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
  const tasks = planMapTasks([file], dir, splitBytes, false);
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
      const tasks = planMapTasks([f], dir, size, false);
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
