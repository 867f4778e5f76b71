import fs from 'node:fs';
import path from 'node:path';
import { InputNotFoundError } from '../errors.js';
import type { InputSplit } from './scheduler.js';

/**
 * Expands glob patterns (for callers whose shell did not) and checks that every input is a
 * readable regular file. Paths stay exactly as given: a plain path is not rewritten, and a
 * glob yields paths relative to `cwd` as the pattern wrote them.
 */
export async function expandInputs(patterns: string[], cwd: string): Promise<string[]> {
  const out: string[] = [];
  for (const p of patterns) {
    if (!fs.existsSync(path.resolve(cwd, p)) && /[*?[\]{}()!]/.test(p)) {
      const { glob } = await import('tinyglobby');
      const matches = (await glob(p, { cwd, onlyFiles: true, expandDirectories: false, absolute: path.isAbsolute(p) })).sort();
      if (matches.length === 0) throw new InputNotFoundError(`Input pattern \`${p}\` matched no files`);
      out.push(...matches);
      continue;
    }
    out.push(p);
  }
  for (const p of out) checkInputFile(p, cwd);
  return out;
}

export function checkInputFile(p: string, cwd: string): number {
  const abs = path.resolve(cwd, p);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    throw new InputNotFoundError(`Input \`${p}\` does not exist`);
  }
  if (!st.isFile()) throw new InputNotFoundError(`Input \`${p}\` is not a regular file`);
  try {
    fs.accessSync(abs, fs.constants.R_OK);
  } catch {
    throw new InputNotFoundError(`Input \`${p}\` is not readable`);
  }
  return st.size;
}

/**
 * Plans map tasks: a file larger than `splitBytes` becomes several splits (the reader cuts them
 * at line boundaries); with `pack`, small files are grouped into tasks of up to `splitBytes`.
 */
export function planMapTasks(inputs: string[], cwd: string, splitBytes: number, pack: boolean): InputSplit[][] {
  const tasks: InputSplit[][] = [];
  let packed: InputSplit[] = [];
  let packedBytes = 0;
  for (const p of inputs) {
    const size = checkInputFile(p, cwd);
    if (size > splitBytes) {
      // As many splits as the size needs, all of one size: a short last split would leave
      // workers idle while the others finish full ones.
      const n = Math.ceil(size / splitBytes);
      const each = Math.ceil(size / n);
      for (let start = 0; start < size; start += each) {
        const end = start + each >= size ? -1 : start + each;
        tasks.push([{ path: p, start, end }]);
      }
      continue;
    }
    if (!pack) {
      tasks.push([{ path: p, start: 0, end: -1 }]);
      continue;
    }
    if (packed.length > 0 && packedBytes + size > splitBytes) {
      tasks.push(packed);
      packed = [];
      packedBytes = 0;
    }
    packed.push({ path: p, start: 0, end: -1 });
    packedBytes += size;
  }
  if (packed.length > 0) tasks.push(packed);
  return tasks;
}

/**
 * Reads one split as bytes. A line belongs to the split in which it starts (Hadoop's rule): a
 * split that does not begin at 0 skips the partial line it begins in, and every split reads
 * past its end to finish its last line.
 *
 * `scratch` gives the memory to read into (a buffer of at least `n` bytes); the result is a
 * view of it. A worker passes one buffer for all its map tasks: a fresh one per split is tens of
 * megabytes of new pages to fault in and new external memory, which V8 answers with a full
 * collection.
 */
export function readSplitBytes(file: string, split: InputSplit, scratch: (n: number) => Buffer = Buffer.allocUnsafe): Buffer {
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
