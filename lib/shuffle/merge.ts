import { copyBytes, decodeRange, FileSink, RunReader } from './format.js';
import { foldInto, type Combine } from './fold.js';

/**
 * Byte order of two keys, negative, zero or positive. Keys are mostly short, and for them a loop
 * here beats a call into Buffer.compare, which the merge makes several times per record.
 */
export function compareBytes(a: Buffer, b: Buffer): number {
  return compareRange(a, 0, a.length, b, 0, b.length);
}

/** Byte order of a[as, as + al) and b[bs, bs + bl). */
function compareRange(a: Buffer, as: number, al: number, b: Buffer, bs: number, bl: number): number {
  const n = al < bl ? al : bl;
  if (n > 32) return a.compare(b, bs, bs + bl, as, as + al);
  for (let i = 0; i < n; i++) {
    const d = a[as + i]! - b[bs + i]!;
    if (d !== 0) return d;
  }
  return al - bl;
}

/** Whether a[as, as + al) and b[bs, bs + bl) hold the same bytes. */
function sameRange(a: Buffer, as: number, al: number, b: Buffer, bs: number, bl: number): boolean {
  if (al !== bl) return false;
  if (al > 32) return a.compare(b, bs, bs + bl, as, as + al) === 0;
  for (let i = 0; i < al; i++) if (a[as + i] !== b[bs + i]) return false;
  return true;
}

/**
 * Up to four bytes of a key from `at`, big-endian, zero-padded: keys in byte order have their
 * words in the same order, or equal ones. The map buffer sorts by it, the merge compares by it.
 */
export function word(a: Uint8Array, at: number, len: number): number {
  return ((len > 0 ? a[at]! << 24 : 0) | (len > 1 ? a[at + 1]! << 16 : 0) | (len > 2 ? a[at + 2]! << 8 : 0) | (len > 3 ? a[at + 3]! : 0)) >>> 0;
}

/**
 * A k-way merge over sorted runs, grouping equal keys. Memory is bounded by one buffer per run
 * plus the values of the current key.
 *
 * The heap compares the readers' key words (the first four bytes, kept as numbers) before
 * any bytes, so keys that differ early (most keys of a high-cardinality job) are told apart by
 * one comparison, and it sifts by moving a hole rather than by swapping pairs.
 */
export class RunMerger {
  private readonly readers: RunReader[];
  /** Min-heap of reader indexes ordered by current key (then index, for stability). */
  private readonly heap: number[] = [];
  /** Per reader, the word (see `word`) of its current key. */
  private readonly pre: Float64Array;

  constructor(files: string[]) {
    this.readers = files.map((f) => new RunReader(f));
    this.pre = new Float64Array(this.readers.length);
    this.readers.forEach((rd, i) => {
      if (!rd.next()) return;
      this.pre[i] = word(rd.data, rd.keyStart, rd.keyLength);
      this.push(i);
    });
  }

  private less(a: number, b: number): boolean {
    const pa = this.pre[a]!;
    const pb = this.pre[b]!;
    if (pa !== pb) return pa < pb;
    const x = this.readers[a]!;
    const y = this.readers[b]!;
    const c = compareRange(x.data, x.keyStart, x.keyLength, y.data, y.keyStart, y.keyLength);
    return c < 0 || (c === 0 && a < b);
  }

  private push(i: number): void {
    const h = this.heap;
    let j = h.length;
    h.push(i);
    while (j > 0) {
      const p = (j - 1) >> 1;
      if (!this.less(i, h[p]!)) break;
      h[j] = h[p]!;
      j = p;
    }
    h[j] = i;
  }

  /** Moves heap[0] down to its place. */
  private siftDown(): void {
    const h = this.heap;
    const n = h.length;
    const x = h[0]!;
    let j = 0;
    for (;;) {
      const l = 2 * j + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(h[r]!, h[l]!) ? r : l;
      if (!this.less(h[c]!, x)) break;
      h[j] = h[c]!;
      j = c;
    }
    h[j] = x;
  }

  /** Advances the reader at the top of the heap. */
  private pop(): void {
    const top = this.heap[0]!;
    const rd = this.readers[top]!;
    if (rd.next()) {
      this.pre[top] = word(rd.data, rd.keyStart, rd.keyLength);
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
      const key = Buffer.allocUnsafe(top.keyLength);
      copyBytes(top.data, top.keyStart, key, 0, key.length);
      const values: string[] = [];
      while (this.heap.length > 0) {
        const rd = this.readers[this.heap[0]!]!;
        if (!sameRange(rd.data, rd.keyStart, rd.keyLength, key, 0, key.length)) break;
        const at = rd.keyStart + rd.keyLength;
        values.push(decodeRange(rd.data, at, at + rd.valueLength, encoding));
        this.pop();
      }
      yield [key, values];
    }
  }

  /** The record at the head of the merge, its key and value views valid until `advance`; undefined at the end. */
  head(): RunReader | undefined {
    return this.heap.length > 0 ? this.readers[this.heap[0]!] : undefined;
  }

  advance(): void {
    this.pop();
  }

  /**
   * Writes the merged records to `sink`. Without a combiner, and for a key with a single value,
   * records are copied as bytes; only keys with several values are decoded and combined.
   */
  copyTo(sink: FileSink, combine: Combine | undefined, encoding: BufferEncoding): void {
    let scratch = Buffer.allocUnsafe(1 << 16);
    while (this.heap.length > 0) {
      const top = this.readers[this.heap[0]!]!;
      const kl = top.keyLength;
      const vl = top.valueLength;
      if (!combine) {
        sink.writeRawRecord(top.data, top.keyStart, kl, vl);
        this.pop();
        continue;
      }
      // The reader's record dies with its next one: keep the key (and value) in scratch.
      if (kl + vl > scratch.length) scratch = Buffer.allocUnsafe(Math.max(kl + vl, scratch.length * 2));
      copyBytes(top.data, top.keyStart, scratch, 0, kl + vl);
      this.pop();
      const sameKey = () => {
        if (this.heap.length === 0) return false;
        const rd = this.readers[this.heap[0]!]!;
        return sameRange(rd.data, rd.keyStart, rd.keyLength, scratch, 0, kl);
      };
      if (!sameKey()) {
        sink.writeRawRecord(scratch, 0, kl, vl);
        continue;
      }
      const key = decodeRange(scratch, 0, kl, encoding);
      const values = [decodeRange(scratch, kl, kl + vl, encoding)];
      do {
        const rd = this.readers[this.heap[0]!]!;
        const at = rd.keyStart + rd.keyLength;
        values.push(decodeRange(rd.data, at, at + rd.valueLength, encoding));
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

/** Merges sorted runs into one map output file (not fsynced: see MapOutputBuffer.finish). */
export function mergeRunsToFile(files: string[], out: string, combine: Combine | undefined, encoding: BufferEncoding): number {
  const merger = new RunMerger(files);
  const sink = new FileSink(out, { sync: false });
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
