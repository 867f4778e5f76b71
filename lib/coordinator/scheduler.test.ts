import { describe, expect, it } from 'vitest';
import { compileJobSpec, type JobSpecInput } from './jobspec.js';
import { Scheduler, type SchedulerEvent, type TaskRef } from './scheduler.js';

class FakeClock {
  t = 1_000_000;
  now = () => this.t;
  advance(ms: number) {
    this.t += ms;
  }
}

function setup(spec: Partial<JobSpecInput> = {}, maps = 2, opts: { exitWhenIdle?: boolean } = {}) {
  const clock = new FakeClock();
  const s = new Scheduler({ clock, ...opts });
  const events: SchedulerEvent[] = [];
  s.subscribe((e) => events.push(e));
  const compiled = compileJobSpec({ inputs: ['a', 'b'], reducers: 2, leaseMs: 1000, ...spec }, { workDir: '/w' });
  const mapInputs = Array.from({ length: maps }, (_, i) => [{ path: `in-${i}`, start: 0, end: -1 }]);
  const job = s.submit({ id: 'j1', spec: compiled, jobDir: '/d/jobs/j1', outputDir: '/d/out', mapInputs });
  return { clock, s, job, events };
}

function take(s: Scheduler, workerId: string, jobId?: string): TaskRef {
  const r = s.requestTask({ workerId, app: '', jobId });
  if (r.directive !== 'run') throw new Error(`expected a task, got ${r.directive}`);
  return { jobId: r.assignment.job.id, kind: r.assignment.task.kind, index: r.assignment.task.index, attempt: r.assignment.attempt, workerId };
}

const ok = { success: true as const, outputFiles: ['f'] };

