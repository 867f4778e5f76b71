import fs from 'node:fs';
import path from 'node:path';
import { FileSink, RunReader } from './codec.js';
import { tempPathFor } from './layout.js';

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
  /** Bytes of buffered pairs (encoded, plus META_BYTES each) before a spill. */
  memoryBytes: number;
  /** Where spill runs go (removed by finish/abort). */
  spillDir: string;
  /** Unique per attempt, so concurrent attempts of a task never share a temp file. */
  tag: string;
  /** utf8 for apps (string keys); latin1 for streaming jobs, whose keys are raw bytes. */
  encoding: BufferEncoding;
}

/** Bookkeeping per buffered record (offset, two lengths, partition, two prefix words, sort order), counted against the budget. */
const META_BYTES = 36;
/** Values handed to the combiner at once; partial results are combined again (a combiner is associative). */
const COMBINE_BATCH = 1024;
/** The arena starts small so that small tasks do not touch a whole budget's worth of memory. */
const FIRST_ARENA = 4 << 20;

export interface MapOutputStats {
  records: number;
  spills: number;
  outputBytes: number;
}

type Combine = (key: string, values: string[]) => string;

/**
 * Encodes `s` at `pos` and returns its byte length. Short ASCII strings, nearly every key and
 * value, are copied by hand: cheaper than a call into Buffer#write.
 */
function encodeInto(s: string, buf: Buffer, pos: number, encoding: BufferEncoding): number {
  const n = s.length;
  if (n <= 64) {
    let i = 0;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[pos + i++] = c;
    }
    if (i === n) return n;
  }
  return buf.write(s, pos, encoding);
}

/** Up to four bytes from `at`, big-endian, zero-padded. */
function word(a: Buffer, at: number, len: number): number {
  return ((len > 0 ? a[at]! << 24 : 0) | (len > 1 ? a[at + 1]! << 16 : 0) | (len > 2 ? a[at + 2]! << 8 : 0) | (len > 3 ? a[at + 3]! : 0)) >>> 0;
}

