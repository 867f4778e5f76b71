import { KubemrError } from '../errors.js';

/** Options passed to fetch (flags, positional arguments) have a bad value. The message names both. */
export class InvalidFetchOptionsError extends KubemrError {
  override readonly code = 'INVALID_ARGUMENT';
}

/** A manifest file cannot be read, is not JSON, or an entry has a bad field. */
export class InvalidManifestError extends KubemrError {
  override readonly code = 'INVALID_ARGUMENT';
}

/**
 * One file of a dataset could not be fetched. `file` is its name inside the dataset, `source`
 * the URL or local path it came from, so a caller can say exactly which download broke.
 */
export abstract class FileFetchError extends KubemrError {
  /** Worth another attempt: the same request may succeed later. */
  abstract readonly retryable: boolean;
  constructor(
    readonly file: string,
    readonly source: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The server answered 404 or 410: the URL is wrong, and asking again will not fix it. */
export class RemoteNotFoundError extends FileFetchError {
  override readonly code = 'NOT_FOUND';
  readonly retryable = false;
  constructor(file: string, source: string, readonly status: number) {
    super(file, source, `${file}: ${source} answered HTTP ${status} (not found)`);
  }
}

/**
 * The server answered another non-2xx status. 408, 429 and 5xx are retried (honouring
 * Retry-After); any other 4xx is the request's fault and is not.
 */
export class HttpStatusError extends FileFetchError {
  override readonly code = 'UNAVAILABLE';
  readonly retryable: boolean;
  constructor(
    file: string,
    source: string,
    readonly status: number,
    statusText: string,
    /** Seconds from a Retry-After header, when the server sent one. */
    readonly retryAfterSeconds?: number,
  ) {
    super(file, source, `${file}: ${source} answered HTTP ${status}${statusText ? ` ${statusText}` : ''}`);
    this.retryable = status === 408 || status === 429 || status >= 500;
  }
}

/** No response at all: refused, reset, unknown host, or no bytes for longer than the timeout. */
export class ConnectionFailedError extends FileFetchError {
  override readonly code = 'UNAVAILABLE';
  readonly retryable = true;
  constructor(file: string, source: string, reason: string, options?: { cause?: unknown }) {
    super(file, source, `${file}: cannot download ${source}: ${reason}`, options);
  }
}

/** The connection ended before the declared Content-Length arrived. */
export class TruncatedDownloadError extends FileFetchError {
  override readonly code = 'UNAVAILABLE';
  readonly retryable = true;
  constructor(
    file: string,
    source: string,
    readonly received: number,
    readonly expected: number | undefined,
    options?: { cause?: unknown },
  ) {
    const got = expected === undefined ? `${received} bytes` : `${received} of ${expected} bytes`;
    super(file, source, `${file}: download of ${source} was cut off after ${got}`, options);
  }
}

/** The bytes arrived whole but are not the ones the manifest promised. */
export class ChecksumMismatchError extends FileFetchError {
  override readonly code = 'FAILED_PRECONDITION';
  readonly retryable = false;
  constructor(file: string, source: string, readonly expected: string, readonly actual: string) {
    super(file, source, `${file}: sha256 of ${source} is ${actual}, expected ${expected}`);
  }
}

/** The file is not the size the manifest promised (checked before hashing, so it is cheap). */
export class SizeMismatchError extends FileFetchError {
  override readonly code = 'FAILED_PRECONDITION';
  readonly retryable = false;
  constructor(file: string, source: string, readonly expected: number, readonly actual: number) {
    super(file, source, `${file}: ${source} is ${actual} bytes, expected ${expected}`);
  }
}

/** With `from`, the local directory has no such file. */
export class SourceNotFoundError extends FileFetchError {
  override readonly code = 'NOT_FOUND';
  readonly retryable = false;
  constructor(file: string, source: string) {
    super(file, source, `${file}: ${source} does not exist or is not a regular file`);
  }
}

/** Reading the source or writing the destination failed locally (permissions, disk full). */
export class LocalIoError extends FileFetchError {
  override readonly code = 'INTERNAL';
  readonly retryable = false;
  constructor(file: string, source: string, reason: string, options?: { cause?: unknown }) {
    super(file, source, `${file}: ${reason}`, options);
  }
}

/** The caller's AbortSignal fired; temp files were removed. */
export class FetchAbortedError extends KubemrError {
  override readonly code = 'FAILED_PRECONDITION';
}

/**
 * At least one file failed after its retries. The other files were still completed, so a
 * rerun only fetches what is missing. The message lists every failure.
 */
export class DatasetFetchError extends KubemrError {
  override readonly code = 'UNAVAILABLE';
  constructor(
    readonly dataset: string,
    readonly failures: readonly FileFetchError[],
    readonly total: number,
  ) {
    const lines = failures.map((f) => `  ${f.message}`).join('\n');
    super(`fetch of dataset \`${dataset}\` failed for ${failures.length} of ${total} files:\n${lines}`, {
      cause: failures[0],
    });
  }
}
