import { JobExistsError, JobNotFoundError } from '../errors.js';
import { intOption, numberOption } from '../options.js';
import type { JobSpec } from './jobspec.js';
import { Listeners } from './listeners.js';

/**
 * The coordinator's core: a pure state machine. No I/O, no timers, no gRPC — time comes from
 * the injected clock and the adapter calls `tick()` — so every transition is tested exactly.
 */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export type TaskKind = 'map' | 'reduce';

/**
 * Task states:
 *   pending -> running            (assigned to a worker, with a lease)
 *   running -> done               (first successful report, from any attempt)
 *   running -> pending            (lease expired, worker died, or a failed report with attempts
 *                                  left, and no other attempt of the task still running)
 *   running -> failed             (failures reached maxAttempts, or losses reached maxLostAttempts)
 *   pending | running -> pending  (a late success of an older attempt may move pending/running
 *                                  straight to done)
 *   done -> pending               (a map only: a reduce could not read its output — missing,
 *                                  truncated or corrupt — so it runs again; the job goes back to
 *                                  its map phase until it has)
 * Success is a commit: the adapter asks `canCommit` first, makes the attempt's outputs visible,
 * then reports; once a task is done no other attempt can commit it.
 */
export type TaskState = 'pending' | 'running' | 'done' | 'failed';

/** How one attempt ended: still running, reported success/failure, lost (died, lease expired), or abandoned (job ended). */
export type AttemptState = 'running' | 'succeeded' | 'failed' | 'lost' | 'abandoned';

export interface InputSplit {
  path: string;
  start: number;
  /** -1: to the end of the file. */
  end: number;
}

export interface AttemptRecord {
  attempt: number;
  workerId: string;
  state: AttemptState;
  startedAt: number;
  endedAt: number | undefined;
  leaseExpiresAt: number;
  error: string | undefined;
  /** A speculative second attempt, started while the first still ran. */
  backup: boolean;
}

export interface TaskRecord {
  kind: TaskKind;
  index: number;
  state: TaskState;
  inputs: InputSplit[];
  history: AttemptRecord[];
  failures: number;
  losses: number;
  /** Times a done map was sent back because a reduce could not read its output. */
  reruns: number;
  outputFiles: string[];
  error: string | undefined;
  /** What the winning attempt counted (records, bytes, spills), as the worker reported it. */
  counters: Record<string, number> | undefined;
}

/**
 * Job phases:
 *   queued -> map -> reduce -> succeeded
 *   queued | map | reduce -> failed | cancelled
 * A job leaves `queued` when its first task is handed out.
 */
export type JobPhase = 'queued' | 'map' | 'reduce' | 'succeeded' | 'failed' | 'cancelled';

export const isFinished = (phase: JobPhase): boolean =>
  phase === 'succeeded' || phase === 'failed' || phase === 'cancelled';

export interface JobRecord {
  id: string;
  spec: JobSpec;
  /** <data>/jobs/<id> */
  jobDir: string;
  /** Where mr-out-<r> go. */
  outputDir: string;
  phase: JobPhase;
  maps: TaskRecord[];
  reduces: TaskRecord[];
  submittedAt: number;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  message: string;
  /** A multi-step job's view: what its earlier steps counted, added to this step's counters. */
  priorCounters?: Record<string, number>;
}

export interface TaskAssignment {
  job: JobRecord;
  task: TaskRecord;
  attempt: number;
  /** Where the attempt writes its outputs; the coordinator names it (the scheduler leaves it unset). */
  attemptDir?: string;
}

export type RequestResult =
  | { directive: 'run'; assignment: TaskAssignment }
  | { directive: 'wait'; retryAfterMs: number }
  | { directive: 'exit' };

export interface WorkerIdentity {
  workerId: string;
  /** The app the worker registered; '' for streaming workers. */
  app: string;
  /** Set when the worker was launched for one job. */
  jobId?: string;
}

export interface TaskRef {
  jobId: string;
  kind: TaskKind;
  index: number;
  attempt: number;
  workerId: string;
}

export type SchedulerEvent =
  | { type: 'submitted'; job: JobRecord }
  | { type: 'phase'; job: JobRecord }
  | { type: 'task'; job: JobRecord; task: TaskRecord }
  | { type: 'finished'; job: JobRecord };

