/**
 * Resources and policy under attack: hostile or careless clients cannot grow the coordinator's
 * memory without bound, ask for more workers than the server allows, run code the server did
 * not allow, read the dashboard from the network without the credential, or get a 500 out of
 * it. Real coordinator processes, real gRPC clients on 127.0.0.1, real HTTP, real files.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KubemrClient } from '../lib/protocol/client.js';
import { startDashboard, type Dashboard, type DashboardOptions } from '../cmd/dashboard/server.js';
import { loadProto } from '../lib/protocol/proto.js';
import { workerCredential } from '../lib/protocol/credentials.js';
import type { JobEvent__Output } from '../lib/protocol/gen/kubemr/v1/JobEvent.js';
import { assertBuilt, kubemr, ROOT, startKubemr, tempDir } from './support/cli.js';
import { waitFor } from './support/wait.js';

const SERVICE = path.join(ROOT, 'dist', 'cmd', 'coordinator', 'main.js');

const cleanups: Array<() => Promise<void> | void> = [];
beforeAll(() => assertBuilt());
afterEach(async () => {
  // Every cleanup runs, whatever an earlier one threw: no coordinator is left behind.
  const failed: unknown[] = [];
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve().then(c).catch((err: unknown) => failed.push(err));
  if (failed.length > 0) throw failed[0];
});

interface Service {
  child: ChildProcess;
  address: string;
  token: string;
  dir: string;
  stderr(): string;
}

/** The coordinator service (dist/cmd/coordinator/main.js) as its own process, workers started by hand. */
async function startService(extra: string[] = []): Promise<Service> {
  const dir = tempDir('limits');
  const token = crypto.randomBytes(16).toString('hex');
  const child = spawn(process.execPath, [SERVICE, '--executor', 'external', '--listen', '127.0.0.1:0', '--data', path.join(dir, 'data'), ...extra], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, KUBEMR_TOKEN: token },
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const address = await waitFor('the coordinator to listen', () => {
    if (child.exitCode !== null) throw new Error(`the coordinator exited: ${stderr}`);
    return /listening on (\S+)/.exec(stderr)?.[1];
  }, 30_000);
  return { child, address, token, dir, stderr: () => stderr };
}

/** Resident memory of a process, in bytes. */
function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/** A raw client on its own TCP connection (grpc-js shares one between clients of the same address otherwise). */
function rawClient(address: string) {
  const C = loadProto().kubemr.v1.Coordinator;
  const c = new C(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  cleanups.push(() => c.close());
  return c;
}

const bearer = (token: string) => {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
};

/** A one-line input file in the service's directory. */
function smallInput(s: Service): string {
  const input = path.join(s.dir, 'in.txt');
  fs.writeFileSync(input, 'a few words\n');
  return input;
}

function client(s: Service): KubemrClient {
  const c = new KubemrClient({ address: s.address, token: s.token, deadlineMs: 30_000 });
  cleanups.push(() => c.close());
  return c;
}

const MB = 1024 * 1024;

interface PausedWatch {
  stream: http2.ClientHttp2Stream;
  /** Resolves once the coordinator has answered with its headers (along with the first event). */
  open: Promise<void>;
  /** The gRPC messages received so far, as raw protobuf bytes. */
  frames(): Buffer[];
}

/**
 * A WatchJob call written by hand on an HTTP/2 session, paused from the start: the client a
 * hostile or stuck watcher is, which never reads what it asked for.
 */
function pausedWatch(session: http2.ClientHttp2Session, token: string, jobId: string): PausedWatch {
  const stream = session.request({
    ':method': 'POST',
    ':path': '/kubemr.v1.Coordinator/WatchJob',
    'content-type': 'application/grpc',
    te: 'trailers',
    authorization: `Bearer ${token}`,
  });
  const id = Buffer.from(jobId);
  // WatchJobRequest { job_id = 1 }, in a gRPC frame: flag byte, u32 length, message.
  const msg = id.length > 0 ? Buffer.concat([Buffer.from([0x0a, id.length]), id]) : Buffer.alloc(0);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  stream.end(Buffer.concat([head, msg]));
  stream.on('error', () => undefined);
  let buf = Buffer.alloc(0);
  const frames: Buffer[] = [];
  stream.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
      const n = buf.readUInt32BE(1);
      frames.push(buf.subarray(5, 5 + n));
      buf = buf.subarray(5 + n);
    }
  });
  stream.pause();
  const open = new Promise<void>((resolve, reject) => {
    stream.once('response', (h) => (h['grpc-status'] && h['grpc-status'] !== '0' ? reject(new Error(`WatchJob refused: ${String(h['grpc-message'])}`)) : resolve()));
    stream.once('error', reject);
  });
  return { stream, open, frames: () => frames };
}

