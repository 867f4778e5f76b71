import type { JobSpec__Output } from '../../lib/protocol/gen/kubemr/v1/JobSpec.js';
import type { JobStatus__Output } from '../../lib/protocol/gen/kubemr/v1/JobStatus.js';
import type { TaskStatus__Output } from '../../lib/protocol/gen/kubemr/v1/TaskStatus.js';
import type { WorkerState } from '../../lib/executor/types.js';
import { taskName } from '../../lib/storage/layout.js';

/**
 * What the dashboard shows and the JSON API returns: protocol messages turned into plain,
 * documented shapes (times in epoch ms, `null` when not yet known).
 */

/** Job phases, as the coordinator names them. */
export type Phase = 'queued' | 'map' | 'reduce' | 'succeeded' | 'failed' | 'cancelled';
export const FINISHED: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled']);

export interface JobView {
  id: string;
  name: string;
  app: string;
  phase: string;
  finished: boolean;
  /** 0..1: finished tasks over all tasks (1 once succeeded). */
  progress: number;
  maps: { done: number; total: number };
  reduces: { done: number; total: number };
  submittedAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  /** finishedAt (or now) minus startedAt (or submittedAt). */
  durationMs: number | null;
  /** Why it failed, when it failed. */
  message: string;
  spec: {
    inputs: string[];
    reducers: number;
    workers: number;
    maxAttempts: number;
    leaseMs: number;
    outputDir: string;
    workDir: string;
    image: string;
    streaming: { mapper: string; reducer: string; combiner: string } | null;
    params: Record<string, string>;
    speculative: boolean;
  };
  /** Sums over each task's winning attempt: map.* and reduce.* built-ins, user.<name>. */
  counters: Record<string, number>;
}

export interface AttemptView {
  attempt: number;
  worker: string;
  /** running | succeeded | failed | lost | abandoned */
  state: string;
  startedAt: number | null;
  endedAt: number | null;
  durationMs: number | null;
  error: string;
  /** API path of this attempt's log on the data volume. */
  log: string;
  /** A speculative second attempt of a slow task. */
  backup: boolean;
}

export interface TaskView {
  /** map-3, reduce-0: also the prefix of its attempt logs. */
  id: string;
  kind: 'map' | 'reduce';
  index: number;
  /** pending | running | done | failed */
  state: string;
  attempts: number;
  worker: string;
  startedAt: number | null;
  endedAt: number | null;
  durationMs: number | null;
  error: string;
  inputs: Array<{ path: string; start: number; end: number }>;
  history: AttemptView[];
}

export type WorkerViewState = WorkerState | 'idle' | 'gone';

export interface WorkerView {
  id: string;
  jobId: string;
  /** From the executor when it knows the worker; else derived from task attempts. */
  state: WorkerViewState;
  source: 'executor' | 'attempts';
  reason: string;
  where: string;
  startedAt: number | null;
  finishedAt: number | null;
  /** Attempts this worker ran, and the task it runs now. */
  attempts: number;
  failedAttempts: number;
  current: string;
}

export interface ResultFileView {
  name: string;
  size: number;
  modifiedAt: number;
}

const ms = (n: number | undefined): number | null => (n ? n : null);

export const jobApiPath = (id: string): string => `/api/jobs/${encodeURIComponent(id)}`;

