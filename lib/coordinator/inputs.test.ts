import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expandInputs, planMapTasks } from './inputs.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemr-inputs-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, data: string | Buffer): string {
  fs.writeFileSync(path.join(dir, name), data);
  return name;
}

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
