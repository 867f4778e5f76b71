import type { JobSpec, JobSpecInput } from './jobspec.js';
import { jobCounters } from './counters.js';
import { isFinished, type JobPhase, type JobRecord } from './scheduler.js';

/**
 * Multi-step jobs (mrjob's `steps()`): a job whose app declares N steps runs as N scheduler
 * jobs, `<id>-s1` ... `<id>-sN`, each submitted when the one before it succeeds, with the
 * previous step's output files as its inputs. The last step writes the job's output directory;
 * earlier steps write their own. Clients see the whole under `<id>` (a view built from the
 * step that runs now), and every step as a job of its own, so the dashboard lists each.
 *
 *   step k: running -> succeeded -> step k+1 submitted ... last step succeeded -> succeeded
 *           running -> failed | cancelled -> the multi-step job ends so
 */
export interface Pipeline {
  id: string;
  /** The spec as submitted (steps = N), for the view. */
  spec: JobSpec;
  /** The last step's output directory: the job's output. */
  outputDir: string;
  /** Scheduler job ids of the steps submitted so far. */
  stepIds: string[];
  /** Set when the whole has ended; `failure` when a next step could not even be submitted. */
  ended: boolean;
  failure: string | undefined;
  cancelled: boolean;
}

/** Step ids take 3 more characters than the job id: `-s` and the step number (N <= 20 fits 3). */
export const stepJobId = (pipelineId: string, step: number): string => `${pipelineId}-s${step + 1}`;
export const MAX_PIPELINE_ID = 36;

/** The input of step `step` (0-based) given the spec as submitted. */
export function stepInput(spec: JobSpec, pipelineId: string, step: number, inputs: string[], outputDir: string): JobSpecInput {
  const last = step === spec.steps - 1;
  return {
    ...spec,
    inputs,
    step,
    pipeline: pipelineId,
    // Earlier steps write under their own job directory; only the last writes the user's.
    outputDir: last ? outputDir : '',
    name: `${spec.name} step ${step + 1}/${spec.steps}`,
  };
}

/** The multi-step job as one job: the current step's tasks and progress under the job's id. */
export function pipelineView(p: Pipeline, first: JobRecord, current: JobRecord, earlier: JobRecord[]): JobRecord {
  const step = current.spec.step;
  let phase: JobPhase = current.phase;
  let message = current.message ? `step ${step + 1}/${p.spec.steps}: ${current.message}` : '';
  if (p.failure !== undefined) {
    phase = 'failed';
    message = p.failure;
  } else if (current.phase === 'succeeded' && step < p.spec.steps - 1) {
    // Between steps: the next is being submitted.
    phase = p.cancelled ? 'cancelled' : 'map';
  }
  return {
    ...current,
    id: p.id,
    spec: { ...current.spec, name: p.spec.name, outputDir: p.spec.outputDir, inputs: p.spec.inputs, pipeline: '', step },
    outputDir: p.outputDir,
    phase,
    message,
    submittedAt: first.submittedAt,
    startedAt: first.startedAt,
    finishedAt: isFinished(phase) ? (current.finishedAt ?? Date.now()) : undefined,
    priorCounters: sumCounters(earlier.map(jobCounters)),
  };
}

function sumCounters(list: Array<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of list) for (const [k, v] of Object.entries(c)) out[k] = (out[k] ?? 0) + v;
  return out;
}
