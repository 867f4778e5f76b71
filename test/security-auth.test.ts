/**
 * Credentials, attack by attack: every way a coordinator starts requires one; a token crosses a
 * network only under TLS; a worker's credential is its job's own and runs that job's tasks,
 * only those it holds; user code never finds a credential in its environment; token files that
 * others can read, or that are links, are refused. Real processes, real gRPC, real files.
 */
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Coordinator } from '../lib/coordinator/coordinator.js';
import type { Executor, LaunchSpec } from '../lib/executor/types.js';
import { buildWorkerJob, compileWorkerPodOptions, newIncarnation } from '../lib/executor/kubernetes-objects.js';
import { workerCredential } from '../lib/protocol/credentials.js';
import { KubemrClient, RpcError } from '../lib/protocol/client.js';
import { startCoordinatorServer, stopServer, type CoordinatorServer } from '../lib/protocol/server.js';
import { waitFor } from './support/wait.js';
import { assertBuilt, BOOKS, kubemr, ROOT, sequentialOutput, sortedOutput, startKubemr, tempDir, testApp, type Proc } from './support/cli.js';

const SERVICE = path.join(ROOT, 'dist', 'cmd', 'coordinator', 'main.js');

let dir: string;
const procs: Proc[] = [];
const clients: KubemrClient[] = [];

beforeAll(() => {
  assertBuilt();
  dir = tempDir('security-auth');
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const p of procs.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill('SIGKILL');
      await p.exited;
    }
  }
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const sub = (name: string): string => fs.mkdtempSync(path.join(dir, `${name}-`));

function client(address: string, token?: string, tls?: { ca?: Buffer }): KubemrClient {
  const c = new KubemrClient({ address, token, tls, deadlineMs: 10_000 });
  clients.push(c);
  return c;
}

/** The gRPC status name a call failed with. */
async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (err === undefined) return 'OK';
  if (err instanceof RpcError) return grpc.status[err.grpcCode]!;
  return (err as { code?: string }).code ?? String(err);
}

/** The status a WatchJob stream ends with before any event. */
function watchCode(c: KubemrClient, jobId: string): Promise<string> {
  return new Promise((resolve) => {
    const s = c.watchJob(jobId);
    s.on('data', () => {
      s.cancel();
      resolve('OK');
    });
    s.on('error', (e: grpc.ServiceError) => resolve(grpc.status[e.code]!));
  });
}

function start(args: string[], cwd: string, env: Record<string, string> = {}): Proc {
  const p = startKubemr(args, { cwd, env: { KUBEMR_TOKEN: '', ...env } });
  procs.push(p);
  return p;
}