export interface SchedulerOptions {
  clock?: Clock;
  /**
   * When every job has finished, tell workers that belong to no job to exit, as the MIT lab's
   * single-job coordinator does. A long-running service keeps them waiting instead.
   * @default false
   */
  exitWhenIdle?: boolean;
  /** How long a worker told WAIT sleeps before asking again, in milliseconds (>= 1). @default 200 */
  waitMs?: number;
  /**
   * Backup tasks (speculative execution), for jobs whose spec allows them: once a phase has no
   * pending task, an idle worker gets a second attempt of the running task that has run the
   * longest, if it has run `slowFactor` times the median of the phase's finished tasks and at
   * least `minRunMs`. Each task gets at most one backup; the first attempt to succeed wins.
   * @default { slowFactor: 1.5, minRunMs: 1000 }
   */
  speculation?: { slowFactor?: number; minRunMs?: number };
}

/** The scheduler's options, checked once. */
export function compileSchedulerOptions(o: SchedulerOptions): { waitMs: number; slowFactor: number; minRunMs: number } {
  return {
    waitMs: intOption('waitMs', o.waitMs, 200, 1),
    slowFactor: numberOption('speculation.slowFactor', o.speculation?.slowFactor, 1.5, 1),
    minRunMs: intOption('speculation.minRunMs', o.speculation?.minRunMs, 1000, 0),
  };
}

function describeTask(task: TaskRecord): string {
  const inputs = task.inputs.map((s) => (s.start === 0 && s.end === -1 ? s.path : `${s.path}[${s.start}..${s.end}]`));
  return `${task.kind} task ${task.index}${inputs.length ? ` (input ${inputs.join(', ')})` : ''}`;
}

export class Scheduler {
  private readonly clock: Clock;
  private readonly exitWhenIdle: boolean;
  private readonly waitMs: number;
  private readonly jobs = new Map<string, JobRecord>();
  // A listener's failure must not leave a transition half done; it surfaces on its own.
  private readonly listeners = new Listeners<SchedulerEvent>((err) =>
    queueMicrotask(() => {
      throw err;
    }),
  );
  private readonly slowFactor: number;
  private readonly minRunMs: number;

  constructor(options: SchedulerOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.exitWhenIdle = options.exitWhenIdle ?? false;
    ({ waitMs: this.waitMs, slowFactor: this.slowFactor, minRunMs: this.minRunMs } = compileSchedulerOptions(options));
  }

  /** Listen to every state change. Returns a function that removes the listener. */
  subscribe(listener: (e: SchedulerEvent) => void): () => void {
    return this.listeners.add(listener);
  }

  private emit(e: SchedulerEvent): void {
    this.listeners.emit(e);
  }

  /**
   * Adds a job. `mapInputs[m]` are the splits of map task m (planned by the adapter, which can
   * read the file system).
   */
  submit(args: { id: string; spec: JobSpec; jobDir: string; outputDir: string; mapInputs: InputSplit[][] }): JobRecord {
    const job = this.newJob(args);
    this.emit({ type: 'submitted', job });
    if (job.maps.length === 0) this.advance(job);
    return job;
  }

  private newJob(args: { id: string; spec: JobSpec; jobDir: string; outputDir: string; mapInputs: InputSplit[][] }): JobRecord {
    if (this.jobs.has(args.id)) throw new JobExistsError(`Job \`${args.id}\` already exists`, { jobId: args.id });
    const newTask = (kind: TaskKind, index: number, inputs: InputSplit[]): TaskRecord => ({
      kind,
      index,
      state: 'pending',
      inputs,
      history: [],
      failures: 0,
      losses: 0,
      reruns: 0,
      outputFiles: [],
      error: undefined,
      counters: undefined,
    });
    const job: JobRecord = {
      id: args.id,
      spec: args.spec,
      jobDir: args.jobDir,
      outputDir: args.outputDir,
      phase: 'queued',
      maps: args.mapInputs.map((inputs, m) => newTask('map', m, inputs)),
      reduces: Array.from({ length: args.spec.reducers }, (_, r) => newTask('reduce', r, [])),
      submittedAt: this.clock.now(),
      startedAt: undefined,
      finishedAt: undefined,
      message: '',
    };
    this.jobs.set(job.id, job);
    return job;
  }

