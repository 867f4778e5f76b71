import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { beginTaskScope, endTaskScope } from '../app/context.js';
import type { RegisteredApp } from '../app/app.js';
import { KubemrClient } from '../protocol/client.js';
import { CoordinatorUnavailableError, errorFields, errorMessage, InvalidJobSpecError, isKubemrError, UnrecoverableError } from '../errors.js';
import type { HeartbeatMessage, HeartbeatThreadData } from './heartbeat-thread.js';
import { silentLogger, type Logger } from '../logger.js';
import { intOption } from '../options.js';
import type { Task__Output } from '../protocol/gen/kubemr/v1/Task.js';
import type { RequestTaskReply__Output } from '../protocol/gen/kubemr/v1/RequestTaskReply.js';
import { runStreamingMapTask, runStreamingReduceTask } from './streaming.js';
import { runMapTask, runReduceTask, TaskAbandonedError, type TaskContext, type TaskResult } from './tasks.js';
import { fetchFailedMaps, layoutOf } from './attempt-files.js';
import { openAttemptLog as openLogFile } from './attempt-log.js';
import { taskName } from '../storage/layout.js';

export interface WorkerOptions {
  /** host:port of the coordinator. */
  coordinator: string;
  /** The registered app; undefined for a worker that only runs streaming jobs. */
  app: RegisteredApp | undefined;
  /** The app name this worker reports (bundled name or module path as given). */
  appName: string;
  /** Only take tasks of this job; exit when it ends. */
  jobId?: string | undefined;
  /** @default `<hostname>-<pid>` */
  workerId?: string | undefined;
  token?: string | undefined;
  /** Dial with TLS (see ClientOptions.tls). */
  tls?: { ca?: Buffer | undefined } | undefined;
  logger?: Logger;
  /**
   * Give up when the coordinator has been unreachable this long: in single-job mode it has
   * exited because the job is done (the MIT lab's convention). Milliseconds, >= 0, or `'never'`
   * to keep retrying until told EXIT — what workers in a cluster do, where the coordinator may be
   * restarting while the job still needs them. @default 30000
   */
  giveUpMs?: number | 'never';
  /** Stop after this signal fires; the current task is abandoned. */
  signal?: AbortSignal;
}

export interface WorkerSummary {
  tasks: number;
  reason: 'exit' | 'coordinator-gone' | 'aborted';
}

/** The worker's timing options, checked once. */
export function compileWorkerOptions(o: Pick<WorkerOptions, 'giveUpMs'>): { giveUpMs: number } {
  return { giveUpMs: o.giveUpMs === 'never' ? Infinity : intOption('giveUpMs', o.giveUpMs, 30_000, 0) };
}

/** Sleeps, waking early (without throwing) when the worker is told to stop. */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * The worker loop: ask for a task, run it with a heartbeat thread renewing its lease, write
 * every output under a temp name and rename it into place, report, repeat until told EXIT.
 */
