import fs from 'node:fs';
import path from 'node:path';
import { InputNotFoundError } from '../errors.js';
import { sniffCompression } from '../storage/compression.js';
import { sortByteOrder } from '../shuffle/byte-order.js';
import type { InputSplit } from './scheduler.js';

/**
 * Expands glob patterns (for callers whose shell did not) and directories. Paths stay exactly as
 * given: a plain path is not rewritten, a glob yields paths relative to `cwd` as the pattern
 * wrote them, and a directory yields `<dir>/<relative path>` for each file under it (see
 * filesUnder). Nothing is stat'ed beyond telling a pattern, a directory and a path apart:
 * planMapTasks checks each file.
 */
export async function expandPatterns(patterns: string[], cwd: string): Promise<string[]> {
  const out: string[] = [];
  for (const p of patterns) {
    const abs = path.resolve(cwd, p);
    if (!fs.existsSync(abs) && /[*?[\]{}()!]/.test(p)) {
      const { glob } = await import('tinyglobby');
      const matches = (await glob(p, { cwd, onlyFiles: true, expandDirectories: false, absolute: path.isAbsolute(p) })).sort();
      if (matches.length === 0) throw new InputNotFoundError(`Input pattern \`${p}\` matched no files`, { path: p });
      out.push(...matches);
      continue;
    }
    if (isDirectory(abs)) {
      const files = filesUnder(abs, p);
      if (files.length === 0) {
        throw new InputNotFoundError(`Input directory \`${p}\` holds no files (names starting with '.' or '_' are skipped)`, { path: p });
      }
      const prefix = p.endsWith('/') ? p : `${p}/`;
      out.push(...files.map((f) => prefix + f));
      continue;
    }
    out.push(p);
  }
  return out;
}

function isDirectory(abs: string): boolean {
  try {
    return fs.statSync(abs).isDirectory();
  } catch {
    return false;
  }
}

/** Skipped under an input directory, as Hadoop's FileInputFormat skips them: dot files, and `_SUCCESS`, `_temporary/` and the like. */
export const isHiddenName = (name: string): boolean => name.startsWith('.') || name.startsWith('_');

/**
 * The files under a directory, as `/`-separated paths relative to it, in byte order: regular
 * files (a symlink to one counts) at any depth, skipping hidden names (isHiddenName) and
 * symlinks to directories (which could loop). A job's output directory as an input thus
 * means its `mr-out-*` files.
 */
export function filesUnder(dir: string, shown = dir): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
    } catch (err) {
      const where = rel === '' ? shown : `${shown.replace(/\/$/, '')}/${rel}`;
      throw new InputNotFoundError(`Input directory \`${where}\` cannot be listed: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { path: where });
    }
    for (const e of entries) {
      if (isHiddenName(e.name)) continue;
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else if (e.isFile() || (e.isSymbolicLink() && fs.statSync(path.join(dir, r), { throwIfNoEntry: false })?.isFile())) out.push(r);
    }
  };
  walk('');
  return sortByteOrder(out, 'utf8');
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
 * Packing charges each file this much on top of its size: opening, reading and mapping a file
 * costs something even when it is empty (Spark's `openCostInBytes` plays the same part), so a
 * million empty files still make tasks of bounded length.
 */
export const PACK_FILE_COST = 4 * 1024;

/** Packing aims at this many map tasks per worker, so a worker that finishes early takes another. */
export const PACK_TASKS_PER_WORKER = 4;

/**
 * A split may be this much larger than `splitBytes` rather than leave a sliver of a task (as
 * Hadoop's FileInputFormat does): a file of 32 MiB and a few bytes is two splits of 16M, not
 * three of 11M, each of which pays a task's fixed costs again.
 */
export const SPLIT_SLOP = 1.1;

export interface PlanOptions {
  /** A file larger than this becomes several map tasks; packed tasks are never larger. */
  splitBytes: number;
  /** Pack small files together (the default of a job); false: one map task per file. */
  pack: boolean;
  /** The job's workers: packing leaves them enough tasks to share. */
  workers: number;
}

/**
 * The size packed tasks aim at: the split size, or less when the whole input spread over
 * PACK_TASKS_PER_WORKER tasks per worker is less, so packing never leaves workers idle.
 */
export function packTarget(costs: number[], o: Pick<PlanOptions, 'splitBytes' | 'workers'>): number {
  const total = costs.reduce((a, b) => a + b, 0);
  return Math.min(o.splitBytes, Math.ceil(total / (PACK_TASKS_PER_WORKER * Math.max(1, o.workers))));
}

/**
 * Plans map tasks, in input order. A file larger than `splitBytes` by over SPLIT_SLOP becomes
 * several splits (the reader cuts them at line boundaries). With `pack`, consecutive small files share a task: a
 * file whose size plus PACK_FILE_COST is under the packTarget joins the current task until the
 * task would pass the target; any other file is a task of its own. Every file of a packed task
 * is still read and mapped on its own, under its own name. Compressed files (gzip, brotli) are
 * never cut; unreadable formats are refused here, before any work starts.
 */
export function planMapTasks(inputs: string[], cwd: string, o: PlanOptions): InputSplit[][] {
  const files = inputs.map((p) => {
    const size = checkInputFile(p, cwd);
    // A compressed file cannot be entered mid-stream: it is one split whatever its size.
    const compressed = size > 0 && sniffCompression(path.resolve(cwd, p), p) !== undefined;
    return { p, size, compressed };
  });
  const target = o.pack ? packTarget(files.map((f) => f.size + PACK_FILE_COST), o) : 0;
  const tasks: InputSplit[][] = [];
  let packed: InputSplit[] = [];
  let packedBytes = 0;
  const flush = () => {
    if (packed.length > 0) tasks.push(packed);
    packed = [];
    packedBytes = 0;
  };
  for (const { p, size, compressed } of files) {
    const cost = size + PACK_FILE_COST;
    if (cost < target) {
      if (packedBytes + cost > target) flush();
      packed.push({ path: p, start: 0, end: -1 });
      packedBytes += cost;
      continue;
    }
    flush();
    if (size > o.splitBytes * SPLIT_SLOP && !compressed) {
      // As many splits as the size needs, all of one size: a short last split would leave
      // workers idle while the others finish full ones.
      const n = Math.ceil(size / (o.splitBytes * SPLIT_SLOP));
      const each = Math.ceil(size / n);
      for (let start = 0; start < size; start += each) {
        const end = start + each >= size ? -1 : start + each;
        tasks.push([{ path: p, start, end }]);
      }
      continue;
    }
    tasks.push([{ path: p, start: 0, end: -1 }]);
  }
  flush();
  return tasks;
}
