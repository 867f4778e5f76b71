import crypto from 'node:crypto';

/**
 * Who may call what. One secret, the coordinator's token, and two roles derived from it:
 *
 * - **client**: the token itself (the local `<data>/token` file, the cluster's `kubemr-token`
 *   Secret). Submits, cancels and reads jobs; may also run tasks (a hand-started worker).
 * - **worker of job J**: `kmw1.<J>.<HMAC-SHA256(token, ["worker", J])>`, handed by the
 *   coordinator to the workers it starts for J. Nothing is stored: the coordinator recomputes
 *   it. It may ask for, heartbeat and report tasks of J (and of J's steps) only, never submit,
 *   cancel or read, and the HMAC cannot be turned back into the token.
 *
 * Each attempt the coordinator hands out carries a **lease**, HMAC(token, ["lease", job, kind,
 * index, attempt, worker]); heartbeats and reports must present it, so a worker can speak only
 * for attempts it was given.
 */
export type Principal = { role: 'client' } | { role: 'worker'; jobId: string };

const WORKER_PREFIX = 'kmw1.';

function mac(secret: string, parts: readonly (string | number)[]): Buffer {
  // JSON of the array: the fields cannot run into each other, whatever they contain.
  return crypto.createHmac('sha256', secret).update(JSON.stringify(['kubemr-v1', ...parts])).digest();
}

function same(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/** The credential workers of `jobId` present. */
export function workerCredential(token: string, jobId: string): string {
  return `${WORKER_PREFIX}${jobId}.${mac(token, ['worker', jobId]).toString('base64url')}`;
}

/** Whether `s` has the shape of a worker credential (not whether it is valid). */
export const isWorkerCredential = (s: string): boolean => s.startsWith(WORKER_PREFIX);

/** The principal `presented` authenticates as against `token`, or undefined when it is not valid. */
export function authenticate(token: string, presented: string): Principal | undefined {
  if (isWorkerCredential(presented)) {
    const rest = presented.slice(WORKER_PREFIX.length);
    const dot = rest.lastIndexOf('.');
    if (dot <= 0) return undefined;
    const jobId = rest.slice(0, dot);
    const got = Buffer.from(rest.slice(dot + 1), 'base64url');
    return same(got, mac(token, ['worker', jobId])) ? { role: 'worker', jobId } : undefined;
  }
  return same(Buffer.from(presented), Buffer.from(token)) ? { role: 'client' } : undefined;
}

/** What a lease names: one attempt of one task, held by one worker. */
export interface LeaseRef {
  jobId: string;
  kind: string;
  index: number;
  attempt: number;
  workerId: string;
}

/** The lease of an attempt, as handed to the worker that holds it. */
export function leaseOf(token: string, r: LeaseRef): string {
  return leaseMac(token, r).toString('base64url');
}

export function leaseOk(token: string, r: LeaseRef, lease: string): boolean {
  return same(Buffer.from(lease, 'base64url'), leaseMac(token, r));
}

const leaseMac = (token: string, r: LeaseRef): Buffer => mac(token, ['lease', r.jobId, r.kind, r.index, r.attempt, r.workerId]);
