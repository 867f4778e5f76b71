import type { NextFunction, Request, Response } from 'express';
import { KubemrError, type KubemrErrorCode } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';

/** The one place KubemrError codes become HTTP statuses. */
export const HTTP_STATUS: Record<KubemrErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  FAILED_PRECONDITION: 409,
  RESOURCE_EXHAUSTED: 413,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

/** A request field has a bad value; the message names the field and the value. */
export class BadRequestError extends KubemrError {
  override readonly code = 'INVALID_ARGUMENT';
}

/** What the URL names does not exist (job, task, file, worker). */
export class NotFoundError extends KubemrError {
  override readonly code = 'NOT_FOUND';
}

/** The request conflicts with the resource's state (cancelling a finished job). */
export class ConflictError extends KubemrError {
  override readonly code = 'FAILED_PRECONDITION';
}

/** The request body is larger than the configured limit. */
export class PayloadTooLargeError extends KubemrError {
  override readonly code = 'RESOURCE_EXHAUSTED';
}

/** A mutating request without a valid bearer token or session. */
export class UnauthorizedError extends KubemrError {
  override readonly code = 'UNAUTHENTICATED';
}

export interface HttpErrorBody {
  error: { code: KubemrErrorCode | 'NOT_FOUND'; status: number; message: string };
}

/** Any thrown value -> status + JSON body. Body-parser errors carry `type` and `status`. */
export function toHttpError(err: unknown, bodyLimit: number): { status: number; body: HttpErrorBody } {
  let e: KubemrError;
  if (KubemrError.is(err)) {
    e = err;
  } else {
    const type = (err as { type?: unknown } | null)?.type;
    if (type === 'entity.too.large') {
      e = new PayloadTooLargeError(`Request body is larger than the limit of ${bodyLimit} bytes (the dashboard's \`bodyLimit\` setting)`);
    } else if (type === 'entity.parse.failed') {
      e = new BadRequestError(`Request body is not valid JSON: ${(err as Error).message}`);
    } else if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
      e = new BadRequestError(`Request body encoding is not supported: ${(err as Error).message}`);
    } else {
      e = new KubemrError(err instanceof Error ? err.message : String(err));
    }
  }
  const status = HTTP_STATUS[e.code];
  return { status, body: { error: { code: e.code, status, message: e.message } } };
}

/** Express error handler for /api: every error is JSON with a status from HTTP_STATUS. */
export function apiErrorHandler(logger: Logger, bodyLimit: number) {
  return (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const { status, body } = toHttpError(err, bodyLimit);
    if (status >= 500 && status !== 503) logger.error('request failed', { method: req.method, path: req.path, error: body.error.message });
    if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="kubemr"');
    res.status(status).json(body);
  };
}
