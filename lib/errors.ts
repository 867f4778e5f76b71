/**
 * One error class per failure. `code` is stable and machine-readable; the gRPC and HTTP
 * adapters each map it to a status in one place (lib/protocol/status.ts, the dashboard's http errors).
 *
 * Errors carry the fields that say what failed (`jobId`, `path`, `app`, ...). Several copies of
 * this package can live in one process (an app's own dependency next to the CLI's), so errors
 * are recognised by a brand under a registry symbol, not by `instanceof`: `isKubemrError(err)`
 * and `JobNotFoundError.is(err)` hold for an error thrown by any copy.
 */
export type KubemrErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_EXHAUSTED'
  | 'UNAVAILABLE'
  | 'INTERNAL';

/** The brand: the names of the error's classes, from its own up to KubemrError. */
const BRAND = Symbol.for('kubemr.error');

/** A field value an error carries into logs and API answers. */
export type ErrorField = string | number | boolean | undefined;

interface Branded {
  readonly [BRAND]: readonly string[];
  readonly code: KubemrErrorCode;
  readonly message: string;
}

export class KubemrError extends Error {
  readonly code: KubemrErrorCode = 'INTERNAL';
  declare readonly [BRAND]: readonly string[];
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    const names: string[] = [];
    for (let c: unknown = new.target; typeof c === 'function' && c !== Error; c = Object.getPrototypeOf(c)) names.push((c as { name: string }).name);
    // Not enumerable: the brand is not a field of the error.
    Object.defineProperty(this, BRAND, { value: names, enumerable: false });
  }

  /**
   * Whether `err` is an error of this class (or a subclass), thrown by any copy of the package:
   * `JobNotFoundError.is(err)`.
   */
  static is<T extends abstract new (...args: never[]) => KubemrError>(this: T, err: unknown): err is InstanceType<T> {
    return isKubemrError(err) && err[BRAND].includes(this.name);
  }
}

/** Whether `err` is a KubemrError of any class from any copy of the package. */
export function isKubemrError(err: unknown): err is KubemrError {
  return typeof err === 'object' && err !== null && Array.isArray((err as Partial<Branded>)[BRAND]);
}

/** A job spec, flag or request field has a bad value. The message names the field and the value. */
export class InvalidJobSpecError extends KubemrError {
  override readonly code = 'INVALID_ARGUMENT';
  /** The field, when one field is at fault. */
  readonly field: string | undefined;
  constructor(message: string, options?: { field?: string; cause?: unknown }) {
    super(message, options);
    this.field = options?.field;
  }
}

/** An option of a library class (Coordinator, worker, server, executor) has a bad value. */
export class InvalidOptionError extends KubemrError {
  override readonly code = 'INVALID_ARGUMENT';
  readonly option: string;
  constructor(message: string, options: { option: string; cause?: unknown }) {
    super(message, options);
    this.option = options.option;
  }
}

/** An input path does not exist, is not a regular file, or a glob matched nothing. */
export class InputNotFoundError extends KubemrError {
  override readonly code = 'INVALID_ARGUMENT';
  /** The path or pattern as given. */
  readonly path: string;
  constructor(message: string, options: { path: string; cause?: unknown }) {
    super(message, options);
    this.path = options.path;
  }
}

/** Compressed input is corrupt, truncated, or larger than can be held decompressed; the message names the file. */
export class CompressedInputError extends KubemrError {
  override readonly code = 'INVALID_ARGUMENT';
  readonly path: string;
  constructor(message: string, options: { path: string; cause?: unknown }) {
    super(message, options);
    this.path = options.path;
  }
}

/**
 * A directory a job must write (its output directory, the data directory) cannot be created or
 * written: a bad path given by the user, found before any work starts. The message names it.
 */
export class PathNotWritableError extends KubemrError {
  override readonly code = 'INVALID_ARGUMENT';
  readonly path: string;
  constructor(message: string, options: { path: string; cause?: unknown }) {
    super(message, options);
    this.path = options.path;
  }
}

/** No app of that name is bundled, or the module never called registerApp. */
export class AppNotFoundError extends KubemrError {
  override readonly code = 'NOT_FOUND';
  /** The app as named: a bundled app's name or a module path. */
  readonly app: string;
  constructor(message: string, options: { app: string; cause?: unknown }) {
    super(message, options);
    this.app = options.app;
  }
}

/** No job with that id. */
export class JobNotFoundError extends KubemrError {
  override readonly code = 'NOT_FOUND';
  readonly jobId: string;
  constructor(message: string, options: { jobId: string; cause?: unknown }) {
    super(message, options);
    this.jobId = options.jobId;
  }
}

/** A job with that id was already submitted. */
export class JobExistsError extends KubemrError {
  override readonly code = 'ALREADY_EXISTS';
  readonly jobId: string;
  constructor(message: string, options: { jobId: string; cause?: unknown }) {
    super(message, options);
    this.jobId = options.jobId;
  }
}

