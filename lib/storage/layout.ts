import path from 'node:path';

/**
 * The shared volume layout (KUBEMR_DATA; a PVC mounted at /data in the cluster):
 *
 *   inputs/<dataset>/...                  written by fetch
 *   jobs/<jobId>/job.json                 the submitted spec
 *   jobs/<jobId>/journal.ndjson           coordinator journal
 *   jobs/<jobId>/intermediate/mr-<m>-<r>  map outputs
 *   jobs/<jobId>/output/mr-out-<r>        reduce outputs (unless the job names another dir)
 *   jobs/<jobId>/logs/<task>-<attempt>.log
 *   jobs/<jobId>/RESULT                   OK | FAILED <reason> | CANCELLED
 */
export class DataLayout {
  constructor(readonly root: string) {}

  inputs(dataset?: string): string {
    return dataset === undefined ? path.join(this.root, 'inputs') : path.join(this.root, 'inputs', dataset);
  }
  jobsDir(): string {
    return path.join(this.root, 'jobs');
  }
  job(jobId: string): JobLayout {
    return new JobLayout(path.join(this.root, 'jobs', jobId));
  }
}

export class JobLayout {
  constructor(readonly dir: string) {}
  get spec(): string {
    return path.join(this.dir, 'job.json');
  }
  get journal(): string {
    return path.join(this.dir, 'journal.ndjson');
  }
  get intermediateDir(): string {
    return path.join(this.dir, 'intermediate');
  }
  get outputDir(): string {
    return path.join(this.dir, 'output');
  }
  get logsDir(): string {
    return path.join(this.dir, 'logs');
  }
  get result(): string {
    return path.join(this.dir, 'RESULT');
  }
  /** A multi-step job's own record: its spec and output directory (its steps are jobs of their own). */
  get pipeline(): string {
    return path.join(this.dir, 'pipeline.json');
  }
  intermediate(m: number, r: number): string {
    return path.join(this.intermediateDir, intermediateName(m, r));
  }
  attemptLog(task: string, attempt: number): string {
    return path.join(this.logsDir, `${task}-${attempt}.log`);
  }
}

export const intermediateName = (m: number, r: number): string => `mr-${m}-${r}`;
export const outputName = (r: number): string => `mr-out-${r}`;
/** A map-only job's output of map task m. */
export const mapOutputName = (m: number): string => `mr-out-m-${m}`;
/** A task's name in logs and file names: map-3, reduce-0. */
export const taskName = (kind: 'map' | 'reduce', index: number): string => `${kind}-${index}`;

/**
 * A temporary name beside `finalPath` that never matches `mr-out*` or `mr-*-*` globs, so a
 * reader listing outputs never sees a half-written file. Renamed into place when complete.
 */
export function tempPathFor(finalPath: string, tag: string): string {
  return path.join(path.dirname(finalPath), `.tmp-${tag}-${path.basename(finalPath)}`);
}