describe('Scheduler', () => {
  it('hands out every map, then every reduce, then tells workers to exit', () => {
    const { s, job } = setup({}, 2, { exitWhenIdle: true });
    const m0 = take(s, 'w1');
    const m1 = take(s, 'w2');
    expect([m0.kind, m0.index, m1.kind, m1.index]).toEqual(['map', 0, 'map', 1]);
    // No reduce before every map is done.
    expect(s.requestTask({ workerId: 'w3', app: '' }).directive).toBe('wait');
    expect(s.report(m0, { ...ok, counters: { outputRecords: 7, spills: 1 } })).toBe(true);
    expect(job.maps[0]!.counters).toEqual({ outputRecords: 7, spills: 1 });
    expect(s.requestTask({ workerId: 'w3', app: '' }).directive).toBe('wait');
    s.report(m1, ok);
    expect(job.phase).toBe('reduce');
    const r0 = take(s, 'w1');
    const r1 = take(s, 'w2');
    expect([r0.kind, r1.kind]).toEqual(['reduce', 'reduce']);
    s.report(r0, ok);
    s.report(r1, ok);
    expect(job.phase).toBe('succeeded');
    expect(s.requestTask({ workerId: 'w1', app: '' }).directive).toBe('exit');
  });

  it('reassigns a task whose lease expired, and heartbeats keep a lease alive', () => {
    const { s, clock, job } = setup({}, 1);
    const a = take(s, 'w1');
    clock.advance(900);
    expect(s.heartbeat(a)).toBe(true);
    clock.advance(900);
    s.tick();
    expect(job.maps[0]!.state).toBe('running');
    clock.advance(1001);
    s.tick();
    expect(job.maps[0]!.state).toBe('pending');
    expect(job.maps[0]!.history[0]!.state).toBe('lost');
    expect(s.heartbeat(a)).toBe(false); // the old attempt is told to abandon
    const b = take(s, 'w2');
    expect(b.attempt).toBe(2);
  });

  it('the first successful report wins, from whichever attempt; later ones are ignored', () => {
    const { s, clock, job } = setup({}, 1);
    let doneEvents = 0;
    s.subscribe((e) => {
      if (e.type === 'task' && e.task.state === 'done') doneEvents++;
    });
    const a = take(s, 'w1');
    clock.advance(2000);
    s.tick();
    const b = take(s, 'w2');
    // The slow first attempt finishes after all: its output is complete, so it counts.
    expect(s.report(a, { success: true, outputFiles: ['from-a'] })).toBe(true);
    expect(s.report(b, { success: true, outputFiles: ['from-b'] })).toBe(false);
    expect(job.maps[0]!.outputFiles).toEqual(['from-a']);
    expect(job.maps[0]!.history.map((h) => h.state)).toEqual(['succeeded', 'abandoned']);
    expect(doneEvents).toBe(1);
  });

  it('gives a worker the task it already holds again, so a lost reply strands nothing', () => {
    const { s, job } = setup({}, 2);
    const a = take(s, 'w1');
    const again = take(s, 'w1');
    expect(again).toEqual(a);
    expect(job.maps[0]!.history).toHaveLength(1);
    expect(job.maps[1]!.state).toBe('pending');
  });

  it('a dead worker loses its task at once, without waiting for the lease', () => {
    const { s, job } = setup({}, 1);
    take(s, 'w1');
    s.workerDied('w1', 'OOMKilled');
    expect(job.maps[0]!.state).toBe('pending');
    expect(job.maps[0]!.history[0]!.error).toMatch(/worker w1 died: OOMKilled/);
  });

  it('fails the job after maxAttempts reported failures, naming task, input and error', () => {
    const { s, job } = setup({ maxAttempts: 3 }, 1);
    for (let i = 0; i < 3; i++) s.report(take(s, `w${i}`), { success: false, error: `boom ${i}` });
    expect(job.phase).toBe('failed');
    expect(job.message).toBe('map task 0 (input in-0) failed 3 times; last error: boom 2');
    expect(s.requestTask({ workerId: 'w9', app: '', jobId: 'j1' }).directive).toBe('exit');
  });

  it('fails the job on the first unrecoverable failure, whatever maxAttempts allows', () => {
    const { s, job } = setup({ maxAttempts: 4 }, 2);
    const m0 = take(s, 'w1');
    const m1 = take(s, 'w2');
    s.report(m0, { success: false, error: 'retry me' });
    expect(job.phase).toBe('map');
    s.report(m1, { success: false, error: 'in-1 is not JSON', unrecoverable: true });
    expect(job.phase).toBe('failed');
    expect(job.message).toBe('map task 1 (input in-1) failed with an unrecoverable error; last error: in-1 is not JSON');
    expect(job.maps[1]!.history).toHaveLength(1);
  });

  it('counts lost attempts apart from failures, and ends a task that kills every worker', () => {
    const { s, job } = setup({ maxAttempts: 1, maxLostAttempts: 3 }, 1);
    take(s, 'w1');
    s.workerDied('w1', 'exit code 1');
    take(s, 'w2');
    s.workerDied('w2', 'exit code 1');
    expect(job.phase).toBe('map');
    take(s, 'w3');
    s.workerDied('w3', 'OOMKilled');
    expect(job.phase).toBe('failed');
    expect(job.message).toMatch(/was lost 3 times; last error: worker w3 died: OOMKilled/);
  });

  it('a failure report from a superseded attempt does not count', () => {
    const { s, clock, job } = setup({ maxAttempts: 1 }, 1);
    const a = take(s, 'w1');
    clock.advance(5000);
    s.tick();
    take(s, 'w2');
    expect(s.report(a, { success: false, error: 'late' })).toBe(false);
    expect(job.phase).toBe('map');
  });

  it('cancel abandons running attempts and finishes the job', () => {
    const { s, job } = setup({}, 2);
    const a = take(s, 'w1');
    expect(s.cancel('j1')).toBe(true);
    expect(job.phase).toBe('cancelled');
    expect(s.heartbeat(a)).toBe(false);
    expect(s.report(a, ok)).toBe(false);
    expect(s.cancel('j1')).toBe(false);
  });

  it('serves jobs in submission order and only to workers of the right app or job', () => {
    const clock = new FakeClock();
    const s = new Scheduler({ clock });
    const spec = (app: string) => compileJobSpec({ app, inputs: ['x'], reducers: 1 }, { workDir: '/w' });
    s.submit({ id: 'wc', spec: spec('wordcount'), jobDir: '/d', outputDir: '/o', mapInputs: [[{ path: 'x', start: 0, end: -1 }]] });
    s.submit({ id: 'ix', spec: spec('indexer'), jobDir: '/d', outputDir: '/o', mapInputs: [[{ path: 'x', start: 0, end: -1 }]] });
    const r = s.requestTask({ workerId: 'w', app: 'indexer' });
    expect(r.directive === 'run' && r.assignment.job.id).toBe('ix');
    const q = s.requestTask({ workerId: 'w2', app: 'other', jobId: 'wc' });
    expect(q.directive === 'run' && q.assignment.job.id).toBe('wc');
    expect(s.requestTask({ workerId: 'w3', app: 'other' }).directive).toBe('wait');
  });

  it('restores a journaled job: done tasks stay done, attempt numbers keep growing', () => {
    const clock = new FakeClock();
    const s = new Scheduler({ clock });
    const spec = compileJobSpec({ inputs: ['a', 'b'], reducers: 1 }, { workDir: '/w' });
    const job = s.restore({
      id: 'r',
      spec,
      jobDir: '/d',
      outputDir: '/o',
      mapInputs: [[{ path: 'a', start: 0, end: -1 }], [{ path: 'b', start: 0, end: -1 }]],
      submittedAt: 5,
      done: [{ kind: 'map', index: 0, outputFiles: ['m0'] }],
      attempts: [
        { kind: 'map', index: 0, attempts: 1 },
        { kind: 'map', index: 1, attempts: 2 },
      ],
    });
    expect(job.maps.map((t) => t.state)).toEqual(['done', 'pending']);
    const next = take(s, 'w');
    expect([next.index, next.attempt]).toEqual([1, 3]);
    // A worker of the old coordinator reporting attempt 2 late is still accepted.
    expect(s.report({ ...next, attempt: 2, workerId: 'old' }, ok)).toBe(true);
    expect(job.phase).toBe('reduce');
  });

  it('lists a job that finished before a restart without running it', () => {
    const s = new Scheduler({ clock: new FakeClock() });
    const events: SchedulerEvent[] = [];
    s.subscribe((e) => events.push(e));
    const spec = compileJobSpec({ inputs: ['a'], reducers: 1 }, { workDir: '/w' });
    const job = s.restoreFinished({
      id: 'old',
      spec,
      jobDir: '/d',
      outputDir: '/o',
      mapInputs: [[{ path: 'a', start: 0, end: -1 }]],
      submittedAt: 1,
      finishedAt: 2,
      phase: 'succeeded',
      message: '',
      done: [
        { kind: 'map', index: 0, outputFiles: ['m'] },
        { kind: 'reduce', index: 0, outputFiles: ['/o/mr-out-0'] },
      ],
    });
    expect(events).toEqual([]);
    expect(s.listJobs().map((j) => [j.id, j.phase])).toEqual([['old', 'succeeded']]);
    expect(job.reduces[0]!.outputFiles).toEqual(['/o/mr-out-0']);
    expect(s.requestTask({ workerId: 'w', app: '', jobId: 'old' }).directive).toBe('exit');
  });

  it('rejects a second job with the same id', () => {
    const { s, job } = setup();
    expect(() => s.submit({ id: 'j1', spec: job.spec, jobDir: '', outputDir: '', mapInputs: [] })).toThrow(/already exists/);
  });
});