describe('bounded resources per client', () => {
  it('500 paused watchers keep the coordinator\'s memory flat while jobs emit events; a resumed one gets the latest state', async () => {
    const s = await startService();
    const input = smallInput(s);
    // 10 connections of 50 watch streams each, every one paused: it never reads, so its
    // HTTP/2 window fills and the coordinator must hold or drop what it would send.
    const watchers: PausedWatch[] = [];
    for (let c = 0; c < 10; c++) {
      const session = http2.connect(`http://${s.address}`);
      session.on('error', () => undefined);
      cleanups.push(() => void session.destroy());
      for (let i = 0; i < 50; i++) watchers.push(pausedWatch(session, s.token, ''));
    }
    const api = client(s);
    // The coordinator answers a watch with its headers along with the first event: a probe job's.
    const probe = await api.submitJob({ app: 'wordcount', inputs: [input], reducers: 1, workers: 1, outputDir: path.join(s.dir, 'out-probe'), workDir: s.dir });
    await api.cancelJob(probe);
    await Promise.all(watchers.map((w) => w.open));
    const job = async (j: number) => {
      const id = await api.submitJob({ app: 'wordcount', inputs: [input], reducers: 1, workers: 1, outputDir: path.join(s.dir, `out-${j}`), workDir: s.dir });
      await api.cancelJob(id);
      return id;
    };
    // A warm-up fills every watcher's HTTP/2 window and the heap settles; from then on, memory
    // may not grow with the events that keep coming.
    for (let j = 0; j < 50; j++) await job(j);
    const before = rssOf(s.child.pid!);
    let peak = before;
    let last = '';
    for (let j = 50; j < 550; j++) {
      last = await job(j);
      peak = Math.max(peak, rssOf(s.child.pid!));
      // Stop early once the bound is broken for sure: no need to take the machine down to show it.
      if (peak - before > 300 * MB) break;
    }
    // Every event has been handled once a watcher that reads sees the last job finished.
    const live = rawClient(s.address).watchJob({ jobId: last }, bearer(s.token)) as grpc.ClientReadableStream<JobEvent__Output>;
    await new Promise<void>((resolve, reject) => {
      live.on('data', (e: JobEvent__Output) => e.type === 'finished' && resolve());
      live.on('error', reject);
    });
    peak = Math.max(peak, rssOf(s.child.pid!));
    const growth = peak - before;
    process.stderr.write(`coordinator RSS with 500 paused watchers: ${(before / MB).toFixed(0)} MB before, peak ${(peak / MB).toFixed(0)} MB (+${(growth / MB).toFixed(0)} MB)\n`);
    expect(growth, `the coordinator grew by ${(growth / MB).toFixed(0)} MB`).toBeLessThan(50 * MB);
    // A paused watcher that resumes catches up to the last job's final state (coalesced, not lost).
    const resumed = watchers[123]!;
    resumed.stream.resume();
    await waitFor('the resumed watcher to see the last job cancelled', () => resumed.frames().some((f) => f.includes(last) && f.includes('cancelled')), 60_000);
  }, 240_000);
});