/** Folds values in batches, so a key with millions of values never holds them all as strings. */
function foldInto(combine: Combine, key: string, acc: string[]): void {
  if (acc.length >= COMBINE_BATCH) {
    const folded = combine(key, acc);
    acc.length = 0;
    acc.push(folded);
  }
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
  private arena: Buffer;
  private used = 0;
  private n = 0;
  private off = new Float64Array(1024);
  private klen = new Int32Array(1024);
  private vlen = new Int32Array(1024);
  private part = new Int32Array(1024);
  /** Key bytes 0-3 and 4-7, big-endian, zero-padded: most keys sort on these alone. */
  private pre0 = new Uint32Array(1024);
  private pre1 = new Uint32Array(1024);
  private readonly runs: string[][] = [];
  private spillCount = 0;
  records = 0;

  constructor(private readonly o: MapOutputOptions) {
    this.arena = Buffer.allocUnsafe(Math.min(FIRST_ARENA, o.memoryBytes));
    for (let r = 0; r < o.nReduce; r++) this.runs.push([]);
  }

  add(key: string, value: string): void {
    const r = this.o.nReduce === 1 ? 0 : this.o.partition(key, this.o.nReduce);
    if (!(r >= 0 && r < this.o.nReduce && Number.isInteger(r))) {
      throw new RangeError(`partition(${JSON.stringify(key)}, ${this.o.nReduce}) returned ${r}; expected an integer in [0, ${this.o.nReduce})`);
    }
    this.records++;
    const max = this.o.encoding === 'latin1' ? key.length + value.length : 3 * (key.length + value.length);
    if (this.n > 0 && this.used + max + (this.n + 1) * META_BYTES > this.o.memoryBytes) this.spill();
    if (this.used + max > this.arena.length) this.growArena(this.used + max);
    if (this.n === this.off.length) this.growMeta();
    const a = this.arena;
    const at = this.used;
    const kl = encodeInto(key, a, at, this.o.encoding);
    const vl = encodeInto(value, a, at + kl, this.o.encoding);
    const i = this.n++;
    this.off[i] = at;
    this.klen[i] = kl;
    this.vlen[i] = vl;
    this.part[i] = r;
    this.pre0[i] = word(a, at, kl);
    this.pre1[i] = kl > 4 ? word(a, at + 4, kl - 4) : 0;
    this.used = at + kl + vl;
  }

  private growArena(need: number): void {
    const bigger = Buffer.allocUnsafe(Math.max(need, Math.min(this.arena.length * 2, this.o.memoryBytes)));
    this.arena.copy(bigger, 0, 0, this.used);
    this.arena = bigger;
  }

  private growMeta(): void {
    const n = this.off.length * 2;
    const grow = <T extends Float64Array | Int32Array | Uint32Array>(a: T, b: T): T => {
      b.set(a);
      return b;
    };
    this.off = grow(this.off, new Float64Array(n));
    this.klen = grow(this.klen, new Int32Array(n));
    this.vlen = grow(this.vlen, new Int32Array(n));
    this.part = grow(this.part, new Int32Array(n));
    this.pre0 = grow(this.pre0, new Uint32Array(n));
    this.pre1 = grow(this.pre1, new Uint32Array(n));
  }

  /** Byte order of the keys of records i and j whose 8-byte prefixes are equal, then arrival. */
  private tieBreak = (i: number, j: number): number => {
    const a = this.arena;
    const li = this.klen[i]!;
    const lj = this.klen[j]!;
    const oi = this.off[i]!;
    const oj = this.off[j]!;
    const m = li < lj ? li : lj;
    for (let k = 8; k < m; k++) {
      const d = a[oi + k]! - a[oj + k]!;
      if (d !== 0) return d;
    }
    return li - lj || i - j;
  };

  /**
   * Record indexes in output order and where each partition starts: a counting sort by
   * partition, a stable LSD radix sort of each partition by its 8-byte key prefix, then the rare
   * runs of equal prefixes sorted by their remaining bytes.
   */
  private sortedOrder(): { order: Int32Array; bounds: Int32Array } {
    const n = this.n;
    const P = this.o.nReduce;
    const bounds = new Int32Array(P + 1);
    for (let i = 0; i < n; i++) bounds[this.part[i]! + 1]!++;
    for (let p = 0; p < P; p++) bounds[p + 1]! += bounds[p]!;
    const order = new Int32Array(n);
    const next = bounds.slice(0, P);
    for (let i = 0; i < n; i++) order[next[this.part[i]!]!++] = i;
    const tmp = new Int32Array(n);
    const count = new Int32Array(257);
    const { pre0, pre1, klen } = this;
    for (let p = 0; p < P; p++) {
      const lo = bounds[p]!;
      const hi = bounds[p + 1]!;
      if (hi - lo < 2) continue;
      let src = order;
      let dst = tmp;
      for (let pass = 0; pass < 8; pass++) {
        const digits = pass < 4 ? pre1 : pre0;
        const shift = (pass & 3) * 8;
        count.fill(0);
        for (let k = lo; k < hi; k++) count[((digits[src[k]!]! >>> shift) & 0xff) + 1]!++;
        let moves = true;
        for (let b = 1; b <= 256; b++) if (count[b] === hi - lo) moves = false;
        if (!moves) continue; // every record has this byte
        for (let b = 0; b < 256; b++) count[b + 1]! += count[b]!;
        for (let k = lo; k < hi; k++) {
          const i = src[k]!;
          dst[lo + count[(digits[i]! >>> shift) & 0xff]!++] = i;
        }
        const t = src;
        src = dst;
        dst = t;
      }
      if (src !== order) order.set(src.subarray(lo, hi), lo);
      for (let k = lo; k < hi; ) {
        const first = order[k]!;
        const a0 = pre0[first]!;
        const a1 = pre1[first]!;
        const len = klen[first]!;
        let e = k + 1;
        let allEqual = len <= 8;
        while (e < hi && pre0[order[e]!] === a0 && pre1[order[e]!] === a1) {
          if (klen[order[e]!] !== len) allEqual = false;
          e++;
        }
        // Equal prefixes and equal lengths of at most 8 bytes: equal keys, already in arrival order.
        if (e - k > 1 && !allEqual) this.sortRun(order, k, e);
        k = e;
      }
    }
    return { order, bounds };
  }

  /** Stable sort of order[lo, hi) by the bytes past the prefix: insertion sort when short. */
  private sortRun(order: Int32Array, lo: number, hi: number): void {
    if (hi - lo > 16) {
      order.set(Array.from(order.subarray(lo, hi)).sort(this.tieBreak), lo);
      return;
    }
    for (let k = lo + 1; k < hi; k++) {
      const x = order[k]!;
      let j = k - 1;
      while (j >= lo && this.tieBreak(order[j]!, x) > 0) {
        order[j + 1] = order[j]!;
        j--;
      }
      order[j + 1] = x;
    }
  }

  private sameKey(i: number, j: number): boolean {
    const kl = this.klen[i]!;
    if (kl !== this.klen[j] || this.pre0[i] !== this.pre0[j] || this.pre1[i] !== this.pre1[j]) return false;
    const a = this.arena;
    const oi = this.off[i]!;
    const oj = this.off[j]!;
    for (let k = 8; k < kl; k++) if (a[oi + k] !== a[oj + k]) return false;
    return true;
  }

  /** Writes records order[lo, hi) of one partition, folding each key's values with the combiner. */
  private writeRange(sink: FileSink, order: Int32Array, lo: number, hi: number): void {
    const a = this.arena;
    const combine = this.o.combine;
    const enc = this.o.encoding;
    for (let k = lo; k < hi; ) {
      const i = order[k]!;
      let e = k + 1;
      if (combine) while (e < hi && this.sameKey(i, order[e]!)) e++;
      if (e - k === 1 || !combine) {
        sink.writeRawRecord(a, this.off[i]!, this.klen[i]!, this.vlen[i]!);
        k++;
        continue;
      }
      const ko = this.off[i]!;
      const key = a.toString(enc, ko, ko + this.klen[i]!);
      const values: string[] = [];
      for (; k < e; k++) {
        const j = order[k]!;
        const vo = this.off[j]! + this.klen[j]!;
        values.push(a.toString(enc, vo, vo + this.vlen[j]!));
        foldInto(combine, key, values);
      }
      sink.writeRecord(key, values.length === 1 ? values[0]! : combine(key, values), enc);
    }
  }

  private writeFile(file: string, order: Int32Array, lo: number, hi: number): number {
    const sink = new FileSink(file);
    try {
      this.writeRange(sink, order, lo, hi);
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
  }

  private spill(): void {
    fs.mkdirSync(this.o.spillDir, { recursive: true });
    const { order, bounds } = this.sortedOrder();
    for (let r = 0; r < this.o.nReduce; r++) {
      if (bounds[r] === bounds[r + 1]) continue;
      const file = path.join(this.o.spillDir, `.spill-${this.o.tag}-${this.spillCount}-${r}`);
      this.runs[r]!.push(file);
      this.writeFile(file, order, bounds[r]!, bounds[r + 1]!);
    }
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
      const sorted = spilled ? undefined : this.sortedOrder();
      for (let r = 0; r < this.o.nReduce; r++) {
        const finalPath = finalPaths[r]!;
        const tmp = tempPathFor(finalPath, this.o.tag);
        if (sorted) outputBytes += this.writeFile(tmp, sorted.order, sorted.bounds[r]!, sorted.bounds[r + 1]!);
        else outputBytes += mergeRunsToFile(this.runs[r]!, tmp, this.o.combine, this.o.encoding);
        fs.renameSync(tmp, finalPath);
      }
    } finally {
      this.removeSpills();
    }
    this.clear();
    return { records: this.records, spills: this.spillCount, outputBytes };
  }

  removeSpills(): void {
    for (const files of this.runs) {
      for (const f of files) fs.rmSync(f, { force: true });
      files.length = 0;
    }
  }
}

