import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { copyBytes, RunReader, writeAtomically, type FileSink } from '../shuffle/format.js';
import { counter } from '../app/context.js';
import { fnv1a32Bytes, latin1Partition, partitionOfHash } from '../app/partition.js';
import { CorruptRunError, LimitExceededError, StreamingCommandError } from '../errors.js';
import { readSplitBytes } from './split-reader.js';
import { tempPathFor } from '../storage/layout.js';
import { layoutOf, mapOnlyOutputPath, mapOutputPaths, reduceInputPaths, reduceOutputPath } from './attempt-files.js';
import type { Task__Output } from '../protocol/gen/kubemr/v1/Task.js';
import { MapOutputBuffer } from '../shuffle/map-buffer.js';
import { RunMerger } from '../shuffle/merge.js';
import { TaskAbandonedError, type TaskContext, type TaskResult } from './tasks.js';

/**
 * Streaming apps, Hadoop Streaming's contract: any executable is a mapper or reducer. The
 * mapper reads input lines on stdin and writes `key<TAB>value` lines (a line without a tab is a
 * key with an empty value); the reducer reads `key<TAB>value` lines sorted by key and its
 * output lines are the partition's output. Keys are bytes: they travel as latin1 strings, which
 * map byte for byte, so byte order and every byte value are kept.
 */

const STDERR_TAIL = 4096;

const maxLineOf = (task: Task__Output): number => Number(task.maxLineBytes) || 64 * 1024 * 1024;


interface Running {
  child: ChildProcess;
  done: Promise<void>;
}

/** Starts `sh -c command`; `done` rejects with the exit status and the tail of stderr. */
function start(role: string, command: string, cwd: string, env: Record<string, string>): Running {
  // A streaming command is user code: whatever credential this process holds stays out of its environment.
  const { KUBEMR_TOKEN: _token, ...inherited } = process.env;
  const child = spawn('sh', ['-c', command], { cwd, env: { ...inherited, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let tail = '';
  const reporter = reporterLines();
  child.stderr!.on('data', (d: Buffer) => {
    const text = d.toString('utf8');
    reporter.push(text);
    tail = (tail + text).slice(-STDERR_TAIL);
    // The command's stderr is its console.error: while a task runs, the worker's stderr is the
    // attempt's log (attempt-log.ts), so it lands there, as with an App's console output.
    process.stderr.write(text);
  });
  // EPIPE when the command exits without reading all its input: the exit status tells why.
  child.stdin!.on('error', () => undefined);
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => reject(new StreamingCommandError(`${role} \`${command}\` could not start: ${err.message}`, { role, command, cause: err })));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else {
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        reject(new StreamingCommandError(`${role} \`${command}\` ${how}${tail ? `; stderr: ${tail.trim()}` : ''}`, { role, command }));
      }
    });
  });
  // Awaited later, after the input is fed; an early exit must not count as unhandled meanwhile.
  done.catch(() => undefined);
  return { child, done };
}

/**
 * Hadoop Streaming's counter lines on stderr, `reporter:counter:<group>,<name>,<amount>`, count
 * as the user counter `<group>.<name>`; other stderr lines are left alone.
 */
function reporterLines(): { push(text: string): void } {
  let partial = '';
  return {
    push(text) {
      const lines = (partial + text).split('\n');
      partial = lines.pop()!.slice(-1024);
      for (const line of lines) {
        const m = /^reporter:counter:([^,]*),([^,]*),(-?\d+)\r?$/.exec(line);
        if (m) counter(m[1] ? `${m[1]}.${m[2]}` : m[2]!, Number(m[3]));
      }
    },
  };
}

/** Job parameters reach streaming commands as `KUBEMR_PARAM_<NAME>` environment variables. */
export function paramsEnv(params: Record<string, string> | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(params ?? {})) env[`KUBEMR_PARAM_${k.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`] = v;
  return env;
}

/** Receives a child's stdout. */
interface OutputSink {
  push(d: Buffer): void;
  end(): void;
}

/**
 * Splits a byte stream into lines, each passed as `buf[start, end)` without its newline.
 * Lines are found in the chunks as they arrive; only a line cut by a chunk boundary is copied.
 */
function byteLines(onLine: (buf: Buffer, start: number, end: number) => void, maxLine: number, role: string): OutputSink {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  return {
    push(d) {
      let from = 0;
      let nl = d.indexOf(10);
      if (nl === -1) {
        pending.push(d);
        pendingBytes += d.length;
        if (pendingBytes > maxLine) {
          throw new LimitExceededError(`${role} wrote a line longer than ${maxLine} bytes (the job's maxLineBytes)`);
        }
        return;
      }
      if (pending.length > 0) {
        pending.push(d.subarray(0, nl));
        const line = Buffer.concat(pending);
        pending = [];
        pendingBytes = 0;
        onLine(line, 0, line.length);
        from = nl + 1;
        nl = d.indexOf(10, from);
      }
      for (; nl !== -1; nl = d.indexOf(10, from)) {
        onLine(d, from, nl);
        from = nl + 1;
      }
      if (from < d.length) {
        pending.push(d.subarray(from));
        pendingBytes = d.length - from;
      }
    },
    end() {
      if (pending.length === 0) return;
      const line = Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
      onLine(line, 0, line.length);
    },
  };
}

