import { STATUS_CODES } from 'node:http';
import { ApiException } from '@kubernetes/client-node';
import { errorMessage } from '../errors.js';

/** The HTTP status of a failed API call, whichever way the client reported it. */
export const statusCode = (err: unknown): number | undefined =>
  err instanceof ApiException ? (err.code as number) : (err as { statusCode?: number; code?: unknown })?.statusCode;

/** The API server's own words (a Status object's message) rather than the client's dump. */
export function describe(err: unknown): string {
  if (err instanceof ApiException) {
    let message: string | undefined;
    try {
      const body: unknown = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
      message = (body as { message?: string } | undefined)?.message;
    } catch {
      message = typeof err.body === 'string' && err.body !== '' ? err.body : undefined;
    }
    message ??= STATUS_CODES[err.code];
    return `HTTP ${err.code}${message ? `: ${message}` : ''}`;
  }
  return errorMessage(err);
}
