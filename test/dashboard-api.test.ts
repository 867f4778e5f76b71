/**
 * The dashboard's JSON API over real HTTP, in front of a real coordinator whose LocalExecutor
 * runs real worker processes from dist/ (`npm run build` first). Each test has its own temp
 * directory, coordinator and job id.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadApp } from '../lib/worker/loader.js';
import { runSequential } from '../lib/coordinator/sequential.js';
import { startDashboard } from '../cmd/dashboard/server.js';
import { corpusFiles, readEvents, REPO as REPO_ROOT, requireBuild, startHarness, uniqueJobId, type Harness } from './support/dashboard-harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});
beforeAll(() => requireBuild());

const json = { 'Content-Type': 'application/json' };
const auth = (hh: Harness) => ({ ...json, Authorization: `Bearer ${hh.token}` });

async function submit(hh: Harness, body: object): Promise<Response> {
  return fetch(`${hh.origin}/api/jobs`, { method: 'POST', headers: auth(hh), body: JSON.stringify(body) });
}

async function waitFinished(hh: Harness, id: string, timeoutMs = 30_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await (await fetch(`${hh.origin}/api/jobs/${id}`)).json();
    if (r.job.finished) return r;
    if (Date.now() > until) throw new Error(`job ${id} still ${r.job.phase} after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** A raw request, so `..` reaches the server exactly as written (fetch would normalise it). */
