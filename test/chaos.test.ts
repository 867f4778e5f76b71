/**
 * Chaos: a wordcount over the lab's books while a driver kill -9s random workers and the
 * coordinator service at random moments, restarting the coordinator on the same data
 * directory each time, and freezes random workers (SIGSTOP) for up to twice their lease before
 * letting them go on (SIGCONT), so late attempts try to commit over their successors. The
 * output must equal the sequential run, no output file may ever be seen partial or changing,
 * and nothing may be lost.
 *
 * CI runs a short version; `npm run test:chaos` (KUBEMR_CHAOS=long) a longer one.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeAll, expect, it } from 'vitest';
import { KubemrClient } from '../lib/protocol/client.js';
import { assertBuilt, BOOKS, ROOT, sequentialOutput, sortedOutput, tempDir, testApp, type Proc } from './support/cli.js';
import { spawn } from 'node:child_process';

const LONG = process.env.KUBEMR_CHAOS === 'long';
const MIN_KILLS = LONG ? 40 : 8;
const DELAY_MS = LONG ? '250' : '150';
// Smaller splits make more, shorter tasks: more moments to kill something mid-task.
const SPLIT_BYTES = LONG ? 32 * 1024 : 64 * 1024;
// The long run reads every book three times over, so the job lasts long enough for its kills.
const INPUTS = LONG ? [...BOOKS, ...BOOKS, ...BOOKS] : BOOKS;

const procs: Proc[] = [];
beforeAll(() => assertBuilt());
afterEach(() => {
  for (const p of procs.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Processes whose command line mentions `marker` (the test's own data directory). */
function pidsWith(marker: string, kind: string): number[] {
  const pids: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (cmd.includes(kind) && cmd.some((a) => a.includes(marker))) pids.push(Number(d));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it(`survives kill -9 of workers and the coordinator (at least ${MIN_KILLS} kills) and loses nothing`, async () => {
  const dir = tempDir('chaos');
  const data = path.join(dir, 'data');
  const out = path.join(dir, 'out');
  const port = await freePort();
  const env = { KUBEMR_TEST_DELAY_MS: DELAY_MS };
  const startCoordinator = async (): Promise<Proc> => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/cmd/coordinator/main.js'), '--executor', 'local', '--listen', `127.0.0.1:${port}`, '--data', data, '--app-dir', path.join(ROOT, 'test', 'apps')], {
      cwd: dir,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const proc: Proc = { child, exited: new Promise((r) => child.on('close', (code, signal) => r({ code, signal, stdout: '', stderr }))), stderr: () => stderr };
    procs.push(proc);
    for (let i = 0; !/listening on/.test(stderr); i++) {
      if (i > 300 || child.exitCode !== null) throw new Error(`coordinator did not start: ${stderr}`);
      await sleep(50);
    }
    return proc;
  };

  let coordinator = await startCoordinator();
  const token = fs.readFileSync(path.join(data, 'token'), 'utf8').trim();
  const client = new KubemrClient({ address: `127.0.0.1:${port}`, token, deadlineMs: 3000 });
  const jobId = await client.submitJob({
    app: testApp('slow-wordcount.ts'),
    inputs: INPUTS,
    reducers: 7,
    workers: 3,
    splitBytes: SPLIT_BYTES,
    outputDir: out,
    workDir: dir,
    leaseMs: 3000,
  });

  const seen = new Map<string, string>();
  const checkOutputs = () => {
    if (!fs.existsSync(out)) return;
    for (const f of fs.readdirSync(out)) {
      if (!f.startsWith('mr-out')) continue;
      const body = fs.readFileSync(path.join(out, f), 'utf8');
      const before = seen.get(f);
      // An output appears whole and never changes afterwards.
      if (before !== undefined) expect(body, `${f} changed after it appeared`).toBe(before);
      expect(body.endsWith('\n') || body === '', `${f} is partial`).toBe(true);
      seen.set(f, body);
    }
  };

  let workerKills = 0;
  let coordinatorKills = 0;
  let stops = 0;
  const stopped = new Map<number, number>(); // pid -> when to continue it
  const resume = (all: boolean) => {
    for (const [pid, at] of stopped) {
      if (!all && at > Date.now()) continue;
      stopped.delete(pid);
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone
      }
    }
  };
  let phase = '';
  const deadline = Date.now() + (LONG ? 300_000 : 100_000);
  while (Date.now() < deadline) {
    await sleep(LONG ? 100 + Math.random() * 400 : 150 + Math.random() * 350);
    resume(false);
    checkOutputs();
    try {
      phase = (await client.getJob(jobId)).phase;
    } catch {
      phase = 'unreachable';
    }
    if (['succeeded', 'failed', 'cancelled'].includes(phase)) break;
    if (workerKills + coordinatorKills + stops >= MIN_KILLS * 3) {
      resume(true);
      continue; // enough chaos; let it finish
    }
    const dice = Math.random();
    if (dice < 0.25) {
      const workers = pidsWith(jobId, 'worker').filter((p) => !stopped.has(p));
      const victim = workers[Math.floor(Math.random() * workers.length)];
      if (victim) {
        try {
          process.kill(victim, 'SIGSTOP');
          // Up to twice the 3 s lease: often long enough for the task to be run and committed elsewhere.
          stopped.set(victim, Date.now() + 500 + Math.random() * 5500);
          stops++;
        } catch {
          // already gone
        }
      }
    } else if (dice < 0.45) {
      coordinator.child.kill('SIGKILL');
      await coordinator.exited;
      coordinatorKills++;
      await sleep(Math.random() * 500);
      coordinator = await startCoordinator();
    } else {
      const workers = pidsWith(jobId, 'worker');
      const victim = workers[Math.floor(Math.random() * workers.length)];
      if (victim) {
        try {
          process.kill(victim, 'SIGKILL');
          workerKills++;
        } catch {
          // already gone
        }
      }
    }
  }
  resume(true);
  checkOutputs();
  client.close();
  const kills = workerKills + coordinatorKills;
  console.log(`chaos: survived ${kills} kills (${workerKills} workers, ${coordinatorKills} coordinator restarts) and ${stops} SIGSTOP/SIGCONT of workers; phase ${phase}`);
  expect(phase).toBe('succeeded');
  expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
  expect(coordinatorKills).toBeGreaterThanOrEqual(1);
  expect(stops).toBeGreaterThanOrEqual(LONG ? 5 : 1);
  expect(fs.readFileSync(path.join(data, 'jobs', jobId, 'RESULT'), 'utf8')).toBe('OK\n');
  expect(fs.readdirSync(out).filter((f) => f.startsWith('mr-out')).sort()).toEqual(Array.from({ length: 7 }, (_, r) => `mr-out-${r}`).sort());
  expect(fs.readdirSync(out).filter((f) => !f.startsWith('mr-out'))).toEqual(['_SUCCESS']);
  expect(sortedOutput(out)).toBe(sequentialOutput(dir, testApp('slow-wordcount.ts'), INPUTS));

  coordinator.child.kill('SIGTERM');
  await coordinator.exited;
  // Orphaned workers of killed coordinators exit on their own once the job is over.
  for (let i = 0; i < 100 && pidsWith(jobId, 'worker').length > 0; i++) await sleep(100);
  for (const pid of pidsWith(jobId, 'worker')) process.kill(pid, 'SIGKILL');
}, LONG ? 420_000 : 150_000);
