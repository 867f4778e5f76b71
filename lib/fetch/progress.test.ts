import { describe, expect, it } from 'vitest';
import { formatBytes, ProgressRenderer } from './progress.js';

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [999, '999 B'],
    [1500, '1.5 kB'],
    [453_168, '453 kB'],
    [3_300_000, '3.3 MB'],
  ])('%d → %s', (n, text) => expect(formatBytes(n)).toBe(text));
});

describe('ProgressRenderer', () => {
  it('redraws one status line on a tty and keeps log lines above it', () => {
    let out = '';
    let now = 0;
    const r = new ProgressRenderer({ write: (t) => (out += t), tty: true, now: () => now });
    r.onProgress({ type: 'start', dataset: 'ds', dir: '/d', files: 2, totalBytes: 3000 });
    r.onProgress({ type: 'file-start', file: 'a.txt', source: 'http://h/a.txt', attempt: 1 });
    now = 1000;
    r.onProgress({ type: 'bytes', file: 'a.txt', received: 1500, total: 2000 });
    expect(out.split('\r\x1b[K').pop()).toBe('fetch ds: 0/2 files, 1.5 kB / 3.0 kB  a.txt');
    r.line('info downloaded');
    expect(out.endsWith('\r\x1b[Kinfo downloaded\n\r\x1b[Kfetch ds: 0/2 files, 1.5 kB / 3.0 kB  a.txt')).toBe(true);
    r.onProgress({ type: 'file-done', file: 'a.txt', outcome: 'downloaded', bytes: 2000 });
    expect(out.split('\r\x1b[K').pop()).toBe('fetch ds: 1/2 files, 2.0 kB / 3.0 kB');
    r.finish();
    expect(out.endsWith('\r\x1b[K')).toBe(true);
  });

  it('cuts the status line to the terminal width', () => {
    let out = '';
    const r = new ProgressRenderer({ write: (t) => (out += t), tty: true, columns: 30 });
    r.onProgress({ type: 'start', dataset: 'a-long-dataset-name', dir: '/d', files: 8 });
    expect(out.split('\r\x1b[K').pop()!.length).toBeLessThan(30);
  });

  it('writes plain lines, and a percentage now and then, when not a tty', () => {
    let out = '';
    let now = 0;
    const r = new ProgressRenderer({ write: (t) => (out += t), tty: false, intervalMs: 5000, now: () => now });
    r.onProgress({ type: 'start', dataset: 'ds', dir: '/d', files: 1 });
    r.onProgress({ type: 'file-start', file: 'a.txt', source: 'x', attempt: 1 });
    r.onProgress({ type: 'bytes', file: 'a.txt', received: 10, total: 100 });
    now = 6000;
    r.onProgress({ type: 'bytes', file: 'a.txt', received: 50, total: 100 });
    r.onProgress({ type: 'bytes', file: 'a.txt', received: 60, total: 100 });
    r.line('done');
    r.finish();
    expect(out).toBe('a.txt: 50% (50 B of 100 B)\ndone\n');
  });
});