describe('compileJobSpec', () => {
  it('names the field and the bad value', () => {
    expect(() => compileJobSpec({ inputs: ['a'], reducers: -1 }, { workDir: '/' })).toThrow('Expected `reducers` to be an integer between 0 and 100000, got `-1`');
    expect(() => compileJobSpec({ inputs: [] }, { workDir: '/' })).toThrow(/at least one input/);
    expect(() => compileJobSpec({ inputs: ['a'], leaseMs: 1.5 }, { workDir: '/' })).toThrow('Expected `leaseMs` to be an integer >= 100, got `1.5`');
    expect(() => compileJobSpec({ inputs: ['a'], streaming: { mapper: 'cat' }, reducers: 3 }, { workDir: '/' })).toThrow('A streaming job without a reducer is map-only: expected `reducers` to be 0, got `3`');
    expect(() => compileJobSpec({ inputs: ['a'], streaming: { reducer: 'cat' } }, { workDir: '/' })).toThrow('A streaming job needs `streaming.mapper`');
    expect(() => compileJobSpec({ inputs: ['a'], outputFormat: 'csv' as never }, { workDir: '/' })).toThrow('Expected `outputFormat` to be one of text, tsv, jsonl, got `csv`');
  });

  describe('commit grants', () => {
    it('grants the commit to one attempt only: a stopped attempt that wakes after another committed is refused', () => {
      const { s, clock, job } = setup({}, 1);
      const m = take(s, 'w1');
      s.report(m, ok);
      const r1 = take(s, 'w1');
      clock.advance(1001);
      s.tick(); // w1 stopped past its lease
      expect(job.reduces[r1.index]!.history[0]!.state).toBe('lost');
      const r2 = take(s, 'w2');
      expect([r2.index, r2.attempt]).toEqual([r1.index, 2]);
      expect(s.canCommit(r2)).toBe(true);
      expect(s.report(r2, ok)).toBe(true);
      // w1 continues: no grant, no report taken, the task keeps the second attempt's output.
      expect(s.canCommit(r1)).toBe(false);
      expect(s.report(r1, { success: true, outputFiles: ['late'] })).toBe(false);
      expect(job.reduces[r1.index]!.outputFiles).toEqual(['f']);
    });

    it('a lost attempt that finishes before any other commits may still commit (its output is whole)', () => {
      const { s, clock } = setup({}, 1);
      const m1 = take(s, 'w1');
      clock.advance(1001);
      s.tick();
      const m2 = take(s, 'w2');
      // Nobody else's attempt: a worker that was never handed it, or an attempt never handed out, is refused.
      expect(s.canCommit({ ...m2, workerId: 'intruder' })).toBe(false);
      expect(s.canCommit({ ...m2, attempt: 3 })).toBe(false);
      expect(s.canCommit(m1)).toBe(true);
      expect(s.report(m1, ok)).toBe(true);
      expect(s.canCommit(m2)).toBe(false);
    });
  });

  describe('fetch failures', () => {
    function toReduce() {
      const t = setup({ maxAttempts: 2 }, 2);
      t.s.report(take(t.s, 'w1'), ok);
      t.s.report(take(t.s, 'w2'), ok);
      expect(t.job.phase).toBe('reduce');
      return t;
    }

    it('sends the named map back, runs it again, then the reduce, without counting a failure against the reduce', () => {
      const { s, job, clock, events } = toReduce();
      const r = take(s, 'w1');
      clock.advance(10);
      events.length = 0;
      expect(s.fetchFailed(r, [1], 'mr-1-0 fails its checksum')).toEqual([1]);
      expect(job.phase).toBe('map');
      expect(job.maps[1]!.state).toBe('pending');
      expect(job.maps[1]!.reruns).toBe(1);
      expect(job.reduces[r.index]!.state).toBe('pending');
      expect(job.reduces[r.index]!.failures).toBe(0);
      expect(job.reduces[r.index]!.history[0]).toMatchObject({ state: 'failed', error: 'mr-1-0 fails its checksum', endedAt: clock.now() });
      expect(events.some((e) => e.type === 'phase' && e.job.phase === 'map')).toBe(true);
      // Only the map is handed out now; the reduce waits for it.
      const again = take(s, 'w2');
      expect([again.kind, again.index, again.attempt]).toEqual(['map', 1, 2]);
      expect(s.requestTask({ workerId: 'w3', app: '' }).directive).toBe('wait');
      s.report(again, ok);
      expect(job.phase).toBe('reduce');
      const r2 = take(s, 'w3');
      expect([r2.kind, r2.index, r2.attempt]).toEqual(['reduce', r.index, 2]);
    });

    it('ignores a fetch failure from an attempt that no longer holds its task, and from a map', () => {
      const { s, job, clock } = toReduce();
      const r = take(s, 'w1');
      clock.advance(1001);
      s.tick();
      expect(s.fetchFailed(r, [0], 'late')).toEqual([]);
      expect(job.maps[0]!.state).toBe('done');
      expect(s.fetchFailed({ ...r, kind: 'map', index: 0 }, [1], 'x')).toEqual([]);
    });

    it('fails the job when a map\'s output cannot be read more than maxAttempts times, naming the map', () => {
      const { s, job } = toReduce();
      for (let i = 0; i < 2; i++) {
        s.fetchFailed(take(s, 'w1'), [0], 'mr-0-0 is missing');
        s.report(take(s, 'w1'), ok);
        expect(job.phase).toBe('reduce');
      }
      s.fetchFailed(take(s, 'w1'), [0], 'mr-0-0 is missing');
      expect(job.phase).toBe('failed');
      expect(job.message).toMatch(/map task 0 \(input in-0\)'s output could not be read 3 times; last error: mr-0-0 is missing/);
    });
  });
});

describe('Scheduler backup tasks', () => {
  /** Three maps: w1 and w2 finish theirs in 100 ms, w3's runs on. */
  function straggling(spec: Partial<JobSpecInput> = {}) {
    const env = setup({ reducers: 1, ...spec }, 3);
    const a = take(env.s, 'w1');
    const b = take(env.s, 'w2');
    const slow = take(env.s, 'w3');
    env.clock.advance(100);
    env.s.report(a, ok);
    env.s.report(b, ok);
    return { ...env, slow };
  }

  it('gives an idle worker a second attempt of the task that ran too long, and the first success wins', () => {
    const { s, clock, job, slow } = straggling();
    // 150 ms is 1.5 x the median, but a backup waits for at least a second of running.
    clock.advance(600);
    expect(s.requestTask({ workerId: 'w1', app: '' }).directive).toBe('wait');
    clock.advance(400);
    const backup = take(s, 'w1');
    expect(backup).toMatchObject({ kind: 'map', index: slow.index, attempt: 2 });
    const task = job.maps[slow.index]!;
    expect(task.history.map((a) => [a.state, a.backup])).toEqual([['running', false], ['running', true]]);
    // One backup per task: the other idle worker waits.
    expect(s.requestTask({ workerId: 'w2', app: '' }).directive).toBe('wait');
    expect(s.report(backup, { success: true, outputFiles: ['from-backup'], counters: { 'user.n': 1 } })).toBe(true);
    expect(task.state).toBe('done');
    expect(task.outputFiles).toEqual(['from-backup']);
    expect(task.history.map((a) => a.state)).toEqual(['abandoned', 'succeeded']);
    // The straggler learns it lost at its next heartbeat; its late report changes nothing.
    expect(s.heartbeat(slow)).toBe(false);
    expect(s.report(slow, { success: true, outputFiles: ['from-straggler'], counters: { 'user.n': 5 } })).toBe(false);
    expect(task.outputFiles).toEqual(['from-backup']);
    expect(task.counters).toEqual({ 'user.n': 1 });
    expect(job.phase).toBe('reduce');
  });

  it('the original can still win, and then the backup is abandoned', () => {
    const { s, clock, job, slow } = straggling();
    clock.advance(1000);
    const backup = take(s, 'w1');
    expect(s.report(slow, ok)).toBe(true);
    expect(job.maps[slow.index]!.history.map((a) => a.state)).toEqual(['succeeded', 'abandoned']);
    expect(s.heartbeat(backup)).toBe(false);
  });

  it('a failed or lost backup leaves the task running on its original attempt', () => {
    const { s, clock, job, slow } = straggling({ leaseMs: 5000 });
    clock.advance(1000);
    const backup = take(s, 'w1');
    s.report(backup, { success: false, error: 'disk full' });
    const task = job.maps[slow.index]!;
    expect(task.state).toBe('running');
    expect(task.failures).toBe(1);
    // A second backup is never started for the same task.
    expect(s.requestTask({ workerId: 'w2', app: '' }).directive).toBe('wait');
    s.workerDied('w3', 'killed');
    expect(task.state).toBe('pending');
    expect(take(s, 'w2')).toMatchObject({ index: slow.index, attempt: 3 });
  });

  it('leases of both attempts are kept apart: the straggler expires, the backup lives on', () => {
    const { s, clock, job, slow } = straggling({ leaseMs: 2000 });
    clock.advance(1000);
    const backup = take(s, 'w1');
    clock.advance(1500);
    expect(s.heartbeat(backup)).toBe(true);
    clock.advance(600);
    s.tick();
    const task = job.maps[slow.index]!;
    expect(task.history.map((a) => a.state)).toEqual(['lost', 'running']);
    expect(task.state).toBe('running');
    expect(s.report(backup, ok)).toBe(true);
  });

  it('never backs up while tasks are pending, on the same worker, or when the job turns it off', () => {
    const off = straggling({ speculative: false });
    off.clock.advance(5000);
    expect(off.s.requestTask({ workerId: 'w1', app: '' }).directive).toBe('wait');

    const own = straggling();
    own.clock.advance(5000);
    // The straggler itself asking again gets its own attempt back, not a backup of it.
    expect(take(own.s, 'w3')).toMatchObject({ index: own.slow.index, attempt: 1 });

    const pending = setup({ reducers: 1 }, 4);
    const a = take(pending.s, 'w1');
    take(pending.s, 'w2');
    pending.clock.advance(100);
    pending.s.report(a, ok);
    pending.clock.advance(5000);
    // map 2 and 3 are pending: idle workers get those first.
    expect(take(pending.s, 'w1')).toMatchObject({ index: 2, attempt: 1 });
    expect(take(pending.s, 'w3')).toMatchObject({ index: 3, attempt: 1 });
  });

  it('backs up reduce tasks the same way', () => {
    const { s, clock, job } = setup({ reducers: 3 }, 1);
    s.report(take(s, 'w1'), ok);
    const r0 = take(s, 'w1');
    const r1 = take(s, 'w2');
    const r2 = take(s, 'w3');
    clock.advance(200);
    s.report(r0, ok);
    s.report(r1, ok);
    clock.advance(1000);
    expect(take(s, 'w1')).toMatchObject({ kind: 'reduce', index: r2.index, attempt: 2 });
    expect(job.reduces[r2.index]!.history[1]!.backup).toBe(true);
  });
});