/** What became of a call: its status code and message, or 'accepted' if it is still open after `ms`. */
function outcome(st: grpc.ClientReadableStream<unknown>, ms = 5000): Promise<{ code: number; details: string } | 'accepted'> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve('accepted'), ms);
    st.on('data', () => undefined);
    st.once('error', (e: grpc.ServiceError) => {
      clearTimeout(t);
      resolve({ code: e.code, details: e.details });
    });
  });
}

async function refusal(p: Promise<unknown>): Promise<{ code: number; message: string } | 'accepted'> {
  try {
    await p;
    return 'accepted';
  } catch (err) {
    return { code: (err as { grpcCode: number }).grpcCode, message: (err as Error).message };
  }
}

/** A watch of every job, its errors handled by whoever awaits its outcome. */
function watchAll(c: ReturnType<typeof rawClient>, token: string): grpc.ClientReadableStream<unknown> {
  const st = c.watchJob({ jobId: '' }, bearer(token)) as grpc.ClientReadableStream<unknown>;
  st.on('error', () => undefined);
  return st;
}

describe('bounded resources: caps', () => {
  it('WatchJob streams beyond the per-connection and the total cap are refused with RESOURCE_EXHAUSTED naming the cap', async () => {
    const s = await startService(['--max-watches', '6', '--max-watches-per-connection', '4']);
    const one = rawClient(s.address);
    const open = Array.from({ length: 4 }, () => watchAll(one, s.token));
    const fifth = await outcome(watchAll(one, s.token));
    expect(fifth).not.toBe('accepted');
    expect(fifth).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, details: expect.stringMatching(/this connection already has 4 open watches.*maxWatchesPerConnection 4/) });
    const two = rawClient(s.address);
    open.push(watchAll(two, s.token), watchAll(two, s.token));
    const seventh = await outcome(watchAll(two, s.token));
    expect(seventh).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, details: expect.stringMatching(/already serves 6 watches.*maxWatches 6/) });
    // A closed watch frees its place.
    open[0]!.cancel();
    const again = rawClient(s.address);
    await waitFor('a freed place to be taken', async () => (await outcome(watchAll(again, s.token), 1000)) === 'accepted', 30_000);
    for (const st of open) st.cancel();
  }, 120_000);

  it('a submission asking for 10,000 workers is refused, naming the cap', async () => {
    const s = await startService();
    const api = client(s);
    const input = smallInput(s);
    const r = await refusal(api.submitJob({ app: 'wordcount', inputs: [input], workers: 10_000, workDir: s.dir }));
    expect(r).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, message: expect.stringMatching(/Expected `workers` to be at most 100 \(.*--max-workers\), got 10000/) });
    expect(fs.readdirSync(path.join(s.dir, 'data', 'jobs'))).toEqual([]);
    // The cap is the server's setting.
    const t = await startService(['--max-workers', '8']);
    const api8 = client(t);
    expect(await refusal(api8.submitJob({ app: 'wordcount', inputs: [input], workers: 9, workDir: s.dir }))).toMatchObject({ message: expect.stringMatching(/at most 8 .*got 9/) });
    const ok = await api8.submitJob({ app: 'wordcount', inputs: [input], workers: 8, workDir: s.dir, outputDir: path.join(t.dir, 'out') });
    await api8.cancelJob(ok);
  }, 120_000);
});

