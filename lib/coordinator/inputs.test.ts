import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expandInputs, expandPatterns, PACK_FILE_COST, PACK_TASKS_PER_WORKER, planMapTasks } from './inputs.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemr-inputs-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, data: string | Buffer): string {
  fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
  fs.writeFileSync(path.join(dir, name), data);
  return name;
}

const paths = (tasks: Array<Array<{ path: string }>>) => tasks.map((t) => t.map((s) => s.path));

describe('planMapTasks', () => {
  it('one task per file when small, several when larger than the split size', () => {
    write('s1', 'a\n'.repeat(10));
    write('big', 'b\n'.repeat(100));
    const tasks = planMapTasks(['s1', 'big'], dir, { splitBytes: 50, pack: false, workers: 1 });
    expect(tasks.length).toBe(1 + 4);
    expect(tasks[0]).toEqual([{ path: 's1', start: 0, end: -1 }]);
    expect(tasks.slice(1).map((t) => [t[0]!.start, t[0]!.end])).toEqual([[0, 50], [50, 100], [100, 150], [150, -1]]);
  });

  it('a file up to 10% over the split size stays one task, and a larger one is not cut for a sliver', () => {
    write('a', 'x'.repeat(109) + '\n'); // 110 bytes, split size 100
    write('b', 'x'.repeat(214) + '\n'); // 215 bytes: two splits of 108, not three of 72
    write('c', 'x'.repeat(110) + '\n'); // 111 bytes: over the slop, two splits
    const tasks = planMapTasks(['a', 'b', 'c'], dir, { splitBytes: 100, pack: false, workers: 1 });
    expect(tasks.map((t) => [t[0]!.path, t[0]!.start, t[0]!.end])).toEqual([
      ['a', 0, -1],
      ['b', 0, 108],
      ['b', 108, -1],
      ['c', 0, 56],
      ['c', 56, -1],
    ]);
  });

  it('with pack, groups consecutive small files up to the split size, keeping input order', () => {
    const names = Array.from({ length: 100 }, (_, i) => write(`p${i}`, 'x'.repeat(1000)));
    // Each file counts 1000 bytes plus the per-file cost; three fit in a split.
    const splitBytes = 3 * (1000 + PACK_FILE_COST) + 10;
    const tasks = planMapTasks(names, dir, { splitBytes, pack: true, workers: 1 });
    expect(paths(tasks).slice(0, 2)).toEqual([['p0', 'p1', 'p2'], ['p3', 'p4', 'p5']]);
    expect(tasks).toHaveLength(34);
    expect(paths(tasks).flat()).toEqual(names);
    expect(tasks.flat().every((s) => s.start === 0 && s.end === -1)).toBe(true);
  });

  it('packing leaves every worker several tasks when the input is small for the split size', () => {
    const names = Array.from({ length: 2000 }, (_, i) => write(`f${String(i).padStart(4, '0')}`, 'word '.repeat(100)));
    for (const workers of [1, 2, 8]) {
      const tasks = planMapTasks(names, dir, { splitBytes: 16 << 20, pack: true, workers });
      // Greedy packing of equal files: the target's share, give or take the last one.
      expect(tasks.length).toBeGreaterThanOrEqual(PACK_TASKS_PER_WORKER * workers);
      expect(tasks.length).toBeLessThanOrEqual(PACK_TASKS_PER_WORKER * workers + 1);
      expect(paths(tasks).flat()).toEqual(names);
    }
    // Off: one task per file.
    expect(planMapTasks(names, dir, { splitBytes: 16 << 20, pack: false, workers: 2 })).toHaveLength(2000);
  });

  it('a file too large to pack is a task of its own and ends the run of small ones', () => {
    write('a', 'x'.repeat(10));
    write('b', 'x'.repeat(10));
    write('big', 'y\n'.repeat(40_000));
    write('c', 'x'.repeat(10));
    write('d', 'x'.repeat(10));
    const tasks = planMapTasks(['a', 'b', 'big', 'c', 'd'], dir, { splitBytes: 50_000, pack: true, workers: 1 });
    expect(paths(tasks)).toEqual([['a', 'b'], ['big'], ['big'], ['c', 'd']]);
  });

  it('few files for the workers are not packed: the lab\'s eight books stay eight tasks on two workers', () => {
    const sizes = [138_885, 453_168, 441_033, 540_174, 594_262, 139_054, 594_933, 421_884];
    const names = sizes.map((n, i) => write(`book-${i}`, 'x'.repeat(n)));
    expect(planMapTasks(names, dir, { splitBytes: 16 << 20, pack: true, workers: 2 })).toHaveLength(8);
    // Empty files cost something too: a thousand of them are not one task.
    const empty = Array.from({ length: 1000 }, (_, i) => write(`e${i}`, ''));
    expect(planMapTasks(empty, dir, { splitBytes: 16 << 20, pack: true, workers: 2 })).toHaveLength(8);
  });

  it('names the missing input', async () => {
    expect(() => planMapTasks(['nope.txt'], dir, { splitBytes: 10, pack: true, workers: 1 })).toThrow(/`nope.txt` does not exist/);
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

describe('a directory as an input', () => {
  it('means the regular files under it, at any depth, in byte order, hidden names skipped, as given', async () => {
    write('books/b.txt', 'b');
    write('books/a.txt', 'a');
    write('books/sub/z.txt', 'z');
    write('books/sub-x/y.txt', 'y');
    write('books/.hidden', 'h');
    write('books/.git/config', 'h');
    write('books/_SUCCESS', '');
    write('books/_temporary/part', 'h');
    fs.symlinkSync(path.join(dir, 'books', 'a.txt'), path.join(dir, 'books', 'link.txt'));
    fs.symlinkSync(path.join(dir, 'books'), path.join(dir, 'books', 'sub', 'loop'));
    const want = ['a.txt', 'b.txt', 'link.txt', 'sub-x/y.txt', 'sub/z.txt'];
    expect(await expandInputs(['books'], dir)).toEqual(want.map((f) => `books/${f}`));
    expect(await expandInputs(['./books/'], dir)).toEqual(want.map((f) => `./books/${f}`));
    expect(await expandInputs([path.join(dir, 'books')], '/')).toEqual(want.map((f) => path.join(dir, 'books', f)));
    // Beside plain files and globs, in argument order.
    write('top.txt', 't');
    expect(await expandInputs(['top.txt', 'books/sub'], dir)).toEqual(['top.txt', 'books/sub/z.txt']);
  });

  it('an empty directory, or one of hidden files only, is refused by name', async () => {
    fs.mkdirSync(path.join(dir, 'empty'));
    write('hidden-only/.x', 'x');
    write('hidden-only/_SUCCESS', '');
    await expect(expandPatterns(['empty'], dir)).rejects.toThrow(/Input directory `empty` holds no files/);
    await expect(expandPatterns(['hidden-only'], dir)).rejects.toThrow(/Input directory `hidden-only` holds no files \(names starting with '.' or '_' are skipped\)/);
  });
});
