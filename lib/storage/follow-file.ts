import fs from 'node:fs';

/** A file's contents, then what is appended to it until `ended()` or `signal` aborts. */
export async function* followFile(file: string, ended: () => boolean | Promise<boolean>, signal: AbortSignal, pollMs = 300): AsyncIterable<string> {
  let pos = 0;
  const decoder = new TextDecoder();
  for (;;) {
    let chunk = '';
    try {
      const fd = fs.openSync(file, 'r');
      try {
        const size = fs.fstatSync(fd).size;
        if (size > pos) {
          const buf = Buffer.alloc(size - pos);
          const n = fs.readSync(fd, buf, 0, buf.length, pos);
          pos += n;
          chunk = decoder.decode(buf.subarray(0, n), { stream: true });
        }
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      // not created yet
    }
    if (chunk) yield chunk;
    if (signal.aborted) return;
    // Read once more after the end is known, so nothing written just before it is lost.
    if (await ended()) {
      if (!chunk) return;
      continue;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, pollMs);
      signal.addEventListener('abort', () => {
        clearTimeout(t);
        resolve();
      }, { once: true });
    });
  }
}
