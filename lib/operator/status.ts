import fs from 'node:fs';
import path from 'node:path';
import { jobCounters } from '../coordinator/counters.js';
import { resultFiles } from '../coordinator/coordinator.js';
import type { JobPhase, JobRecord } from '../coordinator/scheduler.js';
import { DataLayout, mapOutputName, outputName } from '../storage/layout.js';
import { parseResult } from '../storage/result.js';
import type { MapReduceJobPhase, MapReduceJobStatus } from './types.js';

const PHASES: Record<JobPhase, MapReduceJobPhase> = {
  queued: 'Pending',
  map: 'Running',
  reduce: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

/** Phases after which a resource's status no longer changes. */
export const TERMINAL = new Set<unknown>(['Succeeded', 'Failed', 'Cancelled']);

/** A path on the data volume as users name it in specs; anything outside stays absolute. */
function volumePath(root: string, file: string): string {
  const rel = path.relative(root, file);
  return rel === '' || rel.startsWith('..') || path.isAbsolute(rel) ? file : rel.split(path.sep).join('/');
}

/** A resource's status for a job, as the CRD's status schema declares it. */
export function statusOf(job: JobRecord, dataDir: string, generation?: number): MapReduceJobStatus {
  const done = (ts: JobRecord['maps']) => ts.filter((t) => t.state === 'done').length;
  const status: MapReduceJobStatus = {
    phase: PHASES[job.phase],
    jobId: job.id,
    mapsDone: done(job.maps),
    mapsTotal: job.maps.length,
    reducesDone: done(job.reduces),
    reducesTotal: job.reduces.length,
    progress: `${job.spec.steps > 1 ? `step ${job.spec.step + 1}/${job.spec.steps} ` : ''}map ${done(job.maps)}/${job.maps.length} reduce ${done(job.reduces)}/${job.reduces.length}`,
    results: job.phase === 'succeeded' ? resultFiles(job).map((f) => volumePath(path.resolve(dataDir), f)) : [],
    message: job.message,
    counters: jobCounters(job),
  };
  if (generation !== undefined) status.observedGeneration = generation;
  if (job.startedAt !== undefined) status.startTime = new Date(job.startedAt).toISOString();
  if (job.finishedAt !== undefined) status.completionTime = new Date(job.finishedAt).toISOString();
  return status;
}

/**
 * The status of a job that finished under an earlier coordinator (it is not resumed, so the
 * scheduler never knew it): read back from its job.json and RESULT file.
 */
export function statusFromDisk(dataDir: string, jobId: string, generation?: number): MapReduceJobStatus {
  const root = path.resolve(dataDir);
  const jl = new DataLayout(root).job(jobId);
  let saved: { spec?: { reducers?: number }; outputDir?: string; mapInputs?: unknown[] } = {};
  let result: ReturnType<typeof parseResult> | undefined;
  try {
    saved = JSON.parse(fs.readFileSync(jl.spec, 'utf8'));
    result = parseResult(fs.readFileSync(jl.result, 'utf8'));
  } catch {
    // handled below: a directory without both is a job the coordinator could not resume
  }
  const base = { jobId, ...(generation !== undefined ? { observedGeneration: generation } : {}) };
  if (!result) {
    return { ...base, phase: 'Failed', message: `The job directory jobs/${jobId} exists, but the coordinator could not resume the job (see its log)` };
  }
  const maps = saved.mapInputs?.length ?? 0;
  const reduces = saved.spec?.reducers ?? 0;
  const counts = (mapsDone: number, reducesDone: number) => ({
    mapsDone,
    mapsTotal: maps,
    reducesDone,
    reducesTotal: reduces,
    progress: `map ${mapsDone}/${maps} reduce ${reducesDone}/${reduces}`,
  });
  if (result.phase === 'succeeded') {
    const out = saved.outputDir ?? jl.outputDir;
    const names = reduces > 0 ? Array.from({ length: reduces }, (_, r) => outputName(r)) : Array.from({ length: maps }, (_, m) => mapOutputName(m));
    return { ...base, phase: 'Succeeded', ...counts(maps, reduces), results: names.map((n) => volumePath(root, path.join(out, n))), message: '' };
  }
  return { ...base, phase: result.phase === 'cancelled' ? 'Cancelled' : 'Failed', message: result.message };
}
