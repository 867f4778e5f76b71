import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { silentLogger, type Logger } from '../logger.js';
import { InvalidFetchOptionsError, type FileFetchError } from './errors.js';

/** One file of a dataset. */
export interface FetchFileSpec {
  /** Its name in `<data>/inputs/<dataset>/`: a single path segment not starting with a dot. */
  name: string;
  /** Where to download it from (http or https). Needed unless `from` is set. */
  url?: string;
  /** Expected sha256, hex. Verified after the transfer and used to tell a complete file from a stale one. */
  sha256?: string;
  /** Expected size in bytes; checked before hashing because it is cheap. */
  size?: number;
}

/**
 * What happens to a file, reported as it goes. `bytes` events are throttled by the transfer
 * itself (one per received chunk), so a renderer should redraw at its own pace.
 */
export type FetchProgressEvent =
  | { type: 'start'; dataset: string; dir: string; files: number; totalBytes?: number }
  | { type: 'file-start'; file: string; source: string; attempt: number }
  | { type: 'bytes'; file: string; received: number; total?: number }
  | { type: 'retry'; file: string; attempt: number; delayMs: number; error: FileFetchError }
  | { type: 'file-done'; file: string; outcome: FetchOutcome; bytes: number }
  | { type: 'file-failed'; file: string; error: FileFetchError };

/** `skipped`: already present and complete, nothing transferred. */
export type FetchOutcome = 'downloaded' | 'copied' | 'skipped';

export interface FetchOptions {
  /** Root of the shared volume (KUBEMR_DATA); files land in `<data>/inputs/<dataset>/`. */
  data: string;
  /** The directory name under `inputs/`: letters, digits, `.`, `_`, `-`. */
  dataset: string;
  /** The files to fetch; at least one, names unique. */
  files: readonly FetchFileSpec[];
  /** Copy `<from>/<name>` from this local directory instead of downloading. @default undefined */
  from?: string;
  /** Files transferred at the same time. @default 4 */
  concurrency?: number;
  /** Further attempts after a retryable failure (connection, cut transfer, 408/429/5xx). @default 4 */
  retries?: number;
  /** Delay before the first retry; doubled for each further one, with jitter. @default 500 */
  retryDelayMs?: number;
  /** Cap on the delay between attempts, Retry-After included. @default 30000 */
  maxRetryDelayMs?: number;
  /** Give up on a connection that sends nothing for this long. @default 30000 */
  timeoutMs?: number;
  /** Redirects followed per request. @default 5 */
  maxRedirects?: number;
  /**
   * Check `size` and `sha256` where the manifest gives them. Turning it off accepts whatever
   * the server sends (for a mirror whose copies differ) and treats any present file as complete.
   * @default true
   */
  verify?: boolean;
  /** Transfer every file again even if a complete copy is present. @default false */
  force?: boolean;
  /** @default silentLogger */
  logger?: Logger;
  /** Called for every progress event; must not throw. @default undefined */
  onProgress?: (event: FetchProgressEvent) => void;
  /** Stops transfers and removes their temp files. @default undefined */
  signal?: AbortSignal;
  /** Waits between attempts; tests inject one that returns at once. @default an abortable timer */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Source of retry jitter in [0, 1). @default Math.random */
  random?: () => number;
}

export interface CompiledFetchFile {
  readonly name: string;
  readonly url?: URL;
  readonly sha256?: string;
  readonly size?: number;
}

/** Options after validation and defaults; only `compileFetchOptions` makes one. */
export interface CompiledFetchOptions {
  readonly data: string;
  readonly dataset: string;
  /** `<data>/inputs/<dataset>`, absolute. */
  readonly dir: string;
  readonly files: readonly CompiledFetchFile[];
  readonly from?: string;
  readonly concurrency: number;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly maxRetryDelayMs: number;
  readonly timeoutMs: number;
  readonly maxRedirects: number;
  readonly verify: boolean;
  readonly force: boolean;
  readonly logger: Logger;
  readonly onProgress: (event: FetchProgressEvent) => void;
  readonly signal?: AbortSignal;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly random: () => number;
}

/** How a bad value appears in a message: strings bare, everything else as JSON would show it. */
export function show(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined || typeof value === 'number' || typeof value === 'function') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export function expected(field: string, what: string, value: unknown): InvalidFetchOptionsError {
  return new InvalidFetchOptionsError(`Expected \`${field}\` to be ${what}, got \`${show(value)}\``);
}

