/**
 * What Hadoop and Spark users expect of a job: counters summed over winning attempts only,
 * job parameters that reach map and reduce wherever they run, and backup tasks that rescue a
 * phase from a straggler. Real CLI processes, real workers, real gRPC; every output is
 * compared with the sequential run of the same app.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Coordinator } from '../lib/coordinator/coordinator.js';
import { ExternalExecutor } from '../lib/executor/external.js';
import { KubemrClient } from '../lib/protocol/client.js';
import { startCoordinatorServer, stopServer } from '../lib/protocol/server.js';
import { kubemr, ROOT, sequentialOutput, sortedOutput, startCoordinator, startWorker, tempDir, testApp, type Proc } from './support/cli.js';
import { waitFor } from './support/wait.js';

const WORDS = ['alpha', 'be', 'gamma', 'do', 'épée', 'zoo', 'x', 'naïve', 'kubemr', 'map', 'reduce', 'ok'];

/** `n` files of generated text, a few hundred lines each; returns their names. */
function makeInputs(dir: string, n: number): string[] {
  const names: string[] = [];
  for (let f = 0; f < n; f++) {
    const lines: string[] = [];
    for (let i = 0; i < 200 + f * 13; i++) {
      lines.push(Array.from({ length: 1 + ((i * 7 + f) % 9) }, (_, w) => WORDS[(i * 31 + w * 17 + f) % WORDS.length]).join(' '));
    }
    const name = `in-${String(f).padStart(2, '0')}.txt`;
    fs.writeFileSync(path.join(dir, name), lines.join('\n') + '\n');
    names.push(name);
  }
  return names;
}

