import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { Command } from 'commander';
import { filesUnder } from '../../lib/coordinator/inputs.js';
import { InputNotFoundError, InvalidJobSpecError, KubemrError } from '../../lib/errors.js';
import { makeDirs } from '../../lib/storage/dirs.js';
import { isPlainName } from '../dashboard/safe-files.js';
import { clientToken, exitWithError } from './common.js';

/**
 * `kubemr upload` and `kubemr download`: a job's own data onto the data volume and its results
 * back, through the dashboard's files API (cmd/dashboard/files.ts), with the token submit uses.
 */
interface FilesFlags {
  dashboard?: string;
  token?: string;
  data?: string;
  quiet?: boolean;
}

/** An error the dashboard answered with, its message as the dashboard wrote it. */
export class DashboardRequestError extends KubemrError {
  override readonly code = 'FAILED_PRECONDITION';
}

const withFlags = (c: Command): Command =>
  c
    .option('--dashboard <url>', 'the dashboard (default $KUBEMR_DASHBOARD or http://127.0.0.1:8081)')
    .option('--token <token>', 'token (default $KUBEMR_TOKEN or the data directory\'s token file)')
    .option('--data <dir>', 'local data directory whose token file to use')
    .option('-q, --quiet', 'no summary line');

/** `a/b/c` as checked names; the message says which name is not allowed. */
function remoteParts(flag: string, p: string): string[] {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  const bad = parts.find((s) => !isPlainName(s));
  if (bad !== undefined) {
    throw new InvalidJobSpecError(`Expected ${flag} to be a path of plain names (letters, digits, '.', '_', '-'; no '..'), got \`${p}\`: \`${bad}\` is not allowed`);
  }
  return parts;
}

const urlPath = (parts: string[]) => `/api/files/${parts.map(encodeURIComponent).join('/')}`;

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  res: http.IncomingMessage;
}

/** One request; resolves with the response unread. The body, when given, is streamed from `file`. */
function request(base: URL, method: string, urlPathname: string, token: string | undefined, file?: { path: string; size: number }): Promise<Reply> {
  const lib = base.protocol === 'https:' ? https : http;
  return new Promise<Reply>((resolve, reject) => {
    const req = lib.request(
      new URL(urlPathname, base),
      {
        method,
        headers: {
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
          ...(file ? { 'Content-Type': 'application/octet-stream', 'Content-Length': String(file.size) } : {}),
        },
      },
      (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, res }),
    );
    req.on('error', (err) => reject(new DashboardRequestError(`Cannot reach the dashboard at ${base.origin}: ${err.message}`)));
    if (!file) {
      req.end();
      return;
    }
    const body = fs.createReadStream(file.path);
    // A refusal can come before the whole body is sent (too large): it is the answer, not the broken pipe.
    body.on('error', (err) => req.destroy(err));
    body.pipe(req);
  });
}

async function readAll(res: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The dashboard's error message for a non-2xx reply. */
async function failure(what: string, r: Reply): Promise<DashboardRequestError> {
  const text = (await readAll(r.res)).toString('utf8');
  let message = text.trim() || `HTTP ${r.status}`;
  try {
    message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
  } catch {
    // not JSON: the text itself
  }
  return new DashboardRequestError(`${what}: ${message} (HTTP ${r.status})`);
}

function dashboardUrl(flags: FilesFlags): URL {
  const raw = flags.dashboard ?? process.env.KUBEMR_DASHBOARD ?? 'http://127.0.0.1:8081';
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new InvalidJobSpecError(`Expected \`--dashboard\` to be a URL such as http://127.0.0.1:8081, got \`${raw}\``);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidJobSpecError(`Expected \`--dashboard\` to be an http or https URL, got \`${raw}\``);
  return u;
}

/** Runs `fn` over `items`, `n` at a time, stopping at the first error. */
async function eachLimited<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const lane = async () => {
    while (failed === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, lane));
  if (failed !== undefined) throw failed;
}

