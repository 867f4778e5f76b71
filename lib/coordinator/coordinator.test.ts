import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Coordinator, type WorkerEvent } from './coordinator.js';
import type { Executor, LaunchSpec, WorkerDeathListener, WorkerInfo, WorkersExhaustedListener, WorkersStuckListener } from '../executor/types.js';

const dirs: string[] = [];
const coords: Coordinator[] = [];
afterEach(async () => {
  for (const c of coords.splice(0)) await c.close();
});

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemr-coord-'));
  dirs.push(d);
  fs.writeFileSync(path.join(d, 'in.txt'), 'one two\n');
  return d;
}

class ScriptedExecutor implements Executor {
  readonly kind = 'external' as const;
  launched: LaunchSpec[] = [];
  exhausted: WorkersExhaustedListener[] = [];
  constructor(private readonly failLaunch = false) {}
  async launch(spec: LaunchSpec): Promise<void> {
    if (this.failLaunch) throw new Error('forbidden: jobs.batch is not allowed');
    this.launched.push(spec);
  }
  async list(): Promise<WorkerInfo[]> {
    return [];
  }
  async logs(): Promise<AsyncIterable<string>> {
    throw new Error('none');
  }
  async stop(): Promise<void> {}
  onWorkerDeath(_l: WorkerDeathListener): void {}
  onWorkersExhausted(l: WorkersExhaustedListener): void {
    this.exhausted.push(l);
  }
  async close(): Promise<void> {}
}

/** Says its workers cannot start, as the Kubernetes executor does. */
class StuckExecutor extends ScriptedExecutor {
  stuck: WorkersStuckListener[] = [];
  override onWorkersExhausted(l: WorkersExhaustedListener): void {
    this.exhausted.push(l);
  }
  onWorkersStuck(l: WorkersStuckListener): void {
    this.stuck.push(l);
  }
}

async function coordinator(dir: string, opts: Partial<ConstructorParameters<typeof Coordinator>[0]> = {}) {
  const c = new Coordinator({ dataDir: path.join(dir, 'data'), ...opts });
  coords.push(c);
  await c.start();
  return c;
}

