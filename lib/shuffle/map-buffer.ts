import fs from 'node:fs';
import path from 'node:path';
import { copyBytes, decodeRange, encodeInto, FileSink, RunReader } from './format.js';
import { tempPathFor } from '../storage/layout.js';
import { foldInto } from './fold.js';
import { mergeRunsToFile, word } from './merge.js';

/**
 * The map side of the shuffle. Pairs are buffered as bytes; when the buffer passes the memory
 * budget, every partition is sorted, folded by the combiner when the app has one, and spilled
 * as a run. `finish` merges the runs of each partition into one sorted intermediate file,
 * written under a temp name and renamed into place.
 */
export interface MapOutputOptions {
  nReduce: number;
  partition: (key: string, nReduce: number) => number;
  combine?: ((key: string, values: string[]) => string) | undefined;
  /** Bytes of buffered pairs (encoded, plus RECORD_OVERHEAD each) before a spill. */
  memoryBytes: number;
  /** Where spill runs go (removed by finish/abort). */
  spillDir: string;
  /** Unique per attempt, so concurrent attempts of a task never share a temp file. */
  tag: string;
  /** utf8 for apps (string keys); latin1 for streaming jobs, whose keys are raw bytes. */
  encoding: BufferEncoding;
}

/**
 * Per buffered record: an entry of five 32-bit words (offset, key length, value length,
 * partition, key group) at the arena's far end; at a spill, a word of partition order and, for
 * the partition being sorted, six words of radix-sort state, or, for grouped keys, three words
 * of placed records. All of it counts against the budget.
 */
const ENTRY_WORDS = 5;
const RECORD_OVERHEAD = 4 * ENTRY_WORDS + 4 + 24;
/**
 * Keys are grouped as they arrive while a buffer's distinct keys stay under an eighth of its
 * records plus this many (and see GROUP_PROBE); past that, grouping stops until the next spill
 * (see KeyGroups).
 */
const GROUP_SLACK = 16384;
/**
 * Past this many records, grouping also stops once more than three quarters of the keys are
 * distinct: an index of distinct words (22k records, all distinct, a task) then goes straight to
 * the radix sort, 25% faster than grouping 19k keys first and giving up. Text with a pair per
 * word repeats far more than that within its first 4096 words.
 */
const GROUP_PROBE = 4096;

/** Typed-array offsets are 32-bit; a larger budget is used up to this. */
const MAX_ARENA = 2 ** 31;

/**
 * The arena of the last finished buffer, for the next task in this process. A fresh
 * budget-sized arena per task would be new external memory to V8 every time, and it answers
 * that with a full garbage collection; reusing one also keeps its pages from being faulted in
 * again.
 */
let spareArena: ArrayBuffer | undefined;

export interface MapOutputStats {
  records: number;
  spills: number;
  outputBytes: number;
}


/** Indexes with the 8-byte key prefixes they are sorted by (p0 the first four bytes). */
interface PrefixKeys {
  idx: Int32Array;
  p0: Uint32Array;
  p1: Uint32Array;
}

/** One partition's records in output order, with the 8-byte key prefixes they were sorted by. */
interface SortedPartition extends PrefixKeys {
  /**
   * Each record's arena offset, key length and value length, in output order. The entries they
   * come from lie in arrival order; read in key order they would cost a cache miss per record
   * at every use.
   */
  off: Uint32Array;
  kl: Uint32Array;
  vl: Uint32Array;
  length: number;
  /** Set when the partition writes itself rather than through off/kl/vl (see sortGrouped). */
  writeTo?: (sink: FileSink) => void;
}

/**
 * Stable LSD radix sort of s[0, len) on the 8-byte key prefixes p1 then p0, a byte a pass,
 * carrying idx along; a pass in which every record has the same byte is skipped. Returns the
 * pair of buffers with the sorted one first.
 */
function radixSort<T extends PrefixKeys>(cur: T, alt: T, len: number, count: Int32Array): [T, T] {
  for (let pass = 0; pass < 8 && len > 1; pass++) {
    const shift = (pass & 3) * 8;
    const digits = pass < 4 ? cur.p1 : cur.p0;
    count.fill(0);
    for (let k = 0; k < len; k++) count[((digits[k]! >>> shift) & 0xff) + 1]!++;
    let moves = true;
    for (let b = 1; b <= 256; b++) if (count[b] === len) moves = false;
    if (!moves) continue; // every record has this byte
    for (let b = 0; b < 256; b++) count[b + 1]! += count[b]!;
    for (let k = 0; k < len; k++) {
      const to = count[(digits[k]! >>> shift) & 0xff]!++;
      alt.idx[to] = cur.idx[k]!;
      alt.p0[to] = cur.p0[k]!;
      alt.p1[to] = cur.p1[k]!;
    }
    const t = cur;
    cur = alt;
    alt = t;
  }
  return [cur, alt];
}

