import fs from 'node:fs';
import path from 'node:path';
import { InvalidJobSpecError, JobExistsError, errorFields, errorMessage } from '../errors.js';
import type { ExhaustedCause, Executor } from '../executor/types.js';
import { checkOutputDir, isPreparedJob, prepareJob, type PreparedJob } from './prepare.js';
import { compileJobSpec, type JobSpec, type JobSpecInput } from './jobspec.js';
import { pipelineView, stepInput, stepJobId, type Pipeline } from './pipeline.js';
import { Journal } from './journal.js';
import { DataLayout, mapOutputName, outputName, taskName, type JobLayout } from '../storage/layout.js';
import { claimOutputDir, DataDirLock, outputOwner, releaseOutputDir } from '../storage/ownership.js';
import { checkReportedFiles, commitAttempt, finalNames, discardAttempt, discardMapAttempts, discardOutput, prepareAttempt, publishOutput, taskFiles } from './commit.js';
import { isJobId, JOB_ID_RULE, newJobId } from '../storage/job-id.js';
import { silentLogger, type Logger } from '../logger.js';
import { workerCredential } from '../protocol/credentials.js';
import { intOption } from '../options.js';
import { writeFileAtomic } from '../storage/atomic.js';
import { makeDirs } from '../storage/dirs.js';
import { formatResult, parseResult, type ResultPhase } from '../storage/result.js';
export { isFinished } from './scheduler.js';
import { isFinished, Scheduler, systemClock, type Clock, type JobRecord, type RequestResult, type SchedulerEvent, type TaskRef, type WorkerIdentity } from './scheduler.js';
import { Listeners } from './listeners.js';

/**
 * What an executor tells of a job's workers, passed on to whoever watches (the operator makes
 * Kubernetes Events of them). `jobId` is the id the workers were launched for (a multi-step
 * job's own id, not a step's).
 */
export type WorkerEvent =
  | { type: 'died'; jobId: string; worker: string; reason: string }
  | { type: 'stuck'; jobId: string; problem: string }
  | { type: 'started'; jobId: string }
  | { type: 'exhausted'; jobId: string; reason: string; cause: ExhaustedCause };

/** A worker's report, as the gRPC adapter hands it over. */
export type TaskReport =
  | { success: true; outputFiles: string[]; counters?: Record<string, number> | undefined }
  | { success: false; error: string; fetchFailedMaps?: number[] | undefined; unrecoverable?: boolean | undefined };

export interface CoordinatorOptions {
  /** The data directory (shared volume): jobs/<id>/... live here. */
  dataDir: string;
  /** Starts workers for submitted jobs; none for hand-started workers. */
  executor?: Executor | undefined;
  logger?: Logger;
  clock?: Clock;
  /** Tell job-less workers to exit once every job has finished (single-job mode). @default false */
  exitWhenIdle?: boolean;
  /** How often leases are checked, in milliseconds (>= 1). @default 250 */
  tickMs?: number;
  /** Resume unfinished jobs found in the data directory's journals. @default true */
  recover?: boolean;
  /**
   * The coordinator's token, when it requires one. The workers an executor starts for a job get
   * that job's worker credential derived from it (lib/protocol/credentials.ts), never the token.
   */
  token?: string | undefined;
  /** The CA (PEM) workers trust when the coordinator serves TLS; passed to the executor. */
  workerTlsCa?: string | undefined;
  /** Kill leftover workers this many milliseconds (>= 0) after a job succeeds (they normally exit on their own). @default 3000 */
  workerGraceMs?: number;
  /**
   * Refuse jobs whose inputs or output directory resolve outside this directory (the shared
   * volume, in the cluster), so a client cannot read or write the coordinator's own files.
   * @default no restriction (local mode: users run their own files)
   */
  confineTo?: string | undefined;
  /**
   * A data-directory lock not refreshed for this long is taken to belong to a dead coordinator.
   * @default 15000
   */
  lockStaleMs?: number;
  /**
   * Most workers one job may ask for; a job asking for more is refused at submit, naming this
   * setting. @default 100
   */
  maxWorkersPerJob?: number;
  /** Resume only this job from the journals (`kubemr run --resume`); others wait. @default all */
  resumeOnly?: string | undefined;
}

/** The Coordinator's timing options, checked once. */
export interface CompiledCoordinatorOptions {
  tickMs: number;
  workerGraceMs: number;
  maxWorkersPerJob: number;
}

