import fs from 'node:fs';
import zlib from 'node:zlib';
import { CorruptRunError, writeError } from '../errors.js';
import { withTempFile } from '../storage/atomic.js';

/**
 * The intermediate encoding: a run is a sequence of records
 *   varint(keyLength) varint(valueLength) keyBytes valueBytes
 * Lengths, not separators, so any key or value bytes — spaces, tabs, newlines, NUL, invalid
 * UTF-8 — survive the shuffle unchanged. Runs are sorted by key in byte order.
 *
 * On disk the records travel in checksummed blocks, so a flipped byte, a cut-off file or a
 * stranger's file is found before the reduce trusts it:
 *   "KMR1"                                       magic
 *   u32le(length > 0) u32le(crc32(payload)) payload   one block per writer buffer (about 1 MiB)
 *   u32le(0) u32le(number of blocks)             end marker: a file cut at a block boundary
 *                                                still lacks it
 * A checksum per block, not per record: CRC32 runs at several GB/s over a megabyte, so the
 * format keeps its speed.
 */
const RUN_MAGIC = Buffer.from('KMR1', 'latin1');
const BLOCK_HEADER = 8;

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

/**
 * Buffered synchronous writer. Workers run user code on the main thread anyway, and sync I/O
 * keeps the hot loop simple. By default it writes a run (checksummed blocks, see above); with
 * `plain: true` the bytes go out as they are (mr-out text files).
 */
export class FileSink {
  private readonly fd: number;
  private buf = Buffer.allocUnsafe(WRITE_BUFFER);
  /** Bytes reserved in front of each block's payload for its header (0 when plain). */
  private readonly head: number;
  /** Where the pending block's header goes in `buf`: after the magic until the first flush. */
  private base = 0;
  private pos = 0;
  private blocks = 0;
  bytesWritten = 0;

  /** `sync: false` for scratch files (spills) that nothing reads after a crash. */
  constructor(
    readonly path: string,
    private readonly options: { sync?: boolean; plain?: boolean } = {},
  ) {
    try {
      this.fd = fs.openSync(path, 'w', 0o644);
    } catch (err) {
      throw writeError(err, path);
    }
    this.head = options.plain ? 0 : BLOCK_HEADER;
    if (!options.plain) {
      RUN_MAGIC.copy(this.buf, 0);
      this.base = RUN_MAGIC.length;
    }
    this.pos = this.base + this.head;
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (this.pos + n > this.buf.length) this.buf = Buffer.allocUnsafe(this.pos + n);
  }

  /** Writes what is buffered: one block (with its header) unless plain. */
  flush(): void {
    const payload = this.pos - this.base - this.head;
    let end = this.pos;
    if (this.head > 0) {
      if (payload === 0) end = this.base; // a block is never empty: length 0 marks the end
      else {
        this.buf.writeUInt32LE(payload, this.base);
        this.buf.writeUInt32LE(zlib.crc32(this.buf.subarray(this.base + this.head, this.pos)), this.base + 4);
        this.blocks++;
      }
    }
    this.writeOut(end);
    this.base = 0;
    this.pos = this.head;
  }

