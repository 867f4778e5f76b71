/**
 * Streaming apps end to end: real `kubemr run --mapper/--reducer` processes against the same
 * commands as a plain Unix pipe, `cat inputs | mapper | LC_ALL=C sort -t$'\t' -k1,1 -s | reducer`.
 * Build first: `npx tsc -p tsconfig.json`.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BOOKS, HAVE_LAB_BOOKS } from './support/corpus.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = path.join(ROOT, 'bin', 'kubemr.js');
const books = () => [...BOOKS];
const MAPPER = `python3 ${path.join(ROOT, 'examples', 'streaming', 'mapper.py')}`;
const REDUCER = `python3 ${path.join(ROOT, 'examples', 'streaming', 'reducer.py')}`;

let tmp: string;
beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cmd', 'kubemr', 'main.js'))) throw new Error('build first with `npx tsc -p tsconfig.json`');
});
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemr-streaming-e2e-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function kubemr(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'run', ...args, '--data', path.join(tmp, 'data'), '-q'], { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
function unixPipe(inputs: string[], mapper: string, reducer: string): Buffer {
  return execFileSync('sh', ['-c', `cat ${inputs.map(q).join(' ')} | ${mapper} | LC_ALL=C sort -t "$(printf '\\t')" -k1,1 -s | ${reducer}`], { cwd: tmp, maxBuffer: 1 << 28 });
}

const outFiles = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.startsWith('mr-out-')).sort() : []);
const sortedLines = (b: Buffer) => b.toString('latin1').split('\n').filter((l) => l !== '').sort();
const allOutput = (dir: string) => Buffer.concat(outFiles(dir).map((f) => fs.readFileSync(path.join(dir, f))));

function mapSpills(): number[] {
  const jobs = path.join(tmp, 'data', 'jobs');
  return fs.readdirSync(jobs).flatMap((j) =>
    fs
      .readdirSync(path.join(jobs, j, 'logs'))
      .filter((f) => f.startsWith('map-'))
      .map((f) => /"spills":(\d+)/.exec(fs.readFileSync(path.join(jobs, j, 'logs', f), 'utf8')))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1])),
  );
}

describe('streaming end to end, compared with the Unix pipe', () => {
  it('the Python wordcount pair, written for a pipe, runs unchanged; one reducer is byte-identical', async () => {
    const want = unixPipe(books(), MAPPER, REDUCER);
    const r = await kubemr(['--mapper', MAPPER, '--reducer', REDUCER, ...books(), '--workers', '2', '--reducers', '1', '--out', 'out']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(fs.readFileSync(path.join(tmp, 'out', 'mr-out-0')).equals(want)).toBe(true);
    if (HAVE_LAB_BOOKS) expect(sortedLines(want)).toContain('the\t29748');
  });

  it('many splits and spills, several reducers: the same lines as the pipe', async () => {
    const big = path.join(tmp, 'all.txt');
    fs.writeFileSync(big, Buffer.concat(books().slice(0, 4).map((f) => fs.readFileSync(f))));
    const want = unixPipe([big], MAPPER, REDUCER);
    const r = await kubemr(['--mapper', MAPPER, '--reducer', REDUCER, big, '--workers', '2', '--split-size', '600K', '--memory', '1M', '--out', 'out']);
    expect(r.code).toBe(0);
    const spills = mapSpills();
    expect(spills.length).toBe(Math.ceil(fs.statSync(big).size / (600 * 1024)));
    expect(Math.max(...spills)).toBeGreaterThan(0);
    expect(sortedLines(allOutput(path.join(tmp, 'out')))).toEqual(sortedLines(want));
  });

  it('awkward bytes (invalid UTF-8, NUL, spaces, very long lines) pass through cat unchanged', async () => {
    const lines: Buffer[] = [];
    for (let i = 0; i < 300; i++) {
      lines.push(Buffer.concat([Buffer.from(`k ${i % 17} `), Buffer.from([0xff, 0x00, 0xc3, 0x28, 0x80 + (i % 50)]), Buffer.from(`\tvalue ${i} `), Buffer.from([0xfe, 0x00]), Buffer.from('\n')]));
    }
    lines.push(Buffer.from(`${'L'.repeat(1_500_000)}\t${'v'.repeat(1_200_000)}\n`));
    const input = path.join(tmp, 'raw.bin');
    fs.writeFileSync(input, Buffer.concat(lines));
    const want = unixPipe([input], 'cat', 'cat');
    const r = await kubemr(['--mapper', 'cat', '--reducer', 'cat', input, '--workers', '2', '--reducers', '1', '--split-size', '64K', '--memory', '1M', '--out', 'out']);
    expect(r.code).toBe(0);
    // One reducer and a stable sort by key: the same bytes in the same order as the pipe.
    expect(fs.readFileSync(path.join(tmp, 'out', 'mr-out-0')).equals(want)).toBe(true);
  });

  it('a mapper that exits non-zero fails its task with the tail of its stderr; the job fails after maxAttempts', async () => {
    const failing = `sh -c 'cat >/dev/null; i=0; while [ $i -lt 500 ]; do echo "chatter $i" >&2; i=$((i+1)); done; echo "fatal: cannot parse record 42" >&2; exit 7'`;
    const r = await kubemr(['--mapper', failing, '--reducer', REDUCER, books()[0]!, '--workers', '2', '--max-attempts', '2', '--out', 'out']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/failed/);
    expect(r.stderr).toContain('exited with code 7');
    expect(r.stderr).toContain('fatal: cannot parse record 42');
    expect(outFiles(path.join(tmp, 'out'))).toEqual([]);
    // Each attempt's log keeps the error.
    const jobs = path.join(tmp, 'data', 'jobs');
    const logs = fs.readdirSync(jobs).flatMap((j) => fs.readdirSync(path.join(jobs, j, 'logs')).filter((f) => f.startsWith('map-')).map((f) => fs.readFileSync(path.join(jobs, j, 'logs', f), 'utf8')));
    expect(logs.filter((l) => l.includes('fatal: cannot parse record 42')).length).toBe(2);
    const result = fs.readdirSync(jobs).map((j) => fs.readFileSync(path.join(jobs, j, 'RESULT'), 'utf8'));
    expect(result[0]).toMatch(/^FAILED .*fatal: cannot parse record 42/s);
  });

  it('a reducer that exits non-zero fails the job with no mr-out files', async () => {
    const r = await kubemr(['--mapper', MAPPER, '--reducer', `sh -c 'head -c 10 >/dev/null; echo "reducer: out of cheese" >&2; exit 2'`, books()[0]!, '--workers', '1', '--max-attempts', '1', '--reducers', '2', '--out', 'out']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('reducer: out of cheese');
    expect(outFiles(path.join(tmp, 'out'))).toEqual([]);
  });
});
