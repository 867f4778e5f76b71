import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { App, Json } from '../app/app.js';
import { formatRecord, reduceRecords, type OutputFormat } from '../storage/output-format.js';
import { beginTaskScope, endTaskScope } from '../app/context.js';
import { USER_PREFIX } from './counters.js';
import { readSplitBytes } from '../worker/split-reader.js';
import { sortByteOrder } from '../shuffle/byte-order.js';
import { writeAtomically } from '../shuffle/format.js';
import { checkOutputDir, type PreparedJob } from './prepare.js';
import { outputName } from '../storage/layout.js';
import { makeDirs } from '../storage/dirs.js';

/**
 * The oracle: one process, no partitioning, no shuffle files — the MIT lab's mrsequential.
 * Every distributed run is compared with it. All pairs are held in memory (folded by the
 * combiner, when the app has one, so a wordcount over large inputs still fits).
 */
export async function runSequential(
  app: App<Json>,
  inputs: string[],
  options: {
    cwd: string;
    outDir: string;
    /** The job's parameters, for params() in user code. @default {} */
    params?: Record<string, string>;
    /** Receives what user code counted, as `user.<name>` like a distributed job's counters. */
    counters?: (counters: Record<string, number>) => void;
    /** @default 'text' */
    outputFormat?: OutputFormat;
  },
): Promise<string> {
  checkOutputDir(options.outDir);
  return oneRun(app, inputs, options);
}

async function oneRun(app: App<Json>, inputs: string[], options: Parameters<typeof runSequential>[2]): Promise<string> {
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
  steps: Array<App<Json>>,
  inputs: string[],
  options: Parameters<typeof runSequential>[2],
): Promise<string> {
  checkOutputDir(options.outDir);
  return stepsUnchecked(steps, inputs, options);
}

/**
 * `kubemr run --sequential`: the oracle run of a job prepareJob has already checked (inputs
 * expanded and stat'ed, output directory checked), so nothing is checked again.
 */
export function runSequentialJob(steps: Array<App<Json>>, job: PreparedJob, counters?: (c: Record<string, number>) => void): Promise<string> {
  return stepsUnchecked(steps, job.spec.inputs, { cwd: job.spec.workDir, outDir: job.outputDir, params: job.spec.params, outputFormat: job.spec.outputFormat, counters });
}

async function stepsUnchecked(steps: Array<App<Json>>, inputs: string[], options: Parameters<typeof runSequential>[2]): Promise<string> {
  if (steps.length === 1) return oneRun(steps[0]!, inputs, options);
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
      // Earlier steps write into fresh scratch directories, the last into the checked outDir.
      const outDir = last ? options.outDir : path.join(scratch, `step-${k + 1}`);
      const file = await oneRun(step, current, { ...options, cwd, outDir, counters: add });
      current = [file];
      cwd = path.dirname(file);
    }
    return path.join(options.outDir, outputName(0));
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
    options.counters?.(counted);
  }
}

async function sequentialRun(app: App<Json>, inputs: string[], options: { cwd: string; outDir: string; outputFormat?: OutputFormat }): Promise<string> {
  const format = options.outputFormat ?? 'text';
  makeDirs(options.outDir, 'output directory');
  const finalPath = path.join(options.outDir, outputName(0));
  const tag = `seq-${process.pid}`;
  const reduce = app.reduce;
  if (!reduce) {
    // Map-only: every pair, in input and emit order.
    await writeAtomically(finalPath, tag, async (sink) => {
      for (const input of inputs) {
        for (const { key, value } of await app.map(input, readInput(options.cwd, input))) sink.writeString(formatRecord(format, key, value));
      }
    });
    return finalPath;
  }
  const groups = new Map<string, Json[]>();
  for (const input of inputs) {
    for (const kv of await app.map(input, readInput(options.cwd, input))) {
      // Keys and string values cross a distributed job's shuffle as UTF-8, where a lone
      // surrogate becomes U+FFFD: the oracle does the same.
      const key = wellFormed(kv.key);
      const value = typeof kv.value === 'string' ? wellFormed(kv.value) : kv.value;
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
  await writeAtomically(finalPath, tag, async (sink) => {
    for (const k of keys) {
      const out = await reduce.call(app, k, groups.get(k)!);
      for (const rec of reduceRecords(k, out, (x) => JSON.stringify(x) ?? String(x))) sink.writeString(formatRecord(format, rec.key, rec.value));
    }
  });
  return finalPath;
}

const readInput = (cwd: string, input: string): string => readSplitBytes(path.resolve(cwd, input), { path: input, start: 0, end: -1 }).toString('utf8');

const LONE = /[\ud800-\udfff]/;
const wellFormed = (s: string): string => (LONE.test(s) ? Buffer.from(s, 'utf8').toString('utf8') : s);