  private writeOut(end: number): void {
    let off = 0;
    try {
      while (off < end) off += fs.writeSync(this.fd, this.buf, off, end - off);
    } catch (err) {
      throw writeError(err, this.path);
    }
    this.bytesWritten += end;
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

  /**
   * One record whose key is `src[keyAt, keyAt + kl)` and whose value is `vl` bytes: up to four
   * packed little-endian in `small`, else `src[valueAt, valueAt + vl)`.
   */
  writeKeyValue(src: Uint8Array, keyAt: number, kl: number, valueAt: number, vl: number, small: number): void {
    this.room(kl + vl + 20);
    this.varint(kl);
    this.varint(vl);
    copyBytes(src, keyAt, this.buf, this.pos, kl);
    this.pos += kl;
    if (vl <= 4) {
      for (let b = 0; b < vl; b++) this.buf[this.pos++] = (small >>> (8 * b)) & 0xff;
    } else {
      copyBytes(src, valueAt, this.buf, this.pos, vl);
      this.pos += vl;
    }
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

  /** Flush, write the end marker of a run, fsync (unless `sync: false`) and close. */
  close(): void {
    this.flush();
    if (this.head > 0) {
      this.buf.writeUInt32LE(0, 0);
      this.buf.writeUInt32LE(this.blocks, 4);
      this.writeOut(BLOCK_HEADER);
    }
    try {
      if (this.options.sync !== false) fs.fsyncSync(this.fd);
      fs.closeSync(this.fd);
    } catch (err) {
      throw writeError(err, this.path);
    }
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

/**
 * Reads a run record by record with bounded memory; the current record stays valid until the
 * next `next()`. Every block is checked against its CRC32 before any of its records is seen;
 * a missing, truncated or corrupt run throws a CorruptRunError naming the file.
 */
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
  /** Where the next block header lies in the file. */
  private filePos = RUN_MAGIC.length;
  private readonly size: number;
  private blocks = 0;
  private readonly header = Buffer.allocUnsafe(BLOCK_HEADER);

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
    try {
      this.fd = fs.openSync(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CorruptRunError(path, 'is missing');
      throw err;
    }
    try {
      this.size = fs.fstatSync(this.fd).size;
      const magic = Buffer.alloc(RUN_MAGIC.length);
      if (this.readAt(magic, 0, magic.length, 0) !== magic.length || !magic.equals(RUN_MAGIC)) {
        throw new CorruptRunError(path, 'is not a run (no KMR1 header): truncated or overwritten');
      }
    } catch (err) {
      fs.closeSync(this.fd);
      throw err;
    }
  }

  private readAt(buf: Buffer, off: number, len: number, position: number): number {
    let got = 0;
    while (got < len) {
      const n = fs.readSync(this.fd, buf, off + got, len - got, position + got);
      if (n === 0) break;
      got += n;
    }
    return got;
  }

  /** Reads, checks and appends the next block's payload to `data`; false at the end marker. */
  private nextBlock(): boolean {
    const at = this.filePos;
    if (this.readAt(this.header, 0, BLOCK_HEADER, at) !== BLOCK_HEADER) {
      throw new CorruptRunError(this.path, `is truncated: it ends at byte ${this.size} without its end marker`);
    }
    const len = this.header.readUInt32LE(0);
    const sum = this.header.readUInt32LE(4);
    this.filePos = at + BLOCK_HEADER;
    if (len === 0) {
      if (sum !== this.blocks) throw new CorruptRunError(this.path, `is corrupt: its end marker counts ${sum} blocks, ${this.blocks} were read`);
      if (this.filePos !== this.size) throw new CorruptRunError(this.path, `is corrupt: ${this.size - this.filePos} bytes follow its end marker`);
      return false;
    }
    if (this.filePos + len > this.size) {
      throw new CorruptRunError(this.path, `is truncated: block ${this.blocks} at byte ${at} claims ${len} bytes, the file ends at byte ${this.size}`);
    }
    // Move the unread tail to the front, growing the buffer for blocks larger than it.
    const tail = this.end - this.start;
    if (this.end + len > this.data.length) {
      if (tail + len > this.data.length) {
        const bigger = Buffer.allocUnsafe(Math.max(tail + len, this.data.length * 2));
        this.data.copy(bigger, 0, this.start, this.end);
        this.data = bigger;
      } else {
        this.data.copy(this.data, 0, this.start, this.end);
      }
      this.start = 0;
      this.end = tail;
    }
    if (this.readAt(this.data, this.end, len, this.filePos) !== len) {
      throw new CorruptRunError(this.path, `is truncated: block ${this.blocks} at byte ${at} ends early`);
    }
    if (zlib.crc32(this.data.subarray(this.end, this.end + len)) !== sum) {
      throw new CorruptRunError(this.path, `fails its checksum: block ${this.blocks} at byte ${at}`);
    }
    this.end += len;
    this.filePos += len;
    this.blocks++;
    return true;
  }

  private fill(need: number): boolean {
    while (this.end - this.start < need && !this.eof) {
      if (!this.nextBlock()) this.eof = true;
    }
    return this.end - this.start >= need;
  }

  private varint(): number {
    let n = 0;
    let mul = 1;
    for (;;) {
      if (!this.fill(1)) throw new CorruptRunError(this.path, 'is corrupt: a record is cut off');
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
    if (!this.fill(kl + vl)) throw new CorruptRunError(this.path, 'is corrupt: a record is cut off');
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
    const sink = new FileSink(tmp, { plain: true });
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
