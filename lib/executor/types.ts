/**
 * The executor seam: how workers for a job come to exist. The coordinator never knows whether
 * they are child processes, Kubernetes pods or processes someone started by hand.
 *
 * Implementations: LocalExecutor (child processes), ExternalExecutor (workers started by hand),
 * KubernetesExecutor (batch/v1 Jobs). One contract suite (test/executor-contract.test.ts) runs
 * against each.
 */

import type { EnvVar, WorkerResources } from './resources.js';

/** What an executor needs to start workers for one job. */
export interface LaunchSpec {
  jobId: string;
  /** Bundled app name or module path the workers load. Empty for streaming jobs. */
  app: string;
  /** Coordinator address workers dial, host:port. */
  coordinator: string;
  /** The data directory (shared volume) as the workers see it. */
  dataDir: string;
  /** Container image (Kubernetes only). */
  image?: string;
  /** The credential workers present to the coordinator, when auth is on: the job's worker credential. */
  token?: string | undefined;
  /** The CA (PEM) workers trust when the coordinator serves TLS. */
  tlsCa?: string | undefined;
  /** The job's map-side buffer per worker; sizes the pods' memory when nothing else does (Kubernetes). */
  memoryBytes?: number;
  /** The job's own requests and limits for each worker (Kubernetes), already checked. */
  resources?: WorkerResources;
  /** The job's own environment variables for each worker (Kubernetes), already checked. */
  env?: EnvVar[];
}

/**
 * Worker lifecycle as seen by an executor:
 *   starting -> running -> succeeded | failed
 * `failed` carries a reason (exit code, signal, OOMKilled, Evicted, ...).
 */
export type WorkerState = 'starting' | 'running' | 'succeeded' | 'failed';

export interface WorkerInfo {
  /** The id the worker reports to the coordinator (pod name, or local-<job>-<n>). */
  id: string;
  jobId: string;
  state: WorkerState;
  /** Why the worker ended, when it failed. */
  reason?: string;
  startedAt?: number;
  finishedAt?: number;
  /** Host, node or pid: where it runs. */
  where?: string;
}

/** Called by an executor the moment it learns a worker is gone for good. */
export type WorkerDeathListener = (workerId: string, jobId: string, reason: string) => void;

/** Why an executor gave up on a job's workers. */
export type ExhaustedCause = 'backoff-limit' | 'start-timeout';
/** `cause` is unset from executors that know one cause only (the local executor: restarts exhausted). */
export type WorkersExhaustedListener = (jobId: string, reason: string, cause?: ExhaustedCause) => void;
/** `problem`: e.g. `pod mr-wc-1-x: ImagePullBackOff: Back-off pulling image "nope:1"`; undefined once a worker runs. */
export type WorkersStuckListener = (jobId: string, problem: string | undefined) => void;

export interface Executor {
  readonly kind: 'local' | 'external' | 'kubernetes';
  /** Start (or ensure) `n` workers for a job. Idempotent for the same job. */
  launch(spec: LaunchSpec, n: number): Promise<void>;
  /** Workers known to this executor, optionally for one job. */
  list(jobId?: string): Promise<WorkerInfo[]>;
  /** A worker's log so far; with `follow`, an async stream that ends when the worker ends. */
  logs(workerId: string, options?: { follow?: boolean }): Promise<AsyncIterable<string>>;
  /** Stop every worker of a job and delete what the executor created for it. */
  stop(jobId: string): Promise<void>;
  /** Register the listener told about dead workers. */
  onWorkerDeath(listener: WorkerDeathListener): void;
  /**
   * Register the listener told when the executor has given up starting workers for a job, so
   * the job fails instead of waiting for workers that never come: every worker kept crashing
   * (`backoff-limit`), or none could start within the start deadline (`start-timeout`).
   */
  onWorkersExhausted?(listener: WorkersExhaustedListener): void;
  /**
   * Register the listener told, at once, when a job's workers cannot start (a pod's image cannot
   * be pulled, its container config is wrong, it fits on no node, the Job controller may not
   * create it) — all of them, or some while others run — with the reason as Kubernetes gives it;
   * and told `undefined` once no worker pod is stuck any more.
   */
  onWorkersStuck?(listener: WorkersStuckListener): void;
  /** Release watches, timers and children. */
  close(): Promise<void>;
}
