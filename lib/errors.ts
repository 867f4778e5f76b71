/**
 * One error class per failure. `code` is stable and machine-readable; the gRPC and HTTP
 * adapters each map it to a status in one place (lib/protocol/status.ts, the dashboard's http errors).
 */
export type KubemrErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'UNAUTHENTICATED'
  | 'RESOURCE_EXHAUSTED'
  | 'UNAVAILABLE'
  | 'INTERNAL';

export class KubemrError extends Error {
  readonly code: KubemrErrorCode = 'INTERNAL';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A job spec, flag or request field has a bad value. The message names the field and the value. */
export class InvalidJobSpecError extends KubemrError {
  override readonly code = 'INVALID_ARGUMENT';
}

/** An input path does not exist, is not a regular file, or a glob matched nothing. */
export class InputNotFoundError extends KubemrError {
  override readonly code = 'INVALID_ARGUMENT';
}

/** Compressed input is corrupt, truncated, or larger than can be held decompressed; the message names the file. */
export class CompressedInputError extends KubemrError {
  override readonly code = 'INVALID_ARGUMENT';
}

/** No app of that name is bundled, or the module never called registerApp. */
export class AppNotFoundError extends KubemrError {
  override readonly code = 'NOT_FOUND';
}

/** No job with that id. */
export class JobNotFoundError extends KubemrError {
  override readonly code = 'NOT_FOUND';
}

/** A job with that id was already submitted. */
export class JobExistsError extends KubemrError {
  override readonly code = 'ALREADY_EXISTS';
}

/** The output directory already holds results. */
export class OutputExistsError extends KubemrError {
  override readonly code = 'FAILED_PRECONDITION';
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

/** A task failed `maxAttempts` times; the job fails with this error. */
export class TaskFailedError extends KubemrError {
  override readonly code = 'FAILED_PRECONDITION';
}

/** The job was cancelled before it finished. */
export class JobCancelledError extends KubemrError {
  override readonly code = 'FAILED_PRECONDITION';
}

/** A request lacked a valid token. */
export class UnauthenticatedError extends KubemrError {
  override readonly code = 'UNAUTHENTICATED';
}

/** A configured limit (message size, line length, body size) was exceeded. */
export class LimitExceededError extends KubemrError {
  override readonly code = 'RESOURCE_EXHAUSTED';
}

/** A streaming command exited non-zero, was killed, or could not start. */
export class StreamingCommandError extends KubemrError {
  override readonly code = 'FAILED_PRECONDITION';
}

/** The coordinator could not be reached. */
export class CoordinatorUnavailableError extends KubemrError {
  override readonly code = 'UNAVAILABLE';
}

/** A Kubernetes API call failed in a way the caller cannot recover from. */
export class KubernetesError extends KubemrError {
  override readonly code = 'UNAVAILABLE';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
