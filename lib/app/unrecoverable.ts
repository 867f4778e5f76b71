/**
 * Thrown by user code (map, reduce, combine) to fail its task at once: the attempt is not
 * retried and the job fails with this message. For input that no retry can fix.
 *
 * ```ts
 * import { UnrecoverableError } from 'kubemr/app';
 * if (!valid) throw new UnrecoverableError(`record ${n} of ${file} is not JSON`);
 * ```
 *
 * It lives with the app API so that `kubemr/app` stays light; it is not a subclass of
 * KubemrError (lib/errors.ts) but carries the same brand, so `isKubemrError(err)` and
 * `UnrecoverableError.is(err)` recognise it from any copy of the package.
 */
export class UnrecoverableError extends Error {
  readonly code = 'FAILED_PRECONDITION' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnrecoverableError';
    Object.defineProperty(this, Symbol.for('kubemr.error'), { value: ['UnrecoverableError', 'KubemrError'], enumerable: false });
  }

  static is(err: unknown): err is UnrecoverableError {
    const names = typeof err === 'object' && err !== null ? (err as Record<symbol, unknown>)[Symbol.for('kubemr.error')] : undefined;
    return Array.isArray(names) && names.includes('UnrecoverableError');
  }
}
