/**
 * The MIT 6.5840 lab 1 test script (test-mr.sh), test by test: a coordinator and workers as
 * separate OS processes, inputs from the lab's eight books, every output compared with the
 * sequential run of the same app.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_LAB_BOOKS } from './support/corpus.js';
import {
  assertBuilt,
  BOOKS,
  sequentialOutput,
  sortedOutput,
  startCoordinator,
  startWorker,
  tempDir,
  testApp,
  type Proc,
} from './support/cli.js';

const running: Proc[] = [];
const track = (p: Proc): Proc => (running.push(p), p);

beforeAll(() => assertBuilt());
afterEach(() => {
  for (const p of running.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
});

async function runLab(app: string, workers: number, env: Record<string, string> = {}) {
  const dir = tempDir('lab');
  const started = Date.now();
  const { proc, address } = await startCoordinator(dir, BOOKS, ['--out', 'out']);
  track(proc);
  const ws = Array.from({ length: workers }, () => track(startWorker(dir, app, address, env)));
  const coord = await proc.exited;
  expect(coord.code, coord.stderr).toBe(0);
  const exits = await Promise.all(ws.map((w) => w.exited));
  for (const e of exits) expect(e.code, e.stderr).toBe(0);
  return { dir, out: path.join(dir, 'out'), ms: Date.now() - started };
}

describe('MIT 6.5840 lab 1 tests', () => {
  it('wc: 3 workers match the sequential run', async () => {
    const { dir, out, ms } = await runLab('wordcount', 3);
    console.log(`wc test: ${ms} ms wall`);
    expect(fs.readdirSync(out).filter((f) => f.startsWith('mr-out'))).toHaveLength(10);
    const got = sortedOutput(out);
    // The lab's own figure, true of the real books only.
    if (HAVE_LAB_BOOKS) expect(got.length).toBeGreaterThan(100_000);
    expect(got).toBe(sequentialOutput(dir, 'wordcount', BOOKS));
  });

  it('indexer: 2 workers match the sequential run', async () => {
    const { dir, out } = await runLab('indexer', 2);
    expect(sortedOutput(out)).toBe(sequentialOutput(dir, 'indexer', BOOKS));
  });

  it('map parallelism: two workers run map tasks at the same time', async () => {
    const { out } = await runLab(testApp('mtiming.ts'), 2);
    const lines = sortedOutput(out).split('\n');
    // Two distinct worker processes ran maps...
    expect(lines.filter((l) => l.startsWith('times-'))).toHaveLength(2);
    // ...and at least one map saw the other running.
    expect(lines.some((l) => /^parallel-\d+ .*\b2\b/.test(l))).toBe(true);
  });

  it('reduce parallelism: two workers run reduce tasks at the same time', async () => {
    const { out } = await runLab(testApp('rtiming.ts'), 2);
    const parallel = sortedOutput(out).split('\n').filter((l) => /^[a-z] 2$/.test(l));
    expect(parallel.length).toBeGreaterThanOrEqual(2);
  });

  it('job count: each of the 8 map tasks runs exactly once', async () => {
    const { out } = await runLab(testApp('jobcount.ts'), 4);
    expect(sortedOutput(out)).toBe('a 8\n');
  });

  it('early exit: outputs do not change after the first process exits', async () => {
    const dir = tempDir('early');
    const { proc, address } = await startCoordinator(dir, BOOKS, ['--out', 'out']);
    track(proc);
    const all = [proc, ...Array.from({ length: 3 }, () => track(startWorker(dir, testApp('early-exit.ts'), address)))];
    // Like `wait -n`: the moment any process exits, snapshot the outputs.
    await Promise.race(all.map((p) => p.exited));
    const first = sortedOutput(path.join(dir, 'out'));
    const exits = await Promise.all(all.map((p) => p.exited));
    for (const e of exits) expect(e.code, e.stderr).toBe(0);
    const last = sortedOutput(path.join(dir, 'out'));
    expect(first).toBe(last);
    expect(last).toBe(sequentialOutput(dir, testApp('early-exit.ts'), BOOKS));
  });

  it(
    'crash: workers that exit or hang in a third of calls each, restarted in loops; the job completes within 120 s',
    async () => {
      const dir = tempDir('crash');
      const started = Date.now();
      const { proc, address } = await startCoordinator(dir, BOOKS, ['--out', 'out']);
      track(proc);
      let done = false;
      // Like the lab: keep restarting crashed workers until the coordinator has finished.
      const loop = async () => {
        while (!done) {
          const w = track(startWorker(dir, testApp('crash-app.ts'), address, { KUBEMR_TEST_CRASH: '1' }));
          await w.exited;
          await new Promise((r) => setTimeout(r, 200));
        }
      };
      const loops = [loop(), loop(), loop()];
      const coord = await proc.exited;
      done = true;
      expect(coord.code, coord.stderr).toBe(0);
      await Promise.all(loops);
      const ms = Date.now() - started;
      console.log(`crash test: ${ms} ms wall`);
      expect(ms).toBeLessThan(120_000);
      expect(sortedOutput(path.join(dir, 'out'))).toBe(sequentialOutput(dir, testApp('crash-app.ts'), BOOKS));
    },
    150_000,
  );
});
