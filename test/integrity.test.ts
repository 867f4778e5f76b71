/**
 * Integrity under attack: a late or lost attempt never changes a committed output, a damaged
 * intermediate ends in a correct output anyway, a job's output is all or nothing, and one
 * coordinator owns a data directory, one job an output directory. Real worker processes, real
 * gRPC on 127.0.0.1, real files; every result is compared with the sequential run.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Coordinator } from '../lib/coordinator/coordinator.js';
import type { JobRecord } from '../lib/coordinator/scheduler.js';
import { startCoordinatorServer, stopServer } from '../lib/protocol/server.js';
import { assertBuilt, BOOKS, kubemr, outputFiles, ROOT, sequentialOutput, sortedOutput, startKubemr, startWorker, tempDir, testApp, type Proc } from './support/cli.js';
import { waitFor } from './support/wait.js';

const APP = testApp('integrity.ts');
const procs: Proc[] = [];
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(() => assertBuilt());
afterEach(async () => {
  for (const p of procs.splice(0)) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
    try {
      p.child.kill('SIGCONT');
    } catch {
      // gone
    }
    p.child.kill('SIGKILL');
    await p.exited;
  }
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An in-process coordinator on 127.0.0.1:0 with no executor: the test starts the workers. */
async function service(dir: string): Promise<{ coord: Coordinator; address: string }> {
  const coord = new Coordinator({ dataDir: path.join(dir, 'data'), recover: false, tickMs: 50 });
  await coord.start();
  const { server, address } = (await startCoordinatorServer(coord, '127.0.0.1:0')) as { server: grpc.Server; address: string };
  coord.advertise = address;
  cleanups.push(async () => {
    await stopServer(server, 100);
    await coord.close();
  });
  return { coord, address };
}

function finished(coord: Coordinator, jobId: string, timeoutMs: number): Promise<JobRecord> {
  return Promise.race([
    coord.waitFor(jobId),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`job ${jobId} did not finish in ${timeoutMs} ms: ${JSON.stringify(coord.getJob(jobId).phase)}`)), timeoutMs).unref()),
  ]);
}

/** What a downstream reader sees in an output directory besides the results. */
const extras = (out: string) => (fs.existsSync(out) ? fs.readdirSync(out).filter((f) => !f.startsWith('mr-out')).sort() : []);

