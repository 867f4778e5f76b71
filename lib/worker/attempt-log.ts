import fs from 'node:fs';

/**
 * One attempt's log, `jobs/<id>/logs/<task>-<attempt>.log`: the worker's lines about the attempt
 * and, while the attempt runs, whatever user code writes to the console (`console.log`,
 * `console.error`, `process.stdout.write`, ...), so a user finds a map's output beside the
 * attempt that printed it, not in the log of whichever worker process ran it.
 */
export interface AttemptLog {
  /** A line of the worker's own, timestamped. */
  line(text: string): void;
  /**
   * Sends the process's stdout and stderr here until the returned function is called. A
   * worker runs one task at a time, so everything written meanwhile is the task's.
   */
  capture(): () => void;
  close(): void;
}

type Write = typeof process.stdout.write;

export function openAttemptLog(file: string): AttemptLog {
  let fd: number | undefined;
  let broken = false;
  const append = (text: string) => {
    if (broken) return;
    try {
      fd ??= fs.openSync(file, 'a');
      fs.writeSync(fd, text);
    } catch {
      // The job directory may be gone (cancelled); logging must not fail the task.
      broken = true;
    }
  };
  const stamp = () => new Date().toISOString();
  return {
    line: (text) => append(`${stamp()} ${text}\n`),
    capture() {
      const restore: Array<() => void> = [];
      for (const name of ['stdout', 'stderr'] as const) {
        const stream = process[name];
        const original = stream.write;
        // A line at a time, each marked with its stream; a last unterminated line on restore.
        let pending = '';
        const flush = (all: boolean) => {
          const lines = pending.split('\n');
          pending = all ? '' : lines.pop()!;
          if (all && lines.at(-1) === '') lines.pop();
          for (const l of lines) append(`${stamp()} ${name}: ${l}\n`);
        };
        const write = function (this: unknown, chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
          const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString(typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
          pending += text;
          if (pending.includes('\n')) flush(false);
          const done = typeof encoding === 'function' ? encoding : cb;
          if (typeof done === 'function') process.nextTick(done as () => void);
          return true;
        };
        stream.write = write as Write;
        restore.push(() => {
          if (pending) flush(true);
          stream.write = original;
        });
      }
      return () => {
        for (const r of restore) r();
      };
    },
    close() {
      if (fd !== undefined) fs.closeSync(fd);
      fd = undefined;
    },
  };
}
