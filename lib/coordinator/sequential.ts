import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { App } from '../app/app.js';
import { beginTaskScope, endTaskScope } from '../app/context.js';
import { USER_PREFIX } from './counters.js';
import { readSplitBytes } from '../worker/split-reader.js';
import { sortByteOrder } from '../shuffle/byte-order.js';
import { writeAtomically } from '../shuffle/format.js';
import { checkOutputDir } from './coordinator.js';
import { outputName } from '../storage/layout.js';

/**
 * The oracle: one process, no partitioning, no shuffle files — the MIT lab's mrsequential.
 * Every distributed run is compared with it. All pairs are held in memory (folded by the
 * combiner, when the app has one, so a wordcount over large inputs still fits).
 */
export async function runSequential(
  app: App,
  inputs: string[],
  options: {
    cwd: string;
    outDir: string;
    /** The job's parameters, for params() in user code. @default {} */
    params?: Record<string, string>;
    /** Receives what user code counted, as `user.<name>` like a distributed job's counters. */
    counters?: (counters: Record<string, number>) => void;
  },
): Promise<string> {
  checkOutputDir(options.outDir);
  beginTaskScope(options.params ?? {});
  try {
    return await sequentialRun(app, inputs, options);
  } finally {
    const counted = endTaskScope();
    options.counters?.(Object.fromEntries(Object.entries(counted).map(([k, v]) => [USER_PREFIX + k, v])));
  }
}

/**
 * The oracle of a multi-step app: each step runs sequentially on the previous step's output
 * file (kept in a temp directory), the last writes `outDir/mr-out-0`.
 */
export async function runSequentialSteps(
  steps: App[],
  inputs: string[],
  options: Parameters<typeof runSequential>[2],
): Promise<string> {
  if (steps.length === 1) return runSequential(steps[0]!, inputs, options);
  checkOutputDir(options.outDir);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemr-seq-steps-'));
  const counted: Record<string, number> = {};
  const add = (c: Record<string, number>) => {
    for (const [k, v] of Object.entries(c)) counted[k] = (counted[k] ?? 0) + v;
  };
  try {
    let current = inputs;
    let cwd = options.cwd;
    for (const [k, step] of steps.entries()) {
      const last = k === steps.length - 1;
      const outDir = last ? options.outDir : path.join(scratch, `step-${k + 1}`);
      const file = await runSequential(step, current, { ...options, cwd, outDir, counters: add });
      current = [file];
      cwd = path.dirname(file);
    }
    return path.join(options.outDir, outputName(0));
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
    options.counters?.(counted);
  }
}

async function sequentialRun(app: App, inputs: string[], options: { cwd: string; outDir: string }): Promise<string> {
  const groups = new Map<string, string[]>();
  for (const input of inputs) {
    const contents = readSplitBytes(path.resolve(options.cwd, input), { path: input, start: 0, end: -1 }).toString('utf8');
    for (const { key, value } of await app.map(input, contents)) {
      const vs = groups.get(key);
      if (!vs) groups.set(key, [value]);
      else {
        vs.push(value);
        if (app.combine && vs.length >= 1024) vs.splice(0, vs.length, app.combine(key, vs));
      }
    }
  }
  const keys = [...groups.keys()];
  sortByteOrder(keys, 'utf8');
  fs.mkdirSync(options.outDir, { recursive: true });
  const finalPath = path.join(options.outDir, outputName(0));
  await writeAtomically(finalPath, `seq-${process.pid}`, async (sink) => {
    for (const k of keys) {
      const out = await app.reduce(k, groups.get(k)!);
      sink.writeString(`${k} ${out}\n`);
    }
  });
  return finalPath;
}