/**
 * Mapper or combiner output into the shuffle: `key<TAB>value` per line (no tab: all key), a
 * trailing CR dropped, partitioned by FNV-1a over the key bytes. No strings are made.
 */
function pairsInto(buffer: MapOutputBuffer, nReduce: number, maxLine: number, role: string): OutputSink {
  return byteLines((buf, start, end) => {
    if (end > start && buf[end - 1] === 13) end--;
    let tab = start;
    while (tab < end && buf[tab] !== 9) tab++;
    const r = nReduce === 1 ? 0 : partitionOfHash(fnv1a32Bytes(buf, start, tab), nReduce);
    buffer.addBytes(r, buf, start, tab, tab < end ? tab + 1 : end, end);
  }, maxLine, role);
}

/** Feeds `lines` to a child's stdin, respecting backpressure, then closes it. */
async function feed(child: ChildProcess, chunks: Iterable<Buffer | string>, ctx: TaskContext): Promise<void> {
  const stdin = child.stdin!;
  for (const c of chunks) {
    if (ctx.abandoned()) throw new TaskAbandonedError();
    if (stdin.destroyed) return;
    if (!stdin.write(typeof c === 'string' ? Buffer.from(c, 'latin1') : c)) {
      await new Promise<void>((resolve) => {
        const go = () => {
          stdin.off('drain', go);
          stdin.off('close', go);
          resolve();
        };
        stdin.on('drain', go);
        stdin.on('close', go);
      });
    }
  }
  stdin.end();
}

/** Runs a command over `input`, passing its stdout to `lines`. */
async function pipeThrough(
  role: string,
  command: string,
  cwd: string,
  env: Record<string, string>,
  input: Iterable<Buffer | string>,
  lines: OutputSink,
  ctx: TaskContext,
): Promise<void> {
  const run = start(role, command, cwd, env);
  let failure: unknown;
  run.child.stdout!.on('data', (d: Buffer) => {
    try {
      lines.push(d);
    } catch (err) {
      failure ??= err;
      run.child.kill('SIGKILL');
    }
  });
  const closed = new Promise<void>((r) => run.child.stdout!.on('end', r));
  try {
    await feed(run.child, input, ctx);
    await run.done;
    await closed;
    lines.end();
  } catch (err) {
    run.child.kill('SIGKILL');
    throw failure ?? err;
  }
  if (failure) throw failure;
}

function* inChunks(buf: Buffer, size = 1 << 20): Generator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

/** Sorted runs, merged, as `key<TAB>value<NL>` bytes in chunks of about 64 KiB. */
function* runLines(files: string[]): Generator<Buffer> {
  const merger = new RunMerger(files);
  try {
    let out = Buffer.allocUnsafe(1 << 16);
    let pos = 0;
    for (let rd = merger.head(); rd; merger.advance(), rd = merger.head()) {
      const src = rd.data;
      const ks = rd.keyStart;
      const kl = rd.keyLength;
      const vl = rd.valueLength;
      const need = kl + vl + 2;
      if (pos + need > out.length) {
        // A yielded chunk stays queued in the pipe: start a new one rather than reuse it.
        if (pos > 0) yield out.subarray(0, pos);
        out = Buffer.allocUnsafe(Math.max(1 << 16, need));
        pos = 0;
      }
      copyBytes(src, ks, out, pos, kl);
      pos += kl;
      out[pos++] = 9;
      copyBytes(src, ks + kl, out, pos, vl);
      pos += vl;
      out[pos++] = 10;
    }
    if (pos > 0) yield out.subarray(0, pos);
  } finally {
    merger.close();
  }
}

