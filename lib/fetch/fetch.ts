import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { errorMessage } from '../errors.js';
import { tempPathFor } from '../storage/layout.js';
import { makeDirs } from '../storage/dirs.js';
import {
  ChecksumMismatchError,
  DatasetFetchError,
  FetchAbortedError,
  FileFetchError,
  HttpStatusError,
  InvalidFetchOptionsError,
  LocalIoError,
  SizeMismatchError,
  SourceNotFoundError,
} from './errors.js';
import { byteMeter, download, type Transferred } from './http.js';
import {
  compileFetchOptions,
  type CompiledFetchFile,
  type CompiledFetchOptions,
  type FetchOptions,
  type FetchOutcome,
} from './options.js';

export interface FetchedFile {
  name: string;
  /** Absolute path of the complete file. */
  path: string;
  outcome: FetchOutcome;
  bytes: number;
  /** Known when the file was transferred or verified; a skipped file without a manifest sum has none. */
  sha256?: string;
}

export interface FetchResult {
  dataset: string;
  /** `<data>/inputs/<dataset>`, absolute. */
  dir: string;
  /** In manifest order. */
  files: FetchedFile[];
}

const TEMP_TAG = 'fetch';
/** A temp file untouched this long belongs to a run that died, not one in progress (whose reads time out sooner). */
const STALE_TEMP_MS = 10 * 60_000;

/**
 * Fetches every file of a dataset into `<data>/inputs/<dataset>/`. Each file is written to a
 * temp name and renamed only once complete and verified, so the final name never holds a half
 * file. One file's failure does not stop the others; when any failed, a DatasetFetchError
 * listing them all is thrown after the rest have finished.
 */
export async function fetchDataset(options: FetchOptions): Promise<FetchResult> {
  const opts = compileFetchOptions(options);
  if (opts.from !== undefined) await requireDirectory(opts.from);
  try {
    makeDirs(opts.dir, 'dataset directory');
  } catch (err) {
    throw new InvalidFetchOptionsError(`Cannot use the data directory \`${opts.data}\`: ${errorMessage(err)}`, { cause: err });
  }
  await removeStaleTemps(opts);

  const totalBytes = opts.files.every((f) => f.size !== undefined)
    ? opts.files.reduce((sum, f) => sum + (f.size ?? 0), 0)
    : undefined;
  opts.onProgress({
    type: 'start',
    dataset: opts.dataset,
    dir: opts.dir,
    files: opts.files.length,
    ...(totalBytes !== undefined ? { totalBytes } : {}),
  });
  opts.logger.info('fetching', { files: opts.files.length, dir: opts.dir, from: opts.from });

  const results: Array<FetchedFile | undefined> = new Array(opts.files.length);
  const failures: Array<FileFetchError | undefined> = new Array(opts.files.length);
  let next = 0;
  const worker = async () => {
    while (next < opts.files.length && !opts.signal?.aborted) {
      const index = next++;
      const file = opts.files[index]!;
      try {
        results[index] = await fetchOne(opts, file);
      } catch (err) {
        if (FetchAbortedError.is(err)) throw err;
        const failure =
          FileFetchError.is(err)
            ? err
            : new LocalIoError(file.name, file.url?.href ?? opts.from ?? '', errorMessage(err), { cause: err });
        failures[index] = failure;
        opts.logger.error('failed', { file: file.name, error: failure.message });
        opts.onProgress({ type: 'file-failed', file: file.name, error: failure });
      }
    }
  };
  const workers = Array.from({ length: Math.min(opts.concurrency, opts.files.length) }, worker);
  const settled = await Promise.allSettled(workers);
  if (opts.signal?.aborted) throw new FetchAbortedError(`fetch of dataset \`${opts.dataset}\` aborted`);
  const crashed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (crashed) throw crashed.reason;

  const failed = failures.filter((f): f is FileFetchError => f !== undefined);
  if (failed.length > 0) throw new DatasetFetchError(opts.dataset, failed, opts.files.length);
  return { dataset: opts.dataset, dir: opts.dir, files: results.filter((r): r is FetchedFile => r !== undefined) };
}

