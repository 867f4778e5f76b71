import fs from 'node:fs';
import path from 'node:path';
import { JobLayout, OutputLayout, intermediateName, mapOutputName, outputName } from '../storage/layout.js';
import { writeFileAtomic } from '../storage/atomic.js';
import type { JobRecord, TaskKind } from './scheduler.js';


/**
 * The file side of the commit protocol. A worker writes an attempt's outputs into a directory
 * of that attempt, named by the coordinator; only the coordinator moves them into place, and
 * only for the attempt it granted the commit. A lost or late attempt writes into its own
 * directory, which nothing reads, so it can never replace a committed file.
 *
 * Reduce outputs are committed into `<out>/_temporary/` and published into `<out>/` only when
 * the whole job has succeeded, then `_SUCCESS` is written: a job's output is all or nothing.
 */

export interface TaskFiles {
  /** Where the attempt writes. */
  attemptDir: string;
  /** Each output as the attempt writes it, and where the commit puts it. */
  files: Array<{ attempt: string; committed: string }>;
}

export function taskFiles(job: Pick<JobRecord, 'jobDir' | 'outputDir'> & { spec: { reducers: number } }, kind: TaskKind, index: number, attempt: number): TaskFiles {
  if (kind === 'map' && job.spec.reducers === 0) {
    // A map-only job: the map's output is the job's, staged as a reduce's would be.
    const out = new OutputLayout(job.outputDir);
    const attemptDir = out.mapAttemptDir(index, attempt);
    return { attemptDir, files: [{ attempt: path.join(attemptDir, mapOutputName(index)), committed: path.join(out.staging, mapOutputName(index)) }] };
  }
  if (kind === 'map') {
    const jl = new JobLayout(job.jobDir);
    const attemptDir = jl.mapAttemptDir(index, attempt);
    const files = Array.from({ length: job.spec.reducers }, (_, r) => ({
      attempt: path.join(attemptDir, intermediateName(index, r)),
      committed: jl.intermediate(index, r),
    }));
    return { attemptDir, files };
  }
  const out = new OutputLayout(job.outputDir);
  const attemptDir = out.reduceAttemptDir(index, attempt);
  return { attemptDir, files: [{ attempt: path.join(attemptDir, outputName(index)), committed: out.staged(index) }] };
}

/** Makes the attempt's directory before the worker is told to write there. */
export function prepareAttempt(files: TaskFiles): void {
  fs.mkdirSync(files.attemptDir, { recursive: true });
}

/**
 * Checks a successful report against the names the coordinator chose. Returns what is wrong,
 * or undefined. The worker's list only confirms; the coordinator's names are the ones used.
 */
export function checkReportedFiles(files: TaskFiles, reported: readonly string[]): string | undefined {
  const expected = files.files.map((f) => f.attempt);
  const want = new Set(expected);
  const odd = reported.filter((f) => !want.has(f));
  if (odd.length > 0 || reported.length !== expected.length) {
    const show = (xs: readonly string[]) => xs.slice(0, 3).map((x) => JSON.stringify(x.slice(0, 200))).join(', ') + (xs.length > 3 ? `, ... (${xs.length})` : '');
    return `reported output files ${show(reported)}; expected ${show(expected)}`;
  }
  const missing = expected.filter((f) => !fs.existsSync(f));
  if (missing.length > 0) return `reported output files that do not exist: ${missing.slice(0, 3).join(', ')}`;
  return undefined;
}

/**
 * Moves a granted attempt's files into place. Idempotent, so a commit journaled before a crash
 * is finished on restart: a file already moved (its attempt copy gone, the committed one there)
 * counts as done. Returns the committed names, or throws naming a file that is neither.
 */
export function commitAttempt(files: TaskFiles): string[] {
  for (const f of files.files) {
    try {
      fs.renameSync(f.attempt, f.committed);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !fs.existsSync(f.committed)) throw err;
    }
  }
  fs.rmSync(files.attemptDir, { recursive: true, force: true });
  return files.files.map((f) => f.committed);
}

/** Removes what an attempt that will not be committed wrote. */
export function discardAttempt(files: TaskFiles): void {
  fs.rmSync(files.attemptDir, { recursive: true, force: true });
}

/**
 * Publishes a succeeded job's outputs: every committed mr-out-<r> into the output directory,
 * then `_SUCCESS`. Idempotent (a crash half way is finished by the next coordinator).
 */
export function publishOutput(job: JobRecord): string[] {
  const out = new OutputLayout(job.outputDir);
  const published: string[] = [];
  for (const name of resultNames(job)) {
    const staged = path.join(out.staging, name);
    const final = path.join(out.dir, name);
    try {
      fs.renameSync(staged, final);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !fs.existsSync(final)) throw err;
    }
    published.push(final);
  }
  writeFileAtomic(out.success, '');
  fs.rmSync(out.staging, { recursive: true, force: true });
  return published;
}

/** The names of a job's output files: one per reduce partition, or per map of a map-only job. */
export function resultNames(job: Pick<JobRecord, 'maps' | 'reduces'>): string[] {
  return job.reduces.length > 0 ? job.reduces.map((t) => outputName(t.index)) : job.maps.map((t) => mapOutputName(t.index));
}

/** Where a committed task's output is once the job has succeeded (what its record names). */
export function finalNames(job: Pick<JobRecord, 'outputDir'> & { spec: { reducers: number } }, kind: TaskKind, index: number, committed: string[]): string[] {
  if (kind === 'reduce') return [path.join(job.outputDir, outputName(index))];
  if (job.spec.reducers === 0) return [path.join(job.outputDir, mapOutputName(index))];
  return committed;
}

/** A failed or cancelled job: nothing of its output is kept. */
export function discardOutput(outputDir: string): void {
  fs.rmSync(new OutputLayout(outputDir).staging, { recursive: true, force: true });
}

export function discardMapAttempts(jobDir: string): void {
  fs.rmSync(new JobLayout(jobDir).mapAttemptsDir, { recursive: true, force: true });
}
