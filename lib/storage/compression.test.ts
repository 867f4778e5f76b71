import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { compressionOf, decompressFile } from './compression.js';

describe('compressionOf', () => {
  it('knows gzip by its magic bytes whatever the name, brotli by .br, plain files as plain', () => {
    expect(compressionOf('data', zlib.gzipSync('x'))).toBe('gzip');
    expect(compressionOf('data.txt.gz', zlib.gzipSync('x'))).toBe('gzip');
    expect(compressionOf('data.br', zlib.brotliCompressSync('x'))).toBe('brotli');
    expect(compressionOf('data.txt', Buffer.from('plain'))).toBeUndefined();
    expect(compressionOf('empty.txt', Buffer.alloc(0))).toBeUndefined();
  });

  it('refuses bzip2, xz and zstd by magic or name, and a .gz without gzip inside, naming the file', () => {
    expect(() => compressionOf('a', Buffer.from('BZh91AY&SY'))).toThrow(/`a` is bzip2-compressed/);
    expect(() => compressionOf('a.xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0]))).toThrow(/`a\.xz` is xz-compressed/);
    expect(() => compressionOf('a.zst', Buffer.from('plain'))).toThrow(/`a\.zst` is zstd-compressed/);
    expect(() => compressionOf('a.gz', Buffer.from('plain'))).toThrow(/`a\.gz` is named \.gz but does not hold gzip data \(it starts with bytes 70 6c 61 69\)/);
  });
});

describe('decompressFile', () => {
  it('reads gzip (several members too) and brotli back byte for byte, and names corrupt and truncated files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemr-compression-'));
    try {
      const body = Buffer.from(Array.from({ length: 5000 }, (_, i) => `line ${i} é\n`).join(''));
      fs.writeFileSync(path.join(dir, 'a.gz'), Buffer.concat([zlib.gzipSync(body.subarray(0, 10)), zlib.gzipSync(body.subarray(10))]));
      fs.writeFileSync(path.join(dir, 'b.br'), zlib.brotliCompressSync(body));
      expect(decompressFile(path.join(dir, 'a.gz'), 'gzip').equals(body)).toBe(true);
      expect(decompressFile(path.join(dir, 'b.br'), 'brotli').equals(body)).toBe(true);
      const gz = zlib.gzipSync(body);
      fs.writeFileSync(path.join(dir, 'cut.gz'), gz.subarray(0, gz.length - 40));
      expect(() => decompressFile(path.join(dir, 'cut.gz'), 'gzip', 'cut.gz')).toThrow(/`cut\.gz` is not valid gzip data: it is truncated/);
      const bad = Buffer.from(gz);
      for (let i = 30; i < 60; i++) bad[i] = bad[i]! ^ 0xff;
      fs.writeFileSync(path.join(dir, 'bad.gz'), bad);
      expect(() => decompressFile(path.join(dir, 'bad.gz'), 'gzip', 'bad.gz')).toThrow(/`bad\.gz` is not valid gzip data: the data is corrupt/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
