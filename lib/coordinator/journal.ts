import fs from 'node:fs';
import type { TaskKind } from './scheduler.js';
import { taskName } from '../storage/layout.js';

/**
 * The coordinator's journal of one job: one JSON object per line, appended as things happen.
 * A restarted coordinator replays it to learn which tasks are already done. A torn last line
 * (the coordinator died mid-write) is ignored.
 */
export type JournalEntry =
  | { t: 'submit'; at: number }
  | { t: 'recover'; at: number }
  | { t: 'attempt'; kind: TaskKind; index: number; attempt: number }
  | { t: 'done'; kind: TaskKind; index: number; outputFiles: string[] }
  /** Written before the granted attempt's files are moved into place; done follows. */
  | { t: 'commit'; kind: TaskKind; index: number; attempt: number }
  /** A done map sent back to run again (a reduce could not read its output). */
  | { t: 'reopen'; kind: TaskKind; index: number }
  | { t: 'finish'; phase: string; message: string };

export interface ReplayedJob {
  submittedAt: number;
  done: Array<{ kind: TaskKind; index: number; outputFiles: string[] }>;
  attempts: Array<{ kind: TaskKind; index: number; attempts: number }>;
  /** Commits granted whose `done` never followed: the new coordinator finishes them. */
  commits: Array<{ kind: TaskKind; index: number; attempt: number }>;
  /** The outcome, when the journal recorded one (RESULT may not have been written). */
  finish: { phase: 'succeeded' | 'failed' | 'cancelled'; message: string } | undefined;
}

export class Journal {
  private fd: number | undefined;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'a');
  }

  append(entry: JournalEntry): void {
    if (this.fd === undefined) return;
    fs.writeSync(this.fd, JSON.stringify(entry) + '\n');
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  static replay(file: string): ReplayedJob {
    const out: ReplayedJob = { submittedAt: Date.now(), done: [], attempts: [], commits: [], finish: undefined };
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return out;
    }
    const done = new Map<string, { kind: TaskKind; index: number; outputFiles: string[] }>();
    const attempts = new Map<string, { kind: TaskKind; index: number; attempts: number }>();
    const commits = new Map<string, { kind: TaskKind; index: number; attempt: number }>();
    for (const line of text.split('\n')) {
      if (!line) continue;
      let e: JournalEntry;
      try {
        e = JSON.parse(line) as JournalEntry;
      } catch {
        continue;
      }
      if (e.t === 'submit') out.submittedAt = e.at;
      else if (e.t === 'done') {
        done.set(taskName(e.kind, e.index), { kind: e.kind, index: e.index, outputFiles: e.outputFiles });
        commits.delete(taskName(e.kind, e.index));
      } else if (e.t === 'commit') commits.set(taskName(e.kind, e.index), { kind: e.kind, index: e.index, attempt: e.attempt });
      else if (e.t === 'reopen') {
        done.delete(taskName(e.kind, e.index));
        commits.delete(taskName(e.kind, e.index));
      }
      else if (e.t === 'attempt') {
        const key = taskName(e.kind, e.index);
        const prev = attempts.get(key)?.attempts ?? 0;
        attempts.set(key, { kind: e.kind, index: e.index, attempts: Math.max(prev, e.attempt) });
      } else if (e.t === 'finish' && (e.phase === 'succeeded' || e.phase === 'failed' || e.phase === 'cancelled')) {
        out.finish = { phase: e.phase, message: e.message };
      }
    }
    out.done = [...done.values()];
    out.attempts = [...attempts.values()];
    out.commits = [...commits.values()];
    return out;
  }
}