export function compileCoordinatorOptions(o: Pick<CoordinatorOptions, 'tickMs' | 'workerGraceMs' | 'maxWorkersPerJob'>): CompiledCoordinatorOptions {
  return {
    tickMs: intOption('tickMs', o.tickMs, 250, 1),
    workerGraceMs: intOption('workerGraceMs', o.workerGraceMs, 3000, 0),
    maxWorkersPerJob: intOption('maxWorkersPerJob', o.maxWorkersPerJob, 100, 1),
  };
}

/**
 * The coordinator engine: the scheduler plus the side effects around it — input planning, the
 * data directory, the journal, RESULT files, the executor. The gRPC server is a thin adapter
 * over this class, and so is everything in cmd/.
 */
export class Coordinator {
  private readonly scheduler: Scheduler;
  private readonly layout: DataLayout;
  private readonly logger: Logger;
  private readonly executor: Executor | undefined;
  private readonly timing: CompiledCoordinatorOptions;
  private readonly journals = new Map<string, Journal>();
  private readonly waiters = new Map<string, Array<(j: JobRecord) => void>>();
  private timer: NodeJS.Timeout | undefined;
  private readonly killTimers = new Set<NodeJS.Timeout>();
  /**
   * Finished jobs whose workers may still be alive: a worker mid-task can write into the job's
   * intermediate or output directory after the job ended, so both are swept again once its
   * workers are gone.
   */
  private readonly unswept = new Map<string, JobRecord>();
  private readonly stopping = new Set<Promise<void>>();
  private readonly pipelines = new Map<string, Pipeline>();
  private readonly listeners = new Listeners<SchedulerEvent>((err, e) => this.logger.error('a job event listener failed', { job: e.job.id, ...errorFields(err) }));
  private readonly workerListeners = new Listeners<WorkerEvent>((err, e) => this.logger.error('a worker event listener failed', { job: e.jobId, ...errorFields(err) }));
  /** Jobs that hold their output directory's claim; only these touch what is in it. */
  private readonly owning = new Map<string, string>(); // job id -> the claim's holder (claimant)
  private lock: DataDirLock | undefined;
  /** host:port workers dial; set by whoever binds the server. */
  advertise = '';
  /** False until start() has resumed the journaled jobs; until then workers are told to wait. */
  started = false;

  constructor(private readonly options: CoordinatorOptions) {
    this.timing = compileCoordinatorOptions(options);
    this.logger = (options.logger ?? silentLogger).child({ component: 'coordinator' });
    this.layout = new DataLayout(path.resolve(options.dataDir));
    this.executor = options.executor;
    this.scheduler = new Scheduler({ clock: options.clock ?? systemClock, exitWhenIdle: options.exitWhenIdle ?? false });
    this.scheduler.subscribe((e) => this.onEvent(e));
    this.executor?.onWorkerDeath((workerId, jobId, reason) => {
      this.logger.warn('worker died', { worker: workerId, job: jobId, reason });
      this.scheduler.workerDied(workerId, reason);
      this.emitWorkerEvent({ type: 'died', jobId, worker: workerId, reason });
    });
    // Executors name a multi-step job's workers by the whole job's id; its current step is the one to fail or note.
    const target = (jobId: string) => this.pipelines.get(jobId)?.stepIds.at(-1) ?? jobId;
    this.executor?.onWorkersExhausted?.((jobId, reason, cause = 'backoff-limit') => {
      this.emitWorkerEvent({ type: 'exhausted', jobId, reason, cause });
      const id = target(jobId);
      if (!this.scheduler.hasJob(id)) return;
      this.scheduler.fail(id, cause === 'start-timeout' ? `workers could not be started: ${reason}` : `no worker could be kept running: ${reason}`);
    });
    this.executor?.onWorkersStuck?.((jobId, problem) => {
      // Watchers hear the reason before the job's message changes.
      this.emitWorkerEvent(problem === undefined ? { type: 'started', jobId } : { type: 'stuck', jobId, problem });
      const id = target(jobId);
      if (this.scheduler.hasJob(id)) {
        const job = this.scheduler.getJob(id);
        const note = problem === undefined ? '' : `workers cannot start: ${problem}`;
        // Clears only its own note.
        if (problem !== undefined || job.message.startsWith('workers cannot start: ')) this.scheduler.note(id, note);
      }
    });
  }

