/**
 * Compressed input read transparently (gzip by magic bytes or name, brotli by `.br`), through
 * `kubemr run` with real workers, streaming, and the sequential oracle; corrupt, truncated and
 * unsupported input fails clearly.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { kubemr, outputFiles, sequentialOutput, sortedOutput, tempDir } from './support/cli.js';

const WORDS = ['river', 'stone', 'été', 'north', 'fjord', 'a', 'lighthouse', 'ß', 'kubemr'];

function text(seed: number, lines: number): string {
  return Array.from({ length: lines }, (_, i) => Array.from({ length: 1 + ((i + seed) % 7) }, (_, w) => WORDS[(i * 5 + w * 3 + seed) % WORDS.length]).join(' ')).join('\n') + '\n';
}

/** Plain copies in plain/, compressed ones at the top: a.txt.gz, b.txt.gz, c (gzip, no suffix), d.txt.br. */
function inputs(dir: string): { compressed: string[]; plain: string[] } {
  fs.mkdirSync(path.join(dir, 'plain'));
  const files: Array<[string, (b: Buffer) => Buffer]> = [
    ['a.txt.gz', (b) => zlib.gzipSync(b)],
    // Two gzip members back to back, as `cat x.gz y.gz` makes.
    ['b.txt.gz', (b) => Buffer.concat([zlib.gzipSync(b.subarray(0, 1000)), zlib.gzipSync(b.subarray(1000))])],
    ['c', (b) => zlib.gzipSync(b)],
    ['d.txt.br', (b) => zlib.brotliCompressSync(b)],
  ];
  const compressed: string[] = [];
  const plain: string[] = [];
  files.forEach(([name, squeeze], i) => {
    const body = Buffer.from(text(i, 2000 + i * 300));
    fs.writeFileSync(path.join(dir, name), squeeze(body));
    fs.writeFileSync(path.join(dir, 'plain', `${name}.txt`), body);
    compressed.push(name);
    plain.push(`plain/${name}.txt`);
  });
  return { compressed, plain };
}

describe('compressed input', () => {
  it('gzip (with or without .gz, multi-member) and brotli read as their text, equal to the plain files, with splits smaller than the files', () => {
    const dir = tempDir('gz');
    const { compressed, plain } = inputs(dir);
    const r = kubemr(['run', 'wordcount', ...compressed, '-w', '2', '-r', '3', '--split-size', '4K', '--out', 'out', '--data', 'data', '-q'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const expected = sequentialOutput(dir, 'wordcount', plain);
    expect(sortedOutput(path.join(dir, 'out'))).toBe(expected);
    expect(sequentialOutput(dir, 'wordcount', compressed)).toBe(expected);
    // One map task per compressed file, however small the split size.
    const job = fs.readdirSync(path.join(dir, 'data', 'jobs'))[0]!;
    const spec = JSON.parse(fs.readFileSync(path.join(dir, 'data', 'jobs', job, 'job.json'), 'utf8'));
    expect(spec.mapInputs).toHaveLength(compressed.length);
  });

  it('streaming mappers read gzip input decompressed', () => {
    const dir = tempDir('gz-streaming');
    const { compressed, plain } = inputs(dir);
    const wc = ['--mapper', `awk '{ for (i = 1; i <= NF; i++) print $i "\\t1" }'`, '--reducer', `awk -F'\\t' '{ c[$1] += $2 } END { for (k in c) print k " " c[k] }'`];
    const a = kubemr(['run', ...wc, ...compressed, '-w', '2', '-r', '2', '--out', 'out-gz', '--data', 'data', '-q'], { cwd: dir });
    const b = kubemr(['run', ...wc, ...plain, '-w', '2', '-r', '2', '--out', 'out-plain', '--data', 'data', '-q'], { cwd: dir });
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(sortedOutput(path.join(dir, 'out-gz'))).toBe(sortedOutput(path.join(dir, 'out-plain')));
    expect(sortedOutput(path.join(dir, 'out-gz'))).toMatch(/^lighthouse \d+$/m);
  });

  it('a corrupt gzip and a truncated one fail the job, naming the file and what is wrong; no output is left', () => {
    const dir = tempDir('gz-bad');
    const good = zlib.gzipSync(Buffer.from(text(1, 5000)));
    const corrupt = Buffer.from(good);
    for (let i = 200; i < 220; i++) corrupt[i] = corrupt[i]! ^ 0x5a;
    fs.writeFileSync(path.join(dir, 'corrupt.txt.gz'), corrupt);
    fs.writeFileSync(path.join(dir, 'truncated.txt.gz'), good.subarray(0, Math.floor(good.length / 2)));
    for (const [file, why] of [['corrupt.txt.gz', /corrupt/], ['truncated.txt.gz', /truncated/]] as const) {
      const out = `out-${file}`;
      const r = kubemr(['run', 'wordcount', file, '-w', '1', '-r', '2', '--max-attempts', '1', '--out', out, '--data', 'data', '-q'], { cwd: dir });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`Input \`${file}\` is not valid gzip data`);
      expect(r.stderr).toMatch(why);
      expect(outputFiles(path.join(dir, out))).toEqual([]);
      const seq = kubemr(['run', '--sequential', 'wordcount', file, '--out', `seq-${file}`], { cwd: dir });
      expect(seq.code).not.toBe(0);
      expect(seq.stderr).toContain(`Input \`${file}\` is not valid gzip data`);
    }
  });

  it('refuses formats it cannot read, and a .gz that is not gzip, before any work starts', () => {
    const dir = tempDir('gz-refused');
    fs.writeFileSync(path.join(dir, 'x.bz2'), Buffer.concat([Buffer.from('BZh91AY&SY'), Buffer.alloc(64)]));
    fs.writeFileSync(path.join(dir, 'y.txt.gz'), 'plain text pretending\n');
    fs.writeFileSync(path.join(dir, 'z.zst'), Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0]));
    for (const [file, msg] of [
      ['x.bz2', /`x\.bz2` is bzip2-compressed; kubemr reads gzip and brotli/],
      ['y.txt.gz', /`y\.txt\.gz` is named \.gz but does not hold gzip data/],
      ['z.zst', /`z\.zst` is zstd-compressed/],
    ] as const) {
      const r = kubemr(['run', 'wordcount', file, '--out', `out-${file}`, '--data', 'data'], { cwd: dir });
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr).toMatch(msg);
      expect(fs.existsSync(path.join(dir, `out-${file}`))).toBe(false);
    }
  });
});