describe('Coordinator', () => {
  it('refuses a second job with the same id as ALREADY_EXISTS', async () => {
    const dir = tmp();
    const c = await coordinator(dir);
    await c.submit({ inputs: ['in.txt'], workDir: dir, reducers: 1 }, 'same-id');
    await expect(c.submit({ inputs: ['in.txt'], workDir: dir, reducers: 1 }, 'same-id')).rejects.toMatchObject({ code: 'ALREADY_EXISTS', message: 'Job `same-id` already exists' });
  });

  it('fails a job whose workers cannot be started, with the reason', async () => {
    const dir = tmp();
    const c = await coordinator(dir, { executor: new ScriptedExecutor(true) });
    const job = await c.submit({ inputs: ['in.txt'], workDir: dir, reducers: 1 });
    expect(job.phase).toBe('failed');
    expect(job.message).toBe('could not start workers: forbidden: jobs.batch is not allowed');
    expect(fs.readFileSync(path.join(dir, 'data', 'jobs', job.id, 'RESULT'), 'utf8')).toMatch(/^FAILED could not start workers/);
  });

  it('fails a job when the executor gives up on its workers', async () => {
    const dir = tmp();
    const ex = new ScriptedExecutor();
    const c = await coordinator(dir, { executor: ex });
    const job = await c.submit({ inputs: ['in.txt'], workDir: dir, reducers: 1 });
    ex.exhausted.forEach((l) => l(job.id, 'each worker failed 3 times; the last: exit code 3'));
    expect(job.phase).toBe('failed');
    expect(job.message).toMatch(/no worker could be kept running: each worker failed 3 times/);
  });

  it('names why workers cannot start in the running job\'s message, clears it once one runs, fails the job at the start deadline; a multi-step job\'s current step', async () => {
    const dir = tmp();
    const ex = new StuckExecutor();
    const c = await coordinator(dir, { executor: ex });
    const events: WorkerEvent[] = [];
    c.onWorkerEvent((e) => events.push(e));
    const job = await c.submit({ inputs: ['in.txt'], workDir: dir, reducers: 1 });
    ex.stuck.forEach((l) => l(job.id, 'pod p: ImagePullBackOff: Back-off pulling image "x"'));
    expect(c.getJob(job.id)).toMatchObject({ phase: 'queued', message: 'workers cannot start: pod p: ImagePullBackOff: Back-off pulling image "x"' });
    ex.stuck.forEach((l) => l(job.id, undefined));
    expect(c.getJob(job.id).message).toBe('');
    ex.exhausted.forEach((l) => l(job.id, 'no worker pod was running after 300 s', 'start-timeout'));
    expect(c.getJob(job.id)).toMatchObject({ phase: 'failed', message: 'workers could not be started: no worker pod was running after 300 s' });
    expect(events.map((e) => e.type)).toEqual(['stuck', 'started', 'exhausted']);

    const multi = await c.submit({ inputs: ['in.txt'], workDir: dir, reducers: 1, steps: 2 }, 'two-steps');
    ex.stuck.forEach((l) => l(multi.id, 'pod q: Unschedulable: 0/1 nodes are available'));
    expect(c.getJob(multi.id).message).toBe('step 1/2: workers cannot start: pod q: Unschedulable: 0/1 nodes are available');
    ex.exhausted.forEach((l) => l(multi.id, 'gave up', 'start-timeout'));
    expect(c.getJob(multi.id)).toMatchObject({ phase: 'failed', message: expect.stringMatching(/workers could not be started: gave up$/) });
  });

  it('confines inputs and outputs to the data directory when asked', async () => {
    const dir = tmp();
    const data = path.join(dir, 'data');
    fs.mkdirSync(path.join(data, 'inputs'), { recursive: true });
    fs.writeFileSync(path.join(data, 'inputs', 'ok.txt'), 'x\n');
    fs.symlinkSync(path.join(dir, 'in.txt'), path.join(data, 'inputs', 'link.txt'));
    const c = await coordinator(dir, { confineTo: data });
    await expect(c.submit({ inputs: [path.join(dir, 'in.txt')], workDir: data })).rejects.toThrow(/is outside the data directory/);
    await expect(c.submit({ inputs: ['inputs/../../in.txt'], workDir: data })).rejects.toThrow(/is outside the data directory/);
    await expect(c.submit({ inputs: ['inputs/link.txt'], workDir: data })).rejects.toThrow(/is outside the data directory/);
    await expect(c.submit({ inputs: ['inputs/ok.txt'], workDir: data, outputDir: '/etc/kubemr-out' })).rejects.toThrow(/`\/etc\/kubemr-out` is outside/);
    const job = await c.submit({ inputs: ['inputs/ok.txt'], workDir: data, reducers: 1 });
    expect(job.phase).toBe('queued');
  });

  it('a journal that recorded the outcome wins over a missing RESULT: the job is listed, written down, never rerun', async () => {
    const dir = tmp();
    const first = await coordinator(dir);
    const job = await first.submit({ inputs: ['in.txt'], workDir: dir, reducers: 1 }, 'was-cancelled');
    first.cancel(job.id);
    await first.close();
    const result = path.join(dir, 'data', 'jobs', 'was-cancelled', 'RESULT');
    // The coordinator died after journaling the outcome, before RESULT was written.
    fs.rmSync(result);
    const ex = new ScriptedExecutor();
    const second = await coordinator(dir, { executor: ex });
    expect(second.getJob('was-cancelled').phase).toBe('cancelled');
    expect(ex.launched).toEqual([]);
    expect(fs.readFileSync(result, 'utf8')).toBe('CANCELLED\n');
  });

  it('resumes an unfinished job from its journal and lets workers in only once it has', async () => {
    const dir = tmp();
    const first = await coordinator(dir);
    await first.submit({ inputs: ['in.txt'], workDir: dir, reducers: 2 }, 'resume-me');
    const r = first.requestTask({ workerId: 'w', app: '' });
    expect(r.directive).toBe('run');
    if (r.directive === 'run') {
      // The attempt writes where the coordinator told it; the commit moves the files into place.
      const files = [0, 1].map((p) => path.join(r.assignment.attemptDir!, `mr-0-${p}`));
      for (const f of files) fs.writeFileSync(f, '');
      expect(first.report({ jobId: 'resume-me', kind: 'map', index: 0, attempt: 1, workerId: 'w' }, { success: true, outputFiles: files })).toBe(true);
      expect(fs.existsSync(path.join(dir, 'data', 'jobs', 'resume-me', 'intermediate', 'mr-0-1'))).toBe(true);
    }
    await first.close();
    const ex = new ScriptedExecutor();
    const second = new Coordinator({ dataDir: path.join(dir, 'data'), executor: ex });
    coords.push(second);
    expect(second.started).toBe(false);
    await second.start();
    expect(second.started).toBe(true);
    const job = second.getJob('resume-me');
    expect(job.phase).toBe('reduce');
    expect(ex.launched.map((l) => l.jobId)).toEqual(['resume-me']);
  });

  /** A job of two maps: `fast` commits one, `slow` holds the other until `spare` backs it up. */
  async function race(dir: string) {
    fs.writeFileSync(path.join(dir, 'b.txt'), 'three four\n');
    let now = 1_000_000;
    const c = await coordinator(dir, { clock: { now: () => now } });
    await c.submit({ inputs: ['in.txt', 'b.txt'], workDir: dir, reducers: 1, packSmallFiles: false }, 'race');
    const run = (workerId: string) => {
      const r = c.requestTask({ workerId, app: '' });
      if (r.directive !== 'run') throw new Error(`expected a task for ${workerId}, got ${r.directive}`);
      return { ref: { jobId: 'race', kind: 'map' as const, index: r.assignment.task.index, attempt: r.assignment.attempt, workerId }, dir: r.assignment.attemptDir! };
    };
    const commit = (a: ReturnType<typeof run>) => {
      const out = path.join(a.dir, `mr-${a.ref.index}-0`);
      fs.writeFileSync(out, 'x');
      return c.report(a.ref, { success: true, outputFiles: [out] });
    };
    const fast = run('fast');
    const slow = run('slow');
    expect(commit(fast)).toBe(true);
    // The slow attempt has run far past the finished one: an idle worker backs it up.
    now += 60_000;
    const backup = run('spare');
    expect([backup.ref.index, backup.ref.attempt]).toEqual([slow.ref.index, 2]);
    return { c, slow, backup, commit };
  }

  it('removes the directory of an attempt that lost the race the moment the winner commits', async () => {
    const { c, slow, backup, commit } = await race(tmp());
    expect(fs.existsSync(slow.dir)).toBe(true);
    expect(commit(backup)).toBe(true);
    expect(fs.existsSync(slow.dir)).toBe(false);
    expect(c.getJob('race').maps[slow.ref.index]!.history[0]!.state).toBe('abandoned');
    // The loser's late report changes nothing.
    expect(c.report(slow.ref, { success: false, error: 'its directory is gone' })).toBe(false);
  });

  it('a losing attempt\'s directory that cannot be removed does not undo the winner\'s commit', async () => {
    const { c, slow, backup, commit } = await race(tmp());
    const real = fs.rmSync;
    const spy = vi.spyOn(fs, 'rmSync').mockImplementation((p, o) => {
      if (String(p) === slow.dir) throw Object.assign(new Error(`ENOTEMPTY: directory not empty, rmdir '${slow.dir}'`), { code: 'ENOTEMPTY' });
      return real(p, o);
    });
    try {
      expect(commit(backup)).toBe(true);
      expect(spy).toHaveBeenCalledWith(slow.dir, expect.anything());
    } finally {
      spy.mockRestore();
    }
    expect(c.getJob('race').maps[slow.ref.index]!.state).toBe('done');
  });

  it('finishes on restart a commit granted before a crash, and refuses reports that name other files', async () => {
    const dir = tmp();
    const first = await coordinator(dir);
    await first.submit({ inputs: ['in.txt'], workDir: dir, reducers: 2 }, 'crash-mid-commit');
    const r = first.requestTask({ workerId: 'w', app: '' });
    if (r.directive !== 'run') throw new Error('expected a task');
    const ref = { jobId: 'crash-mid-commit', kind: 'map' as const, index: 0, attempt: 1, workerId: 'w' };
    const files = [0, 1].map((p) => path.join(r.assignment.attemptDir!, `mr-0-${p}`));
    for (const f of files) fs.writeFileSync(f, `run ${f}`);
    // A report that names files the coordinator did not choose is a failed attempt, not a commit.
    expect(first.report(ref, { success: true, outputFiles: ['/etc/passwd', '../../x'] })).toBe(true);
    expect(first.getJob(ref.jobId).maps[0]!.history[0]).toMatchObject({ state: 'failed', error: expect.stringMatching(/reported output files "\/etc\/passwd", "..\/..\/x"; expected/) });
    expect(first.getJob(ref.jobId).maps[0]!.outputFiles).toEqual([]);
    await first.close();
    // The next coordinator finds the grant of attempt 2 journaled, its files half moved.
    const jobDir = path.join(dir, 'data', 'jobs', 'crash-mid-commit');
    const attempt2 = path.join(jobDir, 'intermediate', '_attempts', 'map-0-2');
    fs.mkdirSync(attempt2, { recursive: true });
    fs.writeFileSync(path.join(attempt2, 'mr-0-1'), 'second half');
    fs.writeFileSync(path.join(jobDir, 'intermediate', 'mr-0-0'), 'first half, moved before the crash');
    fs.appendFileSync(path.join(jobDir, 'journal.ndjson'), JSON.stringify({ t: 'attempt', kind: 'map', index: 0, attempt: 2 }) + '\n' + JSON.stringify({ t: 'commit', kind: 'map', index: 0, attempt: 2 }) + '\n');
    const second = await coordinator(dir, { executor: new ScriptedExecutor() });
    const job = second.getJob('crash-mid-commit');
    expect(job.maps[0]!.state).toBe('done');
    expect(job.phase).toBe('reduce');
    expect(fs.readFileSync(path.join(jobDir, 'intermediate', 'mr-0-1'), 'utf8')).toBe('second half');
    expect(fs.existsSync(attempt2)).toBe(false);
  });
});
