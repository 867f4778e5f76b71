import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultPartition } from '../app/partition.js';
import { CombineTable } from './combine-table.js';
import { RunReader } from './format.js';
import { MapOutputBuffer } from './map-buffer.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemr-combine-table-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Keys that have broken shuffles before: non-ASCII, astral (surrogate pairs), empty, long, spaces, tabs, newlines. */
const AWKWARD = ['', ' ', 'a b', ' lead', 'trail ', 'tab\there', 'new\nline', 'é', 'ß', '日本語', '😀', 'a😀b', '𝔘𝔫𝔦', 'x'.repeat(5000), `${'é'.repeat(300)} ${'😀'.repeat(300)}`, 'A', 'a', 'Z'];

/** Pairs over awkward keys and many plain ones, values that say where they came from. */
function pairs(n: number): Array<[string, string]> {
  let seed = 12345;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const out: Array<[string, string]> = [];
  for (let i = 0; i < n; i++) {
    const key = rand() < 0.3 ? AWKWARD[Math.floor(rand() * AWKWARD.length)]! : `k${Math.floor(rand() * 3000)}`;
    out.push([key, `${i % 7 === 0 ? 'é' : ''}${i}`]);
  }
  return out;
}

/** Every partition's records, in file order. */
function readAll(files: string[]): Array<Array<[string, string]>> {
  return files.map((f) => {
    const r = new RunReader(f);
    const recs: Array<[string, string]> = [];
    while (r.next()) recs.push([r.key.toString('utf8'), r.value.toString('utf8')]);
    r.close();
    return recs;
  });
}

function mapSide(input: Array<[string, string]>, combine: (k: string, vs: string[]) => string, asArrive: boolean, tag: string, tableBytes = 0) {
  const buffer = new MapOutputBuffer({ nReduce: 3, partition: defaultPartition, combine, memoryBytes: 64 * 1024, spillDir: dir, tag, encoding: 'utf8' });
  const table = new CombineTable(combine, (k, v) => buffer.add(k, v), tableBytes);
  for (const [k, v] of input) {
    if (asArrive) table.add(k, v);
    else buffer.add(k, v);
  }
  if (asArrive) table.flush();
  const files = [0, 1, 2].map((r) => path.join(dir, `${tag}-${r}`));
  const stats = buffer.finish(files);
  return { records: readAll(files), stats };
}

describe('CombineTable: combining as pairs arrive', () => {
  it('gives what combining after the sort gives, on awkward keys, with an order-sensitive combiner', () => {
    const input = pairs(60_000);
    // Associative but not commutative: any reordering of a key's values shows.
    const concat = (_k: string, vs: string[]) => vs.join(',');
    const after = mapSide(input, concat, false, 'after');
    expect(after.stats.spills).toBeGreaterThan(1);
    // A table small enough to flush many times (keys come back to the buffer again and again),
    // and one large enough that hot keys are folded inside it.
    const small = mapSide(input, concat, true, 'small', 20_000);
    const arrive = mapSide(input, concat, true, 'arrive', 1 << 24);
    expect(small.records).toEqual(after.records);
    expect(arrive.records).toEqual(after.records);
    expect(arrive.stats.records).toBeLessThan(small.stats.records);
    // And both are the plain definition: each key once, its values in arrival order.
    const expected = new Map<string, string[]>();
    for (const [k, v] of input) expected.set(k, [...(expected.get(k) ?? []), v]);
    const got = new Map(arrive.records.flat());
    expect(got.size).toBe(expected.size);
    for (const [k, vs] of expected) expect(got.get(k), JSON.stringify(k.slice(0, 20))).toBe(vs.join(','));
    for (const k of AWKWARD) expect(got.has(k), JSON.stringify(k.slice(0, 20))).toBe(true);
  });

  it('folds a key with many values as they come, without holding them', () => {
    const calls: number[] = [];
    const sum = (_k: string, vs: string[]) => {
      calls.push(vs.length);
      return String(vs.reduce((a, v) => a + Number(v), 0));
    };
    const emitted: Array<[string, string]> = [];
    const table = new CombineTable(sum, (k, v) => emitted.push([k, v]), 1 << 20);
    for (let i = 0; i < 100_000; i++) table.add('😀 the', '1');
    table.flush();
    expect(emitted).toEqual([['😀 the', '100000']]);
    expect(Math.max(...calls)).toBeLessThanOrEqual(64);
  });
});
