import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataDirLockedError, OutputClaimedError, PathNotWritableError } from '../errors.js';
import { makeDirs } from './dirs.js';
import { OutputLayout } from './layout.js';

/**
 * Exclusive ownership of the directories a coordinator writes: one coordinator per data
 * directory (a lock file), one job per output directory (a claim file). Both are created with
 * O_EXCL, so of two racing owners exactly one wins.
 */

interface LockBody {
  pid: number;
  host: string;
  startedAt: string;
}

export interface DataDirLockOptions {
  /**
   * A lock whose file was not refreshed for this long belongs to a coordinator that is gone
   * (crashed on another host, say) and is taken over. @default 15000
   */
  staleMs?: number;
  /** How often the owner refreshes the lock's mtime. @default staleMs / 5 */
  refreshMs?: number;
}

/** The lock of a data directory, held while a coordinator runs on it. */
export class DataDirLock {
  private timer: NodeJS.Timeout | undefined;
  private released = false;

  private constructor(
    readonly file: string,
    private readonly body: string,
    refreshMs: number,
  ) {
    this.timer = setInterval(() => this.refresh(), refreshMs);
    this.timer.unref();
  }

  /**
   * Takes the lock of `dataDir`, or throws a DataDirLockedError naming the live owner. A lock
   * left by a dead process on this host, or not refreshed for `staleMs`, is taken over.
   */
  static acquire(dataDir: string, options: DataDirLockOptions = {}): DataDirLock {
    const staleMs = options.staleMs ?? 15_000;
    const file = path.join(dataDir, 'coordinator.lock');
    const body = JSON.stringify({ pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString() } satisfies LockBody) + '\n';
    makeDirs(dataDir, 'data directory');
    for (let tries = 0; ; tries++) {
      try {
        fs.writeFileSync(file, body, { flag: 'wx', mode: 0o644 });
        return new DataDirLock(file, body, options.refreshMs ?? Math.max(50, Math.floor(staleMs / 5)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || tries >= 3) throw err;
      }
      const held = readHolder(file);
      if (!held) continue; // released meanwhile
      const owner = describeHolder(held.body);
      if (!isStale(held.body, held.mtimeMs, staleMs)) {
        throw new DataDirLockedError(
          `Data directory \`${dataDir}\` is in use by another coordinator (${owner}); stop it, or use another --data directory. ` +
            `If that process is gone, remove \`${file}\` (it is taken over by itself once not refreshed for ${staleMs} ms)`,
        );
      }
      // Move the stale lock aside under a name of our own: of two takers only one renames it.
      const aside = `${file}.stale-${process.pid}-${Date.now()}`;
      try {
        fs.renameSync(file, aside);
      } catch {
        continue;
      }
      // Renamed the file we judged stale, not a fresh lock a faster taker made meanwhile?
      const moved = fs.statSync(aside);
      if (moved.ino !== held.ino) {
        try {
          fs.linkSync(aside, file);
        } catch {
          // a third owner holds it now; it stands
        }
        fs.rmSync(aside, { force: true });
        continue;
      }
      fs.rmSync(aside, { force: true });
    }
  }

  /** Still ours? A coordinator that lost its lock (paused past staleMs, say) must not go on. */
  owned(): boolean {
    try {
      return fs.readFileSync(this.file, 'utf8') === this.body;
    } catch {
      return false;
    }
  }

  private refresh(): void {
    if (this.released || !this.owned()) return;
    const now = new Date();
    try {
      fs.utimesSync(this.file, now, now);
    } catch {
      // the volume hiccuped; the next refresh tries again
    }
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.timer) clearInterval(this.timer);
    if (this.owned()) fs.rmSync(this.file, { force: true });
  }
}

function readHolder(file: string): { body: Partial<LockBody>; mtimeMs: number; ino: number } | undefined {
  try {
    const st = fs.statSync(file);
    let body: Partial<LockBody> = {};
    try {
      body = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<LockBody>;
    } catch {
      // torn or foreign: judged by its age alone
    }
    return { body, mtimeMs: st.mtimeMs, ino: st.ino };
  } catch {
    return undefined;
  }
}

function describeHolder(b: Partial<LockBody>): string {
  return `pid ${b.pid ?? '?'} on host ${b.host ?? '?'}, started ${b.startedAt ?? '?'}`;
}

function isStale(b: Partial<LockBody>, mtimeMs: number, staleMs: number): boolean {
  if (b.host === os.hostname() && typeof b.pid === 'number') {
    // Our own pid, from before this process started: an earlier life of the id (a container
    // restarted). From since: another coordinator in this very process, alive.
    if (b.pid === process.pid) return Date.parse(b.startedAt ?? '') < Date.now() - process.uptime() * 1000 - 1000;
    try {
      process.kill(b.pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return true;
    }
  }
  return Date.now() - mtimeMs > staleMs;
}

interface ClaimBody {
  jobId: string;
  dataDir: string;
  at: string;
}

/**
 * Claims `outputDir` for `jobId` (creating the directory), or throws an OutputClaimedError
 * naming the job that holds it. Claiming again for the same job is a no-op.
 */
export function claimOutputDir(outputDir: string, jobId: string, dataDir: string): void {
  const out = new OutputLayout(outputDir);
  makeDirs(outputDir, 'output directory');
  try {
    fs.writeFileSync(out.claim, JSON.stringify({ jobId, dataDir, at: new Date().toISOString() } satisfies ClaimBody) + '\n', { flag: 'wx', mode: 0o644 });
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new PathNotWritableError(`Cannot write in the output directory \`${outputDir}\`: ${(err as Error).message}`, { path: outputDir, cause: err });
    }
  }
  const owner = outputOwner(outputDir);
  if (owner?.jobId === jobId) return;
  throw new OutputClaimedError(
    `Output directory \`${outputDir}\` is being written by job \`${owner?.jobId ?? '?'}\` (data directory ${owner?.dataDir ?? '?'}); ` +
      `wait for it, resume it (kubemr run --resume ${owner?.jobId ?? '<job>'} --data ${owner?.dataDir ?? '<dir>'}), ` +
      `or remove \`${out.claim}\` if that job is gone for good`,
    outputDir,
    owner?.jobId ?? '',
  );
}

/** The job holding `outputDir`, if any. */
export function outputOwner(outputDir: string): ClaimBody | undefined {
  try {
    const b = JSON.parse(fs.readFileSync(new OutputLayout(outputDir).claim, 'utf8')) as Partial<ClaimBody>;
    return { jobId: String(b.jobId ?? ''), dataDir: String(b.dataDir ?? ''), at: String(b.at ?? '') };
  } catch {
    return undefined;
  }
}

/** Gives `outputDir` up, if `jobId` still holds it. */
export function releaseOutputDir(outputDir: string, jobId: string): void {
  if (outputOwner(outputDir)?.jobId === jobId) fs.rmSync(new OutputLayout(outputDir).claim, { force: true });
}