function rawGet(origin: string, rawPath: string): Promise<{ status: number; body: string }> {
  const u = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: rawPath, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('dashboard API', () => {
  it('runs a wordcount job end to end: submit, events, tasks, workers, logs, results equal the sequential run', async () => {
    h = await startHarness();
    const id = uniqueJobId('wc');
    const inputs = corpusFiles();
    const events = readEvents(`${h.origin}/api/events?job=${id}`, (e) => e.event === 'finished');
    await new Promise((r) => setTimeout(r, 100));
    const res = await submit(h, { app: 'wordcount', inputs, reducers: 3, workers: 2, jobId: id });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/api/jobs/${id}`);
    expect((await res.json()).job.id).toBe(id);

    const seen = await events;
    expect(seen.some((e) => e.event === 'task' && e.data.task?.id.startsWith('map-'))).toBe(true);
    expect(seen.at(-1)!.data.job.phase).toBe('succeeded');

    const list = await (await fetch(`${h.origin}/api/jobs`)).json();
    expect(list.jobs.map((j: { id: string }) => j.id)).toContain(id);

    const { job, tasks } = await waitFinished(h, id);
    expect(job).toMatchObject({ phase: 'succeeded', progress: 1, maps: { done: 8, total: 8 }, reduces: { done: 3, total: 3 } });
    expect(job.durationMs).toBeGreaterThan(0);
    expect(tasks).toHaveLength(11);
    for (const t of tasks) {
      expect(t.state).toBe('done');
      expect(t.worker).toMatch(/^local-/);
      expect(t.durationMs).toBeGreaterThanOrEqual(0);
      expect(t.history[0].log).toBe(`/api/jobs/${id}/tasks/${t.id}/attempts/1/log`);
    }
    const tasksOnly = await (await fetch(`${h.origin}/api/jobs/${id}/tasks`)).json();
    expect(tasksOnly.tasks).toHaveLength(11);

    // Attempt logs come from the data volume.
    const log = await fetch(`${h.origin}/api/jobs/${id}/tasks/map-0/attempts/1/log`);
    expect(log.status).toBe(200);
    expect(await log.text()).toContain('start map task 0 attempt 1');

    // Workers: from the executor, with their own logs.
    const { workers } = await (await fetch(`${h.origin}/api/jobs/${id}/workers`)).json();
    expect(workers.length).toBe(2);
    expect(workers[0]).toMatchObject({ jobId: id, source: 'executor' });
    expect(workers.reduce((n: number, w: { attempts: number }) => n + w.attempts, 0)).toBe(11);
    const wlog = await fetch(`${h.origin}/api/jobs/${id}/workers/${workers[0].id}/log`);
    expect(wlog.status).toBe(200);
    const all = await (await fetch(`${h.origin}/api/workers`)).json();
    expect(all.workers.map((w: { id: string }) => w.id)).toEqual(expect.arrayContaining(workers.map((w: { id: string }) => w.id)));

    // Results: listed, served byte for byte, and together equal to the sequential oracle.
    const results = await (await fetch(`${h.origin}/api/jobs/${id}/results`)).json();
    expect(results.files.map((f: { name: string }) => f.name)).toEqual(['mr-out-0', 'mr-out-1', 'mr-out-2']);
    const outDir = path.join(h.dataDir, 'jobs', id, 'output');
    const lines: string[] = [];
    for (const f of results.files) {
      const r = await fetch(`${h.origin}${f.download}`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-disposition')).toContain('attachment');
      const bytes = Buffer.from(await r.arrayBuffer());
      expect(bytes.equals(fs.readFileSync(path.join(outDir, f.name)))).toBe(true);
      lines.push(...bytes.toString('utf8').split('\n').filter(Boolean));
    }
    const head = await fetch(`${h.origin}/api/jobs/${id}/results/mr-out-0?head=10`);
    expect((await head.text()).length).toBeLessThanOrEqual(10);
    expect(head.headers.get('x-truncated')).toBe('true');
    const seqDir = path.join(h.dir, 'seq');
    const seqFile = await runSequential((await loadApp('wordcount', h.dir)).app, inputs, { cwd: h.dir, outDir: seqDir });
    const oracle = fs.readFileSync(seqFile, 'utf8').split('\n').filter(Boolean).sort();
    expect(lines.sort()).toEqual(oracle);
  });

  it('answers bad input with 400s that name the field and the value, and big bodies with 413', async () => {
    h = await startHarness({ dashboard: { bodyLimit: 4096 } });
    const cases: Array<[object | string, RegExp]> = [
      [{ app: 'wordcount' }, /`inputs`.*got `undefined`/],
      [{ app: 'wordcount', inputs: [] }, /`inputs`.*got `\[\]`/],
      [{ app: 'wordcount', inputs: ['a.txt', 7] }, /`inputs\[1\]`.*got `7`/],
      [{ app: 'wordcount', inputs: ['a.txt'], reducers: 0 }, /`reducers`.*between 1 and 100000, got `0`/],
      [{ app: 'wordcount', inputs: ['a.txt'], workers: 'many' }, /`workers`.*got `many`/],
      [{ app: 'wordcount', inputs: ['a.txt'], jobId: 'Bad_ID' }, /`jobId`.*got `Bad_ID`/],
      [{ app: 'wordcount', inputs: ['a.txt'], colour: 'red' }, /Unknown field `colour`/],
      [{ inputs: ['a.txt'] }, /`app`/],
      [[1, 2], /JSON object, got `\[1,2\]`/],
      ['{"app": ', /not valid JSON/],
      [{ app: 'wordcount', inputs: ['no-such-file-*.txt'] }, /no-such-file/],
    ];
    for (const [body, message] of cases) {
      const res = await fetch(`${h.origin}/api/jobs`, { method: 'POST', headers: auth(h), body: typeof body === 'string' ? body : JSON.stringify(body) });
      const out = await res.json();
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(out.error.code).toBe('INVALID_ARGUMENT');
      expect(out.error.message).toMatch(message);
    }
    const big = await fetch(`${h.origin}/api/jobs`, { method: 'POST', headers: auth(h), body: JSON.stringify({ app: 'wordcount', inputs: ['x'.repeat(10_000)] }) });
    expect(big.status).toBe(413);
    expect((await big.json()).error.message).toMatch(/larger than the limit of 4096 bytes/);
    for (const p of ['results/mr-out-0?download=maybe', 'results/mr-out-0?head=0', 'results/mr-out-0?head=abc', 'tasks/map-0/attempts/1/log?follow=maybe', 'tasks/map-0/attempts/0/log', 'tasks/shuffle-1/attempts/1/log']) {
      const r = await fetch(`${h.origin}/api/jobs/some-job/${p}`);
      expect(r.status, p).toBe(400);
      expect((await r.json()).error.message, p).toMatch(/^Expected `\w+`/);
    }
  });

  it('requires the token to submit and cancel; a ?token= page visit gives the browser a same-origin session', async () => {
    h = await startHarness();
    const body = JSON.stringify({ app: 'wordcount', inputs: corpusFiles().slice(0, 1), reducers: 1, workers: 1, jobId: uniqueJobId('auth') });
    const none = await fetch(`${h.origin}/api/jobs`, { method: 'POST', headers: json, body });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect((await none.json()).error.message).toMatch(/Bearer/);
    const wrong = await fetch(`${h.origin}/api/jobs`, { method: 'POST', headers: { ...json, Authorization: 'Bearer nope' }, body });
    expect(wrong.status).toBe(401);
    expect((await fetch(`${h.origin}/api/jobs/whatever`, { method: 'DELETE' })).status).toBe(401);
    // Reads stay open.
    expect((await fetch(`${h.origin}/api/jobs`)).status).toBe(200);

    // The printed URL carries the token; opening it sets an HttpOnly SameSite=Strict cookie and drops the token from the URL.
    expect(h.dashboard.url).toBe(`${h.origin}/?token=${h.token}`);
    const login = await fetch(h.dashboard.url, { redirect: 'manual' });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/');
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).not.toContain(h.token!);
    const session = cookie.split(';')[0]!;
    const foreign = await fetch(`${h.origin}/api/jobs`, { method: 'POST', headers: { ...json, Cookie: session, Origin: 'http://evil.example' }, body });
    expect(foreign.status).toBe(401);
    const ok = await fetch(`${h.origin}/api/jobs`, { method: 'POST', headers: { ...json, Cookie: session, Origin: h.origin }, body });
    expect(ok.status).toBe(201);
    const bad = await fetch(`${h.origin}/?token=wrong`, { redirect: 'manual' });
    expect(bad.headers.get('set-cookie')).toBeNull();
  });

  it('cancels a running job with DELETE, then says 409; unknown things are 404', async () => {
    h = await startHarness();
    const id = uniqueJobId('cancel');
    const res = await submit(h, { app: 'wordcount', inputs: corpusFiles(), reducers: 2, workers: 1, splitBytes: 16 * 1024, jobId: id });
    expect(res.status).toBe(201);
    const del = await fetch(`${h.origin}/api/jobs/${id}`, { method: 'DELETE', headers: auth(h) });
    expect(del.status).toBe(200);
    expect((await del.json()).job.phase).toBe('cancelled');
    const again = await fetch(`${h.origin}/api/jobs/${id}`, { method: 'DELETE', headers: auth(h) });
    expect(again.status).toBe(409);
    expect((await again.json()).error.message).toMatch(/already finished \(cancelled\)/);

    for (const p of [
      '/api/jobs/no-such-job',
      '/api/jobs/no-such-job/tasks',
      '/api/jobs/no-such-job/results',
      `/api/jobs/${id}/results/mr-out-99`,
      `/api/jobs/${id}/workers/local-nobody/log`,
      `/api/jobs/${id}/tasks/map-999/attempts/7/log`,
      '/api/nothing-here',
    ]) {
      const r = await fetch(`${h.origin}${p}`);
      expect(r.status, p).toBe(404);
      expect((await r.json()).error.code, p).toBe('NOT_FOUND');
    }
    expect((await fetch(`${h.origin}/api/jobs/${id}`, { method: 'DELETE', headers: auth(h) })).status).toBe(409);
    expect((await fetch(`${h.origin}/api/jobs/no-such-job`, { method: 'DELETE', headers: auth(h) })).status).toBe(404);
    expect((await fetch(`${h.origin}/jobs/no-such-job`)).status).toBe(404);
  });

  it('never serves a path outside the job: .., encoded .., absolute paths and symlinks', async () => {
    h = await startHarness();
    const id = uniqueJobId('trav');
    expect((await submit(h, { app: 'wordcount', inputs: corpusFiles().slice(0, 2), reducers: 2, workers: 1, jobId: id })).status).toBe(201);
    await waitFinished(h, id);
    const secret = path.join(h.dir, 'secret.txt');
    fs.writeFileSync(secret, 'TOP-SECRET\n');
    const out = path.join(h.dataDir, 'jobs', id, 'output');
    fs.rmSync(path.join(out, 'mr-out-1'));
    fs.symlinkSync(secret, path.join(out, 'mr-out-1'));
    fs.symlinkSync(secret, path.join(h.dataDir, 'jobs', id, 'logs', 'map-5-1.log'));
    const base = `/api/jobs/${id}`;
    const attempts = [
      `${base}/results/..`,
      `${base}/results/%2e%2e`,
      `${base}/results/..%2f..%2f..%2fsecret.txt`,
      `${base}/results/%2e%2e%2f%2e%2e%2fjob.json`,
      `${base}/results/%2Fetc%2Fpasswd`,
      `${base}/results/mr-out-1`,
      `${base}/results/mr-out-1?download=1`,
      `${base}/results/..%5c..%5csecret.txt`,
      `${base}/tasks/map-5/attempts/1/log`,
      `${base}/tasks/..%2f..%2fjob.json/attempts/1/log`,
      `${base}/workers/..%2f..%2fjob.json/log`,
      `/api/jobs/%2e%2e/results/mr-out-0`,
      `/api/jobs/..%2f..%2fjobs/results/mr-out-0`,
      `/jobs/${id}/results/mr-out-1`,
      `/jobs/${id}/results/%2e%2e%2fjob.json`,
      `/static/..%2f..%2f..%2fpackage.json`,
      `/static/%2e%2e/server.ts`,
    ];
    for (const p of attempts) {
      const r = await rawGet(h.origin, p);
      expect([400, 403, 404], p).toContain(r.status);
      expect(r.body, p).not.toContain('TOP-SECRET');
      expect(r.body, p).not.toContain('"mapInputs"');
      expect(r.body, p).not.toContain('"name": "kubemr"');
    }
    for (const p of [`${base}/results/../../../../etc/passwd`, `${base}/results/../job.json`, `/static/../../package.json`, `/static/../server.ts`]) {
      const r = await rawGet(h.origin, p);
      expect(r.status, p).toBe(404);
      expect(r.body, p).not.toMatch(/root:|mapInputs|"name": "kubemr"|startDashboard/);
    }
    // The good file is still served.
    expect((await rawGet(h.origin, `${base}/results/mr-out-0`)).status).toBe(200);
  });

  it('reports why a job failed, keeps the failing attempt\'s log, and serves OpenAPI and /healthz', async () => {
    h = await startHarness();
    const id = uniqueJobId('fail');
    const res = await submit(h, { streaming: { mapper: 'echo boom >&2; exit 3', reducer: 'cat' }, inputs: corpusFiles().slice(0, 1), reducers: 1, workers: 1, maxAttempts: 1, jobId: id });
    expect(res.status).toBe(201);
    const { job, tasks } = await waitFinished(h, id);
    expect(job.phase).toBe('failed');
    expect(job.message).not.toBe('');
    const failed = tasks.find((t: { state: string }) => t.state === 'failed');
    expect(failed.error).not.toBe('');
    const log = await fetch(`${h.origin}${failed.history[0].log}`);
    expect(log.status).toBe(200);
    expect(await log.text()).toMatch(/fail/i);
    const page = await (await fetch(`${h.origin}/jobs/${id}`)).text();
    expect(page).toContain('Why it failed');

    const doc = await (await fetch(`${h.origin}/api/openapi.json`)).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/jobs', '/api/jobs/{id}', '/api/jobs/{id}/results/{name}', '/api/events']));
    const health = await (await fetch(`${h.origin}/healthz`)).json();
    expect(health).toMatchObject({ ok: true, connected: true });
  });

  it('without an executor (the cluster), tells workers from task attempts and reads their logs from the data volume', async () => {
    h = await startHarness();
    const id = uniqueJobId('remote');
    expect((await submit(h, { app: 'wordcount', inputs: corpusFiles().slice(0, 2), reducers: 2, workers: 2, jobId: id })).status).toBe(201);
    await waitFinished(h, id);
    const d = await startDashboard({ coordinator: h.grpcAddress, token: h.token, dataDir: h.dataDir, host: '127.0.0.1', port: 0 });
    try {
      const { workers } = await (await fetch(`${d.origin}/api/jobs/${id}/workers`)).json();
      expect(workers.length).toBeGreaterThan(0);
      for (const w of workers) expect(w).toMatchObject({ source: 'attempts', state: 'gone', jobId: id });
      expect(workers.reduce((n: number, w: { attempts: number }) => n + w.attempts, 0)).toBe(4);
      // The worker's own log, as saved on the volume (local-*.log here; pod-*.log in a cluster).
      const log = await fetch(`${d.origin}/api/jobs/${id}/workers/${workers[0].id}/log`);
      expect(log.status).toBe(200);
      expect(await log.text()).toContain('task done');
      const page = await (await fetch(`${d.origin}/jobs/${id}`)).text();
      expect(page).toContain('remote · ');
    } finally {
      await d.close();
    }
  });

  it('shows a two-step job as a whole and each step as a job, with counters and parameters', async () => {
    h = await startHarness();
    const id = uniqueJobId('steps');
    const dir = path.join(h.dir, 'words');
    fs.mkdirSync(dir);
    for (let f = 0; f < 3; f++) fs.writeFileSync(path.join(dir, `w${f}.txt`), Array.from({ length: 50 }, (_, i) => `word${i % (7 + f)} common`).join('\n') + '\n');
    const app = path.join(REPO_ROOT, 'test', 'apps', 'top-words.ts');
    const res = await submit(h, { app, inputs: ['words/w0.txt', 'words/w1.txt', 'words/w2.txt'], reducers: 2, workers: 2, jobId: id, steps: 2, params: { note: 'from the API' } });
    expect(res.status, await res.clone().text()).toBe(201);
    const { job } = await waitFinished(h, id, 60_000);
    expect(job.phase).toBe('succeeded');
    expect(job.spec.params).toEqual({ note: 'from the API' });
    expect(job.counters['map.inputRecords']).toBe(3 + 2);
    expect(job.counters['reduce.outputRecords']).toBeGreaterThan(0);
    const list = await (await fetch(`${h.origin}/api/jobs`)).json();
    const ids = list.jobs.map((j: { id: string }) => j.id);
    expect(ids).toEqual(expect.arrayContaining([id, `${id}-s1`, `${id}-s2`]));
    const step1 = list.jobs.find((j: { id: string }) => j.id === `${id}-s1`);
    expect(step1.name).toMatch(/step 1\/2$/);
    const page = await (await fetch(`${h.origin}/jobs/${id}`)).text();
    expect(page).toContain('id="counters"');
    expect(page).toContain('data-counter="map.inputRecords"');
    expect(page).toContain('from the API');
  });

  it('says 503 when the coordinator is unreachable, and binds loopback by default', async () => {
    const d = await startDashboard({ coordinator: '127.0.0.1:1', dataDir: '/nonexistent', host: '127.0.0.1', port: 0 });
    try {
      expect(d.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const r = await fetch(`${d.origin}/api/jobs`);
      expect(r.status).toBe(503);
      expect((await r.json()).error.message).toMatch(/cannot reach coordinator at 127\.0\.0\.1:1/);
      expect((await fetch(`${d.origin}/healthz`)).status).toBe(200);
    } finally {
      await d.close();
    }
  });
});