  getJob(jobId: string): JobRecord {
    const job = this.jobs.get(jobId);
    if (!job) throw new JobNotFoundError(`No job \`${jobId}\``, { jobId });
    return job;
  }

  hasJob(jobId: string): boolean {
    return this.jobs.has(jobId);
  }

  listJobs(): JobRecord[] {
    return [...this.jobs.values()];
  }

  /** True when no job is queued or running. */
  idle(): boolean {
    return this.listJobs().every((j) => isFinished(j.phase));
  }

  private canServe(job: JobRecord, w: WorkerIdentity): boolean {
    if (w.jobId) return w.jobId === job.id || (job.spec.pipeline !== '' && w.jobId === job.spec.pipeline);
    return job.spec.app === '' || job.spec.app === w.app || (job.spec.streaming.mapper !== '' && w.app === '');
  }

  requestTask(w: WorkerIdentity): RequestResult {
    const now = this.clock.now();
    if (w.jobId) {
      // A worker launched for one job (or one multi-step job, whose steps follow each other
      // with no gap a request could see) exits once nothing of it is left to run.
      const own = this.jobs.get(w.jobId);
      const live = own ? !isFinished(own.phase) : this.listJobs().some((j) => j.spec.pipeline === w.jobId && !isFinished(j.phase));
      if (!live) return { directive: 'exit' };
    }
    // A worker runs one task at a time: if it already holds one, its earlier reply was lost.
    for (const job of this.jobs.values()) {
      if (isFinished(job.phase)) continue;
      for (const task of job.phase === 'reduce' ? job.reduces : job.maps) {
        if (task.state !== 'running') continue;
        const a = task.history.find((h) => h.state === 'running' && h.workerId === w.workerId);
        if (a) {
          a.leaseExpiresAt = now + job.spec.leaseMs;
          return { directive: 'run', assignment: { job, task, attempt: a.attempt } };
        }
      }
    }
    let servable = false;
    for (const job of this.jobs.values()) {
      if (isFinished(job.phase) || !this.canServe(job, w)) continue;
      servable = true;
      const tasks = job.phase === 'reduce' ? job.reduces : job.maps;
      const task = tasks.find((t) => t.state === 'pending');
      if (task) {
        if (job.phase === 'queued') {
          job.phase = 'map';
          job.startedAt = now;
          this.emit({ type: 'phase', job });
        }
        return { directive: 'run', assignment: this.startAttempt(job, task, w.workerId, now, false) };
      }
    }
    // Nothing pending anywhere this worker can serve: back up a straggler instead of idling.
    for (const job of this.jobs.values()) {
      if (isFinished(job.phase) || !job.spec.speculative || !this.canServe(job, w)) continue;
      const slow = this.straggler(job, w.workerId, now);
      if (slow) return { directive: 'run', assignment: this.startAttempt(job, slow, w.workerId, now, true) };
    }
    if (!servable && !w.jobId && this.exitWhenIdle && this.idle()) return { directive: 'exit' };
    return { directive: 'wait', retryAfterMs: this.waitMs };
  }

  private startAttempt(job: JobRecord, task: TaskRecord, workerId: string, now: number, backup: boolean): TaskAssignment {
    const attempt = task.history.length + 1;
    task.state = 'running';
    task.history.push({
      attempt,
      workerId,
      state: 'running',
      startedAt: now,
      endedAt: undefined,
      leaseExpiresAt: now + job.spec.leaseMs,
      error: undefined,
      backup,
    });
    this.emit({ type: 'task', job, task });
    return { job, task, attempt };
  }

