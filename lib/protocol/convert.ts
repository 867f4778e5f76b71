import type { JobSpec, JobSpecInput } from '../coordinator/jobspec.js';
import type { JobSpec as PbJobSpec, JobSpec__Output as PbJobSpecOut } from './gen/kubemr/v1/JobSpec.js';
import type { JobStatus } from './gen/kubemr/v1/JobStatus.js';
import type { Task } from './gen/kubemr/v1/Task.js';
import type { TaskStatus } from './gen/kubemr/v1/TaskStatus.js';
import { jobCounters, USER_PREFIX } from '../coordinator/counters.js';
import type { JobRecord, TaskAssignment, TaskKind, TaskRecord } from '../coordinator/scheduler.js';
import type { TaskCounters, TaskCounters__Output } from './gen/kubemr/v1/TaskCounters.js';

/** Scheduler records <-> protocol messages. */

export const kindToPb = (k: TaskKind): 'MAP' | 'REDUCE' => (k === 'map' ? 'MAP' : 'REDUCE');
export const kindFromPb = (k: string): TaskKind | undefined => (k === 'MAP' ? 'map' : k === 'REDUCE' ? 'reduce' : undefined);

export function specToPb(s: JobSpec): PbJobSpec {
  return {
    app: s.app,
    inputs: s.inputs,
    reducers: s.reducers,
    workers: s.workers,
    maxAttempts: s.maxAttempts,
    maxLostAttempts: s.maxLostAttempts,
    leaseMs: s.leaseMs,
    outputDir: s.outputDir,
    workDir: s.workDir,
    splitBytes: s.splitBytes,
    memoryBytes: s.memoryBytes,
    streaming: s.streaming,
    name: s.name,
    packSmallFiles: s.packSmallFiles,
    noPack: !s.packSmallFiles,
    image: s.image,
    maxLineBytes: s.maxLineBytes,
    params: s.params,
    noSpeculation: !s.speculative,
    steps: s.steps,
    step: s.step,
    pipeline: s.pipeline,
    outputFormat: s.outputFormat,
    mapOnly: s.reducers === 0,
  };
}

/** A submitted spec: zero values mean "use the default". */
export function specFromPb(p: PbJobSpecOut): JobSpecInput {
  const opt = (n: number) => (n === 0 ? undefined : n);
  return {
    app: p.app,
    inputs: p.inputs,
    workers: opt(p.workers),
    maxAttempts: opt(p.maxAttempts),
    maxLostAttempts: opt(p.maxLostAttempts),
    leaseMs: opt(p.leaseMs),
    outputDir: p.outputDir,
    workDir: p.workDir,
    splitBytes: opt(p.splitBytes),
    memoryBytes: opt(p.memoryBytes),
    streaming: p.streaming ?? undefined,
    name: p.name,
    // proto3 cannot tell false from unset: no_pack says "no packing".
    packSmallFiles: !p.noPack,
    image: p.image,
    maxLineBytes: opt(p.maxLineBytes),
    params: { ...p.params },
    speculative: !p.noSpeculation,
    steps: opt(p.steps),
    outputFormat: (p.outputFormat || undefined) as JobSpecInput['outputFormat'],
    // proto3 cannot tell 0 from unset: map_only says "0 reducers".
    reducers: p.mapOnly ? 0 : opt(p.reducers),
    // A client submits whole jobs; steps are the coordinator's to make.
  };
}

export function taskToPb(a: TaskAssignment): Task {
  const { job, task } = a;
  return {
    jobId: job.id,
    kind: kindToPb(task.kind),
    index: task.index,
    attempt: a.attempt,
    inputs: task.inputs,
    nMap: job.maps.length,
    nReduce: job.reduces.length,
    app: job.spec.app,
    jobDir: job.jobDir,
    outputDir: job.outputDir,
    workDir: job.spec.workDir,
    leaseMs: job.spec.leaseMs,
    memoryBytes: job.spec.memoryBytes,
    streaming: job.spec.streaming,
    maxLineBytes: job.spec.maxLineBytes,
    params: job.spec.params,
    step: job.spec.step,
    nSteps: job.spec.steps,
    outputFormat: job.spec.outputFormat,
    attemptDir: a.attemptDir ?? '',
  };
}

export function taskStatusToPb(t: TaskRecord): TaskStatus {
  const last = t.history.at(-1);
  return {
    kind: kindToPb(t.kind),
    index: t.index,
    state: t.state,
    attempts: t.history.length,
    workerId: last?.workerId ?? '',
    inputs: t.inputs,
    history: t.history.map((a) => ({
      attempt: a.attempt,
      workerId: a.workerId,
      state: a.state,
      startedAtMs: a.startedAt,
      endedAtMs: a.endedAt ?? 0,
      error: a.error ?? '',
      backup: a.backup,
    })),
    outputFiles: t.outputFiles,
    error: t.error ?? '',
    counters: t.counters ? countersToPb(t.counters) : null,
  };
}

export function jobStatusToPb(j: JobRecord, withTasks = true): JobStatus {
  return {
    jobId: j.id,
    spec: specToPb(j.spec),
    phase: j.phase,
    mapsDone: j.maps.filter((t) => t.state === 'done').length,
    mapsTotal: j.maps.length,
    reducesDone: j.reduces.filter((t) => t.state === 'done').length,
    reducesTotal: j.reduces.length,
    submittedAtMs: j.submittedAt,
    startedAtMs: j.startedAt ?? 0,
    finishedAtMs: j.finishedAt ?? 0,
    message: j.message,
    results: j.phase === 'succeeded' ? (j.reduces.length > 0 ? j.reduces : j.maps).flatMap((t) => t.outputFiles) : [],
    tasks: withTasks ? [...j.maps, ...j.reduces].map(taskStatusToPb) : [],
    counters: jobCounters(j),
  };
}

const BUILTIN_COUNTERS = ['inputBytes', 'inputRecords', 'outputRecords', 'outputBytes', 'spills'] as const;

/** A task's reported counters as the scheduler keeps them: built-ins by name, user ones as `user.<name>`. */
export function countersFromPb(c: TaskCounters__Output): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of BUILTIN_COUNTERS) out[k] = Number(c[k]);
  for (const [k, v] of Object.entries(c.user ?? {})) out[USER_PREFIX + k] = Number(v);
  return out;
}

export function countersToPb(c: Record<string, number>): TaskCounters {
  const user: Record<string, number> = {};
  for (const [k, v] of Object.entries(c)) if (k.startsWith(USER_PREFIX)) user[k.slice(USER_PREFIX.length)] = v;
  return { ...Object.fromEntries(BUILTIN_COUNTERS.map((k) => [k, c[k] ?? 0])), user };
}