export async function runWorker(options: WorkerOptions): Promise<WorkerSummary> {
  const workerId = options.workerId || `${os.hostname()}-${process.pid}`;
  const log = (options.logger ?? silentLogger).child({ component: 'worker', worker: workerId });
  const { giveUpMs } = compileWorkerOptions(options);
  const client = new KubemrClient({ address: options.coordinator, token: options.token, tls: options.tls, deadlineMs: 10_000 });
  const flags = new Int32Array(new SharedArrayBuffer(8));
  const threadFile = new URL(`./heartbeat-thread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
  // Started with the first task, not with the process, and light until a task runs long enough
  // to need a heartbeat (see heartbeat-thread.ts). Messages wait for it to boot.
  let hb: Worker | undefined;
  const post = (m: HeartbeatMessage) => {
    if (!hb) {
      hb = new Worker(threadFile, {
        workerData: { address: options.coordinator, token: options.token, tlsCa: options.tls ? (options.tls.ca?.toString('utf8') ?? '') : undefined, flags } satisfies HeartbeatThreadData,
      });
      // Without heartbeats a long task may lose its lease and run again elsewhere; the work is
      // not lost, so the worker goes on rather than dying with the thread.
      hb.on('error', (err) => log.error('heartbeat thread failed; long tasks may be reassigned', { ...errorFields(err) }));
      hb.unref();
    }
    hb.postMessage(m);
  };

  /** Retries a call while the coordinator is unreachable, up to giveUpMs in all. */
  async function persist<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    const since = Date.now();
    let delay = 50;
    let said = false;
    for (;;) {
      if (options.signal?.aborted) return undefined;
      try {
        return await fn();
      } catch (err) {
        if (!CoordinatorUnavailableError.is(err)) throw err;
        if (giveUpMs === Infinity && !said && Date.now() - since >= 30_000) {
          said = true;
          log.warn('coordinator unreachable for 30 s; retrying until it is back', { call: what });
        }
        if (Date.now() - since >= giveUpMs) {
          log.info(`coordinator unreachable for ${giveUpMs} ms; assuming the work is done`, { call: what });
          return undefined;
        }
        await sleep(delay, options.signal);
        delay = Math.min(delay * 2, 2000);
      }
    }
  }

  let tasks = 0;
  const request = { workerId, app: options.appName, jobId: options.jobId ?? '' };
  /** The next task, when the last report's reply carried it (see ReportTaskRequest.next). */
  let handed: RequestTaskReply__Output | undefined;
  try {
    for (;;) {
      if (options.signal?.aborted) return { tasks, reason: 'aborted' };
      const reply = handed ?? (await persist('RequestTask', () => client.requestTask(request)));
      handed = undefined;
      if (!reply) return { tasks, reason: options.signal?.aborted ? 'aborted' : 'coordinator-gone' };
      if (reply.directive === 'EXIT') {
        log.info('told to exit', { tasks });
        return { tasks, reason: 'exit' };
      }
      if (reply.directive !== 'RUN' || !reply.task) {
        await sleep(Number(reply.retryAfterMs), options.signal);
        continue;
      }
      const task = reply.task;
      tasks++;
      const kind = task.kind === 'MAP' ? 'map' : 'reduce';
      const ref = { workerId, jobId: task.jobId, kind: task.kind, index: task.index, attempt: task.attempt, lease: task.lease };
      const tlog = log.child({ job: task.jobId, task: taskName(kind, task.index), attempt: task.attempt });
      const alog = openAttemptLog(task, kind);
      const attemptLog = alog.line;
      Atomics.store(flags, 0, 0);
      Atomics.store(flags, 1, 0);
      post({ type: 'start', ref, intervalMs: Math.max(50, Math.floor(Number(task.leaseMs) / 3)) });
      const lost = attemptLost(task.attemptDir);
      const ctx: TaskContext = {
        abandoned: () => Atomics.load(flags, 0) === 1 || options.signal?.aborted === true || lost(),
        progress: (f) => Atomics.store(flags, 1, Math.round(Math.min(1, Math.max(0, f)) * 1e6)),
        tag: `${workerId}-${task.attempt}-${crypto.randomBytes(3).toString('hex')}`,
      };
      const started = Date.now();
      tlog.info('task started', { inputs: task.inputs.map((s) => s.path) });
      attemptLog(`start ${kind} task ${task.index} attempt ${task.attempt} on worker ${workerId}`);
      let result: TaskResult | undefined;
      let error: string | undefined;
      let fetchFailed: number[] | undefined;
      let unrecoverable = false;
      // What map and reduce print goes to this attempt's log, not the worker's.
      const release = alog.capture();
      try {
        result = await runTask(options.app, task, ctx);
      } catch (err) {
        if (lost(true)) {
          // Reported all the same: a coordinator that still counts the attempt as running (the
          // directory went some other way) retries the task rather than handing this worker the
          // same attempt again; one that knows the attempt lost ignores the report.
          const why = 'another attempt of the task committed first, or the job ended';
          error = `the attempt's directory ${task.attemptDir} was removed (${why})${err instanceof TaskAbandonedError ? '' : `; the task stopped with: ${errorMessage(err)}`}`;
          tlog.info('task abandoned: its attempt directory is gone');
          attemptLog(`abandoned: ${why} (its directory is gone)`);
        } else if (err instanceof TaskAbandonedError) {
          tlog.warn('task abandoned');
          attemptLog('abandoned: the coordinator took the task back');
        } else {
          // Our own errors say what went wrong; a user's exception needs its stack to be found.
          // An UnrecoverableError is the user's own message: no stack needed to find it.
          unrecoverable = UnrecoverableError.is(err);
          error = isKubemrError(err) || unrecoverable ? errorMessage(err) : err instanceof Error ? (err.stack ?? err.message) : String(err);
          // A map's output that cannot be read is that map's to redo, not this reduce's failure.
          fetchFailed = fetchFailedMaps(err, task);
          tlog.error('task failed', { ...errorFields(err), unrecoverable: unrecoverable || undefined });
          attemptLog(`failed: ${error}`);
        }
      } finally {
        release();
        post({ type: 'stop' });
      }
      const ms = Date.now() - started;
      if (result) {
        tlog.info('task done', { ms, ...result.counters });
        // The process's peak so far, not the task's: what a memory budget has to hold.
        attemptLog(`done in ${ms} ms: ${JSON.stringify(result.counters)}; peak RSS ${process.resourceUsage().maxRSS * 1024} bytes`);
      }
      alog.close();
      if (!result && !error) continue;
      const ack = await persist('ReportTask', () =>
        client.reportTask({
          ...ref,
          success: result !== undefined,
          outputFiles: result?.outputFiles ?? [],
          error: error ?? '',
          unrecoverable,
          counters: result?.counters ?? {},
          fetchFailedMaps: fetchFailed ?? [],
          // A worker on its way out asks for nothing more.
          next: options.signal?.aborted ? undefined : request,
        }),
      );
      if (ack === undefined) return { tasks, reason: options.signal?.aborted ? 'aborted' : 'coordinator-gone' };
      if (!ack.accepted) tlog.info('report not needed: the task was already done or reassigned');
      // A coordinator that predates ReportTaskRequest.next answers no next task: ask for one.
      handed = ack.next ?? undefined;
    }
  } finally {
    if (hb) {
      hb.postMessage({ type: 'close' } satisfies HeartbeatMessage);
      await hb.terminate().catch(() => undefined);
    }
    client.close();
  }
}

