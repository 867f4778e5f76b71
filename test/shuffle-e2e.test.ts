/**
 * The shuffle end to end: real `kubemr run` processes (coordinator + worker processes) against
 * the sequential oracle of the same app. Build first: `npx tsc -p tsconfig.json`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BOOKS, HAVE_LAB_BOOKS } from './support/corpus.js';
import { SPLIT_SLOP } from '../lib/coordinator/inputs.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = path.join(ROOT, 'bin', 'kubemr.js');
const LIB = path.join(ROOT, 'dist', 'lib', 'index.js');
const books = () => [...BOOKS];

let tmp: string;
beforeAll(() => {
  if (!fs.existsSync(LIB)) throw new Error(`${LIB} is missing: build first with \`npx tsc -p tsconfig.json\``);
});
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemr-shuffle-e2e-'));
});
afterEach(() => {
  if (!process.env.KUBEMR_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stderr: string;
}

function kubemr(args: string[]): Promise<Run> {
  const child = spawn(process.execPath, [CLI, 'run', ...args, '--data', path.join(tmp, 'data'), '-q'], {
    cwd: tmp,
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

async function ok(args: string[]): Promise<void> {
  const r = await kubemr(args);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

/** All output files of a directory as one sorted list of lines (partitions split keys arbitrarily). */
function outputLines(dir: string): string[] {
  const files = fs.readdirSync(dir).filter((f) => /^mr-out-\d+$/.test(f));
  expect(files.length).toBeGreaterThan(0);
  return files
    .flatMap((f) => fs.readFileSync(path.join(dir, f), 'latin1').split('\n'))
    .filter((l) => l !== '')
    .sort();
}

/** Counters of every successful map attempt, from jobs/<id>/logs/map-*.log. */
function mapCounters(): Array<{ spills: number; inputBytes: number }> {
  const jobs = path.join(tmp, 'data', 'jobs');
  const out: Array<{ spills: number; inputBytes: number }> = [];
  for (const job of fs.readdirSync(jobs)) {
    const logs = path.join(jobs, job, 'logs');
    for (const f of fs.readdirSync(logs).filter((f) => f.startsWith('map-'))) {
      const m = /done in \d+ ms: (\{.*\})/.exec(fs.readFileSync(path.join(logs, f), 'utf8'));
      if (m) out.push(JSON.parse(m[1]!) as { spills: number; inputBytes: number });
    }
  }
  return out;
}

async function sequential(app: string, inputs: string[]): Promise<string[]> {
  await ok([app, ...inputs, '--sequential', '--out', path.join(tmp, 'seq')]);
  return outputLines(path.join(tmp, 'seq'));
}

