import path from 'node:path';
import { CorruptRunError } from '../errors.js';
import type { Task__Output } from '../protocol/gen/kubemr/v1/Task.js';
import { intermediateName, JobLayout, mapOutputName, outputName } from '../storage/layout.js';

/**
 * Where a task reads and writes, as the coordinator named it. An attempt writes only into its
 * attempt directory; the coordinator commits the files from there if it grants the attempt.
 * A task built by hand (unit tests, tools) names no attempt directory and writes in place.
 */

/** The task's job directory, as the coordinator names it in the task. */
export const layoutOf = (task: Task__Output): JobLayout => new JobLayout(task.jobDir);

const intermediateDir = (task: Task__Output) => layoutOf(task).intermediateDir;

/** The files a map attempt writes, one per reduce partition. */
export const mapOutputPaths = (task: Task__Output): string[] =>
  Array.from({ length: task.nReduce }, (_, r) => path.join(task.attemptDir || intermediateDir(task), intermediateName(task.index, r)));

/** The file a map task of a map-only job (no reduce) writes: its share of the job's output. */
export const mapOnlyOutputPath = (task: Task__Output): string => path.join(task.attemptDir || task.outputDir, mapOutputName(task.index));

/** The file a reduce attempt writes. */
export const reduceOutputPath = (task: Task__Output): string => path.join(task.attemptDir || task.outputDir, outputName(task.index));

/** The committed intermediates a reduce reads, one per map. */
export const reduceInputPaths = (task: Task__Output): string[] =>
  Array.from({ length: task.nMap }, (_, m) => layoutOf(task).intermediate(m, task.index));

/**
 * The maps whose output a failed reduce could not read: a run that is missing, truncated or
 * fails its checksum, named by its mr-<m>-<r> path. Undefined for any other failure.
 */
export function fetchFailedMaps(err: unknown, task: Task__Output): number[] | undefined {
  if (task.kind !== 'REDUCE') return undefined;
  const file =
    CorruptRunError.is(err) ? err.path : (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT' ? (err as NodeJS.ErrnoException).path : undefined;
  if (!file || path.dirname(file) !== intermediateDir(task)) return undefined;
  const m = /^mr-(\d+)-(\d+)$/.exec(path.basename(file));
  if (!m || Number(m[2]) !== task.index || Number(m[1]) >= task.nMap) return undefined;
  return [Number(m[1])];
}
