import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expandInputs, planMapTasks, readSplitBytes, reusableScratch } from './inputs.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemr-inputs-'));
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

describe('planMapTasks', () => {
  it('one task per file when small, several when larger than the split size', () => {
    write('s1', 'a\n'.repeat(10));
    write('big', 'b\n'.repeat(100));
    const tasks = planMapTasks(['s1', 'big'], dir, 50, false);
    expect(tasks.length).toBe(1 + 4);
    expect(tasks[0]).toEqual([{ path: 's1', start: 0, end: -1 }]);
    expect(tasks.slice(1).map((t) => [t[0]!.start, t[0]!.end])).toEqual([[0, 50], [50, 100], [100, 150], [150, -1]]);
  });

  it('with pack, groups small files up to the split size, keeping input order', () => {
    for (let i = 0; i < 10; i++) write(`p${i}`, 'x'.repeat(30));
    const names = Array.from({ length: 10 }, (_, i) => `p${i}`);
    const tasks = planMapTasks(names, dir, 100, true);
    expect(tasks.map((t) => t.map((s) => s.path))).toEqual([['p0', 'p1', 'p2'], ['p3', 'p4', 'p5'], ['p6', 'p7', 'p8'], ['p9']]);
  });

  it('names the missing input', async () => {
    expect(() => planMapTasks(['nope.txt'], dir, 10, false)).toThrow(/`nope.txt` does not exist/);
    await expect(expandInputs(['*.none'], dir)).rejects.toThrow(/matched no files/);
  });

  it('expands globs in order and keeps plain paths as given', async () => {
    write('b.txt', 'b');
    write('a.txt', 'a');
    write('x y.txt', 'c');
    expect(await expandInputs(['*.txt'], dir)).toEqual(['a.txt', 'b.txt', 'x y.txt']);
    expect(await expandInputs(['x y.txt'], dir)).toEqual(['x y.txt']);
  });
});