// The sort's loops below are functions of the module and take what they read as arguments: V8
// then optimizes each once per process. Inlined into the buffer's methods, with the buffer's
// own tie-break closure (one per buffer, so one per task) and the caller's callback, their
// optimized code was thrown away as each task's buffer and callbacks died, and compiled again
// for the next task: the sort was compiled nine times in one worker of the indexer bench.

/** Cumulative record counts by partition: partition p holds records [bounds[p], bounds[p + 1]). */
function partitionBounds(m: Uint32Array, top: number, n: number, P: number): Int32Array {
  const bounds = new Int32Array(P + 1);
  for (let i = 0; i < n; i++) bounds[m[top - ENTRY_WORDS * i + 3]! + 1]!++;
  for (let p = 0; p < P; p++) bounds[p + 1]! += bounds[p]!;
  return bounds;
}

/** The record indexes, partition by partition, in arrival order within each. */
function orderByPartition(m: Uint32Array, top: number, n: number, bounds: Int32Array): Int32Array {
  const order = new Int32Array(n);
  const next = bounds.slice(0, bounds.length - 1);
  for (let i = 0; i < n; i++) order[next[m[top - ENTRY_WORDS * i + 3]!]!++] = i;
  return order;
}

/** cur[0, len) set to the records order[lo, lo + len) and their key prefixes. */
function loadPrefixes(cur: PrefixKeys, order: Int32Array, lo: number, len: number, m: Uint32Array, top: number, a: Buffer): void {
  for (let k = 0; k < len; k++) {
    const i = order[lo + k]!;
    const e = top - ENTRY_WORDS * i;
    const o = m[e]!;
    const kl = m[e + 1]!;
    cur.idx[k] = i;
    cur.p0[k] = word(a, o, kl);
    cur.p1[k] = kl > 4 ? word(a, o + 4, kl - 4) : 0;
  }
}

/** Copies the entries of s.idx[from, to) into s.off, s.kl and s.vl at the same positions. */
function gatherEntries(m: Uint32Array, top: number, s: SortedPartition, from: number, to: number): void {
  for (let k = from; k < to; k++) {
    const e = top - ENTRY_WORDS * s.idx[k]!;
    s.off[k] = m[e]!;
    s.kl[k] = m[e + 1]!;
    s.vl[k] = m[e + 2]!;
  }
}

/** Byte order of the keys of records i and j whose 8-byte prefixes are equal, then arrival. */
function compareTails(a: Buffer, m: Uint32Array, top: number, i: number, j: number): number {
  const ei = top - ENTRY_WORDS * i;
  const ej = top - ENTRY_WORDS * j;
  const oi = m[ei]!;
  const oj = m[ej]!;
  const li = m[ei + 1]!;
  const lj = m[ej + 1]!;
  const n = li < lj ? li : lj;
  for (let k = 8; k < n; k++) {
    const d = a[oi + k]! - a[oj + k]!;
    if (d !== 0) return d;
  }
  return li - lj || i - j;
}

/** Stable sort of idx[lo, hi) by the bytes past the prefix: insertion sort when short. */
function sortRun(idx: Int32Array, lo: number, hi: number, a: Buffer, m: Uint32Array, top: number): void {
  if (hi - lo > 16) {
    idx.set(Array.from(idx.subarray(lo, hi)).sort((i, j) => compareTails(a, m, top, i, j)), lo);
    return;
  }
  for (let k = lo + 1; k < hi; k++) {
    const x = idx[k]!;
    let j = k - 1;
    while (j >= lo && compareTails(a, m, top, idx[j]!, x) > 0) {
      idx[j + 1] = idx[j]!;
      j--;
    }
    idx[j + 1] = x;
  }
}

/**
 * After the radix sort on prefixes: runs of equal prefixes whose keys may differ (longer than
 * 8 bytes, or of different lengths) sorted by their remaining bytes, arrival order kept.
 */
