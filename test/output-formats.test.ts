/**
 * Map-only jobs (App without reduce, --reducers 0, streaming without a reducer), the lossless
 * output formats, JSON values through the shuffle, and reduces that write several records or
 * none: real `kubemr run` processes, each compared with the sequential run of the same app.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readOutputFile, type OutputFormat } from '../lib/storage/output-format.js';
import { kubemr, outputFiles, sequentialOutput, sortedOutput, tempDir, testApp } from './support/cli.js';

const WORDS = ['north', 'south', 'a', 'été', 'bridge', 'lighthouse', 'ok', 'z'];

function makeInputs(dir: string, n: number): string[] {
  return Array.from({ length: n }, (_, f) => {
    const name = `in-${f}.txt`;
    const lines = Array.from({ length: 120 + f * 40 }, (_, i) => Array.from({ length: 2 + ((i * 3 + f) % 12) }, (_, w) => WORDS[(i + w * 5 + f) % WORDS.length]).join(' '));
    fs.writeFileSync(path.join(dir, name), lines.join('\n') + '\n');
    return name;
  });
}

/** Every record of every output file, read back in `format`, sorted for comparison. */
function records(dir: string, format: OutputFormat): Array<{ key: string; value: unknown }> {
  return outputFiles(dir)
    .flatMap((f) => readOutputFile(path.join(dir, f), format))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : JSON.stringify(a.value) < JSON.stringify(b.value) ? -1 : 1));
}

describe('map-only jobs', () => {
  it('an App without reduce writes one mr-out-m-<m> per map task, in emit order, equal to the sequential run', () => {
    const dir = tempDir('maponly');
    const inputs = makeInputs(dir, 5);
    const r = kubemr(['run', testApp('map-only.ts'), ...inputs, '-w', '2', '--out', 'out', '--data', 'data', '-q'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(outputFiles(path.join(dir, 'out'))).toEqual(inputs.map((_, m) => `mr-out-m-${m}`).sort());
    // Emit order within a task: line numbers ascend.
    const first = fs.readFileSync(path.join(dir, 'out', 'mr-out-m-0'), 'utf8').trim().split('\n').map((l) => Number(l.split(' ')[0]!.split(':')[1]));
    expect(first).toEqual([...first].sort((a, b) => a - b));
    expect(first.length).toBeGreaterThan(0);
    expect(sortedOutput(path.join(dir, 'out'))).toBe(sequentialOutput(dir, testApp('map-only.ts'), inputs));
  });

  it('--reducers 0 makes any app map-only: its pairs, not its reductions', () => {
    const dir = tempDir('maponly-r0');
    const inputs = makeInputs(dir, 3);
    const r = kubemr(['run', testApp('numbers.ts'), ...inputs, '-r', '0', '-w', '2', '--out', 'out', '--data', 'data', '-q'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const out = sortedOutput(path.join(dir, 'out'));
    expect(out).toMatch(/^lighthouse 1$/m);
    expect(out).not.toMatch(/ [2-9]\d*$/m);
    expect(out).toBe(sequentialOutput(dir, testApp('numbers.ts'), [...inputs, '-r', '0']));
  });

  it('streaming without --reducer, or with --reducer NONE, writes the mapper lines as they are', () => {
    const dir = tempDir('maponly-streaming');
    const inputs = makeInputs(dir, 3);
    fs.writeFileSync(path.join(dir, 'bytes.bin'), Buffer.from([0x61, 0x09, 0xff, 0xfe, 0x0a, 0x62, 0x20, 0x63, 0x0a]));
    const all = [...inputs, 'bytes.bin'];
    const mapper = `awk '{ print NR "\\t" $0 }'`;
    for (const extra of [[], ['--reducer', 'NONE']]) {
      const out = `out${extra.length}`;
      const r = kubemr(['run', '--mapper', mapper, ...extra, ...all, '-w', '2', '--out', out, '--data', 'data', '-q'], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      expect(outputFiles(path.join(dir, out))).toHaveLength(all.length);
      // Byte for byte what the mapper prints for each input, invalid UTF-8 included.
      const got = outputFiles(path.join(dir, out)).map((f) => fs.readFileSync(path.join(dir, out, f)));
      const want = all.map((f) => {
        const lines = fs.readFileSync(path.join(dir, f)).toString('latin1').split('\n').slice(0, -1);
        return Buffer.from(lines.map((l, i) => `${i + 1}\t${l}\n`).join(''), 'latin1');
      });
      const key = (b: Buffer) => b.toString('latin1');
      expect(got.map(key).sort()).toEqual(want.map(key).sort());
    }
  });
});

describe('lossless output formats', () => {
  for (const format of ['tsv', 'jsonl'] as const) {
    it(`${format}: keys with newlines, tabs, spaces, backslashes and a lone surrogate, JSON values, several and no records per key, read back exactly`, () => {
      const dir = tempDir(`fmt-${format}`);
      const inputs = makeInputs(dir, 4);
      const r = kubemr(['run', testApp('awkward-records.ts'), ...inputs, '-w', '2', '-r', '3', '--output-format', format, '--out', 'out', '--data', 'data', '-q'], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      const seq = kubemr(['run', '--sequential', testApp('awkward-records.ts'), ...inputs, '--output-format', format, '--out', 'seq', '-q'], { cwd: dir });
      expect(seq.code, seq.stderr).toBe(0);
      const got = records(path.join(dir, 'out'), format);
      expect(got).toEqual(records(path.join(dir, 'seq'), format));

      const lines = inputs.map((f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean).length);
      const byKey = new Map(got.map((g) => [g.key, g.value]));
      // Read back exactly: the awkward keys themselves.
      for (const k of ['two\nlines', 'back\\slash', 'lone\ufffdsurrogate', '', 'ünïcødé', 'emoji 😀', '\\n not a newline']) expect(byKey.has(k), JSON.stringify(k)).toBe(true);
      // No record for `plain`; one per value for `with space`; two from the generator for `tab\there`.
      expect(byKey.has('plain')).toBe(false);
      expect(got.filter((g) => g.key.startsWith('with space#'))).toHaveLength(inputs.length);
      const sum = lines.reduce((a, b) => a + b, 0);
      expect(String(byKey.get('tab\there'))).toBe(String(inputs.length));
      expect(String(byKey.get('tab\there/sum'))).toBe(String(sum));
      if (format === 'jsonl') {
        // JSON values keep their type.
        expect(byKey.get('tab\there/sum')).toBe(sum);
        expect(got.find((g) => g.key === 'with space#0')!.value).toMatch(/^v\t2\n\d+$/);
      } else {
        expect(got.find((g) => g.key === 'with space#0')!.value).toMatch(/^v\t2\n\d+$/);
      }
    });
  }

  it('text stays the lab format: key, a space, the value', () => {
    const dir = tempDir('fmt-text');
    const inputs = makeInputs(dir, 2);
    const r = kubemr(['run', testApp('numbers.ts'), ...inputs, '-w', '2', '-r', '2', '--out', 'out', '--data', 'data', '-q'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const out = sortedOutput(path.join(dir, 'out'));
    expect(out).toBe(sequentialOutput(dir, 'wordcount', inputs));
  });
});
