import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planMapTasks } from '../coordinator/inputs.js';
import type { Task__Output } from '../protocol/gen/kubemr/v1/Task.js';
import { latin1Partition } from '../app/partition.js';
import { dumpRun, runStreamingMapTask, runStreamingReduceTask } from './streaming.js';
import type { TaskContext } from './tasks.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemr-streaming-'));
  fs.mkdirSync(path.join(dir, 'job', 'intermediate'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'out'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const ctx = (tag: string): TaskContext => ({ abandoned: () => false, progress: () => undefined, tag });

interface Cmds {
  mapper: string;
  reducer: string;
  combiner?: string;
}

/** Runs a whole streaming job in-process, map tasks then reduce tasks, as workers would. */
async function runJob(files: string[], cmds: Cmds, o: { nReduce?: number; splitBytes?: number; memoryBytes?: number } = {}) {
  const nReduce = o.nReduce ?? 3;
  const plan = planMapTasks(files, dir, { splitBytes: o.splitBytes ?? 1 << 30, pack: false, workers: 1 });
  const base = {
    jobId: 'j',
    attempt: 1,
    nMap: plan.length,
    nReduce,
    app: '',
    jobDir: path.join(dir, 'job'),
    outputDir: path.join(dir, 'out'),
    // No attempt directory: outputs go straight to their final names, as no coordinator commits them here.
    attemptDir: '',
    workDir: dir,
    leaseMs: 10_000,
    memoryBytes: o.memoryBytes ?? 1 << 28,
    maxLineBytes: 0,
    streaming: { mapper: cmds.mapper, reducer: cmds.reducer, combiner: cmds.combiner ?? '' },
    params: {} as Record<string, string>,
    step: 0,
    nSteps: 1,
    outputFormat: 'text',
    lease: '',
  };
  let spills = 0;
  for (const [m, inputs] of plan.entries()) {
    const res = await runStreamingMapTask({ ...base, kind: 'MAP', index: m, inputs } as Task__Output, ctx(`m${m}`));
    spills += Number(res.counters.spills ?? 0);
  }
  for (let r = 0; r < nReduce; r++) await runStreamingReduceTask({ ...base, kind: 'REDUCE', index: r, inputs: [] } as Task__Output, ctx(`r${r}`));
  const out = Array.from({ length: nReduce }, (_, r) => fs.readFileSync(path.join(dir, 'out', `mr-out-${r}`)));
  return { out, spills };
}

/** The same commands as a plain Unix pipe: cat | mapper | sort by key (bytes, stable) | reducer. */
function unixPipe(files: string[], cmds: Cmds): Buffer {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return execFileSync('sh', ['-c', `cat ${files.map(q).join(' ')} | ${cmds.mapper} | LC_ALL=C sort -t "$(printf '\\t')" -k1,1 -s | ${cmds.reducer}`], {
    cwd: dir,
    maxBuffer: 1 << 28,
  });
}

/** Output lines as a sorted multiset: partitions split the keys, so only the set is comparable. */
const lines = (bufs: Buffer[]) =>
  Buffer.concat(bufs)
    .toString('latin1')
    .split('\n')
    .filter((l) => l !== '')
    .sort();

const WC_MAP = `awk '{ for (i = 1; i <= NF; i++) print $i "\\t1" }'`;
const WC_REDUCE = `awk -F '\\t' '$1 != k { if (NR > 1) print k "\\t" n; k = $1; n = 0 } { n += $2 } END { if (NR > 0) print k "\\t" n }'`;

describe('streaming tasks', () => {
  it('wordcount with awk equals the Unix pipe, across splits and spills', async () => {
    const text = Array.from({ length: 3000 }, (_, i) => `w${i % 101} x${i % 7} the quick brown fox\n`).join('');
    fs.writeFileSync(path.join(dir, 'a.txt'), text);
    fs.writeFileSync(path.join(dir, 'b.txt'), 'the end\nno newline');
    const cmds = { mapper: WC_MAP, reducer: WC_REDUCE };
    const want = lines([unixPipe(['a.txt', 'b.txt'], cmds)]);
    const { out, spills } = await runJob(['a.txt', 'b.txt'], cmds, { splitBytes: 4096, memoryBytes: 8 * 1024 });
    expect(spills).toBeGreaterThan(0);
    expect(lines(out)).toEqual(want);
    expect(want).toContain('the\t3001');
  });

  it('passes awkward bytes through unchanged: invalid UTF-8, NUL, CR, spaces inside keys', async () => {
    const data = Buffer.concat([
      Buffer.from('key with spaces\tv1\n'),
      Buffer.from([0xff, 0xfe, 0x09, 0xc3, 0x28, 0x0a]), // invalid UTF-8 key and value
      Buffer.from('nul\0key\tnul\0value\n'),
      Buffer.from('no tab at all\n'),
      Buffer.from('crlf\tvalue\r\n'),
      Buffer.from('\tempty key\n'),
      Buffer.from('key with spaces\tv2\n'),
    ]);
    fs.writeFileSync(path.join(dir, 'raw.bin'), data);
    const { out } = await runJob(['raw.bin'], { mapper: 'cat', reducer: 'cat' }, { nReduce: 2, splitBytes: 7 });
    const got = Buffer.concat(out);
    // Every key and value byte kept; a key's values in input order; CRLF read as a line end.
    const expectedLines = [
      Buffer.from('key with spaces\tv1'),
      Buffer.from('key with spaces\tv2'),
      Buffer.from([0xff, 0xfe, 0x09, 0xc3, 0x28]),
      Buffer.from('nul\0key\tnul\0value'),
      Buffer.from('no tab at all\t'),
      Buffer.from('crlf\tvalue'),
      Buffer.from('\tempty key'),
    ].map((b) => b.toString('latin1'));
    expect(lines([got])).toEqual([...expectedLines].sort());
    const keyWithSpaces = got.toString('latin1').split('\n').filter((l) => l.startsWith('key with spaces'));
    expect(keyWithSpaces).toEqual(['key with spaces\tv1', 'key with spaces\tv2']);
  });

  it('sorts keys in byte order for the reducer', async () => {
    const keys = ['b', 'a', 'B', '\u00e9', 'a b', 'ab', ''];
    fs.writeFileSync(path.join(dir, 'k.txt'), keys.map((k) => `${k}\t1\n`).join(''));
    const { out } = await runJob(['k.txt'], { mapper: 'cat', reducer: 'cat' }, { nReduce: 1 });
    const sorted = keys.map((k) => Buffer.from(k)).sort(Buffer.compare).map((k) => `${k.toString('latin1')}\t1`);
    expect(out[0]!.toString('latin1').split('\n').filter((l) => l !== '')).toEqual(sorted);
  });

  it('runs a combiner on each map output and still equals the pipe', async () => {
    const text = Array.from({ length: 2000 }, (_, i) => `a b c w${i % 13}\n`).join('');
    fs.writeFileSync(path.join(dir, 'c.txt'), text);
    const cmds = { mapper: WC_MAP, reducer: WC_REDUCE, combiner: WC_REDUCE };
    const want = lines([unixPipe(['c.txt'], { mapper: WC_MAP, reducer: WC_REDUCE })]);
    const { out } = await runJob(['c.txt'], cmds, { splitBytes: 5000 });
    expect(lines(out)).toEqual(want);
    // The combiner really ran: one record per key per partition in each intermediate file.
    const inter = fs.readdirSync(path.join(dir, 'job', 'intermediate')).filter((f) => /^mr-\d+-\d+$/.test(f));
    for (const f of inter) {
      const ks = dumpRun(path.join(dir, 'job', 'intermediate', f)).map((l) => l.split('\t')[0]);
      expect(new Set(ks).size).toBe(ks.length);
    }
  });

  it('fails the task with the exit status and the tail of stderr', async () => {
    fs.writeFileSync(path.join(dir, 'in.txt'), 'x\n'.repeat(100_000));
    const noisy = `sh -c 'i=0; while [ $i -lt 2000 ]; do echo "noise line $i" >&2; i=$((i+1)); done; echo "boom: the last words" >&2; exit 3'`;
    const err = await runJob(['in.txt'], { mapper: noisy, reducer: 'cat' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^mapper `.*` exited with code 3; stderr: /s);
    expect(msg).toContain('boom: the last words');
    expect(msg).not.toContain('noise line 0\n');
    expect(msg.length).toBeLessThan(6000);
    // Nothing half-written is left behind.
    expect(fs.readdirSync(path.join(dir, 'job', 'intermediate'))).toEqual([]);
  });

  it('fails a reducer that exits non-zero and leaves no output file', async () => {
    fs.writeFileSync(path.join(dir, 'in.txt'), 'a\t1\n');
    const err = await runJob(['in.txt'], { mapper: 'cat', reducer: `cat >/dev/null; echo 'reducer broke' >&2; exit 1` }, { nReduce: 1 }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/reducer .* exited with code 1; stderr: reducer broke/);
    expect(fs.readdirSync(path.join(dir, 'out'))).toEqual([]);
  });

  it('a command that does not exist fails with the shell\'s message', async () => {
    fs.writeFileSync(path.join(dir, 'in.txt'), 'a\n');
    const err = await runJob(['in.txt'], { mapper: 'no-such-command-kubemr', reducer: 'cat' }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/exited with code 127; stderr: .*not found/s);
  });

  it('a mapper that exits 0 without reading its input is not an error (Hadoop\'s rule)', async () => {
    fs.writeFileSync(path.join(dir, 'in.txt'), 'line\n'.repeat(500_000));
    const { out } = await runJob(['in.txt'], { mapper: `head -n 1 | sed 's/$/\\t1/'`, reducer: 'cat' }, { nReduce: 1 });
    expect(out[0]!.toString()).toBe('line\t1\n');
  });

  it('latin1Partition hashes bytes the way the default partitioner hashes UTF-8', async () => {
    const { defaultPartition } = await import('../app/partition.js');
    for (const k of ['a', 'hello', 'é', '中文', '']) {
      expect(latin1Partition(Buffer.from(k).toString('latin1'), 7)).toBe(defaultPartition(k, 7));
    }
  });
});
