import fs from 'node:fs';
import path from 'node:path';
import { copyBytes, decodeRange, encodeInto, FileSink, RunReader } from './format.js';
import { tempPathFor } from '../storage/layout.js';
import { foldInto } from './fold.js';
import { mergeRunsToFile } from './merge.js';

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
 * Per buffered record: an entry of four 32-bit words (offset, key length, value length,
 * partition) at the arena's far end; at a spill, a word of partition order and, for the
 * partition being sorted, six words of radix-sort state. All of it counts against the budget.
 */
const ENTRY_WORDS = 4;
const RECORD_OVERHEAD = 4 * ENTRY_WORDS + 4 + 24;
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


/** One partition's records in output order, with the 8-byte key prefixes they were sorted by. */
interface SortedPartition {
  idx: Int32Array;
  p0: Uint32Array;
  p1: Uint32Array;
  /**
   * Each record's arena offset, key length and value length, in output order. The entries they
   * come from lie in arrival order; read in key order they would cost a cache miss per record
   * at every use.
   */
  off: Uint32Array;
  kl: Uint32Array;
  vl: Uint32Array;
  length: number;
}

/** Up to four bytes from `at`, big-endian, zero-padded. */
function word(a: Buffer, at: number, len: number): number {
  return ((len > 0 ? a[at]! << 24 : 0) | (len > 1 ? a[at + 1]! << 16 : 0) | (len > 2 ? a[at + 2]! << 8 : 0) | (len > 3 ? a[at + 3]! : 0)) >>> 0;
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
    const e = this.entry(this.n++);
    const m = this.meta;
    m[e] = at;
    m[e + 1] = kl;
    m[e + 2] = vl;
    m[e + 3] = r;
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

  private off(i: number): number {
    return this.meta[this.entry(i)]!;
  }
  private klen(i: number): number {
    return this.meta[this.entry(i) + 1]!;
  }

  /** Byte order of the keys of records i and j whose 8-byte prefixes are equal, then arrival. */
  private tieBreak = (i: number, j: number): number => {
    const a = this.arena;
    const li = this.klen(i);
    const lj = this.klen(j);
    const oi = this.off(i);
    const oj = this.off(j);
    const m = li < lj ? li : lj;
    for (let k = 8; k < m; k++) {
      const d = a[oi + k]! - a[oj + k]!;
      if (d !== 0) return d;
    }
    return li - lj || i - j;
  };

  /**
   * Sorts the buffer partition by partition and hands each sorted partition to `write`: a
   * counting sort by partition, then per partition a stable LSD radix sort on the key's first
   * 8 bytes (carried beside the indexes, so the passes read memory in order), then the rare
   * runs of equal prefixes sorted by their remaining bytes.
   */
  private sortPartitions(write: (r: number, s: SortedPartition) => void): void {
    const n = this.n;
    const P = this.o.nReduce;
    const m = this.meta;
    const top = m.length - ENTRY_WORDS;
    const bounds = new Int32Array(P + 1);
    for (let i = 0; i < n; i++) bounds[m[top - ENTRY_WORDS * i + 3]! + 1]!++;
    let largest = 0;
    for (let p = 0; p < P; p++) {
      largest = Math.max(largest, bounds[p + 1]!);
      bounds[p + 1]! += bounds[p]!;
    }
    const order = new Int32Array(n);
    const next = bounds.slice(0, P);
    for (let i = 0; i < n; i++) order[next[m[top - ENTRY_WORDS * i + 3]!]!++] = i;
    // Filled after the sort, so both buffers of the radix passes share them.
    const entries = { off: new Uint32Array(largest), kl: new Uint32Array(largest), vl: new Uint32Array(largest) };
    let cur: SortedPartition = { idx: new Int32Array(largest), p0: new Uint32Array(largest), p1: new Uint32Array(largest), ...entries, length: 0 };
    let alt: SortedPartition = { idx: new Int32Array(largest), p0: new Uint32Array(largest), p1: new Uint32Array(largest), ...entries, length: 0 };
    const count = new Int32Array(257);
    const a = this.arena;
    for (let p = 0; p < P; p++) {
      const lo = bounds[p]!;
      const len = bounds[p + 1]! - lo;
      for (let k = 0; k < len; k++) {
        const i = order[lo + k]!;
        const e = top - ENTRY_WORDS * i;
        const o = m[e]!;
        const kl = m[e + 1]!;
        cur.idx[k] = i;
        cur.p0[k] = word(a, o, kl);
        cur.p1[k] = kl > 4 ? word(a, o + 4, kl - 4) : 0;
      }
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
      this.gather(cur, 0, len);
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
          this.sortRun(cur.idx, k, e);
          this.gather(cur, k, e);
        }
        k = e;
      }
      cur.length = len;
      write(p, cur);
    }
  }

  /** Copies the entries of s.idx[from, to) into s.off, s.kl and s.vl at the same positions. */
  private gather(s: SortedPartition, from: number, to: number): void {
    const m = this.meta;
    const top = m.length - ENTRY_WORDS;
    for (let k = from; k < to; k++) {
      const e = top - ENTRY_WORDS * s.idx[k]!;
      s.off[k] = m[e]!;
      s.kl[k] = m[e + 1]!;
      s.vl[k] = m[e + 2]!;
    }
  }

  /** Stable sort of idx[lo, hi) by the bytes past the prefix: insertion sort when short. */
  private sortRun(idx: Int32Array, lo: number, hi: number): void {
    if (hi - lo > 16) {
      idx.set(Array.from(idx.subarray(lo, hi)).sort(this.tieBreak), lo);
      return;
    }
    for (let k = lo + 1; k < hi; k++) {
      const x = idx[k]!;
      let j = k - 1;
      while (j >= lo && this.tieBreak(idx[j]!, x) > 0) {
        idx[j + 1] = idx[j]!;
        j--;
      }
      idx[j + 1] = x;
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