function sortPrefixTies(cur: SortedPartition, len: number, m: Uint32Array, top: number, a: Buffer): void {
  for (let k = 0; k < len; ) {
    const a0 = cur.p0[k]!;
    const a1 = cur.p1[k]!;
    const kl = cur.kl[k]!;
    let e = k + 1;
    let allEqual = kl <= 8;
    while (e < len && cur.p0[e] === a0 && cur.p1[e] === a1) {
      if (cur.kl[e] !== kl) allEqual = false;
      e++;
    }
    // Equal prefixes and equal lengths of at most 8 bytes: equal keys, already in arrival order.
    if (e - k > 1 && !allEqual) {
      sortRun(cur.idx, k, e, a, m, top);
      gatherEntries(m, top, cur, k, e);
    }
    k = e;
  }
}

/**
 * The distinct keys of a buffer's records, found as they arrive: a key's bytes are hashed while
 * they are still in cache from being encoded, and each record is tagged with its key's group.
 * At a spill only the distinct keys are sorted, and the records are placed key by key in one
 * pass over the entries in arrival order. A pair per word of text with no combiner (tens of
 * records per distinct key) spills several times faster than by radix passes over every
 * record; keys that prove mostly distinct stop the grouping, and the radix sort takes them.
 */
class KeyGroups {
  n = 0;
  /** Per group, G words (see the G_* offsets), so that one cache line serves a lookup. */
  cols = new Int32Array(1024 * G);
  /** Open addressing, two words a slot: the key's hash, and its group + 1 (0: empty). */
  table = new Int32Array(2 * 4096);

  /** Group of the key `a[at, at + kl)` of record `i` in partition `r`; a new key gets a new group. */
  find(a: Buffer, at: number, kl: number, r: number, i: number): number {
    let h = 0x811c9dc5 ^ kl;
    for (let b = at, end = at + kl; b < end; b++) h = Math.imul(h ^ a[b]!, 0x01000193);
    const p0 = word(a, at, kl) | 0;
    const p1 = kl > 4 ? word(a, at + 4, kl - 4) | 0 : 0;
    const table = this.table;
    const c = this.cols;
    const mask = (table.length >> 1) - 1;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const t = table[2 * slot + 1]!;
      if (t === 0) {
        const x = this.add(i, h, r, at, kl, p0, p1);
        table[2 * slot] = h;
        table[2 * slot + 1] = x + 1;
        if (this.n * 4 > table.length) this.rehash();
        return x;
      }
      if (table[2 * slot] !== h) continue;
      const g = (t - 1) * G;
      if (c[g + G_LEN] !== kl || c[g + G_P0] !== p0 || c[g + G_P1] !== p1 || c[g + G_PART] !== r) continue;
      if (kl > 8 && !sameTail(a, c[g + G_AT]!, at, kl)) continue;
      c[g + G_COUNT]!++;
      return t - 1;
    }
  }

  private add(i: number, h: number, r: number, at: number, kl: number, p0: number, p1: number): number {
    if ((this.n + 1) * G > this.cols.length) {
      const more = new Int32Array(this.cols.length * 2);
      more.set(this.cols);
      this.cols = more;
    }
    const x = this.n++;
    const g = x * G;
    const c = this.cols;
    c[g + G_AT] = at;
    c[g + G_LEN] = kl;
    c[g + G_PART] = r;
    c[g + G_P0] = p0;
    c[g + G_P1] = p1;
    c[g + G_COUNT] = 1;
    c[g + G_REP] = i;
    c[g + G_HASH] = h;
    return x;
  }

  /** Twice the slots, every group placed again. */
  private rehash(): void {
    const table = new Int32Array(this.table.length * 2);
    const mask = (table.length >> 1) - 1;
    for (let x = 0; x < this.n; x++) {
      const h = this.cols[x * G + G_HASH]!;
      let slot = h & mask;
      while (table[2 * slot + 1] !== 0) slot = (slot + 1) & mask;
      table[2 * slot] = h;
      table[2 * slot + 1] = x + 1;
    }
    this.table = table;
  }

  /** Empty again for the next fill of the buffer, keeping its memory. */
  reset(): void {
    if (this.n > 0) this.table.fill(0);
    this.n = 0;
  }
}

/**
 * The words of a group in KeyGroups.cols: its first record's arena offset, key length,
 * partition, the key's two prefix words, its records, its first record's index, its hash.
 */
