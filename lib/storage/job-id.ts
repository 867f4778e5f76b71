import crypto from 'node:crypto';

/**
 * The job-id rule, once: an id names a directory under jobs/ and a Kubernetes label value, so it
 * is a short DNS-label-like string. The pattern's source is exported for JSON schemas.
 */
export const JOB_ID_PATTERN = '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$';
export const MAX_JOB_ID = 40;
const JOB_ID = new RegExp(JOB_ID_PATTERN);
/** The rule in words, for error messages. */
export const JOB_ID_RULE = `lowercase letters, digits and '-', at most ${MAX_JOB_ID} characters`;

export const isJobId = (s: string): boolean => JOB_ID.test(s);

/**
 * `s` lowercased, every run of characters outside [a-z0-9] turned into one '-', cut to `max`,
 * no '-' at either end. May be empty: callers choose their own fallback.
 */
export function slugify(s: string, max: number): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+/, '').slice(0, max).replace(/-+$/, '');
}

/** A fresh job id: a readable slug of the name, the time, and a few random bytes. */
export function newJobId(name: string): string {
  return `${slugify(name, 20) || 'job'}-${Date.now().toString(36)}-${crypto.randomBytes(3).toString('hex')}`;
}
