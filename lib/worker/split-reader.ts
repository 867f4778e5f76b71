import { isAscii } from 'node:buffer';
import fs from 'node:fs';
import type { InputSplit } from '../coordinator/scheduler.js';
import { decompressFile, sniffCompression } from '../storage/compression.js';

/**
 * Reads one split as bytes (a whole compressed file decompressed: see lib/storage/compression.ts). A line belongs to the split in which it starts (Hadoop's rule): a
 * split that does not begin at 0 skips the partial line it begins in, and every split reads
 * past its end to finish its last line.
 *
 * `scratch` gives the memory to read into (a buffer of at least `n` bytes); the result is a
 * view of it. A worker passes one buffer for all its map tasks: a fresh one per split is tens of
 * megabytes of new pages to fault in and new external memory, which V8 answers with a full
 * collection.
 */
export function readSplitBytes(file: string, split: InputSplit, scratch: (n: number) => Buffer = Buffer.allocUnsafe): Buffer {
  // Compressed input is planned as whole files; it is read decompressed.
  const whole = decompressedWhole(file, split);
  if (whole) return whole;
  const fd = fs.openSync(file, 'r');
  try {
    const [begin, stop] = lineRange(fd, split);
    if (begin >= stop) return Buffer.alloc(0);
    const buf = scratch(stop - begin);
    let off = 0;
    while (off < stop - begin) {
      const n = fs.readSync(fd, buf, off, stop - begin - off, begin + off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A piece's text, as UTF-8. Text that is all ASCII, the common case, is decoded as Latin-1,
 * which gives the same string, and one of a megabyte or more Node keeps outside V8's heap, in
 * malloc's memory, which the next piece can have again once V8 has let the last one go; a UTF-8
 * decode makes each large piece a new heap object on pages the kernel has to fault in and zero.
 * On the 256 MiB bench corpus: 40% fewer page faults in a worker, and the decode itself twice as
 * fast. `outsideHeap` is the text's size when it is not on V8's heap (see PieceSize.observe).
 */
export function decodePiece(bytes: Buffer): { text: string; outsideHeap: number } {
  if (isAscii(bytes)) return { text: bytes.toString('latin1'), outsideHeap: bytes.length >= EXTERNAL_TEXT_BYTES ? bytes.length : 0 };
  return { text: bytes.toString('utf8'), outsideHeap: 0 };
}

/** From this size on, Node keeps a Latin-1 string outside V8's heap. */
const EXTERNAL_TEXT_BYTES = 0xfbee9;

/** A file (a split) up to this size is one map call with its whole contents, as in the MIT lab. */
export const WHOLE_FILE_BYTES = 1024 * 1024;

/**
 * How much text one map call gets when a split is larger than WHOLE_FILE_BYTES, whatever the
 * `--memory`: 64 KiB. A natural app (a regex, a pair object per word) holds some 30 bytes of
 * heap per byte of its input until its pairs are taken in: a whole 64 MiB split handed to one
 * call cost 3 GB. What a call holds must also die young: V8 copies whatever is alive at each
 * young-generation collection and promotes what survives two. At 64 KiB a call's garbage
 * (about 2 MB for the README's app) is gone before the next collection; at 256 KiB the same
 * app spent 45% longer (5.4 s against 3.7 s for 64 MiB on one worker), mostly collecting, and
 * at 1 MiB its pairs piled up as old garbage.
 */
export function mapChunkBytes(_memoryBytes: number, splitBytes: number): number {
  return splitBytes <= WHOLE_FILE_BYTES ? WHOLE_FILE_BYTES : 64 * 1024;
}

/**
 * Pairs per byte of input at which a piece stays at the base size: a pair per word of English is
 * about 0.18, so such an app never grows its pieces; one that returns a pair per 100 bytes gets
 * pieces ten times the base.
 */
const DENSE_PAIRS_PER_BYTE = 0.1;

/**
 * A sparse app's piece grows until one call returns `--memory`/BUDGET_PER_PAIR pairs: about a
 * sixteenth of the budget in pair objects of some 128 bytes each, as its text may be up to an
 * eighth. Fewer, larger calls matter to such an app: each call returns its distinct keys again.
 */
const BUDGET_PER_PAIR = 2048;

/** The size of the next piece, read at every cut, and the largest it may become. */
export interface PieceSizing {
  readonly next: number;
  readonly max: number;
}

/**
 * The size of the next map call's piece, learned from what the calls so far returned. A piece
 * starts at mapChunkBytes, the size that bounds an app returning a pair per word. An app that
 * returns few pairs per byte (an index of distinct words, a filter, a sampler) pays for every
 * call with pairs it returns again and again for the same keys, so its pieces grow until a call
 * returns `--memory`/BUDGET_PER_PAIR pairs, up to 1/8 of `--memory`; a call as dense as
 * DENSE_PAIRS_PER_BYTE puts it back to the base.
 * A heap past half of `--memory` after a call puts the size back to the base. A worker carries
 * the size it reached from one split to the next of the same job.
 */
export class PieceSize implements PieceSizing {
  next: number;
  readonly max: number;
  private readonly base: number;
  private readonly pairBudget: number;

  /** `learned` is the size an earlier split of the same job ended at (see `learned`), if any. */
  constructor(private readonly memoryBytes: number, splitBytes: number, learned = 0) {
    this.base = mapChunkBytes(memoryBytes, splitBytes);
    this.max = splitBytes <= WHOLE_FILE_BYTES ? this.base : Math.max(this.base, Math.floor(memoryBytes / 8));
    this.next = Math.max(this.base, Math.min(this.max, learned));
    this.pairBudget = Math.max(this.base * DENSE_PAIRS_PER_BYTE, Math.floor(memoryBytes / BUDGET_PER_PAIR));
  }

  /**
   * What the next split of the same app and budget may start at: the size this one reached, so a
   * worker learns once, not again for every split (a 16 MiB split of a sparse app would
   * otherwise spend most of its calls growing). Nothing is learned from a whole-file split.
   */
  get learned(): number {
    return this.max > this.base ? this.next : 0;
  }

  /** One map call took `bytes` of input and returned `pairs` pairs; `heapBytes` is the heap in use after it. */
  observe(bytes: number, pairs: number, heapBytes: number): void {
    const dense = pairs >= bytes * DENSE_PAIRS_PER_BYTE && bytes >= this.next / 2;
    if (heapBytes > this.memoryBytes / 2 || dense) {
      this.next = this.base;
      return;
    }
    if (bytes < this.next / 2) return; // a split's short last piece says little
    // Growth of at most 4x a call: the pairs per byte fall as a piece grows, never rise much.
    const fit = Math.floor((bytes * this.pairBudget) / Math.max(pairs, 1));
    this.next = Math.max(this.base, Math.min(this.max, fit, this.next * 4));
  }
}

/**
 * Reads one split as a sequence of pieces of about `chunkBytes`, each cut after a newline (the
 * same lines readSplitBytes returns, in order, each line whole: a line longer than a chunk is a
 * piece of its own). A split no larger than `chunkBytes` is one piece. Each piece is a view of
 * a reused buffer, valid until the next one is asked for.
 */
export function* readSplitChunks(file: string, split: InputSplit, size: number | PieceSizing, scratch: (n: number) => Buffer = Buffer.allocUnsafe): Generator<Buffer> {
  const sizer = typeof size === 'number' ? { next: size, max: size } : size;
  const whole = decompressedWhole(file, split);
  if (whole) {
    yield* cutAtLines(whole, sizer);
    return;
  }
  const fd = fs.openSync(file, 'r');
  try {
    const [begin, stop] = lineRange(fd, split);
    if (begin >= stop) return;
    let buf = scratch(Math.min(sizer.max, stop - begin));
    let pos = begin;
    let carry = 0;
    for (;;) {
      const chunkBytes = Math.min(sizer.next, sizer.max);
      // Reads reach only to the current piece (further only for a line longer than it), so a cut
      // moves just the partial line after it to the front, never the rest of a large buffer.
      const room = carry < chunkBytes ? Math.min(chunkBytes, buf.length) : buf.length;
      const want = Math.min(room - carry, stop - pos);
      const n = want > 0 ? fs.readSync(fd, buf, carry, want, pos) : 0;
      pos += n;
      const filled = carry + n;
      if (pos >= stop || n === 0) {
        yield* cutAtLines(buf.subarray(0, filled), sizer);
        return;
      }
      // The last line end within the chunk; failing that (a line longer than the chunk), the first.
      let cut = buf.lastIndexOf(10, Math.min(filled, chunkBytes) - 1) + 1;
      if (cut === 0) cut = buf.subarray(0, filled).indexOf(10) + 1;
      if (cut === 0) {
        // No newline yet: the line is longer than the buffer, which grows to hold it.
        buf = grown(buf, buf.length * 2, filled);
        carry = filled;
        continue;
      }
      yield buf.subarray(0, cut);
      buf.copy(buf, 0, cut, filled);
      carry = filled - cut;
    }
  } finally {
    fs.closeSync(fd);
  }
}

function grown(buf: Buffer, bytes: number, keep: number): Buffer {
  const bigger = Buffer.allocUnsafe(bytes);
  buf.copy(bigger, 0, 0, keep);
  return bigger;
}

function* cutAtLines(all: Buffer, sizer: PieceSizing): Generator<Buffer> {
  for (let at = 0; at < all.length; ) {
    let end = at + Math.min(sizer.next, sizer.max);
    if (end >= all.length) end = all.length;
    else {
      const nl = all.lastIndexOf(10, end - 1);
      const next = nl >= at ? nl : all.indexOf(10, end);
      end = next === -1 ? all.length : next + 1;
    }
    yield all.subarray(at, end);
    at = end;
  }
}

/** A compressed file (always planned as one whole split) decompressed; undefined for plain files. */
function decompressedWhole(file: string, split: InputSplit): Buffer | undefined {
  if (split.start === 0 && split.end === -1 && fs.statSync(file).size > 0) {
    const format = sniffCompression(file, split.path);
    if (format) return decompressFile(file, format, split.path);
  }
  return undefined;
}

/** The bytes [begin, stop) of a split: from the first line starting in it to the end of its last. */
function lineRange(fd: number, split: InputSplit): [number, number] {
  const size = fs.fstatSync(fd).size;
  const end = split.end === -1 ? size : Math.min(split.end, size);
  let begin = split.start;
  if (begin > 0) {
    // Start after the first newline at or after start-1.
    const nl = findNewline(fd, begin - 1, size);
    begin = nl === -1 ? size : nl + 1;
  }
  if (begin >= end) return [begin, begin];
  let stop = end;
  if (stop < size) {
    // The line starting before `end` runs to its newline.
    const nl = findNewline(fd, stop - 1, size);
    stop = nl === -1 ? size : nl + 1;
  }
  return [begin, stop];
}

/**
 * A scratch allocator for readSplitBytes that keeps one buffer, grown as needed, for the life
 * of the process. What it returned last is overwritten by the next call.
 */
export function reusableScratch(): (n: number) => Buffer {
  let kept: Buffer | undefined;
  return (n) => {
    if (!kept || kept.length < n) kept = Buffer.allocUnsafe(n);
    return kept;
  };
}

function findNewline(fd: number, from: number, size: number): number {
  const chunk = Buffer.allocUnsafe(64 * 1024);
  for (let pos = from; pos < size; ) {
    const n = fs.readSync(fd, chunk, 0, chunk.length, pos);
    if (n === 0) return -1;
    const i = chunk.subarray(0, n).indexOf(10);
    if (i !== -1) return pos + i;
    pos += n;
  }
  return -1;
}

/** Bytes a split covers before its edges move to line boundaries (a compressed file: its size on disk). */
export function splitSize(file: string, split: InputSplit): number {
  const end = split.end === -1 ? fs.statSync(file).size : split.end;
  return Math.max(0, end - split.start);
}