export function jobView(s: JobStatus__Output, now = Date.now()): JobView {
  const spec: JobSpec__Output | null = s.spec;
  const total = s.mapsTotal + s.reducesTotal;
  const done = s.mapsDone + s.reducesDone;
  const finished = FINISHED.has(s.phase);
  const start = ms(s.startedAtMs) ?? ms(s.submittedAtMs);
  const end = ms(s.finishedAtMs) ?? (finished ? null : now);
  const streaming = spec?.streaming && spec.streaming.mapper ? { mapper: spec.streaming.mapper, reducer: spec.streaming.reducer, combiner: spec.streaming.combiner } : null;
  return {
    id: s.jobId,
    name: spec?.name || spec?.app || s.jobId,
    app: spec?.app || (streaming ? 'streaming' : ''),
    phase: s.phase,
    finished,
    progress: s.phase === 'succeeded' ? 1 : total === 0 ? 0 : done / total,
    maps: { done: s.mapsDone, total: s.mapsTotal },
    reduces: { done: s.reducesDone, total: s.reducesTotal },
    submittedAt: ms(s.submittedAtMs),
    startedAt: ms(s.startedAtMs),
    finishedAt: ms(s.finishedAtMs),
    durationMs: start !== null && end !== null ? Math.max(0, end - start) : null,
    message: s.message,
    spec: {
      inputs: spec?.inputs ?? [],
      reducers: spec?.reducers ?? 0,
      workers: spec?.workers ?? 0,
      maxAttempts: spec?.maxAttempts ?? 0,
      leaseMs: spec?.leaseMs ?? 0,
      outputDir: spec?.outputDir ?? '',
      workDir: spec?.workDir ?? '',
      image: spec?.image ?? '',
      streaming,
      params: { ...(spec?.params ?? {}) },
      speculative: !spec?.noSpeculation,
    },
    counters: Object.fromEntries(Object.entries(s.counters ?? {}).map(([k, v]) => [k, Number(v)])),
  };
}

export const taskId = (t: { kind: string; index: number }): string => taskName(t.kind === 'MAP' || t.kind === 'map' ? 'map' : 'reduce', t.index);

export function taskView(jobId: string, t: TaskStatus__Output, now = Date.now()): TaskView {
  const id = taskId(t);
  const history = t.history.map((a): AttemptView => {
    const startedAt = ms(a.startedAtMs);
    const endedAt = ms(a.endedAtMs);
    return {
      attempt: a.attempt,
      worker: a.workerId,
      state: a.state,
      startedAt,
      endedAt,
      durationMs: startedAt === null ? null : (endedAt ?? now) - startedAt,
      error: a.error,
      log: `${jobApiPath(jobId)}/tasks/${id}/attempts/${a.attempt}/log`,
      backup: a.backup,
    };
  });
  const first = history[0];
  const last = history.at(-1);
  const endedAt = t.state === 'done' || t.state === 'failed' ? (last?.endedAt ?? null) : null;
  const startedAt = first?.startedAt ?? null;
  return {
    id,
    kind: t.kind === 'MAP' ? 'map' : 'reduce',
    index: t.index,
    state: t.state,
    attempts: t.attempts,
    worker: t.workerId,
    startedAt,
    endedAt,
    durationMs: startedAt === null ? null : (endedAt ?? (t.state === 'running' ? now : (last?.endedAt ?? now))) - startedAt,
    error: t.error || (t.state === 'failed' ? (last?.error ?? '') : ''),
    inputs: t.inputs.map((i) => ({ path: i.path, start: i.start, end: i.end })),
    history,
  };
}

/** Workers as the task attempts tell: for clusters where the dashboard has no executor. */
export function workersFromTasks(job: JobView, tasks: TaskView[]): WorkerView[] {
  const byId = new Map<string, WorkerView>();
  for (const t of tasks) {
    for (const a of t.history) {
      if (!a.worker) continue;
      let w = byId.get(a.worker);
      if (!w) {
        w = { id: a.worker, jobId: job.id, state: 'idle', source: 'attempts', reason: '', where: '', startedAt: a.startedAt, finishedAt: null, attempts: 0, failedAttempts: 0, current: '' };
        byId.set(a.worker, w);
      }
      w.attempts++;
      if (a.state === 'failed' || a.state === 'lost') w.failedAttempts++;
      if (a.startedAt !== null && (w.startedAt === null || a.startedAt < w.startedAt)) w.startedAt = a.startedAt;
      if (a.endedAt !== null && (w.finishedAt === null || a.endedAt > w.finishedAt)) w.finishedAt = a.endedAt;
      if (a.state === 'running') w.current = t.id;
      if (a.state === 'lost' && a.error) w.reason = a.error;
    }
  }
  for (const w of byId.values()) {
    w.state = w.current ? 'running' : job.finished ? 'gone' : 'idle';
    if (w.current) w.finishedAt = null;
  }
  return [...byId.values()].sort((a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0) || a.id.localeCompare(b.id));
}