const G = 8;
const G_AT = 0;
const G_LEN = 1;
const G_PART = 2;
const G_P0 = 3;
const G_P1 = 4;
const G_COUNT = 5;
const G_REP = 6;
const G_HASH = 7;

/** Whether the keys of `kl` bytes at `x` and `y` agree past their first 8 bytes. */
function sameTail(a: Buffer, x: number, y: number, kl: number): boolean {
  for (let b = 8; b < kl; b++) if (a[x + b] !== a[y + b]) return false;
  return true;
}

/**
 * Pairs are encoded into one byte arena as they are added (key bytes then value bytes), with
 * their partition and a 4-byte key prefix in typed arrays beside it: the buffer's size is
 * known to the byte, the garbage collector has nothing to trace, and a key that occurs once
 * goes to disk without ever becoming a string again. Past the budget, the records are sorted
 * (by partition, then key bytes, then arrival, so a key's values keep their emit order),
 * passed through the combiner, and spilled as one run per partition.
 */
export class MapOutputBuffer {
  /**
   * One allocation for the whole budget: record bytes grow from the front, entries from the
   * back. Untouched pages cost no memory, so a small task stays small.
   */
  private arena!: Buffer;
  private meta!: Uint32Array;
  private readonly arenaBytes: number;
  private used = 0;
  private n = 0;
  private readonly runs: string[][] = [];
  private spillCount = 0;
  /** The keys of the buffered records, while they repeat enough to be worth grouping. */
  private groups: KeyGroups | undefined = new KeyGroups();
  records = 0;

  constructor(private readonly o: MapOutputOptions) {
    // Rounded down to 8 bytes by division: `& ~7` would wrap a size of 2 GiB or more to a negative number.
    this.arenaBytes = Math.floor(Math.min(MAX_ARENA, o.memoryBytes) / 8) * 8;
    this.allocate(this.arenaBytes);
    for (let r = 0; r < o.nReduce; r++) this.runs.push([]);
  }

  private allocate(bytes: number): void {
    let ab = spareArena?.byteLength === bytes ? spareArena : undefined;
    if (ab) spareArena = undefined;
    else ab = new ArrayBuffer(bytes);
    this.arena = Buffer.from(ab);
    this.meta = new Uint32Array(ab);
  }

  /** Hands the arena to the next buffer of this process; this one is done. */
  private release(): void {
    if (this.arena.length === this.arenaBytes && this.arena.byteOffset === 0) spareArena = this.arena.buffer as ArrayBuffer;
    this.arena = Buffer.alloc(0);
    this.meta = new Uint32Array(0);
  }

  /**
   * A pair given as bytes, `src[keyStart, keyEnd)` and `src[valueStart, valueEnd)`, in
   * partition `r`: streaming jobs read their mappers' output this way without making strings.
   */
  addBytes(r: number, src: Uint8Array, keyStart: number, keyEnd: number, valueStart: number, valueEnd: number): void {
    if (!(r >= 0 && r < this.o.nReduce && Number.isInteger(r))) {
      throw new RangeError(`partition ${r} is out of range; expected an integer in [0, ${this.o.nReduce})`);
    }
    this.records++;
    const kl = keyEnd - keyStart;
    const vl = valueEnd - valueStart;
    this.reserve(kl + vl);
    const a = this.arena;
    const at = this.used;
    copyBytes(src, keyStart, a, at, kl);
    copyBytes(src, valueStart, a, at + kl, vl);
    this.push(r, at, kl, vl);
  }

  /** Makes room for a record of up to `max` bytes, spilling first when the budget is full. */
  private reserve(max: number): void {
    if (this.used + max + (this.n + 1) * RECORD_OVERHEAD > this.arena.length) {
      if (this.n > 0) this.spill();
      // A record larger than the whole budget gets an arena of its own until the next spill.
      if (max + RECORD_OVERHEAD > this.arena.length) this.allocate(Math.ceil((max + RECORD_OVERHEAD) / 8) * 8);
    }
  }

  private push(r: number, at: number, kl: number, vl: number): void {
    const i = this.n++;
    const e = this.entry(i);
    const m = this.meta;
    m[e] = at;
    m[e + 1] = kl;
    m[e + 2] = vl;
    m[e + 3] = r;
    const g = this.groups;
    if (g) {
      m[e + 4] = g.find(this.arena, at, kl, r, i);
      if (g.n > (this.n >> 3) + GROUP_SLACK || (this.n >= GROUP_PROBE && g.n * 4 > this.n * 3)) this.groups = undefined;
    }
    this.used = at + kl + vl;
  }

