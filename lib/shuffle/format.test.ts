import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { byteOrderComparator, compareUtf8, sortByteOrder } from './byte-order.js';
import { decodeRange, encodeInto, FileSink, RunReader } from './format.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemr-codec-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function roundTrip(records: Array<[string, string]>, encoding: BufferEncoding): Array<[Buffer, Buffer]> {
  const file = path.join(dir, 'run');
  const sink = new FileSink(file);
  for (const [k, v] of records) sink.writeRecord(k, v, encoding);
  sink.close();
  expect(sink.bytesWritten).toBe(fs.statSync(file).size);
  const rd = new RunReader(file);
  const out: Array<[Buffer, Buffer]> = [];
  // Keys and values are views into the reader's buffer: copy before the next record.
  while (rd.next()) out.push([Buffer.from(rd.key), Buffer.from(rd.value)]);
  rd.close();
  return out;
}

const bytes = (...xs: number[]) => Buffer.from(xs).toString('latin1');

describe('FileSink / RunReader', () => {
  it('keeps awkward bytes of raw (latin1) keys and values exactly', () => {
    const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('latin1');
    const records: Array<[string, string]> = [
      ['', ''],
      ['a key with spaces', 'a\tvalue\twith\ttabs'],
      ['line\nbreaks\r\n', 'nul\0inside\0'],
      [bytes(0xff, 0xfe, 0xc3), bytes(0xc3, 0x28, 0xa0, 0xa1)], // invalid UTF-8
      [every, every],
      ['\t', '\n'],
    ];
    const got = roundTrip(records, 'latin1');
    expect(got.map(([k, v]) => [k.toString('latin1'), v.toString('latin1')])).toEqual(records);
    expect(got[3]![0]).toEqual(Buffer.from([0xff, 0xfe, 0xc3]));
    expect(got[4]![0].length).toBe(256);
  });

  it('round-trips UTF-8 strings, astral characters included', () => {
    const records: Array<[string, string]> = [
      ['héllo wörld', 'ünïcödé'],
      ['\u{1F600}\u{10400}', '中文\u0000'],
      ['\uffff', '\ue000'],
    ];
    const got = roundTrip(records, 'utf8');
    expect(got.map(([k, v]) => [k.toString('utf8'), v.toString('utf8')])).toEqual(records);
  });

  it('handles records larger than the 1 MiB write and read buffers', () => {
    const big = 'x'.repeat(3 * 1024 * 1024 + 17);
    const bigValue = bytes(0, 10, 9, 32, 0xff).repeat(300_000);
    const records: Array<[string, string]> = [
      ['small', 'before'],
      [big, 'v'],
      ['k', bigValue],
      ['small', 'after'],
      [big, bigValue],
    ];
    const got = roundTrip(records, 'latin1');
    expect(got.length).toBe(records.length);
    got.forEach(([k, v], i) => {
      expect(k.toString('latin1') === records[i]![0]).toBe(true);
      expect(v.toString('latin1') === records[i]![1]).toBe(true);
    });
  });

  it('reads many records across buffer refills (varints split at chunk edges)', () => {
    const records: Array<[string, string]> = [];
    for (let i = 0; i < 60_000; i++) records.push([`key-${i}`.repeat((i % 7) + 1), 'v'.repeat(i % 300)]);
    const got = roundTrip(records, 'latin1');
    expect(got.length).toBe(records.length);
    expect(got.every(([k, v], i) => k.toString('latin1') === records[i]![0] && v.toString('latin1') === records[i]![1])).toBe(true);
  });

  it('reports a truncated run instead of inventing a record', () => {
    const file = path.join(dir, 'run');
    const sink = new FileSink(file);
    sink.writeRecord('key', 'value', 'latin1');
    sink.close();
    fs.truncateSync(file, fs.statSync(file).size - 2);
    const rd = new RunReader(file);
    // The one record's block is whole; the cut is found before the run is taken as ended.
    expect(() => {
      while (rd.next());
    }).toThrow(/is truncated/);
    rd.close();
  });

  /** A run of several blocks (records of 100 KiB fill a 1 MiB block in about ten). */
  function bigRun(): { file: string; records: number } {
    const file = path.join(dir, 'big');
    const sink = new FileSink(file);
    const records = 40;
    for (let i = 0; i < records; i++) sink.writeRecord(`k${String(i).padStart(3, '0')}`, 'v'.repeat(100 * 1024), 'latin1');
    sink.close();
    return { file, records };
  }
  const readAll = (file: string): number => {
    const rd = new RunReader(file);
    try {
      let n = 0;
      while (rd.next()) n++;
      return n;
    } finally {
      rd.close();
    }
  };

  it('reads a run of several blocks whole', () => {
    const { file, records } = bigRun();
    expect(readAll(file)).toBe(records);
  });

  it('finds a flipped byte anywhere in a run by its block checksum, naming the file', () => {
    const { file } = bigRun();
    const size = fs.statSync(file).size;
    for (const at of [20, Math.floor(size / 2), size - 100]) {
      const body = fs.readFileSync(`${file}`);
      const copy = path.join(dir, `flip-${at}`);
      body[at] = body[at]! ^ 0x5a;
      fs.writeFileSync(copy, body);
      expect(() => readAll(copy), `flip at ${at}`).toThrow(new RegExp(`${copy}.*(checksum|corrupt|truncated)`));
    }
  });

  it('finds a run cut at a block boundary (its end marker is missing), and trailing bytes', () => {
    const { file } = bigRun();
    const size = fs.statSync(file).size;
    fs.truncateSync(file, size - 8); // exactly the end marker
    expect(() => readAll(file)).toThrow(/is truncated: it ends at byte/);
    fs.appendFileSync(file, Buffer.from([0, 0, 0, 0, 4, 0, 0, 0, 1]));
    expect(() => readAll(file)).toThrow(/bytes follow its end marker/);
  });

  it('names a missing run and a file that is not a run', () => {
    expect(() => new RunReader(path.join(dir, 'nope'))).toThrow(/nope is missing/);
    fs.writeFileSync(path.join(dir, 'text'), 'hello world\n');
    expect(() => new RunReader(path.join(dir, 'text'))).toThrow(/is not a run/);
    fs.writeFileSync(path.join(dir, 'empty'), '');
    expect(() => new RunReader(path.join(dir, 'empty'))).toThrow(/is not a run/);
  });

  it('reads an empty run as no records', () => {
    expect(roundTrip([], 'utf8')).toEqual([]);
  });
});