describe('shuffle end to end, compared with --sequential', () => {
  it('wordcount over the gutenberg books with 2 workers', async () => {
    const want = await sequential('wordcount', books());
    await ok(['wordcount', ...books(), '--workers', '2', '--out', path.join(tmp, 'out')]);
    expect(outputLines(path.join(tmp, 'out'))).toEqual(want);
    if (HAVE_LAB_BOOKS) expect(want).toContain('the 29748');
  });

  it('one file cut into many map tasks by a tiny --split-size', async () => {
    const big = path.join(tmp, 'all.txt');
    fs.writeFileSync(big, Buffer.concat(books().slice(0, 3).map((f) => fs.readFileSync(f))));
    const want = await sequential('wordcount', [big]);
    await ok(['wordcount', big, '--workers', '2', '--split-size', '37K', '--reducers', '3', '--out', path.join(tmp, 'out')]);
    const maps = mapCounters();
    // Splits of equal size, each up to 10% over --split-size (SPLIT_SLOP).
    expect(maps.length).toBe(Math.ceil(fs.statSync(big).size / (37 * 1024 * SPLIT_SLOP)));
    // Splits read whole lines past their end: together they cover the file at least once.
    expect(maps.reduce((a, c) => a + c.inputBytes, 0)).toBeGreaterThanOrEqual(fs.statSync(big).size);
    expect(outputLines(path.join(tmp, 'out'))).toEqual(want);
  });

  it('a tiny --memory forces spills, and the merged output is unchanged', async () => {
    // The smallest budget a job accepts (1 MiB) against ~70K distinct words per input: the
    // books plus made-up words, every one of them a separate record.
    const madeUp = (i: number) => Array.from({ length: 50_000 }, (_, j) => `zz${(j * 7919 + i).toString(26).replace(/\d/g, (d) => 'qrstuvwxyz'[Number(d)]!)}`).join(' ');
    const inputs = [0, 1].map((i) => {
      const f = path.join(tmp, `all-${i}.txt`);
      fs.writeFileSync(f, Buffer.concat([...books().map((b) => fs.readFileSync(b)), Buffer.from(madeUp(i) + '\n')]));
      return f;
    });
    const want = await sequential('wordcount', inputs);
    await ok(['wordcount', ...inputs, '--workers', '2', '--memory', '1M', '--out', path.join(tmp, 'out')]);
    const spills = mapCounters().map((c) => c.spills);
    expect(spills.length).toBe(2);
    expect(Math.min(...spills)).toBeGreaterThan(0);
    expect(outputLines(path.join(tmp, 'out'))).toEqual(want);
    // Spill runs are gone once merged.
    const jobs = path.join(tmp, 'data', 'jobs');
    const inter = fs.readdirSync(jobs).flatMap((j) => (fs.existsSync(path.join(jobs, j, 'intermediate')) ? fs.readdirSync(path.join(jobs, j, 'intermediate')) : []));
    expect(inter.filter((f) => f.includes('spill'))).toEqual([]);
  });

  describe('awkward keys and values through an app', () => {
    /** Keys with spaces, tabs, newlines, NUL, replacement characters, astral characters; records over 1 MiB. */
    function writeApp(): string {
      const file = path.join(tmp, 'awkward.mjs');
      fs.writeFileSync(
        file,
        `import { registerApp } from ${JSON.stringify(pathToFileURL(LIB).href)};
const BIG_KEY = 'K'.repeat(1536 * 1024) + ' end';
registerApp({
  *map(filename, contents) {
    // Per line, so the output does not depend on how the inputs are split.
    for (const line of contents.split('\\n')) {
      if (line === '') continue;
      yield { key: line, value: String(line.length) };
      if (line === '#multi') yield { key: 'multi\\nline\\tkey with spaces\\0', value: 'v\\n\\t\\0' };
      if (line === '#bigkey') yield { key: BIG_KEY, value: 'x' };
      if (line.startsWith('#bigvalue')) yield { key: 'big value', value: line + 'V'.repeat(1200 * 1024) };
    }
  },
  reduce(key, values) {
    return values.length + ':' + values.map((v) => v.length).join(',') + ':' + values.map((v) => v.slice(0, 8)).sort().join('|');
  },
}, { name: 'awkward' });
`,
      );
      return file;
    }

    function writeInputs(): string[] {
      const lines = [
        'a key with spaces',
        'tab\tseparated\tline',
        'nul\0inside',
        'carriage\rreturn',
        'é中\u{1F600} astral and BMP',
        '\uffff\ue000 private use',
        '   ',
        'a key with spaces',
        '#multi',
        '#bigkey',
        '#bigvalue 1',
      ];
      const a = path.join(tmp, 'a.txt');
      fs.writeFileSync(a, lines.join('\n') + '\n');
      const b = path.join(tmp, 'b.bin');
      // Invalid UTF-8 reads as U+FFFD in an app's string contents, the same in both runs.
      fs.writeFileSync(b, Buffer.concat([Buffer.from([0xff, 0xfe, 0x20, 0xc3, 0x28, 0x0a]), Buffer.from('a key with spaces\n#bigvalue 2\n#multi\n'), Buffer.alloc(5000, 0x61), Buffer.from('\n')]));
      return [a, b];
    }

    it('one reducer: byte-identical to the sequential output, with spills and many splits', async () => {
      const app = writeApp();
      const inputs = writeInputs();
      await ok([app, ...inputs, '--sequential', '--out', path.join(tmp, 'seq')]);
      await ok([app, ...inputs, '--workers', '2', '--reducers', '1', '--memory', '1M', '--split-size', '1K', '--out', path.join(tmp, 'out')]);
      const seq = fs.readFileSync(path.join(tmp, 'seq', 'mr-out-0'));
      const out = fs.readFileSync(path.join(tmp, 'out', 'mr-out-0'));
      expect(out.equals(seq)).toBe(true);
      expect(out.length).toBeGreaterThan(1536 * 1024);
      expect(out.toString('utf8')).toContain('multi\nline\tkey with spaces\0 ');
      expect(Math.max(...mapCounters().map((c) => c.spills))).toBeGreaterThan(0);
    });

    it('several reducers: the same records as the sequential output', async () => {
      const app = writeApp();
      const inputs = writeInputs();
      await ok([app, ...inputs, '--sequential', '--out', path.join(tmp, 'seq')]);
      await ok([app, ...inputs, '--workers', '2', '--reducers', '4', '--out', path.join(tmp, 'out')]);
      expect(outputLines(path.join(tmp, 'out'))).toEqual(outputLines(path.join(tmp, 'seq')));
    });
  });
});