async function fetchOne(opts: CompiledFetchOptions, file: CompiledFetchFile): Promise<FetchedFile> {
  const finalPath = path.join(opts.dir, file.name);
  const log = opts.logger.child({ file: file.name });

  if (!opts.force) {
    const present = await completeCopy(opts, file, finalPath);
    if (present) {
      log.info('already complete, skipped', { bytes: present.bytes });
      opts.onProgress({ type: 'file-done', file: file.name, outcome: 'skipped', bytes: present.bytes });
      return { name: file.name, path: finalPath, outcome: 'skipped', ...present };
    }
  }

  // A random tag per run keeps two fetches of the same dataset from writing one temp file.
  const temp = tempPathFor(finalPath, `${TEMP_TAG}-${randomBytes(4).toString('hex')}`);
  const outcome: FetchOutcome = opts.from !== undefined ? 'copied' : 'downloaded';
  const source = opts.from !== undefined ? path.join(opts.from, file.name) : file.url!.href;
  const started = Date.now();
  try {
    const got = await withRetries(opts, file, source, () => transfer(opts, file, source, temp));
    verify(opts, file, source, got);
    await syncFile(temp);
    await rename(temp, finalPath);
    log.info(outcome, { bytes: got.bytes, ms: Date.now() - started, source });
    opts.onProgress({ type: 'file-done', file: file.name, outcome, bytes: got.bytes });
    return { name: file.name, path: finalPath, outcome, bytes: got.bytes, sha256: got.sha256 };
  } catch (err) {
    await rm(temp, { force: true });
    if (FileFetchError.is(err) || FetchAbortedError.is(err)) throw err;
    throw new LocalIoError(file.name, source, `cannot write ${finalPath}: ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * A present file is complete when its size and sha256 match what the manifest says. Without a
 * sum, its presence is enough: fetch only ever renames complete files into place.
 */
async function completeCopy(
  opts: CompiledFetchOptions,
  file: CompiledFetchFile,
  finalPath: string,
): Promise<{ bytes: number; sha256?: string } | undefined> {
  const st = await stat(finalPath).catch(() => undefined);
  if (!st?.isFile()) return undefined;
  if (!opts.verify) return { bytes: st.size };
  if (file.size !== undefined && st.size !== file.size) {
    opts.logger.warn('present but wrong size, fetching again', { file: file.name, bytes: st.size, expected: file.size });
    return undefined;
  }
  if (file.sha256 === undefined) return { bytes: st.size };
  const actual = await hashFile(finalPath);
  if (actual !== file.sha256) {
    opts.logger.warn('present but sha256 differs, fetching again', { file: file.name, sha256: actual });
    return undefined;
  }
  return { bytes: st.size, sha256: actual };
}

function transfer(opts: CompiledFetchOptions, file: CompiledFetchFile, source: string, temp: string): Promise<Transferred> {
  const onBytes = (received: number, total: number | undefined) =>
    opts.onProgress({ type: 'bytes', file: file.name, received, ...(total !== undefined ? { total } : {}) });
  if (opts.from !== undefined) return copyLocal(file.name, source, temp, onBytes, opts.signal);
  return download({
    file: file.name,
    url: file.url!,
    dest: temp,
    timeoutMs: opts.timeoutMs,
    maxRedirects: opts.maxRedirects,
    ...(opts.signal ? { signal: opts.signal } : {}),
    onBytes,
  });
}

async function withRetries<T>(
  opts: CompiledFetchOptions,
  file: CompiledFetchFile,
  source: string,
  attempt: () => Promise<T>,
): Promise<T> {
  for (let n = 1; ; n++) {
    opts.onProgress({ type: 'file-start', file: file.name, source, attempt: n });
    try {
      return await attempt();
    } catch (err) {
      if (!FileFetchError.is(err) || !err.retryable || n > opts.retries) throw err;
      const delayMs = backoffDelay(opts, n, err);
      opts.logger.warn('retrying', { file: file.name, attempt: n, of: opts.retries + 1, delayMs, error: err.message });
      opts.onProgress({ type: 'retry', file: file.name, attempt: n, delayMs, error: err });
      try {
        await opts.sleep(delayMs, opts.signal);
      } catch (cause) {
        throw new FetchAbortedError(`fetch aborted while waiting to retry ${file.name}`, { cause });
      }
    }
  }
}

/**
 * Exponential with "equal jitter" (half fixed, half random), so parallel downloads that failed
 * together do not all come back at the same instant. A server's Retry-After is a floor.
 */
export function backoffDelay(
  opts: Pick<CompiledFetchOptions, 'retryDelayMs' | 'maxRetryDelayMs' | 'random'>,
  failedAttempt: number,
  err?: FileFetchError,
): number {
  const exp = Math.min(opts.maxRetryDelayMs, opts.retryDelayMs * 2 ** (failedAttempt - 1));
  let ms = Math.round(exp / 2 + (opts.random() * exp) / 2);
  if (HttpStatusError.is(err) && err.retryAfterSeconds !== undefined) {
    ms = Math.max(ms, Math.min(opts.maxRetryDelayMs, Math.ceil(err.retryAfterSeconds * 1000)));
  }
  return ms;
}

function verify(opts: CompiledFetchOptions, file: CompiledFetchFile, source: string, got: Transferred): void {
  if (!opts.verify) return;
  if (file.size !== undefined && got.bytes !== file.size) throw new SizeMismatchError(file.name, source, file.size, got.bytes);
  if (file.sha256 !== undefined && got.sha256 !== file.sha256) {
    throw new ChecksumMismatchError(file.name, source, file.sha256, got.sha256);
  }
}

async function copyLocal(
  name: string,
  source: string,
  dest: string,
  onBytes: (received: number, total: number | undefined) => void,
  signal: AbortSignal | undefined,
): Promise<Transferred> {
  const st = await stat(source).catch(() => undefined);
  if (!st?.isFile()) throw new SourceNotFoundError(name, source);
  const meter = byteMeter((received) => onBytes(received, st.size));
  const input = createReadStream(source);
  const out = createWriteStream(dest);
  let broke: 'read' | 'write' | undefined;
  input.on('error', () => (broke ??= 'read'));
  out.on('error', () => (broke ??= 'write'));
  try {
    await pipeline(input, meter, out, signal ? { signal } : {});
  } catch (err) {
    if (signal?.aborted) throw new FetchAbortedError(`fetch aborted while copying ${name}`, { cause: err });
    const what = broke === 'write' ? `cannot write ${dest}` : `cannot read ${source}`;
    throw new LocalIoError(name, source, `${what}: ${errorMessage(err)}`, { cause: err });
  }
  return meter.result();
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/** The rename must not publish a name whose data is still only in the page cache (the PVC may be remote). */
async function syncFile(file: string): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function requireDirectory(dir: string): Promise<void> {
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new InvalidFetchOptionsError(`Expected \`from\` to be a directory, got \`${dir}\``);
}

/** Temp files of this dataset's names left by a run that was killed (a Job's pod evicted, ^C twice). */
async function removeStaleTemps(opts: CompiledFetchOptions): Promise<void> {
  const entries = await readdir(opts.dir).catch(() => [] as string[]);
  for (const file of opts.files) {
    // Split a temp name around a marker tag so this follows tempPathFor's format, whatever it is.
    const [before = '', after = ''] = path.basename(tempPathFor(path.join(opts.dir, file.name), `${TEMP_TAG}-\0`)).split('\0');
    for (const entry of entries) {
      if (!entry.startsWith(before) || !entry.endsWith(after)) continue;
      if (!/^[0-9a-f]{8}$/.test(entry.slice(before.length, entry.length - after.length))) continue;
      const full = path.join(opts.dir, entry);
      const st = await stat(full).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > STALE_TEMP_MS) {
        await rm(full, { force: true });
        opts.logger.info('removed stale temp file', { file: file.name, path: full });
      }
    }
  }
}
