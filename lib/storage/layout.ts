import path from 'node:path';

/**
 * The shared volume layout (KUBEMR_DATA; a PVC mounted at /data in the cluster):
 *
 *   inputs/<dataset>/...                  written by fetch
 *   jobs/<jobId>/job.json                 the submitted spec
 *   jobs/<jobId>/journal.ndjson           coordinator journal
 *   jobs/<jobId>/intermediate/mr-<m>-<r>  map outputs, committed by the coordinator from
 *   jobs/<jobId>/intermediate/_attempts/map-<m>-<a>/   the attempt it granted
 *   jobs/<jobId>/output/mr-out-<r>        reduce outputs (unless the job names another dir)
 *
 * and in the output directory, while a job writes it (see OutputLayout):
 *   <out>/_kubemr-claim                   the job that owns it
 *   <out>/_temporary/reduce-<r>-<a>/      a reduce attempt's output
 *   <out>/_temporary/mr-out-<r>           committed, published when the whole job succeeds
 *   <out>/_SUCCESS                        written last: the outputs beside it are the whole result
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
  /** The MapReduceJob that owns the job, when it came from one (lib/operator/owners.ts). */
  get owner(): string {
    return path.join(this.dir, 'mapreducejob.json');
  }
  /** A multi-step job's own record: its spec and output directory (its steps are jobs of their own). */
  get pipeline(): string {
    return path.join(this.dir, 'pipeline.json');
  }
  intermediate(m: number, r: number): string {
    return path.join(this.intermediateDir, intermediateName(m, r));
  }
  /** Where map attempts write before the coordinator commits the granted one. */
  get mapAttemptsDir(): string {
    return path.join(this.intermediateDir, '_attempts');
  }
  /** Where one map attempt writes its mr-<m>-<r> before the coordinator commits them. */
  mapAttemptDir(m: number, attempt: number): string {
    return path.join(this.mapAttemptsDir, `map-${m}-${attempt}`);
  }
  attemptLog(task: string, attempt: number): string {
    return path.join(this.logsDir, `${task}-${attempt}.log`);
  }
}

/** A job's output directory: the results, and what the job keeps there while it runs. */
export class OutputLayout {
  constructor(readonly dir: string) {}
  /** Held by the job writing here; created exclusively, so two jobs never share a directory. */
  get claim(): string {
    return path.join(this.dir, '_kubemr-claim');
  }
  /** Committed reduce outputs wait here until the whole job has succeeded. */
  get staging(): string {
    return path.join(this.dir, '_temporary');
  }
  /** Written after every mr-out-<r> is in place. */
  get success(): string {
    return path.join(this.dir, SUCCESS_MARKER);
  }
  /** A map-only job's map attempt writes its mr-out-m-<m> here. */
  mapAttemptDir(m: number, attempt: number): string {
    return path.join(this.staging, `map-${m}-${attempt}`);
  }
  reduceAttemptDir(r: number, attempt: number): string {
    return path.join(this.staging, `reduce-${r}-${attempt}`);
  }
  staged(r: number): string {
    return path.join(this.staging, outputName(r));
  }
  output(r: number): string {
    return path.join(this.dir, outputName(r));
  }
}

export const SUCCESS_MARKER = '_SUCCESS';

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