  /** Starts the lease clock and resumes unfinished jobs from their journals. */
  async start(): Promise<void> {
    makeDirs(this.layout.jobsDir(), 'data directory');
    // One coordinator per data directory: two would both resume, run and commit the same jobs.
    this.lock = DataDirLock.acquire(this.layout.root, { staleMs: this.options.lockStaleMs });
    if (this.options.recover ?? true) {
      await this.recover();
      await this.resumePipelines();
    }
    this.timer = setInterval(() => this.scheduler.tick(), this.timing.tickMs);
    this.timer.unref();
    this.started = true;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const t of this.killTimers) clearTimeout(t);
    for (const j of this.journals.values()) j.close();
    this.journals.clear();
    await this.executor?.close();
    await Promise.allSettled([...this.stopping]);
    for (const job of this.unswept.values()) this.sweep(job, true);
    this.unswept.clear();
    this.lock?.release();
    this.lock = undefined;
  }

  /**
   * Removes what a finished job leaves behind: intermediates (kept after a failure, for
   * debugging), attempt files, and — while it still holds the output directory — its staging
   * directory. `last` once no worker of the job can write any more: the claim is given up then.
   */
  private sweep(job: JobRecord, last: boolean): void {
    try {
      if (job.phase !== 'failed') fs.rmSync(this.layout.job(job.id).intermediateDir, { recursive: true, force: true });
      else discardMapAttempts(job.jobDir);
      removeTempFiles(job.outputDir);
      if (this.owning.has(job.id)) {
        discardOutput(job.outputDir);
        if (last) {
          releaseOutputDir(job.outputDir, this.owning.get(job.id)!);
          this.owning.delete(job.id);
        }
      }
    } catch (err) {
      this.logger.warn('could not clean up after the job', { job: job.id, ...errorFields(err) });
    }
  }

  /** The data directory this coordinator owns. */
  get dataRoot(): string {
    return this.layout.root;
  }

  /** Where a job's files live under the data directory. */
  jobLayout(jobId: string): JobLayout {
    return this.layout.job(jobId);
  }

  // The scheduler's state, read and driven only through the Coordinator: adapters (the gRPC
  // server, the operator, cmd/) never hold the scheduler itself.
  getJob(jobId: string): JobRecord {
    const p = this.pipelines.get(jobId);
    return p ? this.viewOf(p) : this.scheduler.getJob(jobId);
  }
  hasJob(jobId: string): boolean {
    return this.pipelines.has(jobId) || this.scheduler.hasJob(jobId);
  }
  /** Every job: the scheduler's (a multi-step job's steps among them) and each multi-step job as a whole. */
  listJobs(): JobRecord[] {
    return [...this.scheduler.listJobs(), ...[...this.pipelines.values()].map((p) => this.viewOf(p))];
  }
  /** Every state change: the scheduler's, and a multi-step job's under its own id. */
  subscribe(listener: (e: SchedulerEvent) => void): () => void {
    return this.listeners.add(listener);
  }

  /** What the executor says of a job's workers: one died, they cannot start, they started, it gave up. */
  onWorkerEvent(listener: (e: WorkerEvent) => void): () => void {
    return this.workerListeners.add(listener);
  }

  private emitWorkerEvent(e: WorkerEvent): void {
    this.workerListeners.emit(e);
  }

  private emit(e: SchedulerEvent): void {
    this.listeners.emit(e);
  }
  /** The scheduler's answer, with the directory the attempt is to write into made and named. */
  requestTask(w: WorkerIdentity): RequestResult {
    const r = this.scheduler.requestTask(w);
    if (r.directive !== 'run') return r;
    const { job, task, attempt } = r.assignment;
    const files = taskFiles(job, task.kind, task.index, attempt);
    try {
      prepareAttempt(files);
    } catch (err) {
      // The worker's first write fails with the reason; its report fails the attempt.
      this.logger.error('could not make the attempt directory', { job: job.id, task: taskName(task.kind, task.index), attempt, ...errorFields(err) });
    }
    return { directive: 'run', assignment: { ...r.assignment, attemptDir: files.attemptDir } };
  }
  heartbeat(ref: TaskRef): boolean {
    return this.scheduler.heartbeat(ref);
  }

  /**
   * A worker's report. A success asks for the commit: granted to the first eligible attempt
   * only (the scheduler decides), the coordinator — not the worker — moves that attempt's files
   * to the names it chose, journaling the grant first so that a crash half way is finished on
   * restart. A refused attempt's files are thrown away; it can never replace a committed file.
   * A reduce that could not read some maps' outputs sends those maps back to run again.
   */
  report(ref: TaskRef, result: TaskReport): boolean {
    if (!this.scheduler.hasJob(ref.jobId)) return false;
    const job = this.scheduler.getJob(ref.jobId);
    const task = (ref.kind === 'map' ? job.maps : job.reduces)[ref.index];
    if (task === undefined || ref.attempt < 1) return false;
    const files = taskFiles(job, ref.kind, ref.index, ref.attempt);
    if (!result.success) {
      // Kept in the task's history and sent in every GetJob: bounded, whatever a worker sends.
      result = { ...result, error: boundedError(result.error) };
      if (result.fetchFailedMaps?.length) {
        const reopened = this.scheduler.fetchFailed(ref, result.fetchFailedMaps, result.error);
        for (const m of reopened) this.journals.get(job.id)?.append({ t: 'reopen', kind: 'map', index: m });
        if (reopened.length > 0) this.logger.warn('maps sent back: a reduce could not read their output', { job: job.id, task: taskName('reduce', ref.index), maps: reopened.join(','), error: result.error });
        discardAttempt(files);
        return true;
      }
      const accepted = this.scheduler.report(ref, result);
      if (accepted) discardAttempt(files);
      return accepted;
    }
    if (!this.scheduler.canCommit(ref)) {
      // Another attempt committed, or the task is no longer this worker's: nothing it wrote is kept.
      discardAttemptIfOwn(job, ref, files);
      return false;
    }
    const problem = checkReportedFiles(files, result.outputFiles);
    if (problem) return this.scheduler.report(ref, { success: false, error: problem });
    let committed: string[];
    try {
      this.journals.get(job.id)?.append({ t: 'commit', kind: ref.kind, index: ref.index, attempt: ref.attempt });
      committed = commitAttempt(files);
    } catch (err) {
      return this.scheduler.report(ref, { success: false, error: `could not commit the attempt's output: ${String(err)}` });
    }
    // A reduce's output is named by where it will be once the job has succeeded.
    const named = finalNames(job, ref.kind, ref.index, committed);
    const accepted = this.scheduler.report(ref, { success: true, outputFiles: named, counters: result.counters });
    // The attempts that lost the race lose their directories now: their workers see it and stop
    // (see runWorker), instead of running on to the end of work nobody will read.
    if (accepted) {
      for (const other of task.history) {
        if (other.attempt === ref.attempt || other.state !== 'abandoned') continue;
        try {
          discardAttempt(taskFiles(job, ref.kind, ref.index, other.attempt));
        } catch (err) {
          // The loser writing as it goes (or a file held open on NFS) can keep the directory
          // from going; the commit stands, and the job's end sweeps what is left.
          this.logger.warn('could not remove a losing attempt\'s directory', { job: job.id, task: taskName(ref.kind, ref.index), attempt: other.attempt, ...errorFields(err) });
        }
      }
    }
    return accepted;
  }

  newJobId(name: string): string {
    return newJobId(name);
  }

  /**
   * Checks and plans a job without queueing it (see prepareJob): `kubemr run` calls it while its
   * workers boot, then hands the result to `submit`, so nothing is checked twice.
   */
  async prepare(input: JobSpecInput, jobId?: string): Promise<PreparedJob> {
    // The output directory is checked in submit, under the directory's claim.
    const job = await prepareJob(input, { jobId, defaultOutputDir: (id) => this.layout.job(id).outputDir, confineTo: this.options.confineTo, checkOutput: false });
    if (job.spec.workers > this.timing.maxWorkersPerJob) {
      throw new InvalidJobSpecError(`Expected \`workers\` to be at most ${this.timing.maxWorkersPerJob} (this coordinator's limit, maxWorkersPerJob or --max-workers), got ${job.spec.workers}`, { field: 'workers' });
    }
    return job;
  }

  /**
   * The one way a job is queued: validates, expands and plans it (unless given a job `prepare`
   * made), writes its spec and journal, then asks the executor for its workers.
   */
  async submit(input: JobSpecInput | PreparedJob, jobId?: string): Promise<JobRecord> {
    const job = isPreparedJob(input) ? input : await this.prepare(input, jobId);
    if (job.spec.steps > 1 && job.spec.pipeline === '') return this.submitPipeline(job);
    const { id, spec, outputDir, mapInputs } = job;
    const jl = this.layout.job(id);
    // A job exists once its spec is written; an executor may have made its logs directory first.
    if (fs.existsSync(jl.spec) || this.scheduler.hasJob(id)) throw new JobExistsError(`Job \`${id}\` already exists`, { jobId: id });
    // One job per output directory, claimed atomically, before anything is written.
    const claimant = claimantOf(id, spec);
    claimOutputDir(outputDir, claimant, this.layout.root);
    try {
      // The output directory is checked here, once the claim keeps other jobs out (not in
      // prepare), so no job can publish results into it between the check and the claim.
      checkOutputDir(outputDir);
      for (const d of [jl.intermediateDir, jl.logsDir]) fs.mkdirSync(d, { recursive: true });
      writeFileAtomic(jl.spec, JSON.stringify({ id, spec, outputDir, mapInputs }, null, 2) + '\n');
    } catch (err) {
      if (claimant === id) releaseOutputDir(outputDir, id);
      throw err;
    }
    this.owning.set(id, claimant);
    const journal = new Journal(jl.journal);
    this.journals.set(id, journal);
    journal.append({ t: 'submit', at: Date.now() });
    const record = this.scheduler.submit({ id, spec, jobDir: jl.dir, outputDir, mapInputs });
    this.logger.info('job submitted', { job: id, maps: mapInputs.length, reduces: spec.reducers, inputs: spec.inputs.length });
    await this.launchWorkers(record);
    return record;
  }

  /** Starts a job's workers; a job whose workers cannot be started fails with the reason. */
  private async launchWorkers(job: JobRecord): Promise<void> {
    // A multi-step job's workers are launched once, for all its steps.
    if (!this.executor || isFinished(job.phase) || job.spec.pipeline !== '') return;
    try {
      await this.startWorkers(job);
    } catch (err) {
      this.logger.error('could not start workers', { job: job.id, ...errorFields(err) });
      this.scheduler.fail(job.id, `could not start workers: ${errorMessage(err)}`);
    }
  }

  private async startWorkers(job: Pick<JobRecord, 'id' | 'spec'>): Promise<void> {
    await this.executor!.launch(
      {
        jobId: job.id,
        app: job.spec.app,
        coordinator: this.advertise,
        dataDir: this.layout.root,
        image: job.spec.image || undefined,
        // The job's own worker credential, never the token: user code runs in the workers.
        token: this.options.token ? workerCredential(this.options.token, job.id) : undefined,
        tlsCa: this.options.workerTlsCa,
        memoryBytes: job.spec.memoryBytes,
        resources: job.spec.resources,
        env: job.spec.env,
      },
      job.spec.workers,
    );
  }

  cancel(jobId: string): boolean {
    const p = this.pipelines.get(jobId);
    if (!p) return this.scheduler.cancel(jobId);
    if (p.ended) return false;
    p.cancelled = true;
    const current = p.stepIds.at(-1)!;
    if (this.scheduler.cancel(current)) return true;
    // Between two steps: end here.
    this.endPipeline(p);
    return true;
  }

  /** Resolves when the job has finished, whatever the outcome. */
  waitFor(jobId: string): Promise<JobRecord> {
    const job = this.getJob(jobId);
    if (isFinished(job.phase)) return Promise.resolve(job);
    return new Promise((resolve) => {
      const list = this.waiters.get(jobId) ?? [];
      list.push(resolve);
      this.waiters.set(jobId, list);
    });
  }

  private onEvent(e: SchedulerEvent): void {
    try {
      this.record(e);
    } catch (err) {
      // A full or failing volume: the job goes on in memory; a restart may redo some of its work.
      this.logger.error('could not journal an event', { job: e.job.id, event: e.type, ...errorFields(err) });
    }
    this.emit(e);
    const p = this.pipelines.get(e.job.spec.pipeline);
    if (!p) return;
    if (e.type === 'finished') this.stepFinished(p, e.job);
    else this.emit({ ...e, job: this.viewOf(p) } as SchedulerEvent);
  }

  // --- multi-step jobs (lib/coordinator/pipeline.ts) ---

  private viewOf(p: Pipeline): JobRecord {
    const steps = p.stepIds.map((id) => this.scheduler.getJob(id));
    return pipelineView(p, steps[0]!, steps.at(-1)!, steps.slice(0, -1));
  }

  private async submitPipeline(whole: PreparedJob): Promise<JobRecord> {
    const { id, spec, outputDir } = whole;
    const jl = this.layout.job(id);
    if (this.hasJob(id) || fs.existsSync(jl.pipeline) || fs.existsSync(jl.spec)) throw new JobExistsError(`Job \`${id}\` already exists`, { jobId: id });
    // Claimed for the whole: its last step writes there under this claim, steps apart.
    claimOutputDir(outputDir, id, this.layout.root);
    const p: Pipeline = { id, spec, outputDir, stepIds: [], ended: false, failure: undefined, cancelled: false };
    // The first step runs on the inputs just checked and planned: they are not planned again.
    const firstId = stepJobId(id, 0);
    const firstSpec = compileJobSpec(stepInput(spec, id, 0, spec.inputs, outputDir), { workDir: spec.workDir });
    let first: JobRecord;
    try {
      checkOutputDir(outputDir);
      first = await this.submit({ ...whole, id: firstId, spec: firstSpec, outputDir: firstSpec.outputDir ? outputDir : this.layout.job(firstId).outputDir });
    } catch (err) {
      releaseOutputDir(outputDir, id);
      throw err;
    }
    fs.mkdirSync(jl.dir, { recursive: true });
    writeFileAtomic(jl.pipeline, JSON.stringify({ id, spec, outputDir }, null, 2) + '\n');
    p.stepIds.push(first.id);
    this.pipelines.set(id, p);
    await this.startWorkers({ id, spec }).catch((err: unknown) => this.scheduler.fail(first.id, `could not start workers: ${errorMessage(err)}`));
    this.logger.info('multi-step job submitted', { job: id, steps: spec.steps });
    return this.viewOf(p);
  }

  /** A step ended: submit the next one with its outputs, or end the whole. */
  private stepFinished(p: Pipeline, step: JobRecord): void {
    const k = step.spec.step;
    if (step.phase !== 'succeeded' || k === p.spec.steps - 1 || p.cancelled) {
      this.endPipeline(p);
      return;
    }
    this.emit({ type: 'phase', job: this.viewOf(p) });
    const next = stepInput(p.spec, p.id, k + 1, resultFiles(step), p.outputDir);
    // Inputs are plain paths, so the next step is queued before any worker's next request.
    this.submit(next, stepJobId(p.id, k + 1)).then(
      (job) => {
        p.stepIds.push(job.id);
        this.emit({ type: 'phase', job: this.viewOf(p) });
      },
      (err: unknown) => {
        p.failure = `step ${k + 2}/${p.spec.steps} could not be submitted: ${errorMessage(err)}`;
        this.endPipeline(p);
      },
    );
  }

  private endPipeline(p: Pipeline): void {
    if (p.ended) return;
    p.ended = true;
    // Ended before its last step claimed the output through it (or after: then idempotent).
    const last = p.stepIds.length === p.spec.steps ? p.stepIds.at(-1) : undefined;
    if (!last || !this.owning.has(last)) releaseOutputDir(p.outputDir, p.id);
    const view = this.viewOf(p);
    const jl = this.layout.job(p.id);
    try {
      writeFileAtomic(jl.result, formatResult(view.phase as ResultPhase, view.message));
      // The steps before the last were scratch: their outputs fed the next step only.
      if (view.phase === 'succeeded') for (const sid of p.stepIds.slice(0, -1)) fs.rmSync(this.layout.job(sid).outputDir, { recursive: true, force: true });
    } catch (err) {
      this.logger.warn('could not record the end of a multi-step job', { job: p.id, ...errorFields(err) });
    }
    this.logger.info('multi-step job finished', { job: p.id, phase: view.phase });
    this.emit({ type: 'phase', job: view });
    this.emit({ type: 'finished', job: view });
    for (const w of this.waiters.get(p.id) ?? []) w(view);
    this.waiters.delete(p.id);
    if (this.executor) {
      const stop = this.executor.stop(p.id).catch((err) => this.logger.warn('stopping workers failed', { job: p.id, ...errorFields(err) }));
      this.stopping.add(stop);
      void stop.finally(() => this.stopping.delete(stop));
    }
  }

  /** After recovery: rebuild multi-step jobs from their pipeline.json and their steps' jobs. */
  private async resumePipelines(): Promise<void> {
    for (const id of fs.readdirSync(this.layout.jobsDir()).sort()) {
      const jl = this.layout.job(id);
      if (!fs.existsSync(jl.pipeline) || this.pipelines.has(id)) continue;
      try {
        const saved = JSON.parse(fs.readFileSync(jl.pipeline, 'utf8'));
        const spec = compileJobSpec(saved.spec, { workDir: saved.spec.workDir });
        const p: Pipeline = { id, spec, outputDir: saved.outputDir, stepIds: [], ended: fs.existsSync(jl.result), failure: undefined, cancelled: false };
        for (let k = 0; k < spec.steps && this.scheduler.hasJob(stepJobId(id, k)); k++) p.stepIds.push(stepJobId(id, k));
        if (p.stepIds.length === 0) continue;
        this.pipelines.set(id, p);
        if (p.ended) continue;
        const current = this.scheduler.getJob(p.stepIds.at(-1)!);
        if (isFinished(current.phase)) this.stepFinished(p, current);
        else await this.startWorkers({ id, spec });
      } catch (err) {
        this.logger.error('could not resume multi-step job', { job: id, ...errorFields(err) });
      }
    }
  }

  private record(e: SchedulerEvent): void {
    const journal = this.journals.get(e.job.id);
    if (e.type === 'task') {
      const last = e.task.history.at(-1);
      if (e.task.state === 'done') journal?.append({ t: 'done', kind: e.task.kind, index: e.task.index, outputFiles: e.task.outputFiles });
      else if (e.task.state === 'running' && last) journal?.append({ t: 'attempt', kind: e.task.kind, index: e.task.index, attempt: last.attempt });
      return;
    }
    if (e.type !== 'finished') return;
    const job = e.job;
    this.settleOutput(job);
    journal?.append({ t: 'finish', phase: job.phase, message: job.message });
    journal?.close();
    this.journals.delete(job.id);
    this.finishJob(job);
    for (const w of this.waiters.get(job.id) ?? []) w(job);
    this.waiters.delete(job.id);
  }

  /**
   * All or nothing: a succeeded job's committed outputs move into the output directory and
   * `_SUCCESS` is written; a failed or cancelled job's are thrown away. Only while the job
   * still holds the directory's claim.
   */
  private settleOutput(job: JobRecord): void {
    if (!this.owning.has(job.id)) return;
    try {
      if (job.phase === 'succeeded') publishOutput(job);
      else discardOutput(job.outputDir);
    } catch (err) {
      this.logger.error('could not publish the job\'s output', { job: job.id, ...errorFields(err) });
    }
  }

  private finishJob(job: JobRecord): void {
    const jl = this.layout.job(job.id);
    try {
      writeFileAtomic(jl.result, formatResult(job.phase as ResultPhase, job.message));
    } catch (err) {
      this.logger.error('could not record the job result', { job: job.id, ...errorFields(err) });
    }
    // A succeeded job's directory holds its results, which no other job may claim over: give
    // the claim up now. A failed one's only once its workers are gone (they might still write).
    this.sweep(job, !this.executor || job.phase === 'succeeded');
    this.logger.info('job finished', { job: job.id, phase: job.phase, message: job.message || undefined });
    if (!this.executor) return;
    this.unswept.set(job.id, job);
    const stop = () => {
      const p = this.executor!.stop(job.id)
        .catch((err) => this.logger.warn('stopping workers failed', { job: job.id, ...errorFields(err) }))
        // A worker killed mid-write leaves its temp file; no worker of the job is left to finish it.
        .then(() => {
          this.unswept.delete(job.id);
          this.sweep(job, true);
        })
        .finally(() => this.stopping.delete(p));
      this.stopping.add(p);
    };
    if (job.phase === 'succeeded') {
      // Workers are told EXIT on their next request; stop only stragglers.
      const t = setTimeout(() => {
        this.killTimers.delete(t);
        stop();
      }, this.timing.workerGraceMs);
      t.unref();
      this.killTimers.add(t);
    } else {
      stop();
    }
  }

  /** Re-queues every job whose directory has a spec and a journal but no RESULT. */
  private async recover(): Promise<void> {
    const root = this.layout.jobsDir();
    for (const id of fs.readdirSync(root).sort()) {
      const jl = this.layout.job(id);
      if (!fs.existsSync(jl.spec) || this.scheduler.hasJob(id)) continue;
      if (this.options.resumeOnly !== undefined && id !== this.options.resumeOnly) continue;
      try {
        const saved = JSON.parse(fs.readFileSync(jl.spec, 'utf8'));
        // Through compileJobSpec again, so a spec saved by an older version gets today's defaults.
        const spec = compileJobSpec(saved.spec, { workDir: saved.spec.workDir });
        const state = Journal.replay(jl.journal);
        const finish = fs.existsSync(jl.result) ? parseResult(fs.readFileSync(jl.result, 'utf8')) : state.finish;
        // Still ours? Another job may have taken the output directory while this one was down.
        const owner = outputOwner(saved.outputDir)?.jobId;
        const claimant = claimantOf(id, spec);
        if (owner === claimant) this.owning.set(id, claimant);
        const base = { id, spec, jobDir: jl.dir, outputDir: saved.outputDir, mapInputs: saved.mapInputs, submittedAt: state.submittedAt, done: state.done };
        if (finish) {
          // Finished before this start: listed, so history survives a restart, but never run again.
          const job = this.scheduler.restoreFinished({
            ...base,
            finishedAt: fs.existsSync(jl.result) ? fs.statSync(jl.result).mtimeMs : Date.now(),
            phase: finish.phase,
            message: finish.message,
          });
          // The journal knew the outcome but RESULT was never written: write it now.
          if (!fs.existsSync(jl.result)) this.finishJob(job);
          else if (this.owning.has(id)) {
            // Finished, but the claim outlived the crash: settle the output and give it up.
            this.settleOutput(job);
            this.sweep(job, true);
          }
          continue;
        }
        const journal = new Journal(jl.journal);
        this.journals.set(id, journal);
        journal.append({ t: 'recover', at: Date.now() });
        if (owner !== claimant) {
          const job = this.scheduler.restore({ ...base, done: [], attempts: state.attempts });
          this.scheduler.fail(id, `the output directory ${saved.outputDir} is no longer this job's (${owner ? `job ${owner} holds it` : 'its claim is gone'}); nothing was written there`);
          continue;
        }
        // Commits granted before the crash whose files may not all have moved: finish them.
        for (const c of state.commits) {
          try {
            const committed = commitAttempt(taskFiles({ jobDir: jl.dir, outputDir: saved.outputDir, spec }, c.kind, c.index, c.attempt));
            const named = finalNames({ outputDir: saved.outputDir, spec }, c.kind, c.index, committed);
            base.done.push({ kind: c.kind, index: c.index, outputFiles: named });
            journal.append({ t: 'done', kind: c.kind, index: c.index, outputFiles: named });
          } catch (err) {
            this.logger.warn('a granted commit could not be finished; the task runs again', { job: id, task: taskName(c.kind, c.index), ...errorFields(err) });
          }
        }
        const job = this.scheduler.restore({
          ...base,
          attempts: state.attempts,
        });
        this.logger.info('job resumed from journal', { job: id, done: state.done.length });
        await this.launchWorkers(job);
      } catch (err) {
        this.logger.error('could not resume job', { job: id, ...errorFields(err) });
      }
    }
  }
}