  /** Word index of record i's entry. */
  private entry(i: number): number {
    return this.meta.length - ENTRY_WORDS * (i + 1);
  }

  add(key: string, value: string): void {
    const r = this.o.nReduce === 1 ? 0 : this.o.partition(key, this.o.nReduce);
    if (!(r >= 0 && r < this.o.nReduce && Number.isInteger(r))) {
      throw new RangeError(`partition(${JSON.stringify(key)}, ${this.o.nReduce}) returned ${r}; expected an integer in [0, ${this.o.nReduce})`);
    }
    this.records++;
    const max = this.o.encoding === 'latin1' ? key.length + value.length : 3 * (key.length + value.length);
    this.reserve(max);
    const a = this.arena;
    const at = this.used;
    const kl = encodeInto(key, a, at, this.o.encoding);
    const vl = encodeInto(value, a, at + kl, this.o.encoding);
    this.push(r, at, kl, vl);
  }

  /**
   * Sorts the buffer partition by partition and hands each sorted partition to `write`: a
   * counting sort by partition, then per partition a stable LSD radix sort on the key's first
   * 8 bytes (carried beside the indexes, so the passes read memory in order), then the rare
   * runs of equal prefixes sorted by their remaining bytes.
   */
  private sortPartitions(write: (r: number, s: SortedPartition) => void): void {
    if (this.groups) {
      this.sortGrouped(this.groups, write);
      return;
    }
    const n = this.n;
    const P = this.o.nReduce;
    const m = this.meta;
    const top = m.length - ENTRY_WORDS;
    const a = this.arena;
    const bounds = partitionBounds(m, top, n, P);
    let largest = 0;
    for (let p = 0; p < P; p++) largest = Math.max(largest, bounds[p + 1]! - bounds[p]!);
    const order = orderByPartition(m, top, n, bounds);
    // Filled after the sort, so both buffers of the radix passes share them.
    const entries = { off: new Uint32Array(largest), kl: new Uint32Array(largest), vl: new Uint32Array(largest) };
    let cur: SortedPartition = { idx: new Int32Array(largest), p0: new Uint32Array(largest), p1: new Uint32Array(largest), ...entries, length: 0 };
    let alt: SortedPartition = { idx: new Int32Array(largest), p0: new Uint32Array(largest), p1: new Uint32Array(largest), ...entries, length: 0 };
    const count = new Int32Array(257);
    for (let p = 0; p < P; p++) {
      const lo = bounds[p]!;
      const len = bounds[p + 1]! - lo;
      loadPrefixes(cur, order, lo, len, m, top, a);
      [cur, alt] = radixSort(cur, alt, len, count);
      gatherEntries(m, top, cur, 0, len);
      sortPrefixTies(cur, len, m, top, a);
      cur.length = len;
      write(p, cur);
    }
  }

