import fs from 'node:fs';
import express, { type Request, type Response, Router } from 'express';
import type { Auth } from './auth.js';
import { checkAttempt, checkJobId, checkTaskId, type DashboardBackend } from './backend.js';
import type { DashboardEvent, EventHub } from './events.js';
import { BadRequestError, NotFoundError } from './http-errors.js';
import { jobApiPath } from './model.js';
import { filesRouter, type FilesOptions } from './files.js';
import { openApiDocument } from './openapi.js';
import { readHead } from './safe-files.js';
import { MAX_UNSENT_BYTES, type StreamLimits } from './streams.js';
import { compileSubmit } from './validate.js';

export interface ApiContext {
  backend: DashboardBackend;
  hub: EventHub;
  auth: Auth;
  bodyLimit: number;
  /** Relative inputs of submitted jobs are resolved against it, unless the body names one. */
  workDir: string;
  /** The data volume's files, for upload and download. */
  files: FilesOptions;
  /** Caps on open event streams and followed logs. */
  streams: StreamLimits;
}

function flag(req: Request, name: string): boolean {
  const v = req.query[name];
  if (v === undefined || v === '0' || v === 'false') return false;
  if (v === '' || v === '1' || v === 'true') return true;
  throw new BadRequestError(`Expected \`${name}\` to be true or false, got \`${String(v)}\``);
}

function intQuery(req: Request, name: string, min: number, max: number): number | undefined {
  const v = req.query[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v) || n < min || n > max) {
    throw new BadRequestError(`Expected \`${name}\` to be an integer between ${min} and ${max}, got \`${String(v)}\``);
  }
  return n;
}

const param = (req: Request, name: string): string => String(req.params[name] ?? '');

/** Writes a text stream (a log) chunk by chunk, ending when the source ends or the client leaves. */
async function sendText(res: Response, source: (signal: AbortSignal) => Promise<AsyncIterable<string>>): Promise<void> {
  const ac = new AbortController();
  res.on('close', () => ac.abort());
  const it = await source(ac.signal);
  res.status(200).set({ 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  res.flushHeaders();
  for await (const chunk of it) {
    if (ac.signal.aborted) break;
    res.write(chunk);
  }
  res.end();
}

export function sseWrite(res: Response, e: DashboardEvent): void {
  res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
}

export function apiRouter(ctx: ApiContext): Router {
  const { backend, hub, auth } = ctx;
  const r = Router();
  const json = express.json({ limit: ctx.bodyLimit, type: () => true });
  // Every read needs the credential unless the dashboard's reads are open (loopback); signing in does not.
  const read = auth.requireRead();
  r.use((req, res, next) => (req.method === 'POST' && req.path === '/session' ? next() : read(req, res, next)));

  r.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });

  r.post('/session', json, (req, res) => {
    const t = (req.body as { token?: unknown } | undefined)?.token;
    if (typeof t !== 'string' || t === '') throw new BadRequestError('Expected `token` to be a non-empty string');
    if (!auth.required) {
      res.status(204).end();
      return;
    }
    if (!auth.tokenOk(t)) throw new BadRequestError('That token is not this dashboard\'s token');
    auth.setSession(res);
    res.status(204).end();
  });

  r.get('/jobs', async (_req, res) => {
    res.json({ jobs: await backend.listJobs() });
  });

  r.post('/jobs', auth.require(), json, async (req, res) => {
    const { spec, jobId } = compileSubmit(req.body, { workDir: ctx.workDir });
    const id = await backend.submit(spec, jobId);
    const { job } = await backend.job(id);
    res.status(201).location(jobApiPath(id)).json({ job });
  });

  r.get('/jobs/:id', async (req, res) => {
    res.json(await backend.job(param(req, 'id')));
  });

  r.delete('/jobs/:id', auth.require(), async (req, res) => {
    res.json({ job: await backend.cancel(param(req, 'id')) });
  });

  r.get('/jobs/:id/tasks', async (req, res) => {
    res.json({ tasks: (await backend.job(param(req, 'id'))).tasks });
  });

  r.get('/jobs/:id/results', async (req, res) => {
    const id = param(req, 'id');
    const { job, files } = await backend.results(id);
    res.json({
      phase: job.phase,
      files: files.map((f) => ({ ...f, url: `${jobApiPath(id)}/results/${f.name}`, download: `${jobApiPath(id)}/results/${f.name}?download=1` })),
    });
  });

  r.get('/jobs/:id/results/:name', async (req, res) => {
    const id = param(req, 'id');
    const name = param(req, 'name');
    const download = flag(req, 'download');
    const head = intQuery(req, 'head', 1, 16 * 1024 * 1024);
    const f = await backend.resultFile(id, name);
    res.set({ 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' });
    if (download) res.attachment(`${id}-${name}.txt`);
    if (head !== undefined) {
      const { text, truncated } = readHead(f.file, head);
      res.set('X-Truncated', String(truncated)).send(text);
      return;
    }
    res.set('Content-Length', String(f.size));
    await new Promise<void>((resolve, reject) => {
      const s = fs.createReadStream(f.file);
      s.on('error', reject);
      res.on('close', () => {
        s.destroy();
        resolve();
      });
      s.pipe(res);
    });
  });

  r.get('/jobs/:id/workers', async (req, res) => {
    res.json({ workers: await backend.workers(param(req, 'id')) });
  });

  r.get('/jobs/:id/workers/:worker/log', async (req, res) => {
    const follow = flag(req, 'follow');
    if (follow && !ctx.streams.acquire(req, res)) return;
    await sendText(res, (signal) => backend.workerLog(param(req, 'id'), param(req, 'worker'), follow, signal));
  });

  r.get('/jobs/:id/tasks/:task/attempts/:attempt/log', async (req, res) => {
    const follow = flag(req, 'follow');
    if (follow && !ctx.streams.acquire(req, res)) return;
    const id = checkJobId(param(req, 'id'));
    const task = checkTaskId(param(req, 'task'));
    const attempt = checkAttempt(param(req, 'attempt'));
    await sendText(res, (signal) => backend.attemptLog(id, task, attempt, follow, signal));
  });

  r.get('/workers', async (_req, res) => {
    res.json({ workers: await backend.workers() });
  });

  r.get('/events', (req, res) => {
    const job = req.query.job;
    if (job !== undefined && typeof job !== 'string') throw new BadRequestError('Expected `job` to be one job id');
    if (job) checkJobId(job);
    if (!ctx.streams.acquire(req, res)) return;
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    res.write('retry: 2000\n\n');
    sseWrite(res, { type: 'status', connected: hub.connected, message: hub.lastError });
    const off = hub.subscribe((e) => {
      if (job && e.type !== 'status' && e.jobId !== job) return;
      // A client that does not read is dropped, not buffered for; its browser reconnects.
      if (res.writableLength > MAX_UNSENT_BYTES) {
        res.destroy();
        return;
      }
      sseWrite(res, e);
    });
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    res.on('close', () => {
      clearInterval(ping);
      off();
    });
  });

  r.use('/files', filesRouter(ctx.files, auth));

  r.all('/{*rest}', (req) => {
    throw new NotFoundError(`No API endpoint ${req.method} ${req.originalUrl.split('?')[0]}; see /api/openapi.json`);
  });

  return r;
}