/** The output directory already holds results. */
export class OutputExistsError extends KubemrError {
  override readonly code = 'FAILED_PRECONDITION';
  /** The output directory. */
  readonly path: string;
  constructor(message: string, options: { path: string; cause?: unknown }) {
    super(message, options);
    this.path = options.path;
  }
}

/** Another job is writing into the output directory (it holds `<out>/_kubemr-claim`). */
export class OutputClaimedError extends KubemrError {
  override readonly code = 'FAILED_PRECONDITION';
  constructor(
    message: string,
    readonly outputDir: string,
    readonly ownerJobId: string,
  ) {
    super(message);
  }
}

/** Another live coordinator owns the data directory (it holds `<data>/coordinator.lock`). */
export class DataDirLockedError extends KubemrError {
  override readonly code = 'FAILED_PRECONDITION';
}

/**
 * An intermediate run is missing, truncated, or fails its checksum. `path` names the file; a
 * reduce reports it as a fetch failure so that the map which wrote it runs again.
 */
export class CorruptRunError extends KubemrError {
  override readonly code = 'FAILED_PRECONDITION';
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`intermediate run ${path} ${problem}`);
  }
}

/** A task failed `maxAttempts` times (or threw an UnrecoverableError); the job fails with this error. */
export class TaskFailedError extends KubemrError {
  override readonly code = 'FAILED_PRECONDITION';
  readonly jobId: string;
  /** The task that failed: map-3, reduce-0; undefined when the job failed for another reason. */
  readonly task: string | undefined;
  /** Its last attempt. */
  readonly attempt: number | undefined;
  constructor(message: string, options: { jobId: string; task?: string | undefined; attempt?: number | undefined; cause?: unknown }) {
    super(message, options);
    this.jobId = options.jobId;
    this.task = options.task;
    this.attempt = options.attempt;
  }
}

/** The job was cancelled before it finished. */
export class JobCancelledError extends KubemrError {
  override readonly code = 'FAILED_PRECONDITION';
  readonly jobId: string;
  constructor(message: string, options: { jobId: string; cause?: unknown }) {
    super(message, options);
    this.jobId = options.jobId;
  }
}

export { UnrecoverableError } from './app/unrecoverable.js';

/** A request lacked a valid token. */
export class UnauthenticatedError extends KubemrError {
  override readonly code = 'UNAUTHENTICATED';
}

/** A valid credential asked for something its role may not do (a worker's credential for a client call, another job's task). */
export class PermissionDeniedError extends KubemrError {
  override readonly code = 'PERMISSION_DENIED';
}

/** A configured limit (message size, line length, body size) was exceeded. */
export class LimitExceededError extends KubemrError {
  override readonly code = 'RESOURCE_EXHAUSTED';
}

/** A streaming command exited non-zero, was killed, or could not start. */
export class StreamingCommandError extends KubemrError {
  override readonly code = 'FAILED_PRECONDITION';
  /** mapper, reducer or combiner. */
  readonly role: string;
  readonly command: string;
  constructor(message: string, options: { role: string; command: string; cause?: unknown }) {
    super(message, options);
    this.role = options.role;
    this.command = options.command;
  }
}

/** The coordinator could not be reached. */
export class CoordinatorUnavailableError extends KubemrError {
  override readonly code = 'UNAVAILABLE';
  /** The address dialled, when known. */
  readonly address: string | undefined;
  constructor(message: string, options?: { address?: string; cause?: unknown }) {
    super(message, options);
    this.address = options?.address;
  }
}

/** A Kubernetes API call failed in a way the caller cannot recover from. */
export class KubernetesError extends KubemrError {
  override readonly code = 'UNAVAILABLE';
}

/** A write found its volume full (ENOSPC, or over quota: EDQUOT). Names the file. */
export class NoSpaceError extends KubemrError {
  override readonly code = 'RESOURCE_EXHAUSTED';
  readonly path: string;
  constructor(message: string, options: { path: string; cause?: unknown }) {
    super(message, options);
    this.path = options.path;
  }
}

/**
 * A failed write as it should be told: a full volume becomes a NoSpaceError naming `file` (the
 * system's ENOSPC says only "write"); anything else passes unchanged.
 */
export function writeError(err: unknown, file: string): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return err;
  const why = code === 'ENOSPC' ? 'no space left on the device (ENOSPC)' : 'the disk quota is exhausted (EDQUOT)';
  return new NoSpaceError(`Could not write \`${file}\`: ${why}; free space on its volume, or give the job one with more room`, { path: file, cause: err });
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const NOT_FIELDS = new Set(['name', 'message', 'stack', 'cause', 'code']);

/**
 * An error as log fields, the one way every log line renders one:
 * `{ error: message, code, ...the error's own fields }` (`code` for KubemrErrors only).
 */
export function errorFields(err: unknown): Record<string, ErrorField> {
  if (!isKubemrError(err)) return { error: errorMessage(err) };
  const out: Record<string, ErrorField> = { error: err.message, code: err.code };
  for (const [k, v] of Object.entries(err)) {
    if (NOT_FIELDS.has(k) || v === undefined) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  }
  return out;
}