  /**
   * Sorts the buffer by its key groups (see KeyGroups): the distinct keys ordered by partition
   * then key bytes, then every record placed after the records of the keys before its own, in
   * arrival order within a key. Hands each partition to `write` as sortPartitions does.
   */
  private sortGrouped(g: KeyGroups, write: (r: number, s: SortedPartition) => void): void {
    const d = g.n;
    const n = this.n;
    const P = this.o.nReduce;
    const c = g.cols;
    // The distinct keys: radix on their prefixes, a stable pass by partition, then each run of
    // equal prefixes in one partition by the keys' remaining bytes.
    let keys: PrefixKeys = { idx: new Int32Array(d), p0: new Uint32Array(d), p1: new Uint32Array(d) };
    for (let x = 0; x < d; x++) {
      keys.idx[x] = x;
      keys.p0[x] = c[x * G + G_P0]! >>> 0;
      keys.p1[x] = c[x * G + G_P1]! >>> 0;
    }
    [keys] = radixSort(keys, { idx: new Int32Array(d), p0: new Uint32Array(d), p1: new Uint32Array(d) }, d, new Int32Array(257));
    const bounds = new Int32Array(P + 1);
    const firstKey = new Int32Array(P + 1);
    for (let x = 0; x < d; x++) {
      bounds[c[x * G + G_PART]! + 1]! += c[x * G + G_COUNT]!;
      firstKey[c[x * G + G_PART]! + 1]!++;
    }
    for (let p = 0; p < P; p++) {
      bounds[p + 1]! += bounds[p]!;
      firstKey[p + 1]! += firstKey[p]!;
    }
    const sorted = new Int32Array(d);
    const nextKey = firstKey.slice(0, P);
    for (let k = 0; k < d; k++) {
      const x = keys.idx[k]!;
      sorted[nextKey[c[x * G + G_PART]!]!++] = x;
    }
    const sameRun = (x: number, y: number) => c[x * G + G_PART] === c[y * G + G_PART] && c[x * G + G_P0] === c[y * G + G_P0] && c[x * G + G_P1] === c[y * G + G_P1];
    const m = this.meta;
    const top = m.length - ENTRY_WORDS;
    const a = this.arena;
    const byKey = (x: number, y: number) => compareTails(a, m, top, c[x * G + G_REP]!, c[y * G + G_REP]!);
    for (let k = 0; k < d; ) {
      let e = k + 1;
      while (e < d && sameRun(sorted[k]!, sorted[e]!)) e++;
      if (e - k > 1) sorted.set(Array.from(sorted.subarray(k, e)).sort(byKey), k);
      k = e;
    }
    // Where each key's records start; then the records, read in arrival order, into place.
    const start = new Int32Array(d);
    for (let k = 0, at = 0; k < d; k++) {
      const x = sorted[k]!;
      start[x] = at;
      at += c[x * G + G_COUNT]!;
    }
    if (!this.o.combine) {
      // Nothing to fold: each key is written from its first record's bytes, which stay in cache
      // while its records follow, and each record's value, read here in arrival order (the
      // order of the arena), is kept with it; values of up to 4 bytes are packed into a word.
      // Writing then never reads the arena in key order, a cache miss per record.
      const valueAt = new Uint32Array(n);
      const vlen = new Uint32Array(n);
      const small = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const e = top - ENTRY_WORDS * i;
        const to = start[m[e + 4]!]!++;
        const vo = m[e]! + m[e + 1]!;
        const vl = m[e + 2]!;
        valueAt[to] = vo;
        vlen[to] = vl;
        if (vl <= 4) small[to] = (vl > 0 ? a[vo]! : 0) | (vl > 1 ? a[vo + 1]! << 8 : 0) | (vl > 2 ? a[vo + 2]! << 16 : 0) | (vl > 3 ? a[vo + 3]! << 24 : 0);
      }
      const none = new Uint32Array(0);
      const noIdx = new Int32Array(0);
      for (let p = 0; p < P; p++) {
        const writeTo = (sink: FileSink) => {
          for (let k = firstKey[p]!, at = bounds[p]!; k < firstKey[p + 1]!; k++) {
            const g = sorted[k]! * G;
            const keyAt = c[g + G_AT]!;
            const kl = c[g + G_LEN]!;
            for (const end = at + c[g + G_COUNT]!; at < end; at++) sink.writeKeyValue(a, keyAt, kl, valueAt[at]!, vlen[at]!, small[at]!);
          }
        };
        write(p, { idx: noIdx, p0: none, p1: none, off: none, kl: none, vl: none, length: bounds[p + 1]! - bounds[p]!, writeTo });
      }
      return;
    }
    // With a combiner, writeSorted finds each key's run by its prefixes and bytes.
    const out: SortedPartition = { idx: new Int32Array(0), p0: new Uint32Array(n), p1: new Uint32Array(n), off: new Uint32Array(n), kl: new Uint32Array(n), vl: new Uint32Array(n), length: n };
    for (let i = 0; i < n; i++) {
      const e = top - ENTRY_WORDS * i;
      const x = m[e + 4]!;
      const to = start[x]!++;
      out.off[to] = m[e]!;
      out.kl[to] = m[e + 1]!;
      out.vl[to] = m[e + 2]!;
      out.p0[to] = c[x * G + G_P0]!;
      out.p1[to] = c[x * G + G_P1]!;
    }
    for (let p = 0; p < P; p++) {
      const lo = bounds[p]!;
      const hi = bounds[p + 1]!;
      const view = (col: Uint32Array) => col.subarray(lo, hi);
      write(p, { idx: out.idx, p0: view(out.p0), p1: view(out.p1), off: view(out.off), kl: view(out.kl), vl: view(out.vl), length: hi - lo });
    }
  }

  /** Whether sorted positions k and j hold the same key. */
  private sameKey(s: SortedPartition, k: number, j: number): boolean {
    if (s.p0[k] !== s.p0[j] || s.p1[k] !== s.p1[j]) return false;
    const kl = s.kl[k]!;
    if (kl !== s.kl[j]) return false;
    const a = this.arena;
    const oi = s.off[k]!;
    const ol = s.off[j]!;
    for (let b = 8; b < kl; b++) if (a[oi + b] !== a[ol + b]) return false;
    return true;
  }

  /** Writes one sorted partition, folding each key's values with the combiner. */
  private writeSorted(sink: FileSink, s: SortedPartition): void {
    if (s.writeTo) {
      s.writeTo(sink);
      return;
    }
    const a = this.arena;
    const combine = this.o.combine;
    const enc = this.o.encoding;
    for (let k = 0; k < s.length; ) {
      let e = k + 1;
      if (combine) while (e < s.length && this.sameKey(s, k, e)) e++;
      if (e - k === 1 || !combine) {
        sink.writeRawRecord(a, s.off[k]!, s.kl[k]!, s.vl[k]!);
        k++;
        continue;
      }
      const ko = s.off[k]!;
      const key = decodeRange(a, ko, ko + s.kl[k]!, enc);
      const values: string[] = [];
      for (; k < e; k++) {
        const vo = s.off[k]! + s.kl[k]!;
        values.push(decodeRange(a, vo, vo + s.vl[k]!, enc));
        foldInto(combine, key, values);
      }
      sink.writeRecord(key, values.length === 1 ? values[0]! : combine(key, values), enc);
    }
  }

  private writeFile(file: string, sorted: SortedPartition): number {
    const sink = new FileSink(file, { sync: false });
    try {
      this.writeSorted(sink, sorted);
      sink.close();
    } catch (err) {
      sink.abort();
      throw err;
    }
    return sink.bytesWritten;
  }

  private clear(): void {
    this.n = 0;
    this.used = 0;
    if (this.groups) this.groups.reset();
    else this.groups = new KeyGroups();
    if (this.arena.length > this.arenaBytes) this.allocate(this.arenaBytes);
  }

  private spill(): void {
    fs.mkdirSync(this.o.spillDir, { recursive: true });
    this.sortPartitions((r, sorted) => {
      if (sorted.length === 0) return;
      const file = path.join(this.o.spillDir, `.spill-${this.o.tag}-${this.spillCount}-${r}`);
      this.runs[r]!.push(file);
      this.writeFile(file, sorted);
    });
    this.spillCount++;
    this.clear();
  }

  /** Writes `finalPaths[r]` for every partition (temp name, then rename) and removes spills. */
  finish(finalPaths: string[]): MapOutputStats {
    let outputBytes = 0;
    try {
      const spilled = this.spillCount > 0;
      // Spill what is left so every partition merges from runs alone.
      if (spilled && this.n > 0) {
        this.spill();
        this.spillCount--;
      }
      // Map outputs are not fsynced (Hadoop's are not either): every block carries a CRC32, so
      // one that a crash left short or torn is found by the reduce that reads it, and the map
      // that wrote it runs again (the fetch-failure rule). Syncing ten files a task cost a tenth
      // of a map task's time on a shared disk.
      const publish = (r: number, write: (tmp: string) => number) => {
        const tmp = tempPathFor(finalPaths[r]!, this.o.tag);
        outputBytes += write(tmp);
        fs.renameSync(tmp, finalPaths[r]!);
      };
      const mergeOrMove = (runs: string[], tmp: string): number => {
        // A single run is sorted and combined already.
        if (runs.length === 1 && path.dirname(runs[0]!) === path.dirname(tmp)) {
          fs.renameSync(runs[0]!, tmp);
          return fs.statSync(tmp).size;
        }
        return mergeRunsToFile(runs, tmp, this.o.combine, this.o.encoding);
      };
      if (spilled) for (let r = 0; r < this.o.nReduce; r++) publish(r, (tmp) => mergeOrMove(this.runs[r]!, tmp));
      else this.sortPartitions((r, sorted) => publish(r, (tmp) => this.writeFile(tmp, sorted)));
    } finally {
      this.removeSpills();
    }
    this.clear();
    this.release();
    return { records: this.records, spills: this.spillCount, outputBytes };
  }

  removeSpills(): void {
    for (const files of this.runs) {
      for (const f of files) fs.rmSync(f, { force: true });
      files.length = 0;
    }
  }
}