describe('code execution by policy', () => {
  it('an API client may run the bundled apps and modules under --app-dir only; streaming and images only when allowed; a missing app is refused at submit', async () => {
    const s = await startService(['--app-dir', path.join(ROOT, 'test', 'apps')]);
    const api = client(s);
    const input = smallInput(s);
    let n = 0;
    const submit = (spec: Record<string, unknown>) => api.submitJob({ inputs: [input], workDir: s.dir, outputDir: path.join(s.dir, `out-${n++}`), ...spec });
    // A module the client wrote somewhere the coordinator can read: refused, naming the rule.
    const own = path.join(s.dir, 'mine.mjs');
    fs.writeFileSync(own, "import fs from 'node:fs'; fs.writeFileSync('/tmp/owned', 'x');\n");
    expect(await refusal(submit({ app: own }))).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, message: expect.stringMatching(/App `.*mine\.mjs`.* is not allowed on this coordinator: clients may run the bundled apps \(wordcount, indexer\) and modules under `.*test\/apps`/) });
    // A symlink under the allowed directory to a module outside it is what it points to.
    const link = path.join(ROOT, 'test', 'apps', `link-${process.pid}.mjs`);
    fs.symlinkSync(own, link);
    try {
      expect(await refusal(submit({ app: link }))).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, message: expect.stringMatching(/is not allowed/) });
    } finally {
      fs.rmSync(link);
    }
    // A missing app: refused now, not accepted to crash every worker.
    expect(await refusal(submit({ app: 'wordcont' }))).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, message: expect.stringMatching(/App `wordcont` is neither a bundled app \(wordcount, indexer\) nor an existing module file/) });
    expect(await refusal(submit({ app: path.join(ROOT, 'test', 'apps', 'nope.ts') }))).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    // Streaming commands are any shell command: off unless the coordinator allows them.
    expect(await refusal(submit({ streaming: { mapper: 'cat /etc/passwd', reducer: 'cat' } }))).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, message: expect.stringMatching(/Streaming commands are not allowed on this coordinator.*--allow-streaming/) });
    expect(await refusal(submit({ app: 'wordcount', image: 'attacker/image:latest' }))).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, message: expect.stringMatching(/Image `attacker\/image:latest` is not allowed.*--allow-image/) });
    // What is allowed is accepted.
    for (const app of ['wordcount', path.join(ROOT, 'test', 'apps', 'numbers.ts')]) await api.cancelJob(await submit({ app }));
    const t = await startService(['--allow-streaming', '--allow-image', 'mine:1']);
    const api2 = client(t);
    await api2.cancelJob(await api2.submitJob({ inputs: [input], workDir: s.dir, outputDir: path.join(t.dir, 'o1'), streaming: { mapper: 'cat', reducer: 'cat' } }));
    await api2.cancelJob(await api2.submitJob({ inputs: [input], workDir: s.dir, outputDir: path.join(t.dir, 'o2'), app: '/app/in/the/image.js', image: 'mine:1' }));
  }, 120_000);
});

/** One HTTP request with any headers (fetch cannot set Host), from `localAddress` if given. */
function request(url: string, o: { method?: string; headers?: Record<string, string>; body?: string; localAddress?: string; keepOpen?: boolean } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; req: http.ClientRequest }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: o.method ?? 'GET', headers: o.headers, localAddress: o.localAddress }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      // An event stream never ends: its status and first bytes are enough.
      if (o.keepOpen && res.statusCode === 200) {
        res.once('data', (d) => resolve({ status: 200, headers: res.headers, body: String(d), req }));
        return;
      }
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, req }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

async function dashboardFor(s: Service, options: Partial<DashboardOptions>): Promise<Dashboard> {
  const d = await startDashboard({ coordinator: s.address, token: s.token, dataDir: path.join(s.dir, 'data'), host: '127.0.0.1', port: 0, workDir: s.dir, ...options });
  cleanups.push(() => d.close());
  return d;
}

