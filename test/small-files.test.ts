/**
 * Many small files, and a directory as the input, through the real CLI: small files share map
 * tasks by default (each still mapped on its own, under its own name), `--no-pack` gives one
 * task per file, and every result equals the sequential run of the same inputs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, kubemr, sequentialOutput, sortedOutput, startCoordinator, tempDir, testApp } from './support/cli.js';

beforeAll(() => assertBuilt());

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'épsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa'];

/** `n` small files under `dir/many/`, in subdirectories of 100, each a few lines of its own. */
function manySmallFiles(dir: string, n: number): string[] {
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const rel = `many/d${String(Math.floor(i / 100)).padStart(2, '0')}/f${String(i).padStart(4, '0')}.txt`;
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    const lines = Array.from({ length: 1 + (i % 7) }, (_, l) => `${WORDS[(i + l) % WORDS.length]} ${WORDS[(i * 3 + l) % WORDS.length]} file${i}`);
    fs.writeFileSync(path.join(dir, rel), `${lines.join('\n')}\n`);
    names.push(rel);
  }
  return names;
}

/** The planned map tasks of the only job in `data`. */
function mapTasks(dataDir: string): Array<Array<{ path: string }>> {
  const jobs = fs.readdirSync(path.join(dataDir, 'jobs'));
  expect(jobs).toHaveLength(1);
  return (JSON.parse(fs.readFileSync(path.join(dataDir, 'jobs', jobs[0]!, 'job.json'), 'utf8')) as { mapInputs: Array<Array<{ path: string }>> }).mapInputs;
}

describe('many small files', () => {
  it('2,000 files in a directory: far fewer map tasks than files, one map call per file, the sequential result', () => {
    const dir = tempDir('small-files');
    const names = manySmallFiles(dir, 2000);
    // The test app maps each call to its file name and byte length: any file mapped twice,
    // missed, merged with another or renamed shows in the output.
    const app = testApp('crash-app.ts');
    const r = kubemr(['run', app, 'many', '--workers', '2', '--reducers', '3', '--out', 'out', '--data', 'data', '-q'], { cwd: dir, timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    const tasks = mapTasks(path.join(dir, 'data'));
    expect(tasks.length).toBeLessThanOrEqual(20);
    expect(tasks.flat().map((s) => s.path)).toEqual(names);
    const got = sortedOutput(path.join(dir, 'out'));
    const seq = sequentialOutput(dir, app, ['many']);
    expect(got).toBe(seq);
    // The oracle is not trivially empty: every file's name reached map.
    const aLine = got.split('\n').find((l) => l.startsWith('a '))!;
    expect(aLine.split(' ')).toHaveLength(1 + 2000);

    const wc = kubemr(['run', 'wordcount', 'many', '--workers', '2', '--out', 'wc-out', '--data', 'wc-data', '-q'], { cwd: dir, timeoutMs: 300_000 });
    expect(wc.code, wc.stderr).toBe(0);
    const words = sortedOutput(path.join(dir, 'wc-out'));
    expect(words).toMatch(/^épsilon \d+$/m);
    expect(words).toBe(sequentialOutput(dir, 'wordcount', ['many']));
  }, 600_000);

  it('--no-pack: one map task per file, the same result', () => {
    const dir = tempDir('no-pack');
    const names = manySmallFiles(dir, 40);
    const r = kubemr(['run', 'wordcount', ...names, '--no-pack', '--workers', '2', '--reducers', '2', '--out', 'out', '--data', 'data', '-q'], { cwd: dir, timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(mapTasks(path.join(dir, 'data')).map((t) => t.map((s) => s.path))).toEqual(names.map((n) => [n]));
    expect(sortedOutput(path.join(dir, 'out'))).toBe(sequentialOutput(dir, 'wordcount', names));
  }, 300_000);

  it('kubemr coordinator, the lab\'s mrcoordinator, keeps one map task per file unless --pack', async () => {
    const dir = tempDir('lab-pack');
    const names = manySmallFiles(dir, 40);
    for (const extra of [[], ['--pack']]) {
      const data = path.join(dir, `data${extra.length}`);
      const { proc } = await startCoordinator(dir, ['many'], ['--out', `out${extra.length}`, '--data', data, ...extra]);
      try {
        const tasks = mapTasks(data);
        expect(tasks.flat().map((s) => s.path)).toEqual(names);
        if (extra.length === 0) {
          expect(tasks).toHaveLength(40);
        } else {
          // Two workers assumed for hand-started ones: packing aims at 4 tasks each.
          expect(tasks.length).toBeGreaterThanOrEqual(8);
          expect(tasks.length).toBeLessThan(20);
        }
      } finally {
        proc.child.kill('SIGKILL');
        await proc.exited;
      }
    }
  }, 120_000);

  it('an empty directory as the input is refused before any work, naming it', () => {
    const dir = tempDir('empty-dir');
    fs.mkdirSync(path.join(dir, 'books'));
    fs.writeFileSync(path.join(dir, 'books', '.DS_Store'), 'x');
    for (const extra of [[], ['--sequential']]) {
      const r = kubemr(['run', 'wordcount', 'books', ...extra, '--out', 'out', '--data', 'data', '-q'], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("Input directory `books` holds no files (names starting with '.' or '_' are skipped)");
      expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
    }
  });
});
