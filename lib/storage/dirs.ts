import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PathNotWritableError } from '../errors.js';

/**
 * Creating and probing the directories a job writes (its output, the data directory).
 *
 * Node 20's `mkdirSync(dir, { recursive: true })` never returns when `mkdir` answers ENOENT
 * although the parent exists (procfs does, for `/proc/nope`): it makes the parent (EEXIST),
 * retries the child (ENOENT), and so on at 100% CPU, inside one synchronous call, so no signal
 * handler runs either. `makeDirs` walks the path itself and turns every refusal into an error.
 */

const code = (err: unknown): string | undefined => (err as NodeJS.ErrnoException).code;

function reason(err: unknown, dir: string): string {
  switch (code(err)) {
    case 'ENOENT':
      return `\`${path.dirname(dir)}\` does not accept new directories`;
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'ENOTDIR':
    case 'EEXIST':
      return `\`${dir}\` is not a directory`;
    default:
      return (err as Error).message;
  }
}

/**
 * Creates `dir` and any missing parents; returns the directories it created, outermost first
 * (so a caller that gives up can remove them). Throws a PathNotWritableError naming `label`.
 */
export function makeDirs(dir: string, label = 'directory'): string[] {
  const abs = path.resolve(dir);
  const missing: string[] = [];
  for (let head = abs; ; head = path.dirname(head)) {
    let st: fs.Stats;
    try {
      st = fs.statSync(head);
    } catch (err) {
      // ENOTDIR: a parent is a file; walking up finds which.
      if ((code(err) !== 'ENOENT' && code(err) !== 'ENOTDIR') || path.dirname(head) === head) throw new PathNotWritableError(`Cannot create the ${label} \`${abs}\`: ${reason(err, head)}`, { path: abs, cause: err });
      missing.unshift(head);
      continue;
    }
    if (!st.isDirectory()) throw new PathNotWritableError(`Cannot create the ${label} \`${abs}\`: \`${head}\` is a file, not a directory`, { path: abs });
    break;
  }
  const made: string[] = [];
  for (const d of missing) {
    try {
      fs.mkdirSync(d);
      made.push(d);
    } catch (err) {
      // Made meanwhile by someone else: as good as ours.
      if (code(err) === 'EEXIST' && fs.statSync(d, { throwIfNoEntry: false })?.isDirectory()) continue;
      removeDirs(made);
      throw new PathNotWritableError(`Cannot create the ${label} \`${abs}\`: ${reason(err, d)}`, { path: abs, cause: err });
    }
  }
  return made;
}

/**
 * Makes sure files can be written in `dir`: creates it (see makeDirs), then writes and removes
 * a probe file, the way a job will write there. Returns the directories it created.
 */
export function probeWritableDir(dir: string, label = 'directory'): string[] {
  const made = makeDirs(dir, label);
  const abs = path.resolve(dir);
  const probe = path.join(abs, `.kubemr-probe-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  try {
    fs.writeFileSync(probe, 'probe\n', { flag: 'wx' });
  } catch (err) {
    removeDirs(made);
    throw new PathNotWritableError(`Cannot write in the ${label} \`${abs}\`: ${reason(err, abs)}`, { path: abs, cause: err });
  } finally {
    fs.rmSync(probe, { force: true });
  }
  return made;
}

/** Removes directories `makeDirs` created, innermost first, as long as they are empty. */
export function removeDirs(made: readonly string[]): void {
  for (const d of [...made].reverse()) {
    try {
      fs.rmdirSync(d);
    } catch {
      return; // not empty (someone wrote there) or gone: leave the rest
    }
  }
}