describe('code execution by policy: kubemr run', () => {
  it('kubemr run still runs its user\'s own app, and its dashboard may submit that app but no other module and no streaming command', async () => {
    const dir = tempDir('run-policy');
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.writeFileSync(path.join(dir, 'in.txt'), 'one two two three three three\n');
    const app = path.join(ROOT, 'test', 'apps', 'numbers.ts');
    const run = startKubemr(['run', app, 'in.txt', '--out', 'out', '--data', 'data', '--workers', '1', '--reducers', '1', '--dashboard', '0'], { cwd: dir });
    cleanups.push(async () => {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
      await run.exited;
    });
    const url = new URL(await waitFor('the dashboard', () => /dashboard: (http\S+)/.exec(run.stderr())?.[1], 60_000));
    await waitFor('the job to succeed', () => /stays up until Ctrl-C/.test(run.stderr()), 60_000);
    expect(fs.readFileSync(path.join(dir, 'out', 'mr-out-0'), 'utf8')).toBe('one 1\nthree 3\ntwo 2\n');
    const token = url.searchParams.get('token')!;
    const submit = (body: object) => request(`${url.origin}/api/jobs`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ inputs: ['in.txt'], workDir: dir, ...body }) });
    expect((await submit({ app, outputDir: path.join(dir, 'again') })).status).toBe(201);
    const other = await submit({ app: path.join(ROOT, 'test', 'apps', 'counting.ts'), outputDir: path.join(dir, 'other') });
    expect(other.status).toBe(400);
    expect(other.body).toMatch(/counting\.ts` is not allowed on this coordinator/);
    const streaming = await submit({ streaming: { mapper: 'cat', reducer: 'cat' }, outputDir: path.join(dir, 'stream') });
    expect(streaming.status).toBe(400);
    expect(streaming.body).toMatch(/Streaming commands are not allowed/);
    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(0);
  }, 120_000);
});

describe('read access as a choice', () => {
  it('beyond loopback, every read (pages, GETs under /api, the event stream) needs the credential; on loopback reads are open', async () => {
    const s = await startService();
    const d = await dashboardFor(s, { host: '0.0.0.0' });
    const base = `http://127.0.0.1:${d.port}`;
    const bearerH = { authorization: `Bearer ${s.token}` };
    for (const p of ['/api/jobs', '/api/workers', '/api/openapi.json', '/api/events', '/', '/workers']) {
      const r = await request(`${base}${p}`, { keepOpen: true });
      expect(r.status, `GET ${p} without the credential`).toBe(401);
      r.req.destroy();
    }
    expect((await request(`${base}/`)).body).toMatch(/<form method="get" class="signin">/);
    expect((await request(`${base}/api/jobs`, { headers: bearerH })).status).toBe(200);
    expect((await request(`${base}/api/jobs`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    const events = await request(`${base}/api/events`, { headers: bearerH, keepOpen: true });
    expect(events.status).toBe(200);
    events.req.destroy();
    // The browser: ?token= once becomes the session cookie, which then reads.
    const login = await request(`${base}/?token=${s.token}`);
    expect(login.status).toBe(303);
    const cookie = String(login.headers['set-cookie']?.[0]).split(';')[0]!;
    expect((await request(`${base}/`, { headers: { cookie } })).status).toBe(200);
    expect((await request(`${base}/healthz`)).status).toBe(200);
    // On loopback, reads are open (and mutations still need the token).
    const local = await dashboardFor(s, { host: '127.0.0.1' });
    expect((await request(`${local.origin}/api/jobs`)).status).toBe(200);
    expect((await request(`${local.origin}/api/jobs`, { method: 'POST', body: '{}' })).status).toBe(401);
    // Open reads beyond loopback are a choice.
    const open = await dashboardFor(s, { host: '0.0.0.0', publicReads: true });
    expect((await request(`http://127.0.0.1:${open.port}/api/jobs`)).status).toBe(200);
  }, 60_000);

  it('a Host the dashboard does not serve is refused (DNS rebinding); allowed names are configurable', async () => {
    const s = await startService();
    const d = await dashboardFor(s, { host: '127.0.0.1' });
    const url = `${d.origin}/api/jobs`;
    const rebound = await request(url, { headers: { host: `attacker.example:${d.port}` } });
    expect(rebound.status).toBe(403);
    expect(rebound.body).toMatch(/Host `attacker.example:\d+` is not a name this dashboard serves/);
    for (const host of [`localhost:${d.port}`, `127.0.0.1:${d.port}`]) expect((await request(url, { headers: { host } })).status).toBe(200);
    const named = await dashboardFor(s, { host: '0.0.0.0', allowedHosts: ['kubemr.example'] });
    const at = `http://127.0.0.1:${named.port}/api/jobs`;
    expect((await request(at, { headers: { host: 'kubemr.example', authorization: `Bearer ${s.token}` } })).status).toBe(200);
    expect((await request(at, { headers: { host: 'other.example', authorization: `Bearer ${s.token}` } })).status).toBe(403);
    // Probes come by address: /healthz answers whatever the Host.
    expect((await request(`http://127.0.0.1:${named.port}/healthz`, { headers: { host: '10.1.2.3:8081' } })).status).toBe(200);
  }, 60_000);

  it('event streams are capped per client (429) and in all (503)', async () => {
    const s = await startService();
    const d = await dashboardFor(s, { host: '127.0.0.1', maxStreams: 5, maxStreamsPerClient: 3 });
    const url = `${d.origin}/api/events`;
    const open: http.ClientRequest[] = [];
    const sse = async (localAddress: string) => {
      const r = await request(url, { localAddress, keepOpen: true });
      open.push(r.req);
      return r;
    };
    cleanups.push(() => open.forEach((r) => r.destroy()));
    for (let i = 0; i < 3; i++) expect((await sse('127.0.0.1')).status).toBe(200);
    const fourth = await sse('127.0.0.1');
    expect(fourth.status).toBe(429);
    expect(fourth.headers['retry-after']).toBeDefined();
    expect(fourth.body).toMatch(/already has 3 open streams.*maxStreamsPerClient 3/);
    for (let i = 0; i < 2; i++) expect((await sse('127.0.0.2')).status).toBe(200);
    const sixth = await sse('127.0.0.3');
    expect(sixth.status).toBe(503);
    expect(sixth.body).toMatch(/already serves 5 open streams.*maxStreams 5/);
    // A closed stream frees its place.
    open[0]!.destroy();
    await waitFor('a place to free up', async () => {
      const r = await sse('127.0.0.3');
      return r.status === 200;
    }, 10_000);
  }, 60_000);

  it('an event stream whose client does not read is dropped, not buffered for without bound', async () => {
    const s = await startService();
    // One stream per client: whether the stalled one still holds its place is visible from outside.
    const d = await dashboardFor(s, { host: '127.0.0.1', maxStreamsPerClient: 1 });
    const api = client(s);
    const input = smallInput(s);
    // A client that reads the headers, then nothing.
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(`${d.origin}/api/events`, resolve).on('error', reject));
    expect(res.statusCode).toBe(200);
    res.pause();
    const another = async () => {
      const r = await request(`${d.origin}/api/events`, { keepOpen: true });
      r.req.destroy();
      return r.status;
    };
    expect(await another()).toBe(429);
    // Each event carries the job, 60 KB of params with it: far more than the socket buffers hold.
    const params = { pad: 'x'.repeat(60_000) };
    let freed = false;
    for (let j = 0; j < 400 && !freed; j++) {
      await api.cancelJob(await api.submitJob({ app: 'wordcount', inputs: [input], reducers: 1, workDir: s.dir, outputDir: path.join(s.dir, `o${j}`), params }));
      if (j % 10 === 9) freed = (await another()) === 200;
    }
    expect(freed, 'the stalled stream still holds its place').toBe(true);
    // The stalled client, reading again, finds its stream cut short.
    const ended = new Promise<void>((resolve) => res.socket.once('close', () => resolve()));
    res.on('error', () => undefined);
    res.resume();
    await ended;
  }, 180_000);

  it('a hard link (or any non-regular entry) planted in an output directory is not served or listed', async () => {
    const s = await startService();
    const api = client(s);
    const input = smallInput(s);
    const out = path.join(s.dir, 'out');
    const id = await api.submitJob({ app: 'wordcount', inputs: [input], workDir: s.dir, outputDir: out });
    await api.cancelJob(id);
    const secret = path.join(s.dir, 'data', 'secret');
    fs.writeFileSync(secret, 'the-secret\n', { mode: 0o600 });
    fs.mkdirSync(out, { recursive: true });
    fs.linkSync(secret, path.join(out, 'mr-out-0'));
    spawnSync('mkfifo', [path.join(out, 'mr-out-1')]);
    const d = await dashboardFor(s, { host: '127.0.0.1' });
    const served = await request(`${d.origin}/api/jobs/${id}/results/mr-out-0`);
    expect(served.body).not.toContain('the-secret');
    expect(served.status).toBe(404);
    expect(served.body).toMatch(/2 hard links/);
    expect((await request(`${d.origin}/api/jobs/${id}/results/mr-out-1`)).status).toBe(404);
    expect(JSON.parse((await request(`${d.origin}/api/jobs/${id}/results`)).body).files).toEqual([]);
  }, 60_000);

  it('100k-deep JSON to the API is a 400 naming the limit, not a 500', async () => {
    const s = await startService();
    const d = await dashboardFor(s, { host: '127.0.0.1' });
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    for (const body of [deep, `{"app":"wordcount","inputs":${deep}}`, `{"app":"wordcount","inputs":["a"],"params":{"x":${deep}}}`]) {
      const r = await request(`${d.origin}/api/jobs`, { method: 'POST', headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' }, body });
      expect(r.status, r.body.slice(0, 200)).toBe(400);
      expect(r.body).toMatch(/nest at most 32 levels/);
    }
  }, 60_000);
});

describe('every message bounded', () => {
  it('a worker\'s huge failure reports cannot break GetJob or ListJobs: errors are cut, a request over a quarter of the reply limit refused', async () => {
    const s = await startService();
    const api = client(s);
    const input = smallInput(s);
    const jobId = await api.submitJob({ app: 'wordcount', inputs: [input], reducers: 1, maxAttempts: 20, workDir: s.dir, outputDir: path.join(s.dir, 'out') });
    const worker = new KubemrClient({ address: s.address, token: workerCredential(s.token, jobId), deadlineMs: 30_000, maxMessageBytes: 64 * MB });
    cleanups.push(() => worker.close());
    const fail = async (bytes: number) => {
      const r = await waitFor('a task', async () => {
        const t = await worker.requestTask({ workerId: 'w1', app: 'wordcount', jobId });
        return t.directive === 'RUN' && t.task ? t.task : undefined;
      }, 30_000);
      return refusal(worker.reportTask({ workerId: 'w1', jobId, kind: r.kind, index: r.index, attempt: r.attempt, lease: r.lease, success: false, error: 'E'.repeat(bytes) }));
    };
    for (let i = 0; i < 3; i++) expect(await fail(3.5 * MB)).toBe('accepted');
    // 15 MiB: more than any request may be.
    expect(await fail(15 * MB)).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    const job = await api.getJob(jobId);
    const errors = job.tasks.flatMap((t) => t.history.map((a) => a.error)).filter(Boolean);
    expect(errors.length).toBeGreaterThanOrEqual(3);
    for (const e of errors) {
      expect(e.length).toBeLessThan(4200);
      expect(e).toMatch(/\.\.\. \(\d+ more characters cut\)$/);
    }
    expect((await api.listJobs()).map((j) => j.jobId)).toContain(jobId);
  }, 120_000);

  it('GetJob still answers for a job whose tasks failed so often that their history would not fit in a reply', async () => {
    const s = await startService(['--max-message-bytes', '1M']);
    const api = client(s);
    const inputs = Array.from({ length: 30 }, (_, i) => {
      const f = path.join(s.dir, `in-${i}.txt`);
      fs.writeFileSync(f, 'a few words\n');
      return f;
    });
    const jobId = await api.submitJob({ app: 'wordcount', inputs, reducers: 1, maxAttempts: 1000, noPack: true, workDir: s.dir, outputDir: path.join(s.dir, 'out') });
    const worker = new KubemrClient({ address: s.address, token: workerCredential(s.token, jobId), deadlineMs: 30_000 });
    cleanups.push(() => worker.close());
    // 300 failed attempts x 4 KiB of error: 1.2 MB of history, over the 1 MiB reply limit.
    for (let n = 0; n < 300; n++) {
      const r = await worker.requestTask({ workerId: 'w1', app: 'wordcount', jobId });
      const t = r.task!;
      expect(r.directive).toBe('RUN');
      await worker.reportTask({ workerId: 'w1', jobId, kind: t.kind, index: t.index, attempt: t.attempt, lease: t.lease, success: false, error: `line one of a long error\n${'E'.repeat(4000)}` });
    }
    const job = await api.getJob(jobId);
    expect(job.tasks.length).toBe(31);
    expect(job.tasks.reduce((n, t) => n + t.attempts, 0)).toBe(300);
    expect(job.tasks.flatMap((t) => t.history).every((a) => a.error.length <= 210)).toBe(true);
  }, 120_000);

  it('a job whose status would not fit in a reply is refused at submit; ListJobs fits whatever the jobs hold', async () => {
    const s = await startService();
    const api = client(s);
    const input = smallInput(s);
    // 100,000 reducers: every map task lists 100,000 intermediate names in GetJob once it ran.
    const many = Array.from({ length: 200 }, (_, i) => `${s.dir}/${'./'.repeat(i)}in.txt`);
    expect(await refusal(api.submitJob({ app: 'wordcount', inputs: many, reducers: 100_000, workDir: s.dir, outputDir: path.join(s.dir, 'big'), packSmallFiles: false }))).toMatchObject({
      code: grpc.status.RESOURCE_EXHAUSTED,
      message: expect.stringMatching(/The job's status would be about \d+ bytes .* more than half the largest reply \(maxMessageBytes 16777216\)/),
    });
    // Jobs of about 2.3 MB of inputs each (30,000 names of one file): nine are 20 MB of specs,
    // more than one reply holds (before: ListJobs failed with RESOURCE_EXHAUSTED).
    const inputs = Array.from({ length: 30_000 }, (_, i) => `${s.dir}/${Array.from({ length: 16 }, (_, b) => ((i >> b) & 1 ? './' : './/')).join('')}in.txt`);
    for (let j = 0; j < 9; j++) {
      const id = await api.submitJob({ app: 'wordcount', inputs, reducers: 1, workDir: s.dir, outputDir: path.join(s.dir, `o${j}`) });
      await api.cancelJob(id);
    }
    const listed = await api.listJobs();
    expect(listed.length).toBe(9);
    // Each listed job still says what it is; GetJob has every input.
    expect(listed.every((j) => j.spec!.inputs.length >= 10)).toBe(true);
    expect((await api.getJob(listed[0]!.jobId)).spec!.inputs.length).toBe(30_000);
  }, 180_000);
});

describe('a full disk', () => {
  it.each([
    ['a map\'s intermediate', '_attempts/map-', /map task 0 \(input in\.txt\) failed 1 times; last error: Could not write `[^`]*_attempts\/map-0-1\/[^`]*mr-0-0`: no space left on the device \(ENOSPC\)/],
    ['a reduce\'s output', '_temporary/reduce-', /reduce task 0 failed 1 times; last error: Could not write `[^`]*_temporary\/reduce-0-1\/[^`]*mr-out-0`: no space left on the device \(ENOSPC\)/],
  ])('fails the task naming ENOSPC and the file when %s cannot be written', (_what, where, message) => {
    const dir = tempDir('enospc');
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.writeFileSync(path.join(dir, 'in.txt'), 'a few words\nand a few more\n');
    const r = kubemr(['run', 'wordcount', 'in.txt', '--out', 'out', '--data', 'data', '--workers', '1', '--reducers', '1', '--max-attempts', '1', '-q'], {
      cwd: dir,
      env: { NODE_OPTIONS: `--require ${path.join(ROOT, 'test', 'support', 'full-disk.cjs')}`, KUBEMR_TEST_FULL_DISK: where },
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/died: exit code|^\s+at /m);
    expect(fs.existsSync(path.join(dir, 'out', 'mr-out-0'))).toBe(false);
  }, 120_000);
});
