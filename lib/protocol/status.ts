import * as grpc from '@grpc/grpc-js';
import { errorMessage, KubemrError, type KubemrErrorCode } from '../errors.js';

/** The one place KubemrError codes and gRPC status codes are mapped, both ways. */
const TO_GRPC: Record<KubemrErrorCode, grpc.status> = {
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  NOT_FOUND: grpc.status.NOT_FOUND,
  ALREADY_EXISTS: grpc.status.ALREADY_EXISTS,
  FAILED_PRECONDITION: grpc.status.FAILED_PRECONDITION,
  UNAUTHENTICATED: grpc.status.UNAUTHENTICATED,
  PERMISSION_DENIED: grpc.status.PERMISSION_DENIED,
  RESOURCE_EXHAUSTED: grpc.status.RESOURCE_EXHAUSTED,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
  INTERNAL: grpc.status.INTERNAL,
};

const FROM_GRPC = new Map<grpc.status, KubemrErrorCode>(Object.entries(TO_GRPC).map(([code, status]) => [status, code as KubemrErrorCode]));

/** The KubemrError code of a gRPC status a client received; INTERNAL for statuses with no code of their own. */
export function codeOfStatus(status: grpc.status): KubemrErrorCode {
  return FROM_GRPC.get(status) ?? 'INTERNAL';
}

export function toServiceError(err: unknown): Partial<grpc.ServiceError> {
  if (KubemrError.is(err)) return { code: TO_GRPC[err.code], details: err.message };
  return { code: grpc.status.INTERNAL, details: errorMessage(err) };
}
