import fs from 'node:fs';
import path from 'node:path';
import { BadRequestError, NotFoundError } from './http-errors.js';

/**
 * Every file the dashboard serves goes through here. A name is one path segment from a
 * closed alphabet (so `..`, `%2e%2e`, `/etc/passwd` and `a/b` never reach the filesystem), and
 * the file must be a regular file — not a symlink, a device, a FIFO or a socket — with one name
 * only (a hard link planted in an output directory could be any file of the same volume, the
 * token file say), whose real path lies inside the real path of the directory it was asked from.
 */
const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;

/** Whether `value` is a name checkName accepts. */
export const isPlainName = (value: string): boolean => NAME.test(value) && !value.includes('..');

export function checkName(field: string, value: string): string {
  if (!isPlainName(value)) {
    throw new BadRequestError(`Expected \`${field}\` to be a plain file name (letters, digits, '.', '_', '-'), got \`${value}\``);
  }
  return value;
}

/** Whether the dashboard may serve a file with these stats: a regular file with a single link. */
export const isServable = (st: fs.Stats): boolean => st.isFile() && st.nlink === 1;

/** Why a file is not served, for the 404's message. */
export function notServable(st: fs.Stats): string {
  if (st.isFile()) return `it has ${st.nlink} hard links, and only files with one are served`;
  return 'it is not a regular file';
}

/** The real path of `dir/name`, or NotFoundError; never a path outside `dir`. */
export function resolveInside(dir: string, name: string, what: string): { file: string; size: number; mtimeMs: number } {
  let realDir: string;
  try {
    realDir = fs.realpathSync(dir);
  } catch {
    throw new NotFoundError(`No ${what}: its directory does not exist`);
  }
  const file = path.join(realDir, name);
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    throw new NotFoundError(`No ${what}`);
  }
  if (!isServable(st)) throw new NotFoundError(`No ${what}: ${notServable(st)}`);
  const real = fs.realpathSync(file);
  if (path.dirname(real) !== realDir) throw new NotFoundError(`No ${what}`);
  return { file: real, size: st.size, mtimeMs: st.mtimeMs };
}

/** Regular files (no symlinks, no temp files) in `dir` whose names match `pattern`. */
export function listFiles(dir: string, pattern: RegExp): Array<{ name: string; size: number; modifiedAt: number }> {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out: Array<{ name: string; size: number; modifiedAt: number }> = [];
  for (const name of names) {
    if (!pattern.test(name) || !NAME.test(name)) continue;
    try {
      const st = fs.lstatSync(path.join(dir, name));
      if (isServable(st)) out.push({ name, size: st.size, modifiedAt: st.mtimeMs });
    } catch {
      // vanished between readdir and lstat
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}

/** At most `max` bytes from the start of a file. */
export function readHead(file: string, max: number): { text: string; truncated: boolean } {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(size, max));
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return { text: buf.subarray(0, n).toString('utf8'), truncated: size > max };
  } finally {
    fs.closeSync(fd);
  }
}