describe('byte-order comparators', () => {
  const sample = ['', 'a', 'A', 'ab', 'a b', 'a\tb', 'é', 'z', '\ue000', '\uffff', '\u{10000}', '\u{1F600}', '中', 'a\u{1F600}', 'a\uffff'];
  const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

  it('compareUtf8 agrees with comparing UTF-8 bytes, where native < does not', () => {
    for (const a of sample) for (const b of sample) expect(Math.sign(compareUtf8(a, b))).toBe(byBytes(a, b));
    expect('\u{10000}' < '\uffff').toBe(true); // UTF-16 order, unlike byte order
  });

  it('sortByteOrder sorts like Buffer.compare with and without surrogates', () => {
    expect(sortByteOrder([...sample], 'utf8')).toEqual([...sample].sort(byBytes));
    const bmp = sample.filter((s) => !/[\ud800-\udfff]/.test(s));
    expect(sortByteOrder([...bmp], 'utf8')).toEqual([...bmp].sort(byBytes));
    const raw = [bytes(0xff), bytes(0x00), 'a', bytes(0x80, 0x01), ''];
    expect(sortByteOrder([...raw], 'latin1')).toEqual([...raw].sort((a, b) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'))));
  });

  it('byteOrderComparator picks the exact comparator only when needed', () => {
    expect(byteOrderComparator(['a', 'b'], 'utf8')).not.toBe(compareUtf8);
    expect(byteOrderComparator(['a', '\u{1F600}'], 'utf8')).toBe(compareUtf8);
    expect(byteOrderComparator(['\u{1F600}'], 'latin1')).not.toBe(compareUtf8);
  });
});

describe('the short-string fast paths', () => {
  it('decodeRange and encodeInto agree with Buffer#toString and Buffer#write on ASCII, non-ASCII and invalid bytes of every short length', () => {
    const text = Buffer.concat([Buffer.from('plain ascii words and Größe 日本 𝔘 '), Buffer.from([0xff, 0xc3, 0x28, 0x80]), Buffer.from(' tail')]);
    let checked = 0;
    for (const encoding of ['utf8', 'latin1'] as const) {
      for (let start = 0; start < text.length; start++) {
        for (let end = start; end <= Math.min(text.length, start + 20); end++) {
          const s = decodeRange(text, start, end, encoding);
          expect(s).toBe(text.toString(encoding, start, end));
          const out = Buffer.alloc(4 * (end - start) + 4);
          const n = encodeInto(s, out, 2, encoding);
          expect(out.subarray(2, 2 + n).equals(Buffer.from(s, encoding))).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });
});
