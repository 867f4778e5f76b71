import path from 'node:path';
import type { KubemrClient } from '../../lib/protocol/client.js';
import type { Executor } from '../../lib/executor/types.js';
import { DataLayout } from '../../lib/storage/layout.js';
import { isJobId, JOB_ID_RULE } from '../../lib/storage/job-id.js';
import type { Logger } from '../../lib/logger.js';
import type { JobSpec } from '../../lib/protocol/gen/kubemr/v1/JobSpec.js';
import { jobView, taskView, workersFromTasks, type JobView, type ResultFileView, type TaskView, type WorkerView } from './model.js';
import { BadRequestError, ConflictError, NotFoundError } from './http-errors.js';
import { followFile } from '../../lib/storage/follow-file.js';
import { checkName, listFiles, resolveInside } from './safe-files.js';

const TASK_ID = /^(map|reduce)-(0|[1-9]\d{0,8})$/;
const RESULT_NAME = /^mr-out-(m-)?\d+$/;

export function checkJobId(value: string): string {
  if (!isJobId(value)) {
    throw new BadRequestError(`Expected \`id\` to be a job id (${JOB_ID_RULE}), got \`${value}\``);
  }
  return value;
}

export function checkTaskId(value: string): string {
  if (!TASK_ID.test(value)) throw new BadRequestError(`Expected \`task\` to be map-<n> or reduce-<n>, got \`${value}\``);
  return value;
}

export function checkAttempt(value: string): number {
  const n = Number(value);
  if (!/^[1-9]\d{0,5}$/.test(value)) throw new BadRequestError(`Expected \`attempt\` to be an integer >= 1, got \`${value}\``);
  return n;
}

export interface BackendOptions {
  client: KubemrClient;
  /** The data volume as this process sees it. */
  dataDir: string;
  executor?: Executor | undefined;
  logger: Logger;
}

/**
 * Everything the pages and the API know, from two sources only: the coordinator's gRPC API and
 * the data volume (plus the executor's list/logs when one is passed in, in local mode).
 */
export class DashboardBackend {
  readonly layout: DataLayout;
  readonly executor: Executor | undefined;
  private readonly client: KubemrClient;

  constructor(options: BackendOptions) {
    this.client = options.client;
    this.layout = new DataLayout(path.resolve(options.dataDir));
    this.executor = options.executor;
  }

  async listJobs(): Promise<JobView[]> {
    const jobs = (await this.client.listJobs()).map((j) => jobView(j));
    return jobs.sort((a, b) => (b.submittedAt ?? 0) - (a.submittedAt ?? 0));
  }

  async job(id: string): Promise<{ job: JobView; tasks: TaskView[] }> {
    const s = await this.client.getJob(checkJobId(id));
    const now = Date.now();
    return { job: jobView(s, now), tasks: s.tasks.map((t) => taskView(s.jobId, t, now)) };
  }

  submit(spec: JobSpec, jobId: string): Promise<string> {
    return this.client.submitJob(spec, jobId);
  }

  async cancel(id: string): Promise<JobView> {
    const { cancelled } = await this.client.cancelJob(checkJobId(id));
    const { job } = await this.job(id);
    if (!cancelled) throw new ConflictError(`Job \`${id}\` has already finished (${job.phase}); there is nothing to cancel`);
    return job;
  }

  /** Where a job's mr-out-<r> files are: its own outputDir, else jobs/<id>/output. */
  outputDir(job: JobView): string {
    if (!job.spec.outputDir) return this.layout.job(job.id).outputDir;
    return path.resolve(job.spec.workDir || this.layout.root, job.spec.outputDir);
  }

  async results(id: string): Promise<{ job: JobView; dir: string; files: ResultFileView[] }> {
    const { job } = await this.job(id);
    const dir = this.outputDir(job);
    return { job, dir, files: listFiles(dir, RESULT_NAME) };
  }

  async resultFile(id: string, name: string): Promise<{ file: string; size: number; mtimeMs: number }> {
    checkName('name', name);
    if (!RESULT_NAME.test(name)) throw new BadRequestError(`Expected \`name\` to be a result file name like mr-out-0, got \`${name}\``);
    const { job } = await this.job(id);
    return resolveInside(this.outputDir(job), name, `result file \`${name}\` in job \`${id}\``);
  }