describe('commit protocol', () => {
  it('a worker stopped past its lease, continued after its reduce was committed elsewhere, never changes the committed mr-out', async () => {
    const dir = tempDir('sigstop');
    const input = path.join(dir, 'in.txt');
    fs.writeFileSync(input, fs.readFileSync(BOOKS[0]!).subarray(0, 20_000));
    const marks = path.join(dir, 'marks');
    fs.mkdirSync(marks);
    const gate = path.join(dir, 'gate');
    const out = path.join(dir, 'out');
    const { coord, address } = await service(dir);
    const job = await coord.submit({ app: APP, inputs: [input], reducers: 2, leaseMs: 1000, outputDir: out, workDir: dir });
    // Partition 0's reduce holds 3 s; partition 1's waits for the gate, so the job is still
    // running when the stopped worker wakes up. Every output carries its worker's pid.
    const env = { KUBEMR_TEST_HOLD_MS: '3000', KUBEMR_TEST_MARK_DIR: marks, KUBEMR_TEST_NONDET: '1', KUBEMR_TEST_GATE: gate };
    const first = [startWorker(dir, APP, address, env), startWorker(dir, APP, address, env)];
    procs.push(...first);
    const a = await waitFor('a worker inside reduce 0', () => first.find((w) => fs.existsSync(path.join(marks, `reduce-${w.child.pid}`))), 60_000);
    process.kill(a.child.pid!, 'SIGSTOP');
    const reduce0 = () => coord.getJob(job.id).reduces[0]!;
    await waitFor('the stopped attempt to be lost', () => reduce0().history[0]?.state === 'lost', 30_000);

    const b = startWorker(dir, APP, address, env);
    procs.push(b);
    await waitFor('reduce 0 committed from the second attempt', () => reduce0().state === 'done', 60_000);
    expect(reduce0().history.find((h) => h.state === 'succeeded')?.attempt).toBe(2);
    // Where the committed file is now: published at once (before the fix) or staged until the job ends.
    const committed = [path.join(out, 'mr-out-0'), path.join(out, '_temporary', 'mr-out-0')].find((f) => fs.existsSync(f))!;
    expect(committed, 'no committed mr-out-0').toBeDefined();
    const before = { bytes: fs.readFileSync(committed), stat: fs.statSync(committed) };
    expect(before.bytes.toString()).toContain(` ${b.child.pid}\n`);

    process.kill(a.child.pid!, 'SIGCONT');
    // The stopped worker finishes its reduce and tries to make it visible; its attempt log says when it is through.
    const aLog = path.join(coord.jobLayout(job.id).logsDir, 'reduce-0-1.log');
    await waitFor('the continued attempt to end', () => fs.existsSync(aLog) && /done in|failed:/.test(fs.readFileSync(aLog, 'utf8')), 60_000);
    // (A worker that renames its own output does so before it logs "done in".)
    fs.writeFileSync(gate, '');
    expect((await finished(coord, job.id, 60_000)).phase).toBe('succeeded');

    const file = path.join(out, 'mr-out-0');
    const after = { bytes: fs.readFileSync(file), stat: fs.statSync(file) };
    expect(after.bytes.toString().slice(-40), 'mr-out-0 changed').toBe(before.bytes.toString().slice(-40));
    expect(after.bytes.equals(before.bytes)).toBe(true);
    expect(after.stat.ino).toBe(before.stat.ino);
    expect(after.stat.mtimeMs).toBe(before.stat.mtimeMs);
    expect(after.bytes.toString()).not.toContain(` ${a.child.pid}\n`);
    expect(extras(out)).toEqual(['_SUCCESS']);
  }, 180_000);
});

describe('checksummed intermediates', () => {
  const damage: Record<string, (file: string) => void> = {
    'flipped bytes': (f) => {
      const b = fs.readFileSync(f);
      const at = Math.floor(b.length / 2);
      for (let i = at; i < at + 4; i++) b[i] = b[i]! ^ 0xff;
      fs.writeFileSync(f, b);
    },
    truncation: (f) => fs.truncateSync(f, Math.floor(fs.statSync(f).size * 0.6)),
    deletion: (f) => fs.rmSync(f),
  };
  let oracle: string | undefined;

  it.each(Object.keys(damage))('%s of an intermediate: the map that wrote it runs again and the output is right', async (how) => {
    const dir = tempDir('crc');
    const inputs = BOOKS.slice(0, 3);
    const out = path.join(dir, 'out');
    const { coord, address } = await service(dir);
    const job = await coord.submit({ app: 'wordcount', inputs, reducers: 3, outputDir: out, workDir: dir });
    const victim = path.join(coord.jobLayout(job.id).intermediateDir, 'mr-1-2');
    let damaged = false;
    // Inside the transition that ends the map phase: before any reduce can be handed out.
    cleanups.push(
      coord.subscribe((e) => {
        if (e.type !== 'phase' || e.job.id !== job.id || e.job.phase !== 'reduce' || damaged) return;
        damaged = true;
        damage[how]!(victim);
      }),
    );
    for (let i = 0; i < 2; i++) procs.push(startWorker(dir, 'wordcount', address));
    const done = await finished(coord, job.id, 120_000);
    expect(damaged).toBe(true);
    expect(done.phase, done.message).toBe('succeeded');
    oracle ??= sequentialOutput(dir, 'wordcount', inputs);
    expect(sortedOutput(out)).toBe(oracle);
    // The map ran again because reduce 2 named it; the reduce's failed attempt says why.
    expect(done.maps[1]!.reruns).toBe(1);
    expect(done.maps[1]!.history.filter((a) => a.state === 'succeeded').length).toBe(2);
    const why = done.reduces[2]!.history.map((a) => a.error ?? '').join('\n');
    expect(why).toMatch(/mr-1-2 (is missing|is truncated|fails its checksum|is corrupt)/);
    expect(done.reduces[2]!.failures).toBe(0);
  }, 180_000);
});

