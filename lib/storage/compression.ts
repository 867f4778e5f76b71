import fs from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import zlib from 'node:zlib';
import { CompressedInputError, InputNotFoundError } from '../errors.js';

/**
 * Compressed input, read transparently as Hadoop and Spark do: gzip (by its magic bytes,
 * whatever the file is called, and `.gz` files must hold it) and brotli (by the `.br` suffix:
 * brotli has no magic). A compressed file is one split: neither format can be entered in the
 * middle. bzip2, xz and zstd are recognised by their magic bytes and refused with a message,
 * since Node 20's zlib cannot read them.
 */
export type Compression = 'gzip' | 'brotli';

const UNSUPPORTED: Array<[string, number[]]> = [
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
];

const starts = (head: Uint8Array, magic: number[]) => magic.every((b, i) => head[i] === b);

/** How `name` (whose first bytes are `head`) is compressed; undefined for plain files. Throws for formats kubemr cannot read. */
export function compressionOf(name: string, head: Uint8Array): Compression | undefined {
  if (starts(head, [0x1f, 0x8b])) return 'gzip';
  if (/\.gz$/i.test(name)) {
    throw new InputNotFoundError(`Input \`${name}\` is named .gz but does not hold gzip data (it starts with bytes ${hex(head)})`, { path: name });
  }
  if (/\.br$/i.test(name)) return 'brotli';
  for (const [format, magic] of UNSUPPORTED) {
    if (starts(head, magic) || new RegExp(`\\.(${format === 'bzip2' ? 'bz2' : format === 'xz' ? 'xz' : 'zst'})$`, 'i').test(name)) {
      throw new InputNotFoundError(`Input \`${name}\` is ${format}-compressed; kubemr reads gzip and brotli (.br) input, so decompress it first (or recompress it with gzip)`, { path: name });
    }
  }
  return undefined;
}

const hex = (b: Uint8Array) => [...b.subarray(0, 4)].map((x) => x.toString(16).padStart(2, '0')).join(' ');

/** Reads a file's first bytes and says how it is compressed (see compressionOf). */
export function sniffCompression(file: string, name = file): Compression | undefined {
  const head = Buffer.alloc(6);
  const fd = fs.openSync(file, 'r');
  try {
    const n = fs.readSync(fd, head, 0, head.length, 0);
    return compressionOf(name, head.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
}

/** The decompressed bytes of a whole compressed file, with a clear error for corrupt, truncated or oversized data. */
export function decompressFile(file: string, format: Compression, name = file): Buffer {
  const data = fs.readFileSync(file);
  const maxOutputLength = bufferConstants.MAX_LENGTH;
  try {
    return format === 'gzip' ? zlib.gunzipSync(data, { maxOutputLength }) : zlib.brotliDecompressSync(data, { maxOutputLength });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ERR_BUFFER_TOO_LARGE'
        ? `it decompresses to more than ${maxOutputLength} bytes; split it into smaller files`
        : code === 'Z_BUF_ERROR'
          ? 'it is truncated (unexpected end of the compressed data)'
          : `the data is corrupt (${(err as Error).message})`;
    throw new CompressedInputError(`Input \`${name}\` is not valid ${format} data: ${why}`, { path: name, cause: err });
  }
}