/**
 * Who holds the claim on a job's output directory: the job, or — for the last step of a
 * multi-step job, which writes the whole's output — the multi-step job.
 */
function claimantOf(id: string, spec: JobSpec): string {
  return spec.pipeline !== '' && spec.outputDir !== '' ? spec.pipeline : id;
}

/** Discards a refused attempt's files, unless the attempt is not the reporting worker's (a forged report). */
function discardAttemptIfOwn(job: JobRecord, ref: TaskRef, files: ReturnType<typeof taskFiles>): void {
  const a = (ref.kind === 'map' ? job.maps : job.reduces)[ref.index]?.history[ref.attempt - 1];
  if (a && (a.workerId === ref.workerId || a.workerId === '')) discardAttempt(files);
}

/** Longest attempt error kept, in characters; a longer one keeps its start and says how much was cut. */
export const MAX_ERROR_CHARS = 4096;

function boundedError(error: string): string {
  if (error.length <= MAX_ERROR_CHARS) return error;
  return `${error.slice(0, MAX_ERROR_CHARS)}... (${error.length - MAX_ERROR_CHARS} more characters cut)`;
}

/** Removes temp files left in an output directory by workers killed mid-write. */
function removeTempFiles(dir: string): void {
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) if (/^\.tmp-.*-mr-out-(m-)?\d+$/.test(n)) fs.rmSync(path.join(dir, n), { force: true });
}

/** A job's output files: one per reduce partition, or one per map task of a map-only job. */
export const resultFiles = (job: JobRecord): string[] =>
  job.reduces.length > 0 ? job.reduces.map((t) => path.join(job.outputDir, outputName(t.index))) : job.maps.map((t) => path.join(job.outputDir, mapOutputName(t.index)));
