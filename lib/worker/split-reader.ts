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
  if (split.start === 0 && split.end === -1 && fs.statSync(file).size > 0) {
    const format = sniffCompression(file, split.path);
    if (format) return decompressFile(file, format, split.path);
  }
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const end = split.end === -1 ? size : Math.min(split.end, size);
    let begin = split.start;
    if (begin > 0) {
      // Start after the first newline at or after start-1.
      const nl = findNewline(fd, begin - 1, size);
      begin = nl === -1 ? size : nl + 1;
    }
    if (begin >= end) return Buffer.alloc(0);
    let stop = end;
    if (stop < size) {
      // The line starting before `end` runs to its newline.
      const nl = findNewline(fd, stop - 1, size);
      stop = nl === -1 ? size : nl + 1;
    }
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