  /**
   * The running task of the job's phase most worth a backup attempt on `workerId`: one running
   * attempt, on another worker, run longer than `slowFactor` x the phase's median finished task
   * (and `minRunMs`). Undefined while any task of the phase is pending or none has finished.
   */
  private straggler(job: JobRecord, workerId: string, now: number): TaskRecord | undefined {
    if (job.phase !== 'map' && job.phase !== 'reduce') return undefined;
    const tasks = job.phase === 'reduce' ? job.reduces : job.maps;
    const took: number[] = [];
    for (const t of tasks) {
      if (t.state === 'pending') return undefined;
      const won = t.state === 'done' ? t.history.find((a) => a.state === 'succeeded') : undefined;
      if (won?.endedAt !== undefined) took.push(won.endedAt - won.startedAt);
    }
    if (took.length === 0) return undefined;
    took.sort((a, b) => a - b);
    const median = took[Math.floor(took.length / 2)]!;
    const threshold = Math.max(this.minRunMs, median * this.slowFactor);
    let best: { task: TaskRecord; ran: number } | undefined;
    for (const t of tasks) {
      if (t.state !== 'running') continue;
      const live = t.history.filter((a) => a.state === 'running');
      if (live.length !== 1 || live[0]!.workerId === workerId || t.history.some((a) => a.backup)) continue;
      const ran = now - live[0]!.startedAt;
      if (ran >= threshold && (!best || ran > best.ran)) best = { task: t, ran };
    }
    return best?.task;
  }

  private findTask(ref: { jobId: string; kind: TaskKind; index: number }): { job: JobRecord; task: TaskRecord } | undefined {
    const job = this.jobs.get(ref.jobId);
    if (!job) return undefined;
    const task = (ref.kind === 'map' ? job.maps : job.reduces)[ref.index];
    return task ? { job, task } : undefined;
  }

  private liveAttempt(task: TaskRecord, ref: TaskRef): AttemptRecord | undefined {
    const a = task.history[ref.attempt - 1];
    return a && a.state === 'running' && a.workerId === ref.workerId ? a : undefined;
  }

  /**
   * Renews the lease of a running attempt. Returns false when the worker should abandon it:
   * the attempt was reassigned, the task is finished, or the job ended.
   */
  heartbeat(ref: TaskRef): boolean {
    const found = this.findTask(ref);
    if (!found || isFinished(found.job.phase)) return false;
    const a = this.liveAttempt(found.task, ref);
    if (!a) return false;
    a.leaseExpiresAt = this.clock.now() + found.job.spec.leaseMs;
    return true;
  }

  /**
   * Whether this attempt may make its outputs visible now: the task is not done, the job runs,
   * and the attempt is one this coordinator handed to this worker (a lost attempt that finished
   * after all still may: its outputs are complete and no other attempt has committed). The
   * first attempt to be granted and report wins; every later one is refused.
   */
  canCommit(ref: TaskRef): boolean {
    const found = this.findTask(ref);
    if (!found) return false;
    const { job, task } = found;
    if (isFinished(job.phase) || task.state === 'done' || task.state === 'failed') return false;
    const a = task.history[ref.attempt - 1];
    // A restored attempt has no worker on record: its worker's late success still counts.
    return a !== undefined && (a.workerId === ref.workerId || a.workerId === '') && a.state !== 'failed' && a.state !== 'abandoned';
  }

  /**
   * A reduce attempt could not read the outputs of `maps` (missing, truncated, corrupt): those
   * maps run again — Hadoop's fetch-failure rule — and the reduce goes back to pending without
   * counting a failure against it. A map sent back more than `maxAttempts` times fails the job.
   * Returns the maps sent back.
   */
  fetchFailed(ref: TaskRef, maps: number[], error: string): number[] {
    const found = this.findTask(ref);
    if (!found || ref.kind !== 'reduce') return [];
    const { job, task } = found;
    if (isFinished(job.phase) || task.state !== 'running') return [];
    const a = this.liveAttempt(task, ref);
    if (!a) return [];
    const now = this.clock.now();
    a.state = 'failed';
    a.endedAt = now;
    a.error = error;
    task.error = error;
    // A backup attempt of the reduce may still be running; it meets the same damage, or not.
    if (!task.history.some((h) => h.state === 'running')) task.state = 'pending';
    this.emit({ type: 'task', job, task });
    const reopened: number[] = [];
    for (const m of new Set(maps)) {
      const map = job.maps[m];
      if (!map || map.state !== 'done') continue;
      map.reruns++;
      map.error = `reduce ${task.index} could not read its output: ${error}`;
      if (map.reruns > job.spec.maxAttempts) {
        map.state = 'failed';
        this.emit({ type: 'task', job, task: map });
        this.finish(job, 'failed', `${describeTask(map)}'s output could not be read ${map.reruns} times; last error: ${error}`);
        return reopened;
      }
      map.state = 'pending';
      map.outputFiles = [];
      map.counters = undefined;
      reopened.push(m);
      this.emit({ type: 'task', job, task: map });
    }
    if (reopened.length > 0 && job.phase === 'reduce') {
      job.phase = 'map';
      this.emit({ type: 'phase', job });
    }
    return reopened;
  }

