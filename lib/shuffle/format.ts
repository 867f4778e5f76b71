import fs from 'node:fs';
import { withTempFile } from '../storage/atomic.js';

/**
 * The intermediate encoding: a run is a sequence of records
 *   varint(keyLength) varint(valueLength) keyBytes valueBytes
 * Lengths, not separators, so any key or value bytes — spaces, tabs, newlines, NUL, invalid
 * UTF-8 — survive the shuffle unchanged. Runs are sorted by key in byte order.
 */

/**
 * Encodes `s` at `pos` and returns its byte length. Short ASCII strings, nearly every key and
 * value, are copied by hand (ASCII is the same bytes in UTF-8 and Latin-1): cheaper than a call
 * into Buffer#write.
 */
export function encodeInto(s: string, buf: Buffer, pos: number, encoding: BufferEncoding): number {
  const n = s.length;
  if (n <= 64 && (encoding === 'utf8' || encoding === 'latin1')) {
    let i = 0;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[pos + i++] = c;
    }
    if (i === n) return n;
  }
  return buf.write(s, pos, encoding);
}

/**
 * Decodes buf[start, end). A short ASCII run, nearly every key and value, is built here: a call
 * into Buffer#toString costs several times more for a few bytes. Longer strings, and any with a
 * byte past ASCII, are left to Buffer#toString (V8 joins strings of 13 characters or more lazily,
 * which would cost every later use).
 */
export function decodeRange(buf: Buffer, start: number, end: number, encoding: BufferEncoding): string {
  if (end - start <= 12 && (encoding === 'utf8' || encoding === 'latin1')) {
    let s = '';
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      if (c >= 0x80) return buf.toString(encoding, start, end);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return buf.toString(encoding, start, end);
}

/**
 * Copies src[from, from + n) to dst at `to`. A short run, nearly every key and value, is copied
 * by hand: a subarray and a call into TypedArray#set cost more than the bytes.
 */
export function copyBytes(src: Uint8Array, from: number, dst: Uint8Array, to: number, n: number): void {
  if (n < 64) for (let i = 0; i < n; i++) dst[to + i] = src[from + i]!;
  else dst.set(src.subarray(from, from + n), to);
}

const WRITE_BUFFER = 1 << 20;

/** Buffered synchronous writer. Workers run user code on the main thread anyway, and sync I/O keeps the hot loop simple. */
export class FileSink {
  private readonly fd: number;
  private buf = Buffer.allocUnsafe(WRITE_BUFFER);
  private pos = 0;
  bytesWritten = 0;

  /** `sync: false` for scratch files (spills) that nothing reads after a crash. */
  constructor(
    readonly path: string,
    private readonly options: { sync?: boolean } = {},
  ) {
    this.fd = fs.openSync(path, 'w', 0o644);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
  }

  flush(): void {
    let off = 0;
    while (off < this.pos) off += fs.writeSync(this.fd, this.buf, off, this.pos - off);
    this.bytesWritten += this.pos;
    this.pos = 0;
  }

  writeString(s: string, encoding: BufferEncoding = 'utf8'): void {
    const max = encoding === 'latin1' ? s.length : s.length * 3;
    this.room(max);
    this.pos += encodeInto(s, this.buf, this.pos, encoding);
  }

  writeBytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  private varint(n: number): void {
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  /** One record; key and value given as strings in `encoding` (utf8 for apps, latin1 for raw bytes). */
  writeRecord(key: string, value: string, encoding: BufferEncoding): void {
    const kl = Buffer.byteLength(key, encoding);
    const vl = Buffer.byteLength(value, encoding);
    this.room(kl + vl + 20);
    this.varint(kl);
    this.varint(vl);
    this.pos += encodeInto(key, this.buf, this.pos, encoding);
    this.pos += encodeInto(value, this.buf, this.pos, encoding);
  }

  /** One record whose key and value bytes lie back to back in `src` from `start`. */
  writeRawRecord(src: Uint8Array, start: number, keyLength: number, valueLength: number): void {
    const n = keyLength + valueLength;
    this.room(n + 20);
    this.varint(keyLength);
    this.varint(valueLength);
    copyBytes(src, start, this.buf, this.pos, n);
    this.pos += n;
  }

  /** Flush, fsync (unless `sync: false`) and close. */
  close(): void {
    this.flush();
    if (this.options.sync !== false) fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
  }

  /** Close without caring about the contents (error paths). */
  abort(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}

const READ_CHUNK = 1 << 20;

/** Reads a run record by record with bounded memory; the current record stays valid until the next `next()`. */
export class RunReader {
  private fd: number;
  /**
   * Holds the current record: its key is data[keyStart, keyStart + keyLength), its value follows
   * at once. Valid until the next `next()`. A merge compares and copies through these offsets;
   * a view per key and value, per record, costs more than the merge itself.
   */
  data: Buffer = Buffer.allocUnsafe(READ_CHUNK);
  keyStart = 0;
  keyLength = 0;
  valueLength = 0;
  private start = 0;
  private end = 0;
  private eof = false;

  /** The current key, as a view into `data`. */
  get key(): Buffer {
    return this.data.subarray(this.keyStart, this.keyStart + this.keyLength);
  }

  /** The current value, as a view into `data`. */
  get value(): Buffer {
    const at = this.keyStart + this.keyLength;
    return this.data.subarray(at, at + this.valueLength);
  }

  constructor(readonly path: string) {
    this.fd = fs.openSync(path, 'r');
  }

  private fill(need: number): boolean {
    if (this.end - this.start >= need) return true;
    if (this.eof) return false;
    // Move the unread tail to the front, growing the buffer for records larger than a chunk.
    const tail = this.end - this.start;
    if (need > this.data.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.data.length * 2));
      this.data.copy(bigger, 0, this.start, this.end);
      this.data = bigger;
    } else {
      this.data.copy(this.data, 0, this.start, this.end);
    }
    this.start = 0;
    this.end = tail;
    while (this.end - this.start < need && !this.eof) {
      const n = fs.readSync(this.fd, this.data, this.end, this.data.length - this.end, null);
      if (n === 0) this.eof = true;
      this.end += n;
    }
    return this.end - this.start >= need;
  }

  private varint(): number {
    let n = 0;
    let mul = 1;
    for (;;) {
      if (!this.fill(1)) throw new Error(`truncated record in ${this.path}`);
      const b = this.data[this.start++]!;
      n += (b & 0x7f) * mul;
      if (b < 0x80) return n;
      mul *= 128;
    }
  }

  /** Advances to the next record; false at the end of the run. */
  next(): boolean {
    if (!this.fill(1)) return false;
    const kl = this.varint();
    const vl = this.varint();
    if (!this.fill(kl + vl)) throw new Error(`truncated record in ${this.path}`);
    this.keyStart = this.start;
    this.keyLength = kl;
    this.valueLength = vl;
    this.start += kl + vl;
    return true;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/**
 * Fills `finalPath` through a FileSink under a temp name that no output glob matches, then
 * renames it into place: readers see the whole file or none of it. On any error the temp file
 * is removed. Returns the bytes written.
 */
export function writeAtomically(finalPath: string, tag: string, fill: (sink: FileSink) => void | Promise<void>): Promise<number> {
  return withTempFile(finalPath, tag, async (tmp) => {
    const sink = new FileSink(tmp);
    try {
      await fill(sink);
    } catch (err) {
      sink.abort();
      throw err;
    }
    sink.close();
    return sink.bytesWritten;
  });
}
