/**
 * The framework bounds memory for an app written the natural way: the README's app (a pair per
 * word, no combiner) on a 64 MiB file with `--memory 128M` keeps every worker under
 * 2 x --memory + 150 MB (418 MB), where a single map call over the whole split held gigabytes. Not a
 * timing test: it reads each attempt's peak RSS from the attempt logs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, BOOKS, kubemr, tempDir, testApp } from './support/cli.js';

const MIB = 1024 * 1024;
let dir: string;
beforeAll(() => assertBuilt());
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const sortedLines = (files: string[]) =>
  files
    .flatMap((f) => fs.readFileSync(f, 'utf8').split('\n'))
    .filter((l) => l !== '')
    .sort()
    .join('\n');

describe('memory stays bounded for a natural app', () => {
  it('README app, 64 MiB, --memory 128M: every worker under 2 x 128M + 150 MB, output equal to the sequential run', () => {
    dir = tempDir('memory-bound');
    const books = Buffer.concat(BOOKS.map((b) => fs.readFileSync(b)));
    const fd = fs.openSync(path.join(dir, 'big.txt'), 'w');
    for (let n = 0; n < 64 * MIB; n += books.length) fs.writeSync(fd, books);
    fs.closeSync(fd);
    const app = testApp('readme-app.ts');
    const run = kubemr(['run', app, 'big.txt', '--workers', '2', '--memory', '128M', '--out', 'out', '--data', 'data', '-q'], { cwd: dir, timeoutMs: 400_000 });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);

    const logs = fs.readdirSync(path.join(dir, 'data', 'jobs')).map((j) => path.join(dir, 'data', 'jobs', j, 'logs'));
    const peaks: number[] = [];
    for (const l of logs) {
      for (const f of fs.readdirSync(l).filter((f) => /^(map|reduce)-/.test(f))) {
        const m = /peak RSS (\d+) bytes/.exec(fs.readFileSync(path.join(l, f), 'utf8'));
        if (m) peaks.push(Number(m[1]));
      }
    }
    // 64 MiB at the default split size is several map tasks, plus 10 reduce tasks, each logged.
    expect(peaks.length).toBeGreaterThanOrEqual(12);
    const bound = 2 * 128 * MIB + 150e6;
    expect(Math.max(...peaks), `peaks ${peaks.map((p) => Math.round(p / 1e6)).join(', ')} MB`).toBeLessThan(bound);

    const seq = kubemr(['run', app, 'big.txt', '--sequential', '--out', 'seq', '-q'], { cwd: dir, timeoutMs: 400_000 });
    expect(seq.code).toBe(0);
    const out = (d: string) => fs.readdirSync(path.join(dir, d)).filter((f) => f.startsWith('mr-out-')).map((f) => path.join(dir, d, f));
    expect(sortedLines(out('out'))).toBe(sortedLines(out('seq')));
  }, 600_000);
});
