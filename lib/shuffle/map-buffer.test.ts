import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileSink, RunReader } from './format.js';
import { defaultPartition } from '../app/partition.js';
import { MapOutputBuffer, type MapOutputOptions } from './map-buffer.js';
import { compareBytes, RunMerger } from './merge.js';
import { dumpRun } from '../worker/streaming.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemr-shuffle-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const sum = (_k: string, vs: string[]) => String(vs.reduce((a, v) => a + Number(v), 0));

/** Deterministic pairs: many repeats of few keys, awkward keys among them. */
function pairs(n: number): Array<[string, string]> {
  const awkward = ['a b', 'tab\there', 'nl\nkey', 'nul\0', 'é', '\u{1F600}', '\uffff', ''];
  let seed = 7;
  const out: Array<[string, string]> = [];
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const key = i % 10 === 0 ? awkward[(i / 10) % awkward.length]! : `k${(seed >> 8) % 997}`;
    out.push([key, String((i % 5) + 1)]);
  }
  return out;
}

function run(input: Array<[string, string]>, o: Partial<MapOutputOptions>) {
  const nReduce = o.nReduce ?? 3;
  const buf = new MapOutputBuffer({
    nReduce,
    partition: defaultPartition,
    memoryBytes: 1 << 30,
    spillDir: path.join(dir, 'spill'),
    tag: 't1',
    encoding: 'utf8',
    ...o,
  });
  for (const [k, v] of input) buf.add(k, v);
  const finals = Array.from({ length: nReduce }, (_, r) => path.join(dir, `mr-0-${r}`));
  const stats = buf.finish(finals);
  const parts = finals.map(readRun);
  return { stats, parts };
}

function readRun(file: string): Array<[string, string]> {
  const rd = new RunReader(file);
  const out: Array<[string, string]> = [];
  while (rd.next()) out.push([rd.key.toString('utf8'), rd.value.toString('utf8')]);
  rd.close();
  return out;
}

/** What a shuffle must produce: per partition, pairs stably sorted by the UTF-8 bytes of the key. */
function expected(input: Array<[string, string]>, nReduce: number, combine: boolean): Array<Array<[string, string]>> {
  const parts: Array<Array<[string, string]>> = Array.from({ length: nReduce }, () => []);
  for (const kv of input) parts[defaultPartition(kv[0], nReduce)]!.push(kv);
  return parts.map((p) => {
    const sorted = [...p].sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
    if (!combine) return sorted;
    const out: Array<[string, string]> = [];
    for (const [k, v] of sorted) {
      const last = out[out.length - 1];
      if (last && last[0] === k) last[1] = String(Number(last[1]) + Number(v));
      else out.push([k, v]);
    }
    return out;
  });
}