/**
 * A k-way merge over sorted runs, grouping equal keys. Memory is bounded by one buffer per run
 * plus the values of the current key.
 */
export class RunMerger {
  private readonly readers: RunReader[];
  /** Min-heap of reader indexes ordered by current key (then index, for stability). */
  private readonly heap: number[] = [];

  constructor(files: string[]) {
    this.readers = files.map((f) => new RunReader(f));
    this.readers.forEach((rd, i) => {
      if (rd.next()) this.push(i);
    });
  }

  private less(a: number, b: number): boolean {
    const c = Buffer.compare(this.readers[a]!.key, this.readers[b]!.key);
    return c < 0 || (c === 0 && a < b);
  }

  private push(i: number): void {
    const h = this.heap;
    h.push(i);
    let j = h.length - 1;
    while (j > 0) {
      const p = (j - 1) >> 1;
      if (!this.less(h[j]!, h[p]!)) break;
      [h[j], h[p]] = [h[p]!, h[j]!];
      j = p;
    }
  }

  private siftDown(): void {
    const h = this.heap;
    let j = 0;
    for (;;) {
      const l = 2 * j + 1;
      const r = l + 1;
      let m = j;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === j) return;
      [h[j], h[m]] = [h[m]!, h[j]!];
      j = m;
    }
  }

  /** Advances the reader at the top of the heap. */
  private pop(): void {
    const top = this.heap[0]!;
    if (this.readers[top]!.next()) {
      this.siftDown();
    } else {
      const last = this.heap.pop()!;
      if (this.heap.length > 0) {
        this.heap[0] = last;
        this.siftDown();
      }
    }
  }

  /** Yields each distinct key (bytes, copied) with all its values, keys in byte order. */
  *groups(encoding: BufferEncoding): Generator<[Buffer, string[]]> {
    while (this.heap.length > 0) {
      const top = this.readers[this.heap[0]!]!;
      const key = Buffer.from(top.key);
      const values: string[] = [];
      while (this.heap.length > 0) {
        const rd = this.readers[this.heap[0]!]!;
        if (!rd.key.equals(key)) break;
        values.push(rd.value.toString(encoding));
        this.pop();
      }
      yield [key, values];
    }
  }

  /**
   * Writes the merged records to `sink`. Without a combiner, and for a key with a single value,
   * records are copied as bytes; only keys with several values are decoded and combined.
   */
  copyTo(sink: FileSink, combine: Combine | undefined, encoding: BufferEncoding): void {
    let scratch = Buffer.allocUnsafe(1 << 16);
    while (this.heap.length > 0) {
      const top = this.readers[this.heap[0]!]!;
      if (!combine) {
        sink.writeRecordBytes(top.key, top.value);
        this.pop();
        continue;
      }
      // The reader's views die with its next record: keep the key (and value) in scratch.
      const kl = top.key.length;
      const vl = top.value.length;
      if (kl + vl > scratch.length) scratch = Buffer.allocUnsafe(Math.max(kl + vl, scratch.length * 2));
      scratch.set(top.key, 0);
      scratch.set(top.value, kl);
      this.pop();
      const sameKey = () => {
        if (this.heap.length === 0) return false;
        const k = this.readers[this.heap[0]!]!.key;
        return k.length === kl && scratch.compare(k, 0, kl, 0, kl) === 0;
      };
      if (!sameKey()) {
        sink.writeRawRecord(scratch, 0, kl, vl);
        continue;
      }
      const key = scratch.toString(encoding, 0, kl);
      const values = [scratch.toString(encoding, kl, kl + vl)];
      do {
        values.push(this.readers[this.heap[0]!]!.value.toString(encoding));
        this.pop();
        foldInto(combine, key, values);
      } while (sameKey());
      sink.writeRecord(key, values.length === 1 ? values[0]! : combine(key, values), encoding);
    }
  }

  close(): void {
    for (const r of this.readers) r.close();
  }
}

function mergeRunsToFile(files: string[], out: string, combine: Combine | undefined, encoding: BufferEncoding): number {
  const merger = new RunMerger(files);
  const sink = new FileSink(out);
  try {
    merger.copyTo(sink, combine, encoding);
    sink.close();
  } catch (err) {
    sink.abort();
    throw err;
  } finally {
    merger.close();
  }
  return sink.bytesWritten;
}