function startService(args: string[], cwd: string, env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [SERVICE, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBEMR_TOKEN: '', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  const p: Proc = { child, exited, stderr: () => stderr };
  procs.push(p);
  return p;
}

/** The address a coordinator prints once it listens. */
function listening(p: Proc): Promise<string> {
  return waitFor(
    'the coordinator to listen',
    () => {
      if (p.child.exitCode !== null) throw new Error(`exited early: ${p.stderr()}`);
      return /listening on (\S+)/.exec(p.stderr())?.[1];
    },
    30_000,
  );
}

const tokenOf = (data: string): string => fs.readFileSync(path.join(data, 'token'), 'utf8').trim();

describe('authentication is on wherever a coordinator starts', () => {
  it('kubemr coordinator makes a 0600 token file in its data directory and refuses calls without it', async () => {
    const cwd = sub('lab');
    const data = path.join(cwd, 'data');
    const p = start(['coordinator', BOOKS[0]!, '--listen', '127.0.0.1:0', '--data', data, '-q'], cwd);
    const address = await listening(p);
    expect(await codeOf(client(address).listJobs())).toBe('UNAUTHENTICATED');
    expect(await codeOf(client(address, 'not-the-token').listJobs())).toBe('UNAUTHENTICATED');
    expect(await codeOf(client(address).submitJob({ inputs: ['/etc/passwd'], outputDir: cwd }))).toBe('UNAUTHENTICATED');
    expect(fs.statSync(path.join(data, 'token')).mode & 0o777).toBe(0o600);
    expect((await client(address, tokenOf(data)).listJobs()).length).toBe(1);
  }, 60_000);

  it('kubemr coordinator --insecure serves open, and says so loudly on stderr', async () => {
    const cwd = sub('lab-open');
    const p = start(['coordinator', BOOKS[0]!, '--listen', '127.0.0.1:0', '--data', path.join(cwd, 'data'), '-q', '--insecure'], cwd);
    const address = await listening(p);
    expect(p.stderr()).toMatch(/WARNING: --insecure: serving 127\.0\.0\.1:0 with NO authentication/);
    expect((await client(address).listJobs()).length).toBe(1);
    expect(fs.existsSync(path.join(cwd, 'data', 'token'))).toBe(false);
  }, 60_000);

  it('the coordinator service refuses calls without the token; --insecure warns loudly', async () => {
    const cwd = sub('service');
    const p = startService(['--executor', 'external', '--listen', '127.0.0.1:0', '--data', path.join(cwd, 'data')], cwd);
    const address = await listening(p);
    expect(await codeOf(client(address).listJobs())).toBe('UNAUTHENTICATED');
    expect(await watchCode(client(address), '')).toBe('UNAUTHENTICATED');

    const open = startService(['--executor', 'external', '--listen', '127.0.0.1:0', '--data', path.join(cwd, 'data-open'), '--insecure'], cwd);
    const openAddress = await listening(open);
    expect(open.stderr()).toMatch(/WARNING: --insecure: serving 127\.0\.0\.1:0 with NO authentication/);
    expect(await client(openAddress).listJobs()).toEqual([]);
  }, 60_000);

  it("kubemr run's embedded coordinator refuses calls without the token, and its workers' credential is no client's", async () => {
    const cwd = sub('run');
    const data = path.join(cwd, 'data');
    const p = start(['run', testApp('slow-wordcount.ts'), ...BOOKS.slice(0, 4), '--reducers', '0', '--workers', '1', '--out', path.join(cwd, 'out'), '--data', data, '-q'], cwd, {
      KUBEMR_TEST_DELAY_MS: '1500',
    });
    const pid = p.child.pid!;
    const socket = await waitFor(
      "the run's socket",
      () => fs.readdirSync(os.tmpdir()).find((f) => f.startsWith(`kubemr-${pid}-`) && f.endsWith('.sock')),
      30_000,
    );
    const address = `unix:${path.join(os.tmpdir(), socket)}`;
    await waitFor('the job to be listed', async () => (await client(address, tokenOf(data)).listJobs().catch(() => [])).length === 1, 30_000);
    expect(await codeOf(client(address).listJobs())).toBe('UNAUTHENTICATED');

    // What a worker process was given, read from its environment as any local process could.
    const workerEnv = await waitFor(
      'a worker process',
      () => {
        for (const d of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
          try {
            const ppid = Number(fs.readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
            if (ppid === pid) return fs.readFileSync(`/proc/${d}/environ`, 'utf8');
          } catch {
            // gone
          }
        }
        return undefined;
      },
      30_000,
    );
    const given = /(?:^|\0)KUBEMR_TOKEN=([^\0]*)/.exec(workerEnv)?.[1];
    expect(given).toBeTruthy();
    expect(given).not.toBe(tokenOf(data));
    const asWorker = client(address, given);
    expect(await codeOf(asWorker.listJobs())).toBe('PERMISSION_DENIED');
    expect(await codeOf(asWorker.submitJob({ inputs: ['/etc/passwd'], workDir: cwd, outputDir: path.join(cwd, 'stolen') }))).toBe('PERMISSION_DENIED');
    const [job] = await client(address, tokenOf(data)).listJobs();
    expect(await codeOf(asWorker.cancelJob(job!.jobId))).toBe('PERMISSION_DENIED');
    p.child.kill('SIGINT');
    await p.exited;
  }, 120_000);

  it('kubemr dashboard without a credential refuses to start, naming how to give one', () => {
    const cwd = sub('dash');
    const r = kubemr(['dashboard', '--coordinator', '127.0.0.1:1', '--port', '0', '--data', path.join(cwd, 'data')], { cwd, env: { KUBEMR_TOKEN: '' }, timeoutMs: 30_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no credential for the coordinator: give --token or \$KUBEMR_TOKEN, or a token file at .*data\/token/);
  });
});

describe('TLS beyond loopback', () => {
  let cert: string;
  let key: string;
  /** Self-signed too, but not the coordinator's; and one for another name only. */
  let stranger: string;
  let otherName: string;
  const selfSigned = (d: string, name: string, san: string): { cert: string; key: string } => {
    const c = path.join(d, `${name}.pem`);
    const k = path.join(d, `${name}-key.pem`);
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', `/CN=${name}`, '-addext', `subjectAltName=${san}`, '-keyout', k, '-out', c,
    ], { stdio: 'ignore' });
    return { cert: c, key: k };
  };
  beforeAll(() => {
    const d = sub('tls');
    ({ cert, key } = selfSigned(d, 'coordinator', 'IP:127.0.0.1,DNS:localhost'));
    stranger = selfSigned(d, 'stranger', 'IP:127.0.0.1').cert;
    otherName = path.join(d, 'other-name');
    fs.mkdirSync(otherName);
    const o = selfSigned(otherName, 'elsewhere', 'DNS:elsewhere.example');
    otherName = o.cert;
    fs.renameSync(o.key, `${o.cert}.key`);
  });

  it('a non-loopback address in plaintext is refused while a token is on; --allow-plaintext opts out out loud', async () => {
    const cwd = sub('plain');
    const r = kubemr(['coordinator', BOOKS[0]!, '--listen', '0.0.0.0:0', '--data', path.join(cwd, 'data'), '-q'], { cwd, env: { KUBEMR_TOKEN: '' }, timeoutMs: 30_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/refusing to serve 0\.0\.0\.0:0 in plaintext.*--tls-cert and --tls-key/);
    const s = startService(['--executor', 'external', '--listen', '0.0.0.0:0', '--data', path.join(cwd, 'svc')], cwd);
    expect((await s.exited).code).not.toBe(0);
    expect(s.stderr()).toMatch(/refusing to serve 0\.0\.0\.0:0 in plaintext/);

    const ok = start(['coordinator', BOOKS[0]!, '--listen', '0.0.0.0:0', '--data', path.join(cwd, 'data'), '-q', '--allow-plaintext'], cwd);
    await listening(ok);
    expect(ok.stderr()).toMatch(/WARNING: --allow-plaintext/);
  }, 60_000);

  it('kubemr coordinator serves TLS; plaintext clients get nothing, hand-started TLS workers (heartbeats too) finish the job equal to the sequential run', async () => {
    const cwd = sub('tls-lab');
    const data = path.join(cwd, 'data');
    const out = path.join(cwd, 'out');
    const inputs = BOOKS.slice(0, 2);
    // Maps longer than the lease: only heartbeats over TLS let an attempt finish.
    const p = start(['coordinator', ...inputs, '--listen', '0.0.0.0:0', '--data', data, '--out', out, '-q', '--tls-cert', cert, '--tls-key', key, '--lease-ms', '4000', '--no-speculative'], cwd);
    const address = await listening(p);
    const plain = new KubemrClient({ address, token: tokenOf(data), deadlineMs: 2000 });
    clients.push(plain);
    expect(await codeOf(plain.listJobs())).toBe('UNAVAILABLE');
    expect((await client(address, tokenOf(data), { ca: fs.readFileSync(cert) }).listJobs()).length).toBe(1);
    // A certificate the client does not trust, or one for another name, is refused.
    const untrusted = new KubemrClient({ address, token: tokenOf(data), tls: { ca: fs.readFileSync(stranger) }, deadlineMs: 2000 });
    clients.push(untrusted);
    expect(await codeOf(untrusted.listJobs())).toBe('UNAVAILABLE');
    const wrongName = start(['coordinator', BOOKS[0]!, '--listen', '0.0.0.0:0', '--data', path.join(cwd, 'data2'), '-q', '--tls-cert', otherName, '--tls-key', `${otherName}.key`], cwd);
    const wrongAddress = await listening(wrongName);
    const misnamed = new KubemrClient({ address: wrongAddress, token: tokenOf(path.join(cwd, 'data2')), tls: { ca: fs.readFileSync(otherName) }, deadlineMs: 2000 });
    clients.push(misnamed);
    expect(await codeOf(misnamed.listJobs())).toBe('UNAVAILABLE');
    const status = kubemr(['status', '--coordinator', address, '--data', data, '--tls-ca', cert], { cwd, env: { KUBEMR_TOKEN: '' }, timeoutMs: 30_000 });
    expect(status.stderr).toBe('');
    expect(status.stdout).toMatch(/\tmap /);
    // Every task event, over TLS: no attempt may lose its lease.
    const states: string[] = [];
    const watch = client(address, tokenOf(data), { ca: fs.readFileSync(cert) }).watchJob('');
    watch.on('data', (e: { task?: { history: { state: string }[] } }) => states.push(...(e.task?.history.map((h) => h.state) ?? [])));
    watch.on('error', () => undefined);
    const app = testApp('straggler.ts');
    const workers = [0, 1].map(() => start(['worker', app, '--coordinator', address, '--data', data, '--tls-ca', cert, '--give-up-ms', '3000'], cwd, { KUBEMR_TEST_MAP_MS: '6000' }));
    const ended = await p.exited;
    expect(ended.code, ended.stderr).toBe(0);
    await Promise.all(workers.map((w) => w.exited));
    expect(sortedOutput(out)).toBe(sequentialOutput(cwd, app, inputs, { KUBEMR_TEST_MAP_MS: '1' }));
    expect(states).toContain('succeeded');
    expect(states).not.toContain('lost');
  }, 180_000);

  it('kubemr dashboard talks to a TLS coordinator with --tls-ca, and gets nothing from it without', async () => {
    const cwd = sub('tls-dash');
    const data = path.join(cwd, 'data');
    const s = startService(['--executor', 'external', '--listen', '0.0.0.0:0', '--data', data, '--tls-cert', cert, '--tls-key', key], cwd);
    const address = await listening(s);
    await client(address, tokenOf(data), { ca: fs.readFileSync(cert) }).submitJob({ app: 'wordcount', inputs: [BOOKS[0]!], workDir: cwd, outputDir: path.join(cwd, 'out') }, 'seen-by-dash');
    const jobsVia = async (extra: string[]): Promise<{ status: number; body: string }> => {
      const d = start(['dashboard', '--coordinator', address, '--data', data, '--port', '0', ...extra], cwd);
      const origin = await waitFor('the dashboard', () => /dashboard on (http:\/\/[^/\s]+)/.exec(d.stderr())?.[1], 30_000);
      const res = await fetch(`${origin}/api/jobs`, { headers: { authorization: `Bearer ${tokenOf(data)}` }, signal: AbortSignal.timeout(20_000) });
      return { status: res.status, body: await res.text() };
    };
    const ok = await jobsVia(['--tls-ca', cert]);
    expect(ok.status, ok.body).toBe(200);
    expect(ok.body).toContain('seen-by-dash');
    const plain = await jobsVia([]);
    expect(plain.status).toBeGreaterThanOrEqual(500);
    expect(plain.body).not.toContain('seen-by-dash');
  }, 120_000);

  it('the coordinator service serves TLS to clients and to the workers it starts', async () => {
    const cwd = sub('tls-service');
    const data = path.join(cwd, 'data');
    const s = startService(['--executor', 'local', '--listen', '0.0.0.0:0', '--data', data, '--tls-cert', cert, '--tls-key', key], cwd);
    const address = await listening(s);
    const c = client(address, tokenOf(data), { ca: fs.readFileSync(cert) });
    const inputs = BOOKS.slice(0, 2);
    const out = path.join(cwd, 'out');
    const id = await c.submitJob({ app: 'wordcount', inputs, workers: 2, reducers: 3, workDir: cwd, outputDir: out });
    const done = await waitFor('the job to end', async () => {
      const j = await c.getJob(id);
      return ['succeeded', 'failed', 'cancelled'].includes(j.phase) ? j : undefined;
    }, 120_000);
    expect(done.phase, done.message).toBe('succeeded');
    expect(sortedOutput(out)).toBe(sequentialOutput(cwd, 'wordcount', inputs));
  }, 180_000);
});

/** An executor that starts nothing and keeps what it was asked to launch. */
class RecordingExecutor implements Executor {
  readonly kind = 'external' as const;
  readonly specs: LaunchSpec[] = [];
  async launch(spec: LaunchSpec): Promise<void> {
    this.specs.push(spec);
  }
  async list() {
    return [];
  }
  async logs(): Promise<AsyncIterable<string>> {
    return (async function* () {})();
  }
  async stop(): Promise<void> {}
  onWorkerDeath(): void {}
  async close(): Promise<void> {}
}

describe('a worker credential is its job\'s own, for the attempts it holds', () => {
  const token = crypto.randomBytes(24).toString('hex');
  let coord: Coordinator;
  let server: CoordinatorServer;
  let executor: RecordingExecutor;
  let admin: KubemrClient;
  let credA: string;

  beforeAll(async () => {
    const d = sub('roles');
    executor = new RecordingExecutor();
    coord = new Coordinator({ dataDir: path.join(d, 'data'), executor, recover: false, token, tickMs: 50 });
    await coord.start();
    server = await startCoordinatorServer(coord, '127.0.0.1:0', { token, holdMs: 0 });
    admin = new KubemrClient({ address: server.address, token });
    for (const id of ['job-a', 'job-b']) {
      await admin.submitJob({ app: 'wordcount', inputs: BOOKS.slice(0, 2), workers: 1, reducers: 1, workDir: d, outputDir: path.join(d, id), leaseMs: 60_000 }, id);
    }
    credA = executor.specs.find((s) => s.jobId === 'job-a')!.token!;
  });
  afterAll(async () => {
    admin.close();
    await stopServer(server, 100);
    await coord.close();
  });

  it('the workers the coordinator starts get a credential of their job, not the token', () => {
    expect(credA).toBeTruthy();
    expect(credA).not.toContain(token);
    expect(executor.specs.find((s) => s.jobId === 'job-b')!.token).not.toBe(credA);
  });

  it('is refused every client call: SubmitJob, CancelJob, ListJobs, GetJob, WatchJob', async () => {
    const w = client(server.address, credA);
    expect(await codeOf(w.submitJob({ app: 'wordcount', inputs: ['/etc/passwd'], workDir: dir }))).toBe('PERMISSION_DENIED');
    expect(await codeOf(w.cancelJob('job-a'))).toBe('PERMISSION_DENIED');
    expect(await codeOf(w.cancelJob('job-b'))).toBe('PERMISSION_DENIED');
    expect(await codeOf(w.listJobs())).toBe('PERMISSION_DENIED');
    expect(await codeOf(w.getJob('job-a'))).toBe('PERMISSION_DENIED');
    expect(await watchCode(w, 'job-a')).toBe('PERMISSION_DENIED');
    expect((await admin.getJob('job-b')).phase).not.toBe('cancelled');
  });

  it("may not ask for, heartbeat or report another job's tasks, nor every job's", async () => {
    const w = client(server.address, credA);
    expect(await codeOf(w.requestTask({ workerId: 'wa', app: 'wordcount', jobId: 'job-b' }))).toBe('PERMISSION_DENIED');
    expect(await codeOf(w.requestTask({ workerId: 'wa', app: 'wordcount', jobId: '' }))).toBe('PERMISSION_DENIED');
    // A real attempt of job B, held by B's worker.
    const b = await admin.requestTask({ workerId: 'wb', app: 'wordcount', jobId: 'job-b' });
    expect(b.directive).toBe('RUN');
    const refB = { workerId: 'wb', jobId: 'job-b', kind: b.task!.kind, index: b.task!.index, attempt: b.task!.attempt, lease: b.task!.lease };
    expect(await codeOf(w.heartbeat(refB))).toBe('PERMISSION_DENIED');
    expect(await codeOf(w.reportTask({ ...refB, success: false, error: 'forged' }))).toBe('PERMISSION_DENIED');
    expect((await admin.heartbeat(refB)).abandon).toBe(false);
    // Its own job it may work on.
    const a = await w.requestTask({ workerId: 'wa', app: 'wordcount', jobId: 'job-a' });
    expect(a.directive).toBe('RUN');
    expect(a.task!.jobId).toBe('job-a');
  });

  it('may not heartbeat or report an attempt it does not hold', async () => {
    const holder = client(server.address, credA);
    const other = client(server.address, credA);
    const got = await holder.requestTask({ workerId: 'holder', app: 'wordcount', jobId: 'job-a' });
    expect(got.directive).toBe('RUN');
    const t = got.task!;
    const ref = { workerId: 'holder', jobId: 'job-a', kind: t.kind, index: t.index, attempt: t.attempt };
    // Another worker of the same job, speaking as the holder without its lease, or with a lease for another attempt.
    expect(await codeOf(other.heartbeat(ref))).toBe('PERMISSION_DENIED');
    expect(await codeOf(other.reportTask({ ...ref, success: false, error: 'forged failure', unrecoverable: true }))).toBe('PERMISSION_DENIED');
    expect(await codeOf(other.reportTask({ ...ref, attempt: t.attempt + 1, lease: t.lease, success: false, error: 'forged' }))).toBe('PERMISSION_DENIED');
    expect(await codeOf(other.reportTask({ ...ref, workerId: 'other', lease: t.lease, success: false, error: 'forged' }))).toBe('PERMISSION_DENIED');
    // The forged failure changed nothing: the attempt still runs, and its holder keeps it.
    const task = (await admin.getJob('job-a')).tasks.find((x) => x.kind === t.kind && x.index === t.index)!;
    expect(task.state).toBe('running');
    expect(task.history.map((h) => h.state)).toEqual(['running']);
    expect((await holder.heartbeat({ ...ref, lease: t.lease })).abandon).toBe(false);
  });

  it('a credential with a wrong MAC is not a credential at all', async () => {
    const forged = credA.replace(/\.[^.]+$/, '.' + Buffer.alloc(32).toString('base64url'));
    expect(await codeOf(client(server.address, forged).requestTask({ workerId: 'w', app: 'wordcount', jobId: 'job-a' }))).toBe('UNAUTHENTICATED');
    const otherJob = credA.replace('job-a', 'job-b');
    expect(await codeOf(client(server.address, otherJob).requestTask({ workerId: 'w', app: 'wordcount', jobId: 'job-b' }))).toBe('UNAUTHENTICATED');
  });
});

describe('worker pods (Kubernetes) carry the job\'s credential, never the token', () => {
  const token = 'the-coordinator-token-' + crypto.randomBytes(8).toString('hex');
  const job = (over: Partial<LaunchSpec>) =>
    buildWorkerJob({
      spec: { jobId: 'wc-1', app: 'wordcount', coordinator: 'kubemr-coordinator:7070', dataDir: '/data', ...over },
      workers: 2,
      namespace: 'kubemr',
      incarnation: newIncarnation(),
      options: compileWorkerPodOptions({}),
    });

  it('puts the worker credential and the TLS CA in the pod, and refuses the token itself', () => {
    const built = job({ token: workerCredential(token, 'wc-1'), tlsCa: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n' });
    const env = Object.fromEntries(built.spec!.template.spec!.containers[0]!.env!.map((e) => [e.name, e.value]));
    expect(env.KUBEMR_TOKEN).toBe(workerCredential(token, 'wc-1'));
    expect(env.KUBEMR_TLS_CA_PEM).toContain('BEGIN CERTIFICATE');
    expect(JSON.stringify(built)).not.toContain(token);
    expect(() => job({ token })).toThrow(/`token`.*worker credential/);
  });
});

describe('user code never finds a credential in its environment', () => {
  const leaks = (text: string, data: string) => ({
    token: text.includes(tokenOf(data)),
    workerCredential: /kmw1\./.test(text),
    variable: /KUBEMR_TOKEN/.test(text),
  });

  it('a streaming mapper that prints its whole environment into the output', () => {
    const cwd = sub('stream-env');
    const data = path.join(cwd, 'data');
    const out = path.join(cwd, 'out');
    const r = kubemr(['run', '--mapper', 'cat >/dev/null; env', BOOKS[0]!, '--workers', '1', '--out', out, '--data', data, '-q'], { cwd, env: { KUBEMR_TOKEN: '' } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const text = sortedOutput(out);
    expect(text).toMatch(/^PATH=/m); // the environment did reach the output
    expect(leaks(text, data)).toEqual({ token: false, workerCredential: false, variable: false });
  }, 120_000);

  it('an app whose map writes process.env into the output', () => {
    const cwd = sub('app-env');
    const data = path.join(cwd, 'data');
    const out = path.join(cwd, 'out');
    const r = kubemr(['run', testApp('env-dump.ts'), BOOKS[0]!, '--workers', '1', '--out', out, '--data', data, '-q'], { cwd, env: { KUBEMR_TOKEN: '' } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const text = sortedOutput(out);
    expect(text).toMatch(/^PATH /m);
    expect(leaks(text, data)).toEqual({ token: false, workerCredential: false, variable: false });
  }, 120_000);
});

describe('token files', () => {
  function dataWithToken(): { cwd: string; data: string; file: string } {
    const cwd = sub('tokenfile');
    const data = path.join(cwd, 'data');
    fs.mkdirSync(data);
    const file = path.join(data, 'token');
    fs.writeFileSync(file, crypto.randomBytes(24).toString('hex') + '\n', { mode: 0o600 });
    return { cwd, data, file };
  }
  const commands = (cwd: string, data: string) => ({
    run: ['run', 'wordcount', BOOKS[0]!, '--out', path.join(cwd, 'out'), '--data', data, '-q'],
    coordinator: ['coordinator', BOOKS[0]!, '--listen', '127.0.0.1:0', '--data', data, '-q'],
    status: ['status', '--coordinator', '127.0.0.1:1', '--data', data],
  });

  it('one that group or others can read is refused, naming the path', () => {
    const { cwd, data, file } = dataWithToken();
    fs.chmodSync(file, 0o644);
    for (const [name, args] of Object.entries(commands(cwd, data))) {
      const r = kubemr(args, { cwd, env: { KUBEMR_TOKEN: '' }, timeoutMs: 30_000 });
      expect(r.code, name).not.toBe(0);
      expect(r.stderr, name).toContain(`token file ${file} can be read by group or others (mode 0644)`);
    }
    expect(fs.existsSync(path.join(cwd, 'out'))).toBe(false);
  }, 60_000);

  it('a symbolic link is refused, naming the path', () => {
    const { cwd, data, file } = dataWithToken();
    fs.renameSync(file, path.join(cwd, 'elsewhere'));
    fs.symlinkSync(path.join(cwd, 'elsewhere'), file);
    for (const [name, args] of Object.entries(commands(cwd, data))) {
      const r = kubemr(args, { cwd, env: { KUBEMR_TOKEN: '' }, timeoutMs: 30_000 });
      expect(r.code, name).not.toBe(0);
      expect(r.stderr, name).toContain(`token file ${file} is a symbolic link`);
    }
  }, 60_000);
});