describe('MapOutputBuffer', () => {
  const input = pairs(20_000);

  it('sorts each partition in byte order and keeps values in emit order (no spill)', () => {
    const { stats, parts } = run(input, {});
    expect(stats.spills).toBe(0);
    expect(stats.records).toBe(input.length);
    expect(parts).toEqual(expected(input, 3, false));
    expect(new Set(input.map(([k]) => k))).toContain('tab\there');
    expect(new Set(input.map(([k]) => k))).toContain('\u{1F600}');
  });

  it('sorts repeated keys by grouping and mostly distinct ones by radix, to the same byte order, values in emit order', () => {
    // Keys that share their first 8 bytes, are prefixes of one another, differ past byte 8 or
    // only in length, multi-byte and empty; each value is its emit index, so order shows.
    const stems = ['abcdefgh', 'abcdefghi', 'abcdefgh\0', 'abcdefgg', 'abcdefghij', 'abc', 'é', 'éé', '\u{1F600}x', '', 'zz', 'abcdefgh\u{10FFFF}'];
    const repeated: Array<[string, string]> = Array.from({ length: 30_000 }, (_, i) => [stems[(i * 7) % stems.length]! + (i % 3 === 0 ? '' : String(i % 40)), String(i)]);
    const distinct: Array<[string, string]> = Array.from({ length: 30_000 }, (_, i) => [`abcdefgh${(i * 7919) % 30_000}`, String(i)]);
    // Distinct at first, repeating later: grouping gives up early and the radix sort is exact.
    const mixed = [...distinct.slice(0, 5000), ...repeated];
    for (const data of [repeated, distinct, mixed]) {
      for (const nReduce of [1, 4]) expect(run(data, { nReduce }).parts).toEqual(expected(data, nReduce, false));
    }
  });

  it('takes a budget of 2 GiB and more (the arena size does not wrap to a negative number)', () => {
    const { stats, parts } = run(input, { memoryBytes: 4 * 1024 ** 3 });
    expect(stats.spills).toBe(0);
    expect(parts).toEqual(expected(input, 3, false));
  });

  it('spills past a tiny memory budget and merges to the same result', () => {
    const { stats, parts } = run(input, { memoryBytes: 16 * 1024 });
    expect(stats.spills).toBeGreaterThan(5);
    expect(parts).toEqual(expected(input, 3, false));
    // Spill runs are removed once merged.
    expect(fs.readdirSync(path.join(dir, 'spill'))).toEqual([]);
  });

  it('folds with the combiner, with and without spills, to the combined result', () => {
    const want = expected(input, 3, true);
    expect(run(input, { combine: sum }).parts).toEqual(want);
    const spilled = run(input, { combine: sum, memoryBytes: 4 * 1024 });
    expect(spilled.stats.spills).toBeGreaterThan(2);
    expect(spilled.parts).toEqual(want);
  });

  it('writes every partition, empty ones included, under the final names only', () => {
    const { parts } = run([['only', '1']], { nReduce: 4 });
    expect(parts.flat()).toEqual([['only', '1']]);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('mr-')).sort()).toEqual(['mr-0-0', 'mr-0-1', 'mr-0-2', 'mr-0-3']);
    expect(fs.readdirSync(dir).filter((f) => f.includes('tmp'))).toEqual([]);
  });

  it('keeps raw bytes of streaming keys (latin1) exact and in byte order', () => {
    const raw = (...xs: number[]) => Buffer.from(xs).toString('latin1');
    const keys = [raw(0xff), raw(0x00), raw(0xc3, 0x28), 'a b', raw(0x0a), raw(0x80)];
    const buf = new MapOutputBuffer({ nReduce: 1, partition: () => 0, memoryBytes: 64, spillDir: dir, tag: 'b', encoding: 'latin1' });
    for (const k of keys) buf.add(k, k);
    const stats = buf.finish([path.join(dir, 'out')]);
    expect(stats.spills).toBeGreaterThan(0);
    const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1')));
    expect(dumpRun(path.join(dir, 'out'))).toEqual(sorted.map((k) => `${k}\t${k}`));
  });

  it('sorts keys that share long prefixes, differ only in length, or hold 0x00/0xff bytes', () => {
    let seed = 11;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return (seed >> 8) % n;
    };
    const stems = ['', 'a', 'abcdefgh', 'abcdefghij', 'abcd', 'abcdefg\u0000', '\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff', '\u0000\u0000'];
    const raw: Array<[string, string]> = [];
    for (let i = 0; i < 30_000; i++) {
      const tail = Array.from({ length: rnd(4) }, () => String.fromCharCode([0, 1, 97, 98, 255][rnd(5)]!)).join('');
      raw.push([stems[rnd(stems.length)]! + tail, String(i)]);
    }
    const byBytes = (a: [string, string], b: [string, string]) => Buffer.compare(Buffer.from(a[0], 'latin1'), Buffer.from(b[0], 'latin1'));
    for (const memoryBytes of [1 << 30, 64 * 1024]) {
      const buf = new MapOutputBuffer({ nReduce: 1, partition: () => 0, memoryBytes, spillDir: dir, tag: `p${memoryBytes}`, encoding: 'latin1' });
      for (const [k, v] of raw) buf.add(k, v);
      const out = path.join(dir, `sorted-${memoryBytes}`);
      buf.finish([out]);
      const rd = new RunReader(out);
      const got: Array<[string, string]> = [];
      while (rd.next()) got.push([rd.key.toString('latin1'), rd.value.toString('latin1')]);
      rd.close();
      // Array#sort is stable: equal keys keep emit order, as the shuffle must.
      expect(got).toEqual([...raw].sort(byBytes));
    }
  });

  it('a partition with a single run after spilling is moved into place intact', () => {
    const buf = new MapOutputBuffer({ nReduce: 2, partition: (k) => (k.startsWith('a') ? 0 : 1), combine: sum, memoryBytes: 4096, spillDir: dir, tag: 's', encoding: 'utf8' });
    for (let i = 0; i < 2000; i++) buf.add(`b${i % 300}`, '1');
    buf.add('a', '2');
    buf.add('a', '3');
    const outs = [path.join(dir, 'p0'), path.join(dir, 'p1')];
    const stats = buf.finish(outs);
    expect(stats.spills).toBeGreaterThan(1);
    expect(readRun(outs[0]!)).toEqual([['a', '5']]);
    const p1 = readRun(outs[1]!);
    expect(p1.length).toBe(300);
    expect(p1.every(([k, v]) => Number(v) === (Number(k.slice(1)) < 2000 % 300 ? 7 : 6))).toBe(true);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('.spill'))).toEqual([]);
  });

  it('rejects a partitioner that returns a bad partition, naming the key', () => {
    const buf = new MapOutputBuffer({ nReduce: 2, partition: () => 2, memoryBytes: 1 << 20, spillDir: dir, tag: 'x', encoding: 'utf8' });
    expect(() => buf.add('k', 'v')).toThrow(/partition\("k", 2\) returned 2/);
  });

  it('removeSpills cleans up after an abandoned attempt', () => {
    const spillDir = path.join(dir, 'spill');
    const buf = new MapOutputBuffer({ nReduce: 2, partition: defaultPartition, memoryBytes: 256, spillDir, tag: 'x', encoding: 'utf8' });
    for (const [k, v] of input.slice(0, 500)) buf.add(k, v);
    expect(fs.readdirSync(spillDir).length).toBeGreaterThan(0);
    buf.removeSpills();
    expect(fs.readdirSync(spillDir)).toEqual([]);
  });
});