describe('a job\'s output is all or nothing', () => {
  it('a reduce that throws fails the job with no mr-out file, no marker, nothing staged; a rerun then works', () => {
    const dir = tempDir('throws');
    const out = path.join(dir, 'out');
    const inputs = BOOKS.slice(0, 2);
    const r = kubemr(['run', APP, ...inputs, '--reducers', '10', '--workers', '2', '--max-attempts', '2', '--out', out, '-q'], {
      cwd: dir,
      env: { KUBEMR_TEST_THROW_KEY: 'the' },
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/reduce refuses the key the/);
    expect(outputFiles(out)).toEqual([]);
    expect(extras(out)).toEqual([]);
    const again = kubemr(['run', APP, ...inputs, '--reducers', '10', '--workers', '2', '--out', out, '-q'], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    expect(sortedOutput(out)).toBe(sequentialOutput(dir, APP, inputs));
    expect(extras(out)).toEqual(['_SUCCESS']);
  }, 180_000);

  it('Ctrl-C in the reduce phase, with some reduces done, leaves no mr-out file; a rerun works', async () => {
    const dir = tempDir('ctrlc');
    const out = path.join(dir, 'out');
    const inputs = BOOKS.slice(0, 2);
    // One partition's reduce holds for a minute; the other three finish.
    const data = path.join(dir, 'data');
    const run = startKubemr(['run', APP, ...inputs, '--reducers', '4', '--workers', '2', '--out', out, '--data', data], { cwd: dir, env: { KUBEMR_TEST_HOLD_MS: '60000' } });
    procs.push(run);
    await reducesDone(data, 3);
    run.child.kill('SIGINT');
    const exited = await run.exited;
    expect(exited.code, exited.stderr).toBe(130);
    expect(outputFiles(out)).toEqual([]);
    expect(extras(out)).toEqual([]);
    const again = kubemr(['run', APP, ...inputs, '--reducers', '4', '--workers', '2', '--out', out, '-q'], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    expect(sortedOutput(out)).toBe(sequentialOutput(dir, APP, inputs));
    expect(extras(out)).toEqual(['_SUCCESS']);
  }, 240_000);
});

describe('exclusive ownership', () => {
  const startService = async (dir: string, data: string): Promise<Proc> => {
    const child = startKubemrService(dir, data);
    procs.push(child);
    await waitFor('the coordinator to listen or exit', () => /listening on/.test(child.stderr()) || child.child.exitCode !== null, 60_000);
    return child;
  };

  it('a second coordinator on the same data directory is refused, naming the first; a dead one\'s lock is taken over', async () => {
    const dir = tempDir('twocoord');
    const data = path.join(dir, 'data');
    const first = await startService(dir, data);
    expect(first.stderr()).toMatch(/listening on/);
    const second = await startService(dir, data);
    const refused = await second.exited;
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(new RegExp(`Data directory \`${data}\` is in use by another coordinator \\(pid ${first.child.pid} on host `));
    expect(first.child.exitCode).toBe(null);
    first.child.kill('SIGKILL');
    await first.exited;
    const third = await startService(dir, data);
    expect(third.stderr()).toMatch(/listening on/);
    third.child.kill('SIGTERM');
    expect((await third.exited).code).toBe(0);
    expect(fs.existsSync(path.join(data, 'coordinator.lock'))).toBe(false);
  }, 120_000);

  it('a second run into an output directory in use is refused, naming the job; the first\'s output is intact', async () => {
    const dir = tempDir('twoout');
    const out = path.join(dir, 'out');
    const inputs = BOOKS.slice(0, 2);
    const env = { KUBEMR_TEST_HOLD_MS: '4000' };
    const first = startKubemr(['run', APP, ...inputs, '--reducers', '3', '--workers', '2', '--out', out, '--data', path.join(dir, 'd1')], { cwd: dir, env });
    procs.push(first);
    const jobsDir = path.join(dir, 'd1', 'jobs');
    const firstJob = await waitFor('the first job to be submitted', () => (fs.existsSync(jobsDir) ? fs.readdirSync(jobsDir).find((j) => fs.existsSync(path.join(jobsDir, j, 'job.json'))) : undefined), 60_000);
    const second = kubemr(['run', 'wordcount', BOOKS[5]!, '--reducers', '3', '--out', out, '--data', path.join(dir, 'd2'), '-q'], { cwd: dir });
    expect(second.code).not.toBe(0);
    expect(second.stderr).toMatch(new RegExp(`Output directory \`${out}\` is being written by job \`${firstJob}\``));
    const done = await first.exited;
    expect(done.code, done.stderr).toBe(0);
    expect(sortedOutput(out)).toBe(sequentialOutput(dir, APP, inputs, { KUBEMR_TEST_HOLD_MS: '1' }));
    expect(extras(out)).toEqual(['_SUCCESS']);
  }, 180_000);

  it('kubemr run --resume continues a run killed mid-way, from its journal, to the right output', async () => {
    const dir = tempDir('resume');
    const out = path.join(dir, 'out');
    const data = path.join(dir, 'data');
    const inputs = BOOKS.slice(0, 2);
    const run = startKubemr(['run', APP, ...inputs, '--reducers', '4', '--workers', '2', '--out', out, '--data', data], { cwd: dir, env: { KUBEMR_TEST_HOLD_MS: '60000' } });
    procs.push(run);
    const jobId = await reducesDone(data, 3);
    run.child.kill('SIGKILL');
    await run.exited;
    // Its workers are orphans now; they must not be what finishes the job.
    for (const pid of workerPids(jobId)) process.kill(pid, 'SIGKILL');
    expect(outputFiles(out)).toEqual([]);
    const blocked = kubemr(['run', APP, ...inputs, '--out', out, '--data', path.join(dir, 'other'), '-q'], { cwd: dir });
    expect(blocked.stderr).toMatch(new RegExp(`kubemr run --resume ${jobId}`));
    const resumed = kubemr(['run', '--resume', jobId, '--data', data, '-q'], { cwd: dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(sortedOutput(out)).toBe(sequentialOutput(dir, APP, inputs, { KUBEMR_TEST_HOLD_MS: '1' }));
    expect(extras(out)).toEqual(['_SUCCESS']);
    // Resumed from the journal, not started over.
    const journal = fs.readFileSync(path.join(data, 'jobs', jobId, 'journal.ndjson'), 'utf8');
    expect(journal).toContain('"t":"recover"');
  }, 240_000);
});

/** Waits until the one job in `data` has journaled `n` reduces done; returns its id. */
function reducesDone(data: string, n: number): Promise<string> {
  const jobs = path.join(data, 'jobs');
  return waitFor(`${n} reduces done`, () => {
    for (const id of fs.existsSync(jobs) ? fs.readdirSync(jobs) : []) {
      const journal = path.join(jobs, id, 'journal.ndjson');
      if (!fs.existsSync(journal)) continue;
      if (fs.readFileSync(journal, 'utf8').split('\n').filter((l) => l.includes('"t":"done","kind":"reduce"')).length >= n) return id;
    }
    return undefined;
  }, 120_000);
}

function startKubemrService(dir: string, data: string): Proc {
  // The service main, as the chaos test starts it.
  return startKubemrMain(dir, ['--executor', 'local', '--listen', '127.0.0.1:0', '--data', data, '--drain-ms', '0']);
}

function startKubemrMain(cwd: string, args: string[]): Proc {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/cmd/coordinator/main.js'), ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return { child, exited: new Promise((r) => child.on('close', (code, signal) => r({ code, signal, stdout: '', stderr }))), stderr: () => stderr };
}

function workerPids(jobId: string): number[] {
  const pids: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (cmd.includes('worker') && cmd.includes(jobId)) pids.push(Number(d));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}