/** The `name  value` lines kubemr prints after a run. */
function parseCounters(stderr: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of stderr.matchAll(/^ {2}(\S+) +(-?\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

const userOnly = (c: Record<string, number>) => Object.fromEntries(Object.entries(c).filter(([k]) => k.startsWith('user.')));

const procs: Proc[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
});

describe('counters and job parameters', () => {
  it('sums user counters over winning attempts and hands --param to map and reduce, as the sequential run does', () => {
    const dir = tempDir('counters');
    const inputs = makeInputs(dir, 6);
    const seq = kubemr(['run', '--sequential', testApp('counting.ts'), ...inputs, '--param', 'min=4', '--out', 'seq'], { cwd: dir });
    expect(seq.code, seq.stderr).toBe(0);
    const expected = parseCounters(seq.stderr);
    const lines = inputs.reduce((n, f) => n + fs.readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean).length, 0);
    expect(expected['user.lines']).toBe(lines);
    expect(expected['user.short']).toBeGreaterThan(0);

    const r = kubemr(['run', testApp('counting.ts'), ...inputs, '--param', 'min=4', '-w', '2', '-r', '3', '--out', 'out', '--data', 'data'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const got = parseCounters(r.stderr);
    expect(userOnly(got)).toEqual(userOnly(expected));
    expect(got['map.inputRecords']).toBe(inputs.length);
    expect(got['reduce.outputRecords']).toBe(expected['user.keys']);
    const out = sortedOutput(path.join(dir, 'out'));
    expect(out).toBe(sortedOutput(path.join(dir, 'seq')));
    // The parameter changed the answer: short words are gone.
    expect(out).not.toMatch(/^(be|do|x|ok|zoo|map) /m);
    expect(out).toBe(sequentialOutput(dir, testApp('counting.ts'), [...inputs, '--param', 'min=4']));
  });

  it('counts nothing twice when workers die mid-job: lost attempts never add to the counters', () => {
    const dir = tempDir('counters-crash');
    const inputs = makeInputs(dir, 10);
    const marks = path.join(dir, 'crashed');
    fs.mkdirSync(marks);
    const seq = kubemr(['run', '--sequential', testApp('counting.ts'), ...inputs, '--out', 'seq'], { cwd: dir });
    expect(seq.code, seq.stderr).toBe(0);
    const r = kubemr(['run', testApp('counting.ts'), ...inputs, '-w', '2', '-r', '2', '--out', 'out', '--data', 'data', '--worker-restarts', '1000'], {
      cwd: dir,
      env: { KUBEMR_TEST_CRASH: '1', KUBEMR_TEST_CRASH_ONCE: marks },
      timeoutMs: 240_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const logs = fs.readdirSync(path.join(dir, 'data', 'jobs', fs.readdirSync(path.join(dir, 'data', 'jobs'))[0]!, 'logs'));
    // Every file's first map call died, so every map task has a second attempt; otherwise the test proves nothing.
    expect(fs.readdirSync(marks).length).toBe(inputs.length);
    expect(logs.some((f) => /^map-\d+-[2-9]\d*\.log$/.test(f)), logs.join(' ')).toBe(true);
    expect(userOnly(parseCounters(r.stderr))).toEqual(userOnly(parseCounters(seq.stderr)));
    expect(sortedOutput(path.join(dir, 'out'))).toBe(sortedOutput(path.join(dir, 'seq')));
  }, 300_000);

  it('streaming: reporter:counter lines on stderr count, and parameters arrive as KUBEMR_PARAM_* variables', () => {
    const dir = tempDir('counters-streaming');
    const inputs = makeInputs(dir, 3);
    const mapper = `awk -v min="$KUBEMR_PARAM_MIN" '{ print "reporter:counter:app,lines,1" > "/dev/stderr"; for (i = 1; i <= NF; i++) if (length($i) >= min) print $i "\\t1" }'`;
    const reducer = `awk -F'\\t' '{ c[$1]++ } END { for (k in c) print k " " c[k] }'`;
    const r = kubemr(['run', '--mapper', mapper, '--reducer', reducer, ...inputs, '--param', 'min=5', '-w', '2', '-r', '2', '--out', 'out', '--data', 'data'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const text = inputs.map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('');
    const lines = text.split('\n').filter(Boolean);
    expect(parseCounters(r.stderr)['user.app.lines']).toBe(lines.length);
    // awk's length counts bytes here or characters there; either way no word under 5 bytes is counted.
    const counts = new Map<string, number>();
    for (const w of text.split(/\s+/).filter((w) => Buffer.byteLength(w) >= 5)) counts.set(w, (counts.get(w) ?? 0) + 1);
    const got = new Map(sortedOutput(path.join(dir, 'out')).trim().split('\n').map((l) => [l.split(' ')[0]!, Number(l.split(' ')[1])]));
    for (const [w, n] of counts) if (w.length >= 5) expect(got.get(w), w).toBe(n);
    for (const w of got.keys()) expect(Buffer.byteLength(w)).toBeGreaterThanOrEqual(5);
  });

  it('reach hand-started workers of `kubemr coordinator --param`', async () => {
    const dir = tempDir('params-service');
    const inputs = makeInputs(dir, 4);
    const { proc, address } = await startCoordinator(dir, inputs, ['--out', 'out', '-r', '2', '--param', 'min=5']);
    procs.push(proc);
    for (let i = 0; i < 2; i++) procs.push(startWorker(dir, testApp('counting.ts'), address));
    expect((await proc.exited).code, proc.stderr()).toBe(0);
    expect(sortedOutput(path.join(dir, 'out'))).toBe(sequentialOutput(dir, testApp('counting.ts'), [...inputs, '--param', 'min=5']));
  }, 120_000);

  it('refuses a malformed --param naming the flag', () => {
    const dir = tempDir('params-bad');
    const r = kubemr(['run', 'wordcount', 'x.txt', '--param', 'novalue'], { cwd: dir });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--param.*key=value.*novalue/);
  });
});

describe('backup tasks', () => {
  const MAP_MS = 300;
  const MAPS = 12;

  /**
   * One job on an in-process coordinator with three real worker processes; with `straggler`,
   * the first worker runs every map ten times slower. Returns the job's wall time.
   */
  async function runJob(dir: string, inputs: string[], o: { straggler: boolean; speculative: boolean; out: string }) {
    const token = crypto.randomBytes(16).toString('hex');
    const coord = new Coordinator({ dataDir: path.join(dir, `data-${o.out}`), executor: new ExternalExecutor(), recover: false, token, tickMs: 50 });
    await coord.start();
    const { server, address } = await startCoordinatorServer(coord, '127.0.0.1:0', { token });
    coord.advertise = address;
    const workers: Proc[] = [];
    try {
      const env = { KUBEMR_TOKEN: token, KUBEMR_TEST_MAP_MS: String(MAP_MS) };
      for (let i = 0; i < 3; i++) {
        workers.push(startWorker(dir, testApp('straggler.ts'), address, { ...env, ...(o.straggler && i === 0 ? { KUBEMR_TEST_STRAGGLER: '1' } : {}) }));
      }
      procs.push(...workers);
      // Workers boot before the job exists, so every run starts with three warm workers.
      await new Promise((r) => setTimeout(r, 1500));
      const job = await coord.submit({ app: '', inputs, reducers: 2, workDir: dir, outputDir: path.join(dir, o.out), speculative: o.speculative });
      const done = await coord.waitFor(job.id);
      expect(done.phase, done.message).toBe('succeeded');
      const client = new KubemrClient({ address, token });
      const status = await client.getJob(job.id);
      client.close();
      return { ms: done.finishedAt! - done.startedAt!, job: done, counters: status.counters };
    } finally {
      await stopServer(server, 100);
      await coord.close();
      for (const w of workers) w.child.kill('SIGTERM');
    }
  }

  it('a worker ten times slower than the others holds the map phase only with backups off', async () => {
    const dir = tempDir('straggler');
    const inputs = makeInputs(dir, MAPS);
    const expected = sequentialOutput(dir, testApp('straggler.ts'), inputs);
    const base = await runJob(dir, inputs, { straggler: false, speculative: true, out: 'base' });
    const on = await runJob(dir, inputs, { straggler: true, speculative: true, out: 'on' });
    const off = await runJob(dir, inputs, { straggler: true, speculative: false, out: 'off' });
    process.stdout.write(`straggler: no straggler ${base.ms} ms; backups on ${on.ms} ms (${(on.ms / base.ms).toFixed(2)}x); backups off ${off.ms} ms (${(off.ms / base.ms).toFixed(2)}x)\n`);
    for (const name of ['base', 'on', 'off']) expect(sortedOutput(path.join(dir, name)), name).toBe(expected);

    // With backups on, some task the straggler held was won by a backup attempt, and the
    // loser was abandoned rather than counted.
    const backedUp = on.job.maps.filter((t) => t.history.some((a) => a.backup && a.state === 'succeeded'));
    expect(backedUp.length).toBeGreaterThan(0);
    for (const t of backedUp) expect(t.history.filter((a) => a.state === 'succeeded')).toHaveLength(1);
    expect(off.job.maps.every((t) => t.history.every((a) => !a.backup))).toBe(true);
    // The straggler's attempt needs 10 x MAP_MS: each backed-up task finished on its backup
    // while the straggler still ran it, so the phase did not wait for it. (Wall times are
    // printed above, not asserted: on a loaded machine process start-up noise swamps them.)
    for (const t of backedUp) expect(t.history.find((a) => !a.backup)!.state).toBe('abandoned');
    // Counters of winning attempts only: one input record per map task, backups or not.
    expect(Number(on.counters['map.inputRecords'])).toBe(MAPS);
    expect(Number(on.counters['map.inputRecords'])).toBe(Number(off.counters['map.inputRecords']));
  }, 180_000);
});

describe('an attempt whose directory is gone', () => {
  it('stops at its next piece instead of running to the end, and the task runs again', async () => {
    const dir = tempDir('lost-attempt');
    // Two MiB of distinct words: a pair per word keeps every map call at the 64 KiB base piece,
    // some 32 calls of KUBEMR_TEST_DELAY_MS each.
    const word = (i: number) => Array.from(i.toString(26).padStart(5, '0'), (d) => String.fromCharCode(97 + parseInt(d, 26))).join('');
    const lines: string[] = [];
    for (let i = 0, n = 0; n < 2 * 1024 * 1024; i++) {
      const line = Array.from({ length: 10 }, (_, k) => word(i * 10 + k)).join(' ');
      lines.push(line);
      n += line.length + 1;
    }
    fs.writeFileSync(path.join(dir, 'in.txt'), lines.join('\n') + '\n');
    const app = testApp('slow-wordcount.ts');
    const expected = sequentialOutput(dir, app, ['in.txt']);
    const token = crypto.randomBytes(16).toString('hex');
    const coord = new Coordinator({ dataDir: path.join(dir, 'data'), executor: new ExternalExecutor(), recover: false, token });
    await coord.start();
    const { server, address } = await startCoordinatorServer(coord, '127.0.0.1:0', { token });
    coord.advertise = address;
    const worker = startWorker(dir, app, address, { KUBEMR_TOKEN: token, KUBEMR_TEST_DELAY_MS: '100' });
    procs.push(worker);
    try {
      const job = await coord.submit({ app: '', inputs: ['in.txt'], reducers: 1, workDir: dir, outputDir: path.join(dir, 'out'), speculative: false });
      const logs = coord.jobLayout(job.id).logsDir;
      const attemptDir = path.join(coord.jobLayout(job.id).mapAttemptsDir, 'map-0-1');
      await waitFor('attempt 1 to start', () => fs.existsSync(path.join(logs, 'map-0-1.log')) && fs.existsSync(attemptDir), 60_000);
      // What the coordinator does to an attempt that lost the race to another one.
      fs.rmSync(attemptDir, { recursive: true, force: true });
      const done = await coord.waitFor(job.id);
      expect(done.phase, done.message).toBe('succeeded');
      expect(sortedOutput(path.join(dir, 'out'))).toBe(expected);
      const [first, second] = done.maps[0]!.history;
      expect(first).toMatchObject({ state: 'failed', error: expect.stringMatching(/directory .*map-0-1 was removed/) });
      expect(second!.state).toBe('succeeded');
      const log1 = fs.readFileSync(path.join(logs, 'map-0-1.log'), 'utf8');
      expect(log1).toMatch(/abandoned: another attempt of the task committed first, or the job ended/);
      expect(log1).not.toMatch(/done in/);
      // Attempt 1 stopped within a few pieces; attempt 2 needed all of them.
      expect(first!.endedAt! - first!.startedAt).toBeLessThan((second!.endedAt! - second!.startedAt) / 2);
    } finally {
      await stopServer(server, 100);
      await coord.close();
      worker.child.kill('SIGTERM');
    }
  }, 120_000);
});

it('the test apps are built', () => {
  expect(fs.existsSync(path.join(ROOT, 'dist', 'cmd', 'kubemr', 'main.js'))).toBe(true);
});

describe('multi-step jobs', () => {
  it('runs a two-step app (count words, then the top 10) as one `kubemr run`, equal to the sequential run of both steps', () => {
    const dir = tempDir('steps');
    const inputs = makeInputs(dir, 5);
    const r = kubemr(['run', testApp('top-words.ts'), ...inputs, '-w', '2', '-r', '3', '--out', 'out', '--data', 'data'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const out = sortedOutput(path.join(dir, 'out'));
    expect(out).toMatch(/^top \S+=\d+(,\S+=\d+){9}$/m);
    expect(out).toBe(sequentialOutput(dir, testApp('top-words.ts'), inputs));
    // Both steps are jobs of their own in the data directory, and the first one's scratch output is gone.
    const jobs = fs.readdirSync(path.join(dir, 'data', 'jobs')).sort();
    expect(jobs.filter((j) => /-s[12]$/.test(j))).toHaveLength(2);
    const s1 = jobs.find((j) => j.endsWith('-s1'))!;
    expect(fs.existsSync(path.join(dir, 'data', 'jobs', s1, 'output'))).toBe(false);
    expect(fs.readFileSync(path.join(dir, 'data', 'jobs', s1, 'RESULT'), 'utf8').trim()).toBe('OK');
    // Counters cover both steps: step 1 read the inputs, step 2 read step 1's three outputs.
    expect(parseCounters(r.stderr)['map.inputRecords']).toBe(inputs.length + 3);
  });

  it('a step that fails ends the whole job, naming the step', () => {
    const dir = tempDir('steps-fail');
    const inputs = makeInputs(dir, 2);
    const app = path.join(dir, 'bad-steps.mjs');
    fs.writeFileSync(
      app,
      `import { registerApp } from 'kubemr/app';
registerApp({ steps: [
  { map: (f, t) => [{ key: 'n', value: String(t.length) }], reduce: (k, vs) => vs.join('+') },
  { map: () => { throw new Error('step two is broken'); }, reduce: (k, vs) => vs[0] },
] });
`,
    );
    // The module resolves kubemr/app from the repository, as an app inside a project would.
    fs.mkdirSync(path.join(dir, 'node_modules'));
    fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'kubemr'));
    const r = kubemr(['run', app, ...inputs, '-w', '2', '-r', '1', '--out', 'out', '--data', 'data', '--max-attempts', '1'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/step 2\/2: .*step two is broken/);
  });
});