describe('RunMerger', () => {
  function writeRun(name: string, records: Array<[string, string]>): string {
    const file = path.join(dir, name);
    const sink = new FileSink(file);
    for (const [k, v] of records) sink.writeRecord(k, v, 'latin1');
    sink.close();
    return file;
  }

  it('merges k sorted runs, grouping equal keys with values in run order', () => {
    const files = [
      writeRun('a', [['a', '1'], ['c', '1'], ['c', '2']]),
      writeRun('b', []),
      writeRun('c', [['', 'e'], ['b', '3'], ['c', '3']]),
      writeRun('d', [['c', '4'], ['z', '5']]),
    ];
    const m = new RunMerger(files);
    const got = [...m.groups('latin1')].map(([k, vs]) => [k.toString('latin1'), vs]);
    m.close();
    expect(got).toEqual([['', ['e']], ['a', ['1']], ['b', ['3']], ['c', ['1', '2', '3', '4']], ['z', ['5']]]);
  });

  it('merges and combines long keys that differ only past byte 32, and high bytes, across runs', () => {
    const long = 'k'.repeat(40);
    const keys = [long + 'a', long + 'b', 'k'.repeat(33), 'k'.repeat(32) + '\xff', 'k'.repeat(32), long, 'short', '\x80\xff'];
    const order = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'));
    const records: Array<[string, string]> = [];
    const files: string[] = [];
    for (let f = 0; f < 3; f++) {
      // Each run holds every other key, so every group spans runs.
      const mine = keys.filter((_, i) => (i + f) % 3 !== 0).sort(order).map((k): [string, string] => [k, String(f + 1)]);
      records.push(...mine);
      files.push(writeRun(`long${f}`, mine));
    }
    const expected = [...new Set(keys)].sort(order).map((k) => [k, records.filter(([rk]) => rk === k).map(([, v]) => v)]);
    const m = new RunMerger(files);
    expect([...m.groups('latin1')].map(([k, vs]) => [k.toString('latin1'), vs])).toEqual(expected);
    m.close();
    const out = path.join(dir, 'combined');
    const sink = new FileSink(out);
    const m2 = new RunMerger(files);
    m2.copyTo(sink, sum, 'latin1');
    m2.close();
    sink.close();
    const rd = new RunReader(out);
    const got: Array<[string, string]> = [];
    while (rd.next()) got.push([rd.key.toString('latin1'), rd.value.toString('latin1')]);
    rd.close();
    expect(got).toEqual(expected.map(([k, vs]) => [k, String((vs as string[]).reduce((a, v) => a + Number(v), 0))]));
  });

  it('orders keys that tie on their first four bytes, are shorter than four or end in NUL, with values in run order', () => {
    let seed = 11;
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    const alphabet = [0x00, 0x01, 0x61, 0x7f, 0x80, 0xff];
    const order = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'));
    const files: string[] = [];
    const records: Array<[string, string]> = [];
    for (let f = 0; f < 9; f++) {
      const keys = Array.from({ length: 150 }, () => Buffer.from(Array.from({ length: rnd(7) }, () => alphabet[rnd(alphabet.length)]!)).toString('latin1'));
      // Sorted, stable: a run's values for one key stay in the order written.
      const run = keys.sort(order).map((k, i): [string, string] => [k, `${f}.${i}`]);
      records.push(...run);
      files.push(writeRun(`tie${f}`, run));
    }
    const expected = [...new Set(records.map(([k]) => k))].sort(order).map((k) => [k, records.filter(([rk]) => rk === k).map(([, v]) => v)]);
    const m = new RunMerger(files);
    expect([...m.groups('latin1')].map(([k, vs]) => [k.toString('latin1'), vs])).toEqual(expected);
    m.close();
  });

  it('merges many runs into one byte-ordered stream', () => {
    const all: string[] = [];
    const files: string[] = [];
    for (let f = 0; f < 40; f++) {
      const keys = Array.from({ length: 200 }, (_, i) => Buffer.from([(i * 37 + f) % 256, f]).toString('latin1'));
      keys.sort((a, b) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1')));
      all.push(...keys);
      files.push(writeRun(`r${f}`, keys.map((k) => [k, 'v'])));
    }
    const m = new RunMerger(files);
    const got = [...m.groups('latin1')].flatMap(([k, vs]) => vs.map(() => k.toString('latin1')));
    m.close();
    all.sort((a, b) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1')));
    expect(got).toEqual(all);
  });
});

describe('compareBytes', () => {
  it('orders like Buffer.compare for short and long keys, prefixes, high bytes and equal keys', () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    const keys: Buffer[] = [Buffer.alloc(0), Buffer.from([0xff]), Buffer.from([0x00]), Buffer.from('a'.repeat(40)), Buffer.from('a'.repeat(41))];
    for (let i = 0; i < 400; i++) {
      const len = [0, 1, 3, 8, 31, 32, 33, 64][rnd(8)]!;
      // Few distinct bytes, so long shared prefixes and equal keys are common.
      keys.push(Buffer.from(Array.from({ length: len }, () => [0x00, 0x61, 0x62, 0x80, 0xff][rnd(5)]!)));
    }
    let checked = 0;
    for (const a of keys) {
      for (const b of keys) {
        expect(Math.sign(compareBytes(a, b)), `${a.toString('hex')} vs ${b.toString('hex')}`).toBe(Buffer.compare(a, b));
        checked++;
      }
    }
    expect(checked).toBe(keys.length ** 2);
  });
});
