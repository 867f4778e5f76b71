import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type Request, type Response, Router } from 'express';
import type { Auth } from './auth.js';
import { BadRequestError, ConflictError, NotFoundError, PayloadTooLargeError } from './http-errors.js';
import { checkName, isServable, notServable } from './safe-files.js';

/**
 * The data volume's files over HTTP, for `kubemr upload` and `kubemr download` (and curl):
 *
 *   GET /api/files/<path>   a file's bytes, or for a directory the JSON list of the files under it
 *   PUT /api/files/<path>   the request body becomes that file; only under `inputs/`
 *
 * Both need the token, as submit does: the volume holds users' data. A path is a list of plain
 * names (checkName: no `..`, no `/` inside a name, no hidden names), so it can only name a
 * place under the data directory; every existing component must be a real directory, not a
 * symlink, and the file a regular file with one link (isServable), so neither a symlink nor a
 * hard link on the volume leads to another file. The
 * directory's own secrets (`token`, `coordinator.lock`) are never served. An upload is written
 * to a hidden temp name and renamed into place once whole, and refused past `maxFileBytes`.
 */
export interface FilesOptions {
  /** The data volume. */
  dataDir: string;
  /** Largest file an upload may write. */
  maxFileBytes: number;
}

/** Uploads land under here: the jobs' inputs, never the coordinator's state. */
export const UPLOAD_ROOT = 'inputs';
const PRIVATE = new Set(['token', 'coordinator.lock']);
const MAX_DEPTH = 32;
/** A directory listing stops here: list a subdirectory instead. */
export const MAX_LISTED = 100_000;

/** The request's path as checked names; `[]` is the data directory itself. */
function segments(req: Request): string[] {
  const raw = (req.params as { path?: string | string[] }).path;
  const parts = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter((p) => p !== '');
  if (parts.length > MAX_DEPTH) throw new BadRequestError(`Expected a path of at most ${MAX_DEPTH} names, got ${parts.length}`);
  for (const p of parts) checkName('path', p);
  if (PRIVATE.has(parts[0] ?? '')) throw new NotFoundError(`No file \`${parts.join('/')}\``);
  return parts;
}

/** Walks `parts` from the data directory's real path, refusing symlinks; undefined if a component is missing. */
function lookup(dataDir: string, parts: string[]): { abs: string; st: fs.Stats } | undefined {
  let abs: string;
  try {
    abs = fs.realpathSync(dataDir);
  } catch {
    return undefined;
  }
  let st = fs.statSync(abs);
  for (const p of parts) {
    if (!st.isDirectory()) return undefined;
    abs = path.join(abs, p);
    const next = fs.lstatSync(abs, { throwIfNoEntry: false });
    if (!next || next.isSymbolicLink()) return undefined;
    st = next;
  }
  return { abs, st };
}

/** Regular files under `dir`, `/`-separated relative paths in byte order, skipping hidden names and symlinks. */
function listUnder(dir: string, isDataDir: boolean): Array<{ path: string; size: number; modifiedAt: number }> {
  const out: Array<{ path: string; size: number; modifiedAt: number }> = [];
  const walk = (abs: string, rel: string, depth: number) => {
    for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
      if (e.name.startsWith('.') || (isDataDir && depth === 0 && PRIVATE.has(e.name))) continue;
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory() && depth < MAX_DEPTH) walk(path.join(abs, e.name), r, depth + 1);
      else if (e.isFile()) {
        if (out.length >= MAX_LISTED) throw new PayloadTooLargeError(`More than ${MAX_LISTED} files under this directory; list a subdirectory`);
        const st = fs.lstatSync(path.join(abs, e.name), { throwIfNoEntry: false });
        if (st && isServable(st)) out.push({ path: r, size: st.size, modifiedAt: st.mtimeMs });
      }
    }
  };
  walk(dir, '', 0);
  return out.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
}

/** Sends a file opened without following a symlink, checked again on the open descriptor (it may have changed since the lookup). */
function sendFile(res: Response, file: string, shown: string): Promise<void> {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    throw new NotFoundError(`No file \`${shown}\``);
  }
  const st = fs.fstatSync(fd);
  if (!isServable(st)) {
    fs.closeSync(fd);
    throw new NotFoundError(`No file \`${shown}\`: ${notServable(st)}`);
  }
  res.status(200).set({ 'Content-Type': 'application/octet-stream', 'Content-Length': String(st.size), 'Cache-Control': 'no-store', 'X-Kubemr-Entry': 'file' });
  return new Promise<void>((resolve, reject) => {
    const s = fs.createReadStream('', { fd });
    s.on('error', reject);
    res.on('close', () => {
      s.destroy();
      resolve();
    });
    s.pipe(res);
  });
}