export async function runStreamingMapTask(task: Task__Output, ctx: TaskContext): Promise<TaskResult> {
  if (task.nReduce === 0) return runStreamingMapOnlyTask(task, ctx);
  const streaming = task.streaming!;
  const spillDir = layoutOf(task).intermediateDir;
  const buffer = new MapOutputBuffer({
    nReduce: task.nReduce,
    partition: latin1Partition,
    memoryBytes: task.memoryBytes,
    spillDir,
    tag: ctx.tag,
    encoding: 'latin1',
  });
  let inputBytes = 0;
  try {
    for (const [i, split] of task.inputs.entries()) {
      const bytes = readSplitBytes(path.resolve(task.workDir, split.path), split);
      inputBytes += bytes.length;
      const env = { ...paramsEnv(task.params), mapreduce_map_input_file: split.path, map_input_file: split.path };
      await pipeThrough('mapper', streaming.mapper, task.workDir, env, inChunks(bytes), pairsInto(buffer, task.nReduce, maxLineOf(task), 'mapper'), ctx);
      ctx.progress((i + 1) / task.inputs.length);
    }
    const outputFiles = mapOutputPaths(task);
    if (!streaming.combiner) {
      const stats = buffer.finish(outputFiles);
      return { outputFiles, counters: { inputBytes, inputRecords: task.inputs.length, outputRecords: stats.records, outputBytes: stats.outputBytes, spills: stats.spills } };
    }
    // With a combiner: sort into staging runs first, then pass each partition through it.
    const staged = outputFiles.map((f) => tempPathFor(f, `${ctx.tag}-pre`));
    buffer.finish(staged);
    let outputBytes = 0;
    try {
      for (let r = 0; r < task.nReduce; r++) {
        const combined = new MapOutputBuffer({
          nReduce: 1,
          partition: () => 0,
          memoryBytes: task.memoryBytes,
          spillDir,
          tag: `${ctx.tag}-c${r}`,
          encoding: 'latin1',
        });
        try {
          await pipeThrough('combiner', streaming.combiner, task.workDir, paramsEnv(task.params), runLines([staged[r]!]), pairsInto(combined, 1, maxLineOf(task), 'combiner'), ctx);
          outputBytes += combined.finish([outputFiles[r]!]).outputBytes;
        } finally {
          combined.removeSpills();
        }
      }
    } finally {
      for (const f of staged) fs.rmSync(f, { force: true });
    }
    return { outputFiles, counters: { inputBytes, inputRecords: task.inputs.length, outputRecords: buffer.records, outputBytes, spills: 0 } };
  } finally {
    buffer.removeSpills();
  }
}

export async function runStreamingReduceTask(task: Task__Output, ctx: TaskContext): Promise<TaskResult> {
  const r = task.index;
  const inputs = reduceInputPaths(task);
  for (const f of inputs) {
    if (!fs.existsSync(f)) throw new CorruptRunError(f, 'is missing');
  }
  const finalPath = reduceOutputPath(task);
  let lines = 0;
  const outputBytes = await writeAtomically(finalPath, ctx.tag, async (sink) => {
    const copy = verbatim(sink, () => lines++);
    await pipeThrough('reducer', task.streaming!.reducer, task.workDir, paramsEnv(task.params), runLines(inputs), copy, ctx);
  });
  return { outputFiles: [finalPath], counters: { inputBytes: 0, inputRecords: 0, outputRecords: lines, outputBytes, spills: 0 } };
}

/** A command's output as a file's content, byte for byte; a last line gets its newline. */
function verbatim(sink: FileSink, onLine: () => void): OutputSink {
  let last = 10;
  return {
    push(d) {
      sink.writeBytes(d);
      for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) onLine();
      if (d.length > 0) last = d[d.length - 1]!;
    },
    end() {
      if (last !== 10) {
        sink.writeBytes(Buffer.from([10]));
        onLine();
      }
      last = 10;
    },
  };
}

/** A map-only streaming job (no reducer): the mapper's lines, as written, are the task's output. */
async function runStreamingMapOnlyTask(task: Task__Output, ctx: TaskContext): Promise<TaskResult> {
  const finalPath = mapOnlyOutputPath(task);
  let lines = 0;
  let inputBytes = 0;
  const outputBytes = await writeAtomically(finalPath, ctx.tag, async (sink) => {
    const copy = verbatim(sink, () => lines++);
    for (const [i, split] of task.inputs.entries()) {
      const bytes = readSplitBytes(path.resolve(task.workDir, split.path), split);
      inputBytes += bytes.length;
      const env = { ...paramsEnv(task.params), mapreduce_map_input_file: split.path, map_input_file: split.path };
      await pipeThrough('mapper', task.streaming!.mapper, task.workDir, env, inChunks(bytes), copy, ctx);
      ctx.progress((i + 1) / task.inputs.length);
    }
  });
  return { outputFiles: [finalPath], counters: { inputBytes, inputRecords: task.inputs.length, outputRecords: lines, outputBytes, spills: 0 } };
}

/** Reads a run as `key\tvalue` lines; used by tests and tools to look inside intermediates. */
export function dumpRun(file: string): string[] {
  const rd = new RunReader(file);
  const out: string[] = [];
  try {
    while (rd.next()) out.push(`${rd.key.toString('latin1')}\t${rd.value.toString('latin1')}`);
  } finally {
    rd.close();
  }
  return out;
}
