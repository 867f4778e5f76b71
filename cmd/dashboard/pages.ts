import { type NextFunction, type Request, type Response, Router } from 'express';
import { BUNDLED_APPS } from '../../lib/worker/loader.js';
import type { Auth } from './auth.js';
import { checkAttempt, checkJobId, checkTaskId, type DashboardBackend } from './backend.js';
import type { EventHub } from './events.js';
import { helpers } from './format.js';
import { toHttpError } from './http-errors.js';
import { readHead } from './safe-files.js';
import { timelineSvg } from './timeline.js';

export interface PagesContext {
  backend: DashboardBackend;
  hub: EventHub;
  auth: Auth;
  /** local | kubernetes | external | remote (no executor: a coordinator elsewhere). */
  mode: string;
  coordinator: string;
  workDir: string;
}

const PREVIEW_BYTES = 64 * 1024;
const param = (req: Request, name: string): string => String(req.params[name] ?? '');

/** The server-rendered pages, and the fragments the pages re-fetch when an event arrives. */
export function pagesRouter(ctx: PagesContext): Router {
  const { backend, auth } = ctx;
  const r = Router();
  const base = (req: Request) => ({ h: helpers, mode: ctx.mode, coordinator: ctx.coordinator, signedIn: auth.signedIn(req) });
  const apps: readonly string[] = BUNDLED_APPS;

  async function jobModel(id: string) {
    const { job, tasks } = await backend.job(id);
    const [{ files, dir }, workers] = await Promise.all([backend.results(id), backend.workers(id)]);
    const failedTask = tasks.find((t) => t.state === 'failed');
    return { job, tasks, results: files, resultsDir: dir, workers, failedTask, timeline: timelineSvg(job, tasks) };
  }

  r.get('/', async (req, res) => {
    res.render('jobs', { ...base(req), jobs: await backend.listJobs(), apps, workDir: ctx.workDir, inputsHint: ctx.mode === 'local' ? 'books/*.txt' : 'inputs/gutenberg/*.txt' });
  });
  r.get('/fragments/jobs', async (req, res) => {
    res.render('_jobs_table', { ...base(req), jobs: await backend.listJobs() });
  });

  r.get('/jobs/:id', async (req, res) => {
    res.render('job', { ...base(req), ...(await jobModel(param(req, 'id'))) });
  });
  r.get('/fragments/jobs/:id', async (req, res) => {
    res.render('_job_body', { ...base(req), ...(await jobModel(param(req, 'id'))) });
  });

  r.get('/workers', async (req, res) => {
    const job = typeof req.query.job === 'string' && req.query.job ? checkJobId(req.query.job) : undefined;
    res.render('workers', { ...base(req), workers: await backend.workers(job), jobFilter: job });
  });
  r.get('/fragments/workers', async (req, res) => {
    const job = typeof req.query.job === 'string' && req.query.job ? checkJobId(req.query.job) : undefined;
    res.render('_workers_table', { ...base(req), workers: await backend.workers(job) });
  });

  r.get('/jobs/:id/workers/:worker', async (req, res) => {
    const id = param(req, 'id');
    const { worker, job, tasks } = await backend.worker(id, param(req, 'worker'));
    const attempts = tasks
      .flatMap((t) => t.history.filter((a) => a.worker === worker.id).map((a) => ({ ...a, task: t.id, current: false })))
      .sort((a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0));
    const live = worker.state === 'running' || worker.state === 'starting' || worker.state === 'idle';
    res.render('log', {
      ...base(req),
      job,
      heading: `Worker ${helpers.shortWorker(worker.id, job.id)}`,
      subtitle: `${worker.id}${worker.where ? ` · ${worker.where}` : ''}${worker.reason ? ` · ${worker.reason}` : ''}`,
      state: worker.state,
      logUrl: `/api/jobs/${helpers.enc(job.id)}/workers/${helpers.enc(worker.id)}/log${live ? '?follow=1' : ''}`,
      follow: live,
      workerPage: true,
      attempts,
    });
  });

  r.get('/jobs/:id/tasks/:task/attempts/:attempt', async (req, res) => {
    const id = checkJobId(param(req, 'id'));
    const taskId = checkTaskId(param(req, 'task'));
    const n = checkAttempt(param(req, 'attempt'));
    const { job, tasks } = await backend.job(id);
    const task = tasks.find((t) => t.id === taskId);
    const attempt = task?.history.find((a) => a.attempt === n);
    const live = attempt?.state === 'running';
    res.render('log', {
      ...base(req),
      job,
      heading: `${taskId} · attempt ${n}`,
      subtitle: attempt ? `on ${attempt.worker}${attempt.error ? ` · ${attempt.error}` : ''}` : 'not in the coordinator\'s records; the log is read from the data volume',
      state: attempt?.state ?? '',
      logUrl: `/api/jobs/${helpers.enc(id)}/tasks/${taskId}/attempts/${n}/log${live ? '?follow=1' : ''}`,
      follow: live,
      workerPage: false,
      attempts: (task?.history ?? []).map((a) => ({ ...a, task: taskId, current: a.attempt === n })),
    });
  });

  r.get('/jobs/:id/results/:name', async (req, res) => {
    const id = param(req, 'id');
    const name = param(req, 'name');
    const f = await backend.resultFile(id, name);
    const { job } = await backend.job(id);
    const { text, truncated } = readHead(f.file, PREVIEW_BYTES);
    res.render('result', { ...base(req), job, name, size: f.size, file: f.file, preview: text, truncated });
  });

  return r;
}

/** Errors on pages render as a page; the status comes from the same table as the API's. */
export function pageErrorHandler(ctx: PagesContext, bodyLimit: number) {
  return (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const { status, body } = toHttpError(err, bodyLimit);
    const fragment = req.path.startsWith('/fragments/');
    res.status(status);
    if (fragment) {
      res.type('text/plain').send(body.error.message);
      return;
    }
    res.render('error', { h: helpers, mode: ctx.mode, coordinator: ctx.coordinator, status, message: body.error.message });
  };
}