  /**
   * A worker's report. The first success of a task wins, from whichever attempt; later reports
   * are ignored (returns false). A failure counts only for the attempt that still holds the task.
   */
  report(
    ref: TaskRef,
    result: { success: true; outputFiles: string[]; counters?: Record<string, number> } | { success: false; error: string; unrecoverable?: boolean },
  ): boolean {
    const found = this.findTask(ref);
    if (!found) return false;
    const { job, task } = found;
    if (isFinished(job.phase) || task.state === 'done' || task.state === 'failed') return false;
    const now = this.clock.now();
    const a = task.history[ref.attempt - 1];
    // A restored attempt has no worker on record: its worker's late success still counts.
    if (!a || (a.workerId !== ref.workerId && a.workerId !== '')) return false;
    if (result.success) {
      if (!this.canCommit(ref)) return false;
      // A lost attempt that finishes after all still wins: its outputs are complete.
      a.state = 'succeeded';
      a.endedAt = now;
      a.error = undefined;
      // Any other attempt still running loses the race.
      for (const other of task.history) {
        if (other.state === 'running') {
          other.state = 'abandoned';
          other.endedAt = now;
        }
      }
      task.state = 'done';
      task.outputFiles = result.outputFiles;
      task.counters = result.counters;
      task.error = undefined;
      this.emit({ type: 'task', job, task });
      this.advance(job);
      return true;
    }
    if (a.state !== 'running') return false;
    a.state = 'failed';
    a.endedAt = now;
    a.error = result.error;
    task.failures++;
    task.error = result.error;
    // User code said no retry can help (UnrecoverableError): the first such failure ends the job.
    if (result.unrecoverable) this.endAttempt(job, task, true, 'failed with an unrecoverable error');
    else this.endAttempt(job, task, task.failures >= job.spec.maxAttempts, `failed ${task.failures} times`);
    return true;
  }

  /** The executor learned that a worker is gone: its running attempts are lost at once. */
  workerDied(workerId: string, reason: string): void {
    const now = this.clock.now();
    for (const job of this.jobs.values()) {
      if (isFinished(job.phase)) continue;
      for (const task of [...job.maps, ...job.reduces]) {
        if (task.state !== 'running') continue;
        for (const a of task.history) {
          if (a.state === 'running' && a.workerId === workerId && !isFinished(job.phase)) this.lose(job, task, a, now, `worker ${workerId} died: ${reason}`);
        }
      }
    }
  }

  /** Expires leases. The adapter calls it about once a second. */
  tick(): void {
    const now = this.clock.now();
    for (const job of this.jobs.values()) {
      if (isFinished(job.phase)) continue;
      for (const task of [...job.maps, ...job.reduces]) {
        if (task.state !== 'running') continue;
        for (const a of task.history) {
          if (a.state !== 'running' || a.leaseExpiresAt > now || isFinished(job.phase)) continue;
          this.lose(job, task, a, now, `lease expired: no heartbeat from worker ${a.workerId} for ${job.spec.leaseMs} ms`);
        }
      }
    }
  }

  private lose(job: JobRecord, task: TaskRecord, a: AttemptRecord, now: number, why: string): void {
    a.state = 'lost';
    a.endedAt = now;
    a.error = why;
    task.losses++;
    task.error = why;
    this.endAttempt(job, task, task.losses >= job.spec.maxLostAttempts, `was lost ${task.losses} times`);
  }

  private endAttempt(job: JobRecord, task: TaskRecord, exhausted: boolean, howOften: string): void {
    if (!exhausted) {
      // Another attempt (a backup, or the one it backed up) may still finish the task.
      if (!task.history.some((a) => a.state === 'running')) task.state = 'pending';
      this.emit({ type: 'task', job, task });
      return;
    }
    task.state = 'failed';
    this.emit({ type: 'task', job, task });
    this.finish(job, 'failed', `${describeTask(task)} ${howOften}; last error: ${task.error ?? 'unknown'}`);
  }

