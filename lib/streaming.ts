import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FileSink, RunReader } from './codec.js';
import { readSplitBytes } from './inputs.js';
import { intermediateName, outputName, tempPathFor } from './layout.js';
import type { Task__Output } from './proto/gen/kubemr/v1/Task.js';
import { MapOutputBuffer, RunMerger } from './shuffle.js';
import { TaskAbandonedError, intermediatePaths, type TaskContext, type TaskResult } from './tasks.js';

/**
 * Streaming apps, Hadoop Streaming's contract: any executable is a mapper or reducer. The
 * mapper reads input lines on stdin and writes `key<TAB>value` lines (a line without a tab is a
 * key with an empty value); the reducer reads `key<TAB>value` lines sorted by key and its
 * output lines are the partition's output. Keys are bytes: they travel as latin1 strings, which
 * map byte for byte, so byte order and every byte value are kept.
 */

const STDERR_TAIL = 4096;

/** Byte-wise FNV-1a over a latin1 string (one char per byte), & 0x7fffffff % n. */
export function partitionBytes(key: string, nReduce: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return ((h >>> 0) & 0x7fffffff) % nReduce;
}

interface Running {
  child: ChildProcess;
  done: Promise<void>;
}

/** Starts `sh -c command`; `done` rejects with the exit status and the tail of stderr. */
function start(role: string, command: string, cwd: string, env: Record<string, string>): Running {
  const child = spawn('sh', ['-c', command], { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let tail = '';
  child.stderr!.on('data', (d: Buffer) => {
    tail = (tail + d.toString('utf8')).slice(-STDERR_TAIL);
  });
  // EPIPE when the command exits without reading all its input: the exit status tells why.
  child.stdin!.on('error', () => undefined);
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => reject(new Error(`${role} \`${command}\` could not start: ${err.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else {
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        reject(new Error(`${role} \`${command}\` ${how}${tail ? `; stderr: ${tail.trim()}` : ''}`));
      }
    });
  });
  return { child, done };
}

/** Splits a byte stream into lines (without the newline), as latin1 strings. */
function lineSplitter(onLine: (line: string) => void): { push(d: Buffer): void; end(): void } {
  let rest = '';
  return {
    push(d) {
      const text = rest + d.toString('latin1');
      let from = 0;
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', from)) {
        onLine(text.slice(from, nl));
        from = nl + 1;
      }
      rest = text.slice(from);
    },
    end() {
      if (rest) onLine(rest);
      rest = '';
    },
  };
}

function splitKeyValue(line: string): [string, string] {
  const l = line.endsWith('\r') ? line.slice(0, -1) : line;
  const tab = l.indexOf('\t');
  return tab === -1 ? [l, ''] : [l.slice(0, tab), l.slice(tab + 1)];
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

/** Runs a command over `input`, passing each stdout line to `onLine`. */
async function pipeThrough(
  role: string,
  command: string,
  cwd: string,
  env: Record<string, string>,
  input: Iterable<Buffer | string>,
  onLine: (line: string) => void,
  ctx: TaskContext,
): Promise<void> {
  const run = start(role, command, cwd, env);
  const lines = lineSplitter(onLine);
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

/** Sorted run -> `key\tvalue\n` lines in batches. */
function* runLines(files: string[]): Generator<string> {
  const merger = new RunMerger(files);
  try {
    let batch = '';
    for (const [key, values] of merger.groups('latin1')) {
      const k = key.toString('latin1');
      for (const v of values) batch += `${k}\t${v}\n`;
      if (batch.length >= 1 << 16) {
        yield batch;
        batch = '';
      }
    }
    if (batch) yield batch;
  } finally {
    merger.close();
  }
}

export async function runStreamingMapTask(task: Task__Output, ctx: TaskContext): Promise<TaskResult> {
  const streaming = task.streaming!;
  const spillDir = path.join(task.jobDir, 'intermediate');
  const buffer = new MapOutputBuffer({
    nReduce: task.nReduce,
    partition: partitionBytes,
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
      const env = { mapreduce_map_input_file: split.path, map_input_file: split.path };
      await pipeThrough('mapper', streaming.mapper, task.workDir, env, inChunks(bytes), (line) => {
        const [k, v] = splitKeyValue(line);
        buffer.add(k, v);
      }, ctx);
      ctx.progress((i + 1) / task.inputs.length);
    }
    const outputFiles = intermediatePaths(task, task.index);
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
          await pipeThrough('combiner', streaming.combiner, task.workDir, {}, runLines([staged[r]!]), (line) => {
            const [k, v] = splitKeyValue(line);
            combined.add(k, v);
          }, ctx);
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
  const inputs = Array.from({ length: task.nMap }, (_, m) => path.join(task.jobDir, 'intermediate', intermediateName(m, r)));
  for (const f of inputs) {
    if (!fs.existsSync(f)) throw new Error(`intermediate file ${path.basename(f)} is missing`);
  }
  const finalPath = path.join(task.outputDir, outputName(r));
  const tmp = tempPathFor(finalPath, ctx.tag);
  const sink = new FileSink(tmp);
  let lines = 0;
  try {
    await pipeThrough('reducer', task.streaming!.reducer, task.workDir, {}, runLines(inputs), (line) => {
      sink.writeString(line, 'latin1');
      sink.writeString('\n', 'latin1');
      lines++;
    }, ctx);
    sink.close();
    fs.renameSync(tmp, finalPath);
  } catch (err) {
    sink.abort();
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  return { outputFiles: [finalPath], counters: { inputBytes: 0, inputRecords: 0, outputRecords: lines, outputBytes: sink.bytesWritten, spills: 0 } };
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
