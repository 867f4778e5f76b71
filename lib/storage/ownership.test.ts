import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimOutputDir, DataDirLock, outputOwner, releaseOutputDir } from './ownership.js';

let dir: string;
const locks: DataDirLock[] = [];
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemr-own-'));
});
afterEach(() => {
  for (const l of locks.splice(0)) l.release();
  fs.rmSync(dir, { recursive: true, force: true });
});

const lockFile = () => path.join(dir, 'coordinator.lock');
const plant = (body: object, ageMs = 0) => {
  fs.writeFileSync(lockFile(), JSON.stringify(body));
  const t = new Date(Date.now() - ageMs);
  fs.utimesSync(lockFile(), t, t);
};

describe('DataDirLock', () => {
  it('refuses a second owner while the first lives, naming it, and is free again once released', () => {
    const first = DataDirLock.acquire(dir);
    locks.push(first);
    expect(() => DataDirLock.acquire(dir)).toThrow(new RegExp(`in use by another coordinator \\(pid ${process.pid} on host ${os.hostname()}`));
    first.release();
    expect(fs.existsSync(lockFile())).toBe(false);
    locks.push(DataDirLock.acquire(dir));
  });

  it('takes over the lock of a dead process on this host at once', () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    plant({ pid: dead, host: os.hostname(), startedAt: new Date().toISOString() });
    const lock = DataDirLock.acquire(dir);
    locks.push(lock);
    expect(lock.owned()).toBe(true);
    expect(JSON.parse(fs.readFileSync(lockFile(), 'utf8')).pid).toBe(process.pid);
  });

  it('another host\'s lock counts while refreshed, and is taken over once not refreshed for staleMs', () => {
    plant({ pid: 1, host: 'elsewhere', startedAt: '2026-01-01T00:00:00Z' }, 1000);
    expect(() => DataDirLock.acquire(dir, { staleMs: 60_000 })).toThrow(/pid 1 on host elsewhere, started 2026-01-01/);
    plant({ pid: 1, host: 'elsewhere', startedAt: '2026-01-01T00:00:00Z' }, 120_000);
    locks.push(DataDirLock.acquire(dir, { staleMs: 60_000 }));
  });

  it('refreshes its mtime while held, so a live owner never looks stale', async () => {
    const lock = DataDirLock.acquire(dir, { staleMs: 500, refreshMs: 20 });
    locks.push(lock);
    const t = new Date(Date.now() - 10_000);
    fs.utimesSync(lockFile(), t, t);
    const deadline = Date.now() + 5000;
    while (fs.statSync(lockFile()).mtimeMs < Date.now() - 5000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(fs.statSync(lockFile()).mtimeMs).toBeGreaterThan(Date.now() - 5000);
  });
});

describe('output claims', () => {
  it('one job per output directory: another is refused naming the holder; the holder may claim again; only it releases', () => {
    const out = path.join(dir, 'out');
    claimOutputDir(out, 'job-a', '/data');
    claimOutputDir(out, 'job-a', '/data');
    expect(() => claimOutputDir(out, 'job-b', '/data2')).toThrow(/is being written by job `job-a` \(data directory \/data\).*kubemr run --resume job-a --data \/data/);
    releaseOutputDir(out, 'job-b');
    expect(outputOwner(out)?.jobId).toBe('job-a');
    releaseOutputDir(out, 'job-a');
    expect(outputOwner(out)).toBeUndefined();
    claimOutputDir(out, 'job-b', '/data2');
    expect(outputOwner(out)?.jobId).toBe('job-b');
  });
});