/**
 * Whether the attempt's directory is gone: the coordinator removes it when another attempt of the
 * task commits first (a speculative backup, or the original it backed up) or the job ends, and a
 * heartbeat could take a third of a lease to say so. Looked at no more than every
 * LOST_CHECK_MS, or at once when `now`; an attempt whose directory was not there when it
 * started (none of its own, or one the coordinator failed to make) never is.
 */
function attemptLost(dir: string): (now?: boolean) => boolean {
  let checkedAt = Date.now();
  let gone = false;
  const had = dir !== '' && fs.existsSync(dir);
  return (now = false) => {
    if (gone || !had) return gone;
    const t = Date.now();
    if (!now && t - checkedAt < LOST_CHECK_MS) return false;
    checkedAt = t;
    gone = !fs.existsSync(dir);
    return gone;
  };
}

const LOST_CHECK_MS = 200;

/** Runs one task inside its scope: the job's params() and this attempt's counter()s. */
async function runTask(app: RegisteredApp | undefined, task: Task__Output, ctx: TaskContext): Promise<TaskResult> {
  beginTaskScope(task.params ?? {});
  let user: Record<string, number> = {};
  try {
    const result = await runTaskBody(app, task, ctx);
    user = endTaskScope();
    return { ...result, counters: { ...result.counters, user } };
  } finally {
    endTaskScope();
  }
}

function runTaskBody(app: RegisteredApp | undefined, task: Task__Output, ctx: TaskContext): Promise<TaskResult> {
  if (task.streaming?.mapper) {
    return task.kind === 'MAP' ? runStreamingMapTask(task, ctx) : runStreamingReduceTask(task, ctx);
  }
  if (!app) throw new Error(`this worker has no app registered; it cannot run job ${task.jobId} (app ${task.app})`);
  const expected = task.nSteps || 1;
  if (app.steps.length !== expected) {
    throw new InvalidJobSpecError(`app \`${task.app}\` declares ${app.steps.length} step${app.steps.length === 1 ? '' : 's'}, but job ${task.jobId} expects ${expected}: set \`steps\` in the job to ${app.steps.length}`);
  }
  const step = app.steps[task.step]!;
  return task.kind === 'MAP' ? runMapTask(step, task, ctx) : runReduceTask(step, task, ctx);
}

/** jobs/<id>/logs/<task>-<attempt>.log, kept after the worker is gone. */
function openAttemptLog(task: Task__Output, kind: 'map' | 'reduce') {
  return openLogFile(layoutOf(task).attemptLog(taskName(kind, task.index), task.attempt));
}