/** A dataset or file name is one safe path segment; a leading dot is reserved for temp files. */
export const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
export const SHA256 = /^[0-9a-fA-F]{64}$/;

function integer(field: string, value: unknown, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw expected(field, `an integer >= ${min}`, value);
  }
  return value;
}

/** An http(s) URL, or an error naming `field`. Shared with manifest parsing. */
export function httpUrl(value: unknown, fail: (what: string) => Error): URL {
  if (typeof value !== 'string') throw fail('an http(s) URL');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw fail('an http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw fail('an http(s) URL');
  return url;
}

const abortableSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  delay(ms, undefined, signal ? { signal } : {});

/** Validates once, so the transfer code can trust every value. Throws InvalidFetchOptionsError. */
export function compileFetchOptions(options: FetchOptions): CompiledFetchOptions {
  if (typeof options !== 'object' || options === null) throw expected('options', 'an object', options);
  const { data, dataset, files, from } = options;
  if (typeof data !== 'string' || data === '') throw expected('data', 'a directory path', data);
  if (typeof dataset !== 'string' || !SEGMENT.test(dataset)) {
    throw expected('dataset', 'a name of letters, digits, `.`, `_` or `-`', dataset);
  }
  if (from !== undefined && (typeof from !== 'string' || from === '')) {
    throw expected('from', 'a directory path', from);
  }
  if (!Array.isArray(files) || files.length === 0) throw expected('files', 'a non-empty list', files);

  const seen = new Set<string>();
  const compiled = files.map((file: FetchFileSpec, i): CompiledFetchFile => {
    const at = `files[${i}]`;
    if (typeof file !== 'object' || file === null) throw expected(at, 'an object', file);
    if (typeof file.name !== 'string' || !SEGMENT.test(file.name)) {
      throw expected(`${at}.name`, 'a file name without `/` or a leading `.`', file.name);
    }
    if (seen.has(file.name)) throw expected(`${at}.name`, 'unique', file.name);
    seen.add(file.name);
    let url: URL | undefined;
    if (file.url !== undefined || from === undefined) {
      url = httpUrl(file.url, (what) => expected(`${at}.url`, what, file.url));
    }
    if (file.sha256 !== undefined && (typeof file.sha256 !== 'string' || !SHA256.test(file.sha256))) {
      throw expected(`${at}.sha256`, '64 hex digits', file.sha256);
    }
    if (file.size !== undefined) integer(`${at}.size`, file.size, 0, 0);
    return {
      name: file.name,
      ...(url ? { url } : {}),
      ...(file.sha256 !== undefined ? { sha256: file.sha256.toLowerCase() } : {}),
      ...(file.size !== undefined ? { size: file.size } : {}),
    };
  });

  const retryDelayMs = integer('retryDelayMs', options.retryDelayMs, 0, 500);
  const maxRetryDelayMs = integer('maxRetryDelayMs', options.maxRetryDelayMs, 0, 30_000);
  if (maxRetryDelayMs < retryDelayMs) {
    throw expected('maxRetryDelayMs', `an integer >= retryDelayMs (${retryDelayMs})`, maxRetryDelayMs);
  }
  for (const fn of ['onProgress', 'sleep', 'random'] as const) {
    if (options[fn] !== undefined && typeof options[fn] !== 'function') throw expected(fn, 'a function', options[fn]);
  }
  if (options.verify !== undefined && typeof options.verify !== 'boolean') {
    throw expected('verify', 'a boolean', options.verify);
  }
  if (options.force !== undefined && typeof options.force !== 'boolean') {
    throw expected('force', 'a boolean', options.force);
  }

  const absData = path.resolve(data);
  return {
    data: absData,
    dataset,
    dir: path.join(absData, 'inputs', dataset),
    files: compiled,
    ...(from !== undefined ? { from: path.resolve(from) } : {}),
    concurrency: integer('concurrency', options.concurrency, 1, 4),
    retries: integer('retries', options.retries, 0, 4),
    retryDelayMs,
    maxRetryDelayMs,
    timeoutMs: integer('timeoutMs', options.timeoutMs, 1, 30_000),
    maxRedirects: integer('maxRedirects', options.maxRedirects, 0, 5),
    verify: options.verify ?? true,
    force: options.force ?? false,
    logger: (options.logger ?? silentLogger).child({ component: 'fetch', dataset }),
    onProgress: options.onProgress ?? (() => {}),
    ...(options.signal ? { signal: options.signal } : {}),
    sleep: options.sleep ?? abortableSleep,
    random: options.random ?? Math.random,
  };
}
