import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import type { App, Json } from '../app/app.js';
import { InvalidJobSpecError } from '../errors.js';
import { checkOutputFormat, formatRecord, reduceRecords, type OutputFormat } from '../storage/output-format.js';
import { decodeValues, encodeValue } from '../shuffle/values.js';
import { decodeRange, writeAtomically, type FileSink } from '../shuffle/format.js';
import { decodePiece, PieceSize, readSplitChunks, reusableScratch, splitSize } from './split-reader.js';
import { CorruptRunError } from '../errors.js';
import { layoutOf, mapOnlyOutputPath, mapOutputPaths, reduceInputPaths, reduceOutputPath } from './attempt-files.js';
import { defaultPartition } from '../app/partition.js';
import type { Task__Output } from '../protocol/gen/kubemr/v1/Task.js';
import type { TaskCounters } from '../protocol/gen/kubemr/v1/TaskCounters.js';
import { MapOutputBuffer } from '../shuffle/map-buffer.js';
import { CombineTable } from '../shuffle/combine-table.js';
import { RunMerger } from '../shuffle/merge.js';

/** Thrown inside a task when the coordinator took the task away; the attempt ends unreported. */
export class TaskAbandonedError extends Error {
  constructor() {
    super('task abandoned: the coordinator reassigned it or the job ended');
  }
}

export interface TaskContext {
  /** True once the coordinator told this attempt to stop. Cheap; polled in hot loops. */
  abandoned(): boolean;
  /** Progress 0..1, carried by the next heartbeat. */
  progress(fraction: number): void;
  /** Unique per attempt; keeps temp files of concurrent attempts apart. */
  tag: string;
}

export interface TaskResult {
  outputFiles: string[];
  counters: TaskCounters;
}

/** Pairs between polls of the abandon flag; a power of two. */
const CHECK_EVERY = 4096;

/** Split bytes live only until they are decoded: one buffer serves every map task of this process. */
const splitScratch = reusableScratch();

/** The piece size each job's map calls grew to in this process (see PieceSize.learned). */
const learnedPieces = new Map<string, number>();

const isThenable = (x: unknown): x is PromiseLike<unknown> =>
  typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function';

function describe(x: unknown): string {
  try {
    return JSON.stringify(x)?.slice(0, 80) ?? String(x);
  } catch {
    return String(x);
  }
}


/**
 * Feeds every split of a map task to `map`, in bounded pieces (see mapChunkBytes), and each pair
 * it emits to `sink`. Returns the input bytes read.
 */
async function forEachPair(app: App<Json>, task: Task__Output, ctx: TaskContext, sink: PairSink): Promise<number> {
  let inputBytes = 0;
  const learnedKey = `${task.jobId}\0${task.memoryBytes}`;
  for (const [i, split] of task.inputs.entries()) {
    const file = path.resolve(task.workDir, split.path);
    const size = new PieceSize(task.memoryBytes, splitSize(file, split), learnedPieces.get(learnedKey));
    for (const bytes of readSplitChunks(file, split, size, splitScratch)) {
      inputBytes += bytes.length;
      const { text, outsideHeap } = decodePiece(bytes);
      let out = app.map(split.path, text);
      if (isThenable(out)) out = await out;
      const pairs = ingest(out, split.path, sink, ctx);
      // The text counts whether or not V8 holds it: the pairs may still point into it.
      size.observe(bytes.length, pairs, v8.getHeapStatistics().used_heap_size + outsideHeap);
      if (ctx.abandoned()) throw new TaskAbandonedError();
    }
    if (size.learned > 0) learnedPieces.set(learnedKey, size.learned);
    ctx.progress((i + 1) / task.inputs.length);
  }
  return inputBytes;
}

/**
 * Where a map call's pairs go. For a job with reduces, an instance of one class (ShuffledPairs)
 * rather than a new closure per task: V8's optimized code for ingest then serves every task of
 * the process, where a new closure (and the buffer it held) each task threw it away.
 */
interface PairSink {
  add(key: string, value: unknown): void;
}

/** A value as the shuffle carries it (see lib/shuffle/values.ts). */
function shuffled(value: unknown): string {
  return typeof value === 'string' && value.charCodeAt(0) !== 0 ? value : encodeValue(value);
}

/** Pairs into a map output buffer or a combine table, their values as the shuffle carries them. */
class ShuffledPairs implements PairSink {
  constructor(private readonly to: { add(key: string, value: string): void }) {}
  add(key: string, value: unknown): void {
    this.to.add(key, shuffled(value));
  }
}

const badPair = (file: string, kv: unknown) => new TypeError(`map(${JSON.stringify(file)}) emitted ${describe(kv)}; expected { key: string, value }`);

/**
 * Takes in what one map call returned. An array, what most apps return, is read by index: no
 * iterator object, no result object per pair. Anything else iterable (a Set, a generator) goes
 * through the iterator protocol. The abandon flag is polled every CHECK_EVERY pairs.
 */