  cancel(jobId: string): boolean {
    const job = this.getJob(jobId);
    if (isFinished(job.phase)) return false;
    this.finish(job, 'cancelled', 'cancelled by request');
    return true;
  }

  /**
   * Sets the message of a job still running (why its workers cannot start, say; '' once they
   * can); the job's end replaces it with the final message.
   */
  note(jobId: string, message: string): boolean {
    const job = this.getJob(jobId);
    if (isFinished(job.phase) || job.message === message) return false;
    job.message = message;
    this.emit({ type: 'phase', job });
    return true;
  }

  /** Fails a job for a reason outside its tasks (its workers cannot be started, say). */
  fail(jobId: string, message: string): boolean {
    const job = this.getJob(jobId);
    if (isFinished(job.phase)) return false;
    this.finish(job, 'failed', message);
    return true;
  }

  private finish(job: JobRecord, phase: 'succeeded' | 'failed' | 'cancelled', message: string): void {
    const now = this.clock.now();
    for (const task of [...job.maps, ...job.reduces]) {
      for (const a of task.history) {
        if (a.state === 'running') {
          a.state = 'abandoned';
          a.endedAt = now;
        }
      }
    }
    job.phase = phase;
    job.message = message;
    job.finishedAt = now;
    this.emit({ type: 'phase', job });
    this.emit({ type: 'finished', job });
  }

  private advance(job: JobRecord): void {
    if (job.phase === 'queued' || job.phase === 'map') {
      if (!job.maps.every((t) => t.state === 'done')) return;
      job.startedAt ??= this.clock.now();
      job.phase = 'reduce';
      this.emit({ type: 'phase', job });
    }
    if (job.phase === 'reduce' && job.reduces.every((t) => t.state === 'done')) {
      this.finish(job, 'succeeded', '');
    }
  }

  /**
   * Records a job that finished before this coordinator started, for listing only: no event is
   * emitted and nothing will run.
   */
  restoreFinished(args: {
    id: string;
    spec: JobSpec;
    jobDir: string;
    outputDir: string;
    mapInputs: InputSplit[][];
    submittedAt: number;
    finishedAt: number;
    phase: 'succeeded' | 'failed' | 'cancelled';
    message: string;
    done: Array<{ kind: TaskKind; index: number; outputFiles: string[] }>;
  }): JobRecord {
    const job = this.newJob(args);
    for (const d of args.done) {
      const t = (d.kind === 'map' ? job.maps : job.reduces)[d.index];
      if (t) {
        t.state = 'done';
        t.outputFiles = d.outputFiles;
      }
    }
    Object.assign(job, { submittedAt: args.submittedAt, startedAt: args.submittedAt, finishedAt: args.finishedAt, phase: args.phase, message: args.message });
    return job;
  }

  /**
   * Restores a job from a journal: the spec as submitted and the tasks already done. Running
   * tasks of the previous incarnation start over as pending; their workers' late reports are
   * still accepted by attempt number.
   */
  restore(args: {
    id: string;
    spec: JobSpec;
    jobDir: string;
    outputDir: string;
    mapInputs: InputSplit[][];
    submittedAt: number;
    done: Array<{ kind: TaskKind; index: number; outputFiles: string[] }>;
    attempts: Array<{ kind: TaskKind; index: number; attempts: number }>;
  }): JobRecord {
    const job = this.submit(args);
    job.submittedAt = args.submittedAt;
    for (const a of args.attempts) {
      const t = (a.kind === 'map' ? job.maps : job.reduces)[a.index];
      // Keep attempt numbers increasing across restarts so no two attempts share a number.
      if (t) {
        for (let i = t.history.length; i < a.attempts; i++) {
          t.history.push({ attempt: i + 1, workerId: '', state: 'lost', startedAt: args.submittedAt, endedAt: this.clock.now(), leaseExpiresAt: 0, error: 'coordinator restarted', backup: false });
        }
      }
    }
    for (const d of args.done) {
      const t = (d.kind === 'map' ? job.maps : job.reduces)[d.index];
      if (!t) continue;
      t.state = 'done';
      t.outputFiles = d.outputFiles;
    }
    if (job.maps.some((t) => t.state === 'done') || job.reduces.some((t) => t.state === 'done')) {
      job.phase = 'map';
      job.startedAt = args.submittedAt;
    }
    this.advance(job);
    return job;
  }
}
