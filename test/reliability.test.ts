/**
 * Reliability and security: unauthenticated, malformed and oversized gRPC calls, bad job specs,
 * cancellation (CLI and Ctrl-C), and inputs that stress the reader. The coordinator must answer
 * each with a clear status and stay up; a cancelled job leaves RESULT=CANCELLED, no
 * intermediates and no worker process behind.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KubemrClient, RpcError } from '../lib/protocol/client.js';
import { workerCredential } from '../lib/protocol/credentials.js';
import { Coordinator } from '../lib/coordinator/coordinator.js';
import { startCoordinatorServer, stopServer } from '../lib/protocol/server.js';
import { waitFor } from './support/wait.js';
import { assertBuilt, BOOKS, kubemr, outputFiles, ROOT, sequentialOutput, sortedOutput, startKubemr, tempDir, testApp, type Proc } from './support/cli.js';


function pidsWith(marker: string): number[] {
  const pids: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.includes(marker) && cmd.includes('worker')) pids.push(Number(d));
    } catch {
      // gone
    }
  }
  return pids;
}

async function expectCode(p: Promise<unknown>, code: grpc.status, message?: RegExp) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected the call to fail').toBeInstanceOf(Error);
  if (err instanceof RpcError) expect(grpc.status[err.grpcCode]).toBe(grpc.status[code]);
  else expect((err as { code?: unknown }).code ?? (err as RpcError).code).toBe(code);
  if (message) expect((err as Error).message).toMatch(message);
}

describe('the coordinator gRPC API under bad requests', () => {
  let dir: string;
  let coord: Coordinator;
  let server: grpc.Server;
  let address: string;
  const token = crypto.randomBytes(16).toString('hex');

  beforeEach(async () => {
    dir = tempDir('grpc');
    coord = new Coordinator({ dataDir: path.join(dir, 'data'), recover: false });
    await coord.start();
    ({ server, address } = await startCoordinatorServer(coord, '127.0.0.1:0', { token, maxMessageBytes: 1024 * 1024 }));
  });
  afterEach(async () => {
    await stopServer(server, 100);
    await coord.close();
  });

  const alive = async () => {
    const c = new KubemrClient({ address, token });
    try {
      expect(Array.isArray(await c.listJobs())).toBe(true);
    } finally {
      c.close();
    }
  };

  it('refuses every call without the token, or with a wrong one, as UNAUTHENTICATED', async () => {
    for (const t of [undefined, 'wrong-token']) {
      const c = new KubemrClient({ address, token: t });
      await expectCode(c.listJobs(), grpc.status.UNAUTHENTICATED, /missing or invalid token/);
      await expectCode(c.submitJob({ inputs: [BOOKS[0]!] }), grpc.status.UNAUTHENTICATED);
      await expectCode(c.requestTask({ workerId: 'w', app: '' }), grpc.status.UNAUTHENTICATED);
      await expectCode(c.heartbeat({ workerId: 'w', jobId: 'x', kind: 'MAP', index: 0, attempt: 1 }), grpc.status.UNAUTHENTICATED);
      await expectCode(c.cancelJob('x'), grpc.status.UNAUTHENTICATED);
      const stream = c.watchJob('');
      const status = await new Promise<grpc.StatusObject>((resolve) => {
        stream.on('status', resolve);
        stream.on('error', () => undefined);
      });
      expect(status.code).toBe(grpc.status.UNAUTHENTICATED);
      c.close();
    }
    await alive();
  });

  it('answers malformed bytes and oversized messages with an error status and stays up', async () => {
    const raw = new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * 1024 * 1024 });
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${token}`);
    const call = (payload: Buffer) =>
      new Promise<grpc.ServiceError | null>((resolve) =>
        raw.makeUnaryRequest('/kubemr.v1.Coordinator/SubmitJob', (b: Buffer) => b, (b: Buffer) => b, payload, md, { deadline: Date.now() + 5000 }, (err) => resolve(err)),
      );
    const garbage = await call(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x12]));
    expect(garbage?.code).toBe(grpc.status.INTERNAL);
    const huge = await call(Buffer.alloc(3 * 1024 * 1024, 0x41));
    expect(huge?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    raw.close();
    await alive();
  });

  it('rejects bad job specs with INVALID_ARGUMENT naming the field, and unknown jobs with NOT_FOUND', async () => {
    const c = new KubemrClient({ address, token });
    await expectCode(c.submitJob({ inputs: [BOOKS[0]!], reducers: -1, workDir: dir }), grpc.status.INVALID_ARGUMENT, /Expected `reducers` to be an integer between 0 and 100000, got `-1`/);
    await expectCode(c.submitJob({ inputs: [], workDir: dir }), grpc.status.INVALID_ARGUMENT, /at least one input/);
    await expectCode(c.submitJob({ inputs: ['missing.txt'], workDir: dir }), grpc.status.INVALID_ARGUMENT, /Input `missing.txt` does not exist/);
    await expectCode(c.submitJob({ inputs: [BOOKS[0]!], workDir: 'relative/dir' }), grpc.status.INVALID_ARGUMENT, /workDir/);
    await expectCode(c.submitJob({ inputs: [BOOKS[0]!], workDir: dir }, '../../etc'), grpc.status.INVALID_ARGUMENT, /job id/);
    await expectCode(c.submitJob({ inputs: ['a\0b'], workDir: dir }), grpc.status.INVALID_ARGUMENT);
    await expectCode(c.getJob('no-such-job'), grpc.status.NOT_FOUND, /No job `no-such-job`/);
    await expectCode(c.cancelJob('no-such-job'), grpc.status.NOT_FOUND);
    await expectCode(c.requestTask({ workerId: '', app: '' }), grpc.status.INVALID_ARGUMENT, /workerId/);
    await expectCode(c.reportTask({ workerId: 'w', jobId: 'x', kind: 'TASK_KIND_UNSPECIFIED', index: 0, attempt: 1, success: true }), grpc.status.INVALID_ARGUMENT, /kind/);
    // A report for an attempt nobody was handed (here: of a job that does not exist) is refused.
    await expectCode(c.reportTask({ workerId: 'w', jobId: 'x', kind: 'MAP', index: 0, attempt: 1, success: true }), grpc.status.PERMISSION_DENIED, /does not hold attempt 1/);
    c.close();
    await alive();
  });

  it('answers a report that asks for the next task with that task, in the same reply', async () => {
    const c = new KubemrClient({ address, token });
    const inputs = ['a', 'b'].map((n) => {
      const f = path.join(dir, `${n}.txt`);
      fs.writeFileSync(f, `${n} words\n`);
      return f;
    });
    const jobId = await c.submitJob({ app: 'wordcount', inputs, reducers: 1, noPack: true, maxAttempts: 5, workDir: dir, outputDir: path.join(dir, 'out') });
    const ask = { workerId: 'w', app: 'wordcount', jobId };
    const first = (await c.requestTask(ask)).task!;
    const ref = { workerId: 'w', jobId, kind: first.kind, index: first.index, attempt: first.attempt, lease: first.lease };
    // Another worker's request may not ride on this worker's report, nor a request for a job
    // its credential does not cover; nothing of the report is kept.
    await expectCode(c.reportTask({ ...ref, success: false, error: 'E1', next: { ...ask, workerId: 'other' } }), grpc.status.INVALID_ARGUMENT, /`next.workerId`/);
    const asWorker = new KubemrClient({ address, token: workerCredential(token, jobId) });
    await expectCode(asWorker.reportTask({ ...ref, success: false, error: 'E1', next: { ...ask, jobId: 'another-job' } }), grpc.status.PERMISSION_DENIED, /another-job/);
    asWorker.close();
    expect((await c.getJob(jobId)).tasks.flatMap((t) => t.history).every((a) => a.error === '')).toBe(true);
    const ack = await c.reportTask({ ...ref, success: false, error: 'E1', next: ask });
    expect(ack.accepted).toBe(true);
    expect(ack.next?.directive).toBe('RUN');
    const next = ack.next!.task!;
    // The report was handled before the request: the failed task is not handed back as held.
    const failed = (await c.getJob(jobId)).tasks.find((t) => t.kind === first.kind && t.index === first.index)!;
    expect(failed.history[0]!.error).toBe('E1');
    expect([next.index, next.attempt]).not.toEqual([first.index, first.attempt]);
    // The task handed in the reply is this worker's: its lease is good for the next report.
    const again = await c.reportTask({ workerId: 'w', jobId, kind: next.kind, index: next.index, attempt: next.attempt, lease: next.lease, success: false, error: 'E2' });
    expect(again.accepted).toBe(true);
    expect(again.next).toBeNull();
    c.close();
  });
});

describe('cancellation', () => {
  const procs: Proc[] = [];
  beforeAll(() => assertBuilt());
  afterEach(() => {
    for (const p of procs.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  });

  it('Ctrl-C on kubemr run cancels the job and leaves no worker process behind', async () => {
    const dir = tempDir('sigint');
    const run = startKubemr(['run', testApp('slow-wordcount.ts'), ...BOOKS, '-w', '2', '--out', 'out', '--data', 'data'], { cwd: dir, env: { KUBEMR_TEST_DELAY_MS: '3000' } });
    procs.push(run);
    await waitFor('a running task', () => /running [1-9]/.test(run.stderr()), 60_000);
    const jobId = /(slow-wordcount-[a-z0-9-]+):/.exec(run.stderr())![1]!;
    expect(pidsWith(jobId).length).toBeGreaterThan(0);
    run.child.kill('SIGINT');
    const r = await run.exited;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/was cancelled/);
    expect(pidsWith(jobId)).toEqual([]);
    const jobDir = path.join(dir, 'data', 'jobs', jobId);
    expect(fs.readFileSync(path.join(jobDir, 'RESULT'), 'utf8')).toBe('CANCELLED\n');
    expect(fs.existsSync(path.join(jobDir, 'intermediate'))).toBe(false);
    expect(outputFiles(path.join(dir, 'out'))).toEqual([]);
  });

  it('kubemr cancel stops a job on the coordinator service', async () => {
    const dir = tempDir('cancel');
    const data = path.join(dir, 'data');
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/cmd/coordinator/main.js'), '--executor', 'local', '--listen', '127.0.0.1:0', '--data', data, '--app-dir', path.join(ROOT, 'test', 'apps')], {
      cwd: dir,
      env: { ...process.env, KUBEMR_TEST_DELAY_MS: '3000' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    procs.push({ child, exited: exited.then((code) => ({ code, signal: null, stdout: '', stderr })), stderr: () => stderr });
    const address = (await waitFor('the service listening', () => /listening on (\S+)/.exec(stderr)?.[1], 60_000))!;
    const submitted = kubemr(['submit', testApp('slow-wordcount.ts'), ...BOOKS, '--workers', '2', '--coordinator', address, '--data', data], { cwd: dir });
    expect(submitted.code, submitted.stderr).toBe(0);
    const jobId = submitted.stdout.trim();
    // Cancel mid-task: once a worker has started an attempt (its log exists).
    const logs = path.join(data, 'jobs', jobId, 'logs');
    await waitFor('an attempt under way', () => fs.existsSync(logs) && fs.readdirSync(logs).some((f) => /^map-\d+-\d+\.log$/.test(f)), 60_000);
    const unauth = kubemr(['cancel', jobId, '--coordinator', address, '--token', 'nope'], { cwd: dir });
    expect(unauth.code).not.toBe(0);
    expect(unauth.stderr).toMatch(/kubemr: .*missing or invalid token/);
    const cancelled = kubemr(['cancel', jobId, '--coordinator', address, '--data', data], { cwd: dir });
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stdout).toBe(`cancelled ${jobId}\n`);
    await waitFor('the workers gone', () => pidsWith(jobId).length === 0, 30_000);
    const jobDir = path.join(data, 'jobs', jobId);
    expect(fs.readFileSync(path.join(jobDir, 'RESULT'), 'utf8')).toBe('CANCELLED\n');
    expect(fs.existsSync(path.join(jobDir, 'intermediate'))).toBe(false);
    const status = kubemr(['status', jobId, '--coordinator', address, '--data', data], { cwd: dir });
    expect(status.stdout).toMatch(new RegExp(`^${jobId}\\tcancelled`));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('limits', () => {
  beforeAll(() => assertBuilt());

  it('a streaming mapper line longer than --max-line fails the job with a clear message, not a crash', () => {
    const dir = tempDir('maxline');
    fs.writeFileSync(path.join(dir, 'in.txt'), 'x\n');
    const r = kubemr(
      ['run', '--mapper', `python3 -c "import sys; sys.stdout.write('k' * 3000000 + '\\t1\\n')"`, '--reducer', 'cat', 'in.txt', '--max-line', '1M', '--max-attempts', '1', '-w', '1', '--out', 'out', '--data', 'data', '-q'],
      { cwd: dir },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/mapper wrote a line longer than 1048576 bytes \(the job's maxLineBytes\)/);
    // Our own errors carry no stack trace.
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(outputFiles(path.join(dir, 'out'))).toEqual([]);
  });
});

describe('inputs that stress the reader', () => {
  beforeAll(() => assertBuilt());

  it('a 100 MB single-line file, a binary file and an empty file match the sequential run', () => {
    const dir = tempDir('stress');
    const words = ['alpha ', 'beta ', 'Gamma ', 'δέλτα '];
    const line = Buffer.alloc(100 * 1024 * 1024);
    let pos = 0;
    for (let i = 0; pos < line.length - 16; i++) pos += line.write(words[i % 4]!, pos);
    fs.writeFileSync(path.join(dir, 'one-line.txt'), line.subarray(0, pos));
    const rnd = crypto.createHash('sha256');
    const bin = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < bin.length; i += 32) rnd.copy().update(String(i)).digest().copy(bin, i);
    fs.writeFileSync(path.join(dir, 'random.bin'), bin);
    fs.writeFileSync(path.join(dir, 'empty.txt'), '');
    const inputs = ['one-line.txt', 'random.bin', 'empty.txt'];
    const r = kubemr(['run', 'wordcount', ...inputs, '-w', '2', '-r', '3', '--split-size', '16M', '--out', 'out', '--data', 'data', '-q'], { cwd: dir, timeoutMs: 180_000 });
    expect(r.code, r.stderr).toBe(0);
    const got = sortedOutput(path.join(dir, 'out'));
    expect(got).toMatch(/^alpha \d{7}$/m);
    expect(got).toBe(sequentialOutput(dir, 'wordcount', inputs));
  }, 240_000);
});

describe('leases', () => {
  beforeAll(() => assertBuilt());

  // 2000 ms: beats every 667 ms, the client loads at once. 4500 ms: beats every 1.5 s, the
  // client loads half a second into the task, ahead of the first beat. (A shorter lease than
  // 2 s expires for real on a machine so loaded that the beat thread waits a lease for a core.)
  for (const leaseMs of [2000, 4500]) {
    it(`a map that holds its thread longer than the lease keeps it (lease ${leaseMs} ms): heartbeats come from their own thread`, () => {
      const dir = tempDir('lease');
      const inputs = BOOKS.slice(0, 2);
      const delayMs = 2 * leaseMs + 1000;
      // Backup tasks off: every attempt beyond the first would then mean a lost lease.
      const r = kubemr(['run', testApp('slow-wordcount.ts'), ...inputs, '-w', '2', '--lease-ms', String(leaseMs), '--max-attempts', '1', '--no-speculative', '--out', 'out', '--data', 'data'], {
        cwd: dir,
        env: { KUBEMR_TEST_DELAY_MS: String(delayMs) },
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/lease expired/);
      // Every task ran once: an expired lease would have handed its task out again.
      const [jobDir] = fs.readdirSync(path.join(dir, 'data', 'jobs')).map((j) => path.join(dir, 'data', 'jobs', j));
      const attempts = fs
        .readFileSync(path.join(jobDir!, 'journal.ndjson'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { t: string; kind?: string; attempt?: number })
        .filter((e) => e.t === 'attempt');
      expect(attempts.filter((e) => e.kind === 'map')).toHaveLength(inputs.length);
      expect(attempts.every((e) => e.attempt === 1), JSON.stringify(attempts)).toBe(true);
      expect(sortedOutput(path.join(dir, 'out'))).toBe(sequentialOutput(dir, testApp('slow-wordcount.ts'), inputs));
    }, 120_000);
  }
});