function ingest(out: unknown, file: string, sink: PairSink, ctx: TaskContext): number {
  if (Array.isArray(out)) {
    const pairs = out as unknown[];
    for (let i = 0; i < pairs.length; i++) {
      const kv = pairs[i] as { key?: unknown; value?: unknown } | undefined;
      if (typeof kv?.key !== 'string' || kv.value === undefined) throw badPair(file, kv);
      sink.add(kv.key, kv.value);
      if ((i & (CHECK_EVERY - 1)) === CHECK_EVERY - 1 && ctx.abandoned()) throw new TaskAbandonedError();
    }
    return pairs.length;
  }
  if (out == null || typeof (out as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new TypeError(`map(${JSON.stringify(file)}) returned ${describe(out)}; expected an iterable of { key, value }`);
  }
  let n = 0;
  for (const kv of out as Iterable<{ key?: unknown; value?: unknown } | undefined>) {
    if (typeof kv?.key !== 'string' || kv.value === undefined) throw badPair(file, kv);
    sink.add(kv.key, kv.value);
    if (++n % CHECK_EVERY === 0 && ctx.abandoned()) throw new TaskAbandonedError();
  }
  return n;
}

/** A combiner over shuffle-encoded values: decoded for the app, its result encoded again. */
function shuffleCombiner(app: App<Json>): ((key: string, values: string[]) => string) | undefined {
  const combine = app.combine;
  if (!combine) return undefined;
  return (key, values) => encodeValue(combine.call(app, key, decodeValues(values) as Json[]));
}

export async function runMapTask(app: App<Json>, task: Task__Output, ctx: TaskContext): Promise<TaskResult> {
  if (task.nReduce === 0) return runMapOnlyTask(app, task, ctx);
  const combine = shuffleCombiner(app);
  const buffer = new MapOutputBuffer({
    nReduce: task.nReduce,
    partition: app.partition ? app.partition.bind(app) : defaultPartition,
    combine,
    memoryBytes: task.memoryBytes,
    spillDir: layoutOf(task).intermediateDir,
    tag: ctx.tag,
    encoding: 'utf8',
  });
  // With a combiner, pairs are folded as they arrive and reach the buffer once per key per flush.
  const table = combine ? new CombineTable(combine, (k, v) => buffer.add(k, v), Math.floor(task.memoryBytes / 4)) : undefined;
  try {
    const inputBytes = await forEachPair(app, task, ctx, new ShuffledPairs(table ?? buffer));
    table?.flush();
    const outputFiles = mapOutputPaths(task);
    const stats = buffer.finish(outputFiles);
    return {
      outputFiles,
      counters: { inputBytes, inputRecords: task.inputs.length, outputRecords: stats.records, outputBytes: stats.outputBytes, spills: stats.spills },
    };
  } finally {
    buffer.removeSpills();
  }
}

/** A map-only job (no reduce): the task's pairs, in emit order, are its output file `mr-out-m-<m>`. */
async function runMapOnlyTask(app: App<Json>, task: Task__Output, ctx: TaskContext): Promise<TaskResult> {
  const format = checkOutputFormat('outputFormat', task.outputFormat);
  const finalPath = mapOnlyOutputPath(task);
  let records = 0;
  let inputBytes = 0;
  const outputBytes = await writeAtomically(finalPath, ctx.tag, async (sink) => {
    inputBytes = await forEachPair(app, task, ctx, {
      add(key, value) {
        sink.writeString(formatRecord(format, key, value));
        records++;
      },
    });
  });
  return { outputFiles: [finalPath], counters: { inputBytes, inputRecords: task.inputs.length, outputRecords: records, outputBytes, spills: 0 } };
}

/**
 * Reduces every key of the merge into `sink`; returns the values read and the records written.
 * A function of the module rather than a closure of each task: V8 compiles its loop once per
 * process, where a new closure each task had its loop compiled again every time.
 */
async function reduceGroups(app: App<Json>, reduce: NonNullable<App<Json>['reduce']>, merger: RunMerger, sink: FileSink, format: OutputFormat, ctx: TaskContext): Promise<{ records: number; written: number }> {
  let keys = 0;
  let records = 0;
  let written = 0;
  for (const [keyBytes, values] of merger.groups('utf8')) {
    const key = decodeRange(keyBytes, 0, keyBytes.length, 'utf8');
    let out: unknown = reduce.call(app, key, decodeValues(values) as Json[]);
    if (isThenable(out)) out = await out;
    if (typeof out === 'string' && format === 'text') {
      // The lab's format, the common case: no record objects.
      sink.writeString(key);
      sink.writeString(' ');
      sink.writeString(out);
      sink.writeString('\n');
      written++;
    } else {
      for (const rec of reduceRecords(key, out, describe)) {
        sink.writeString(formatRecord(format, rec.key, rec.value));
        written++;
      }
    }
    records += values.length;
    if (++keys % CHECK_EVERY === 0 && ctx.abandoned()) throw new TaskAbandonedError();
  }
  return { records, written };
}

export async function runReduceTask(app: App<Json>, task: Task__Output, ctx: TaskContext): Promise<TaskResult> {
  const reduce = app.reduce;
  if (!reduce) throw new InvalidJobSpecError(`app \`${task.app}\` has no reduce(): run it as a map-only job (reducers 0)`);
  const format = checkOutputFormat('outputFormat', task.outputFormat);
  const r = task.index;
  const inputs = reduceInputPaths(task);
  for (const f of inputs) {
    if (!fs.existsSync(f)) throw new CorruptRunError(f, 'is missing');
  }
  const finalPath = reduceOutputPath(task);
  const merger = new RunMerger(inputs);
  let counts = { records: 0, written: 0 };
  let outputBytes = 0;
  try {
    outputBytes = await writeAtomically(finalPath, ctx.tag, async (sink) => {
      counts = await reduceGroups(app, reduce, merger, sink, format, ctx);
    });
  } finally {
    merger.close();
  }
  const { records, written } = counts;
  return {
    outputFiles: [finalPath],
    counters: { inputBytes: 0, inputRecords: records, outputRecords: written, outputBytes, spills: 0 },
  };
}