const human = (bytes: number) => (bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${bytes} bytes`);

export function uploadCommand(): Command {
  return withFlags(new Command('upload'))
    .description('put local files onto the data volume, under inputs/, through the dashboard')
    .usage('[options] <local...> <remote-dir>')
    .argument('<paths...>', 'local files or directories (a directory\'s files as a job reads it: names starting with . or _ skipped), then the remote directory under inputs/ (e.g. inputs/books): a file lands at <remote-dir>/<its name>, a directory\'s files at <remote-dir>/<their path under it>')
    .action(async (paths: string[], flags: FilesFlags) => {
      try {
        if (paths.length < 2) throw new InvalidJobSpecError('Expected local files or directories and then the remote directory (e.g. `kubemr upload books inputs/books`), got one path');
        await upload(paths.slice(0, -1), paths.at(-1)!, flags);
      } catch (err) {
        exitWithError(err);
      }
    });
}

async function upload(locals: string[], remoteDir: string, flags: FilesFlags): Promise<void> {
  const base = dashboardUrl(flags);
  const dir = remoteParts('the remote directory', remoteDir);
  if (dir[0] !== 'inputs') throw new InvalidJobSpecError(`Expected the remote directory to be under inputs/ (jobs read their inputs there), got \`${remoteDir}\``);
  // Every file and its remote name, checked before anything is sent.
  const plan: Array<{ local: string; remote: string[]; size: number }> = [];
  for (const l of locals) {
    const st = fs.statSync(l, { throwIfNoEntry: false });
    if (!st) throw new InputNotFoundError(`Local path \`${l}\` does not exist`, { path: l });
    const rels = st.isDirectory() ? filesUnder(l) : st.isFile() ? [path.basename(l)] : [];
    if (rels.length === 0) throw new InputNotFoundError(st.isDirectory() ? `Local directory \`${l}\` holds no files (names starting with '.' or '_' are skipped)` : `Local path \`${l}\` is not a regular file`, { path: l });
    for (const rel of rels) {
      const local = st.isDirectory() ? path.join(l, rel) : l;
      const bad = rel.split('/').find((s) => !isPlainName(s));
      if (bad !== undefined) throw new InvalidJobSpecError(`Cannot upload \`${local}\`: names on the volume are letters, digits, '.', '_' and '-', and \`${bad}\` is not`);
      plan.push({ local, remote: [...dir, ...rel.split('/')], size: fs.statSync(local).size });
    }
  }
  const token = clientToken(flags.token, flags.data);
  let bytes = 0;
  await eachLimited(plan, 4, async (f) => {
    const r = await request(base, 'PUT', urlPath(f.remote), token, { path: f.local, size: f.size });
    if (r.status !== 201) throw await failure(`Upload of \`${f.local}\` to \`${f.remote.join('/')}\` refused`, r);
    r.res.resume();
    bytes += f.size;
  });
  if (!flags.quiet) process.stderr.write(`kubemr: uploaded ${plan.length} file${plan.length === 1 ? '' : 's'} (${human(bytes)}) to ${dir.join('/')}/ on ${base.origin}\n`);
}

export function downloadCommand(): Command {
  return withFlags(new Command('download'))
    .description('get files from the data volume (a job\'s results, its logs, inputs) through the dashboard')
    .argument('<remote>', 'a file or directory on the volume, e.g. jobs/<job id>/output')
    .argument('<local-dir>', 'where to write: a file lands at <local-dir>/<its name>, a directory\'s files at <local-dir>/<their path under it>')
    .action(async (remote: string, localDir: string, flags: FilesFlags) => {
      try {
        await download(remote, localDir, flags);
      } catch (err) {
        exitWithError(err);
      }
    });
}

/** Writes a response body to `file` through a temp name beside it. */
async function save(res: http.IncomingMessage, file: string): Promise<number> {
  makeDirs(path.dirname(file), 'download directory');
  const tmp = path.join(path.dirname(file), `.download-${crypto.randomBytes(6).toString('hex')}`);
  let bytes = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const out = fs.createWriteStream(tmp, { flags: 'wx' });
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('aborted', () => reject(new DashboardRequestError(`The download of \`${file}\` was cut off`)));
      res.on('error', reject);
      out.on('error', reject);
      out.on('finish', () => (res.complete ? resolve() : reject(new DashboardRequestError(`The download of \`${file}\` was cut off`))));
      res.pipe(out);
    });
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared !== bytes) throw new DashboardRequestError(`The download of \`${file}\` was cut off: ${bytes} of ${declared} bytes`);
    fs.renameSync(tmp, file);
    return bytes;
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

async function download(remote: string, localDir: string, flags: FilesFlags): Promise<void> {
  const base = dashboardUrl(flags);
  const parts = remoteParts('the remote path', remote);
  const token = clientToken(flags.token, flags.data);
  const first = await request(base, 'GET', urlPath(parts), token);
  if (first.status !== 200) throw await failure(`Download of \`${parts.join('/')}\` refused`, first);
  let count = 0;
  let bytes = 0;
  if (first.headers['x-kubemr-entry'] === 'directory') {
    const listing = JSON.parse((await readAll(first.res)).toString('utf8')) as { files: Array<{ path: string }> };
    // Names from the dashboard are checked as the dashboard checks ours: nothing lands outside localDir.
    const files = listing.files.map((f) => remoteParts('a listed file', f.path));
    await eachLimited(files, 4, async (rel) => {
      const r = await request(base, 'GET', urlPath([...parts, ...rel]), token);
      if (r.status !== 200) throw await failure(`Download of \`${[...parts, ...rel].join('/')}\` refused`, r);
      const n = await save(r.res, path.join(localDir, ...rel));
      bytes += n;
      count++;
    });
  } else {
    bytes += await save(first.res, path.join(localDir, parts.at(-1) ?? 'download'));
    count = 1;
  }
  if (!flags.quiet) process.stderr.write(`kubemr: downloaded ${count} file${count === 1 ? '' : 's'} (${human(bytes)}) from ${parts.join('/') || '/'} to ${localDir}\n`);
}
