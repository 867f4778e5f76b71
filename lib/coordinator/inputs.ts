import fs from 'node:fs';
import path from 'node:path';
import { InputNotFoundError } from '../errors.js';
import { sniffCompression } from '../storage/compression.js';
import type { InputSplit } from './scheduler.js';

/**
 * Expands glob patterns (for callers whose shell did not). Paths stay exactly as given: a plain
 * path is not rewritten, and a glob yields paths relative to `cwd` as the pattern wrote them.
 * Nothing is stat'ed beyond telling a pattern from a path: planMapTasks checks each file.
 */
export async function expandPatterns(patterns: string[], cwd: string): Promise<string[]> {
  const out: string[] = [];
  for (const p of patterns) {
    if (!fs.existsSync(path.resolve(cwd, p)) && /[*?[\]{}()!]/.test(p)) {
      const { glob } = await import('tinyglobby');
      const matches = (await glob(p, { cwd, onlyFiles: true, expandDirectories: false, absolute: path.isAbsolute(p) })).sort();
      if (matches.length === 0) throw new InputNotFoundError(`Input pattern \`${p}\` matched no files`, { path: p });
      out.push(...matches);
      continue;
    }
    out.push(p);
  }
  return out;
}

/** expandPatterns, then checks that every input is a readable regular file. */
export async function expandInputs(patterns: string[], cwd: string): Promise<string[]> {
  const out = await expandPatterns(patterns, cwd);
  for (const p of out) checkInputFile(p, cwd);
  return out;
}

export function checkInputFile(p: string, cwd: string): number {
  const abs = path.resolve(cwd, p);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    throw new InputNotFoundError(`Input \`${p}\` does not exist`, { path: p });
  }
  if (!st.isFile()) throw new InputNotFoundError(`Input \`${p}\` is not a regular file`, { path: p });
  try {
    fs.accessSync(abs, fs.constants.R_OK);
  } catch {
    throw new InputNotFoundError(`Input \`${p}\` is not readable`, { path: p });
  }
  return st.size;
}

/**
 * Plans map tasks: a file larger than `splitBytes` becomes several splits (the reader cuts them
 * at line boundaries); with `pack`, small files are grouped into tasks of up to `splitBytes`.
 * Compressed files (gzip, brotli) are never cut; unreadable formats are refused here, before
 * any work starts.
 */
export function planMapTasks(inputs: string[], cwd: string, splitBytes: number, pack: boolean): InputSplit[][] {
  const tasks: InputSplit[][] = [];
  let packed: InputSplit[] = [];
  let packedBytes = 0;
  for (const p of inputs) {
    const size = checkInputFile(p, cwd);
    // A compressed file cannot be entered mid-stream: it is one split whatever its size.
    const compressed = size > 0 && sniffCompression(path.resolve(cwd, p), p) !== undefined;
    if (size > splitBytes && !compressed) {
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