  /** Workers of one job (or of every job): the executor's view, plus any only the attempts know. */
  async workers(jobId?: string): Promise<WorkerView[]> {
    const jobs = jobId ? [await this.job(jobId)] : await Promise.all((await this.listJobs()).slice(0, 50).map((j) => this.job(j.id)));
    const out: WorkerView[] = [];
    for (const { job, tasks } of jobs) {
      const derived = workersFromTasks(job, tasks);
      const known = this.executor ? await this.executor.list(job.id) : [];
      const seen = new Set<string>();
      for (const w of known) {
        if (!w.id) continue;
        seen.add(w.id);
        const d = derived.find((x) => x.id === w.id);
        out.push({
          id: w.id,
          jobId: job.id,
          state: w.state,
          source: 'executor',
          reason: w.reason ?? '',
          where: w.where ?? '',
          startedAt: w.startedAt ?? d?.startedAt ?? null,
          finishedAt: w.finishedAt ?? null,
          attempts: d?.attempts ?? 0,
          failedAttempts: d?.failedAttempts ?? 0,
          current: d?.current ?? '',
        });
      }
      out.push(...derived.filter((d) => !seen.has(d.id)));
    }
    return out;
  }

  async worker(jobId: string, workerId: string): Promise<{ worker: WorkerView; job: JobView; tasks: TaskView[] }> {
    checkName('worker', workerId);
    const { job, tasks } = await this.job(jobId);
    const worker = (await this.workers(jobId)).find((w) => w.id === workerId);
    if (!worker) throw new NotFoundError(`No worker \`${workerId}\` in job \`${jobId}\``);
    return { worker, job, tasks };
  }

  /** A worker's own log: from the executor while it knows the worker, else the copy on the volume. */
  async workerLog(jobId: string, workerId: string, follow: boolean, signal: AbortSignal): Promise<AsyncIterable<string>> {
    const { worker } = await this.worker(jobId, workerId);
    if (this.executor && worker.source === 'executor') {
      try {
        return abortable(await this.executor.logs(workerId, { follow }), signal);
      } catch {
        // the executor forgot it (pod deleted): the saved copy below
      }
    }
    const dir = this.layout.job(jobId).logsDir;
    for (const name of [`${workerId}.log`, `pod-${workerId}.log`]) {
      try {
        const { file } = resolveInside(dir, name, 'log');
        return followFile(file, follow ? this.untilFinished(jobId) : () => true, signal);
      } catch (err) {
        if (!NotFoundError.is(err)) throw err;
      }
    }
    throw new NotFoundError(`No log of worker \`${workerId}\` in job \`${jobId}\`; attempt logs are under its tasks`);
  }

  /** One attempt's log on the data volume, kept after its worker is gone. */
  async attemptLog(jobId: string, task: string, attempt: number, follow: boolean, signal: AbortSignal): Promise<AsyncIterable<string>> {
    checkJobId(jobId);
    checkTaskId(task);
    const jl = this.layout.job(jobId);
    const dir = jl.logsDir;
    const name = path.basename(jl.attemptLog(task, attempt));
    const running = async () => {
      try {
        const { tasks } = await this.job(jobId);
        return tasks.find((t) => t.id === task)?.history.find((a) => a.attempt === attempt)?.state === 'running';
      } catch {
        return false;
      }
    };
    try {
      const { file } = resolveInside(dir, name, 'log');
      return followFile(file, follow ? async () => !(await running()) : () => true, signal);
    } catch (err) {
      // A just-started attempt may not have written its first line yet.
      if (NotFoundError.is(err) && follow && (await running())) {
        return followFile(path.join(dir, name), async () => !(await running()), signal);
      }
      if (NotFoundError.is(err)) throw new NotFoundError(`No log of attempt ${attempt} of task \`${task}\` in job \`${jobId}\``);
      throw err;
    }
  }

  private untilFinished(jobId: string): () => Promise<boolean> {
    return async () => {
      try {
        return (await this.job(jobId)).job.finished;
      } catch {
        return true;
      }
    };
  }
}

async function* abortable(source: AsyncIterable<string>, signal: AbortSignal): AsyncIterable<string> {
  const it = source[Symbol.asyncIterator]();
  const aborted = new Promise<IteratorResult<string>>((resolve) => {
    if (signal.aborted) resolve({ done: true, value: undefined });
    signal.addEventListener('abort', () => resolve({ done: true, value: undefined }), { once: true });
  });
  try {
    for (;;) {
      const r = await Promise.race([it.next(), aborted]);
      if (r.done) return;
      yield r.value;
    }
  } finally {
    void it.return?.();
  }
}