/** Makes each missing directory of `parts` under the data directory, refusing symlinks on the way. */
function makeDirs(dataDir: string, parts: string[]): string {
  let abs: string;
  try {
    abs = fs.realpathSync(dataDir);
  } catch {
    throw new NotFoundError(`The data directory \`${dataDir}\` does not exist`);
  }
  for (const p of parts) {
    abs = path.join(abs, p);
    let st = fs.lstatSync(abs, { throwIfNoEntry: false });
    if (!st) {
      try {
        fs.mkdirSync(abs);
        continue;
      } catch (err) {
        // Another upload made it first.
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        st = fs.lstatSync(abs);
      }
    }
    if (st.isSymbolicLink() || !st.isDirectory()) throw new BadRequestError(`Path \`${parts.join('/')}\`: \`${p}\` is not a directory`);
  }
  return abs;
}

function checkDeclaredSize(req: Request, max: number): void {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > max) {
    throw new PayloadTooLargeError(`Upload of ${declared} bytes is larger than the limit of ${max} bytes (the dashboard's \`--upload-limit\`)`);
  }
}

/** Streams the request body into `file` through a temp name, at most `max` bytes. */
async function receive(req: Request, file: string, max: number): Promise<number> {
  const tmp = path.join(path.dirname(file), `.upload-${crypto.randomBytes(6).toString('hex')}`);
  const out = fs.createWriteStream(tmp, { flags: 'wx', mode: 0o644 });
  let bytes = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (err: unknown) => {
        req.unpipe(out);
        out.destroy();
        reject(err);
      };
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > max) fail(new PayloadTooLargeError(`Upload is larger than the limit of ${max} bytes (the dashboard's \`--upload-limit\`)`));
      });
      req.on('aborted', () => fail(new BadRequestError('The upload was cut off before its end')));
      req.on('error', fail);
      out.on('error', fail);
      out.on('finish', () => (req.complete ? resolve() : reject(new BadRequestError('The upload was cut off before its end'))));
      req.pipe(out);
    });
    fs.renameSync(tmp, file);
    return bytes;
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

export function filesRouter(o: FilesOptions, auth: Auth): Router {
  const r = Router();
  r.use(auth.require());

  const read = async (req: Request, res: Response) => {
    const parts = segments(req);
    const shown = parts.join('/');
    const found = lookup(o.dataDir, parts);
    if (!found) throw new NotFoundError(`No file or directory \`${shown}\` in the data directory`);
    if (found.st.isDirectory()) {
      res.set({ 'Cache-Control': 'no-store', 'X-Kubemr-Entry': 'directory' }).json({ path: shown, files: listUnder(found.abs, parts.length === 0) });
      return;
    }
    if (!isServable(found.st)) throw new NotFoundError(`No file \`${shown}\`: ${notServable(found.st)}`);
    await sendFile(res, found.abs, shown);
  };
  r.get('/', read);
  r.get('/{*path}', read);

  r.put('/{*path}', async (req, res) => {
    const parts = segments(req);
    const shown = parts.join('/');
    if (parts[0] !== UPLOAD_ROOT || parts.length < 2) {
      throw new BadRequestError(`Expected an upload path under \`${UPLOAD_ROOT}/\`, got \`${shown}\``);
    }
    try {
      checkDeclaredSize(req, o.maxFileBytes);
      const dir = makeDirs(o.dataDir, parts.slice(0, -1));
      const file = path.join(dir, parts.at(-1)!);
      const st = fs.lstatSync(file, { throwIfNoEntry: false });
      if (st && !st.isFile()) throw new BadRequestError(`Path \`${shown}\` exists and is not a regular file`);
      const size = await receive(req, file, o.maxFileBytes);
      res.status(201).json({ path: shown, size });
    } catch (err) {
      // The rest of a refused body is not read: the connection ends with the answer.
      if (!req.complete) res.set('Connection', 'close');
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
        throw new ConflictError(`The data volume is not writable at \`${shown}\` (${code}): the dashboard needs \`${UPLOAD_ROOT}/\` mounted writable`);
      }
      if (code === 'ENOSPC' || code === 'EDQUOT') throw new PayloadTooLargeError(`The data volume is full (${code}); nothing was written at \`${shown}\``);
      throw err;
    }
  });

  return r;
}
