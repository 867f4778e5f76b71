import fs from 'node:fs';
import path from 'node:path';
import { FileSink, RunReader, sortByteOrder } from './codec.js';
import { tempPathFor } from './layout.js';

/**
 * The map side of the shuffle. Pairs are buffered per partition (folded by the combiner when
 * the app has one); when the buffer's estimated size passes the memory budget, every partition
 * is sorted and spilled as a run. `finish` merges the runs of each partition into one sorted
 * intermediate file, written under a temp name and renamed into place.
 */
export interface MapOutputOptions {
  nReduce: number;
  partition: (key: string, nReduce: number) => number;
  combine?: ((key: string, values: string[]) => string) | undefined;
  /** Estimated bytes of buffered pairs before a spill. */
  memoryBytes: number;
  /** Where spill runs go (removed by finish/abort). */
  spillDir: string;
  /** Unique per attempt, so concurrent attempts of a task never share a temp file. */
  tag: string;
  /** utf8 for apps (string keys); latin1 for streaming jobs, whose keys are raw bytes. */
  encoding: BufferEncoding;
}

/** Values collected for one key before the combiner folds them. */
const COMBINE_EVERY = 32;
/** Rough per-entry overhead of a JS string pair in arrays/maps, for the memory estimate. */
const ENTRY_OVERHEAD = 64;

export interface MapOutputStats {
  records: number;
  spills: number;
  outputBytes: number;
}

export class MapOutputBuffer {
  private readonly grouped: Array<Map<string, string[]>> = [];
  private bytes = 0;
  private readonly runs: string[][] = [];
  private spillCount = 0;
  records = 0;

  constructor(private readonly o: MapOutputOptions) {
    for (let r = 0; r < o.nReduce; r++) {
      this.grouped.push(new Map());
      this.runs.push([]);
    }
  }

  add(key: string, value: string): void {
    const r = this.o.nReduce === 1 ? 0 : this.o.partition(key, this.o.nReduce);
    if (!(r >= 0 && r < this.o.nReduce && Number.isInteger(r))) {
      throw new RangeError(`partition(${JSON.stringify(key)}, ${this.o.nReduce}) returned ${r}; expected an integer in [0, ${this.o.nReduce})`);
    }
    this.records++;
    // Grouped by key even without a combiner: a spill then sorts distinct keys only, and the
    // values of a key stay in emit order, which is what a stable sort of all pairs would give.
    const g = this.grouped[r]!;
    const vs = g.get(key);
    if (vs === undefined) {
      g.set(key, [value]);
      this.bytes += 2 * (key.length + value.length) + ENTRY_OVERHEAD;
    } else {
      vs.push(value);
      this.bytes += 2 * value.length + 16;
      const combine = this.o.combine;
      if (combine && vs.length >= COMBINE_EVERY) {
        for (const v of vs) this.bytes -= 2 * v.length + 16;
        const folded = combine(key, vs);
        vs.length = 0;
        vs.push(folded);
        this.bytes += 2 * folded.length + 16;
      }
    }
    if (this.bytes > this.o.memoryBytes) this.spill();
  }

  /** Sorted (key, value) pairs of one partition's buffer; the combiner folds each key once more. */
  private *sortedPartition(r: number): Generator<[string, string]> {
    const combine = this.o.combine;
    const g = this.grouped[r]!;
    const keys = sortByteOrder([...g.keys()], this.o.encoding);
    for (const k of keys) {
      const vs = g.get(k)!;
      if (combine) yield [k, vs.length === 1 ? vs[0]! : combine(k, vs)];
      else for (const v of vs) yield [k, v];
    }
  }

  private writeRun(r: number, file: string): number {
    const sink = new FileSink(file);
    try {
      for (const [k, v] of this.sortedPartition(r)) sink.writeRecord(k, v, this.o.encoding);
      sink.close();
    } catch (err) {
      sink.abort();
      throw err;
    }
    return sink.bytesWritten;
  }

  private clear(): void {
    for (let r = 0; r < this.o.nReduce; r++) {
      this.grouped[r]!.clear();
    }
    this.bytes = 0;
  }

  private spill(): void {
    fs.mkdirSync(this.o.spillDir, { recursive: true });
    for (let r = 0; r < this.o.nReduce; r++) {
      const file = path.join(this.o.spillDir, `.spill-${this.o.tag}-${this.spillCount}-${r}`);
      this.writeRun(r, file);
      this.runs[r]!.push(file);
    }
    this.spillCount++;
    this.clear();
  }

  /** Writes `finalPaths[r]` for every partition (temp name, then rename) and removes spills. */
  finish(finalPaths: string[]): MapOutputStats {
    let outputBytes = 0;
    try {
      for (let r = 0; r < this.o.nReduce; r++) {
        const finalPath = finalPaths[r]!;
        const tmp = tempPathFor(finalPath, this.o.tag);
        if (this.runs[r]!.length === 0) {
          outputBytes += this.writeRun(r, tmp);
        } else {
          // Spill what is left so every partition merges from runs alone.
          const rest = path.join(this.o.spillDir, `.spill-${this.o.tag}-${this.spillCount}-${r}`);
          this.writeRun(r, rest);
          this.runs[r]!.push(rest);
          outputBytes += mergeRunsToFile(this.runs[r]!, tmp, this.o.combine, this.o.encoding);
        }
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

  close(): void {
    for (const r of this.readers) r.close();
  }
}

function mergeRunsToFile(
  files: string[],
  out: string,
  combine: ((key: string, values: string[]) => string) | undefined,
  encoding: BufferEncoding,
): number {
  const merger = new RunMerger(files);
  const sink = new FileSink(out);
  try {
    for (const [keyBytes, values] of merger.groups(encoding)) {
      const key = keyBytes.toString(encoding);
      if (combine && values.length > 1) sink.writeRecord(key, combine(key, values), encoding);
      else for (const v of values) sink.writeRecord(key, v, encoding);
    }
    sink.close();
  } catch (err) {
    sink.abort();
    throw err;
  } finally {
    merger.close();
  }
  return sink.bytesWritten;
}
