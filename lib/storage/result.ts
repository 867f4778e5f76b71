/**
 * A job's RESULT file (jobs/<id>/RESULT), written once when the job ends: `OK`, `CANCELLED`, or
 * `FAILED <reason>`. Its presence is what tells a restarted coordinator, the operator and the
 * dashboard that a job is over, so its format is written and read only here.
 */
export type ResultPhase = 'succeeded' | 'failed' | 'cancelled';

export interface JobResult {
  phase: ResultPhase;
  /** The failure's reason; 'cancelled by request' for a cancelled job; '' on success. */
  message: string;
}

export function formatResult(phase: ResultPhase, message: string): string {
  const line = phase === 'succeeded' ? 'OK' : phase === 'cancelled' ? 'CANCELLED' : `FAILED ${message}`;
  return line + '\n';
}

export function parseResult(text: string): JobResult {
  const t = text.trim();
  if (t === 'OK') return { phase: 'succeeded', message: '' };
  if (t === 'CANCELLED') return { phase: 'cancelled', message: 'cancelled by request' };
  return { phase: 'failed', message: t.replace(/^FAILED\s*/, '') };
}
