/**
 * kubemr — MapReduce for TypeScript, on a laptop or on Kubernetes.
 *
 * ```ts
 * import { registerApp } from 'kubemr';
 *
 * registerApp({
 *   map: (file, text) => [...text.matchAll(/\p{L}+/gu)].map((m) => ({ key: m[0], value: '1' })),
 *   reduce: (key, values) => String(values.length),
 * });
 * ```
 *
 * Then `kubemr run ./my-app.ts books/*.txt` runs it locally, and the same module runs as the
 * worker of a Kubernetes job.
 */
export { registerApp, registeredApp, type App, type KeyValue, type RegisterOptions, type RegisteredApp } from './app/app.js';
export { defaultPartition, fnv1a32 } from './app/partition.js';
export { compareUtf8 } from './shuffle/byte-order.js';
export {
  KubemrError,
  InvalidJobSpecError,
  InputNotFoundError,
  AppNotFoundError,
  JobNotFoundError,
  JobExistsError,
  OutputExistsError,
  TaskFailedError,
  JobCancelledError,
  UnauthenticatedError,
  LimitExceededError,
  CoordinatorUnavailableError,
  KubernetesError,
  type KubemrErrorCode,
} from './errors.js';
export { createLogger, silentLogger, type Logger, type LogFields, type LogLevel } from './logger.js';
export { compileJobSpec, JOB_DEFAULTS, type JobSpec, type JobSpecInput, type StreamingCommands } from './coordinator/jobspec.js';
export { Scheduler, systemClock, type Clock, type JobPhase, type JobRecord, type TaskRecord, type TaskState, type AttemptState, type SchedulerEvent } from './coordinator/scheduler.js';
export { Coordinator, type CoordinatorOptions } from './coordinator/coordinator.js';
export { startCoordinatorServer, stopServer, coordinatorHandlers, type ServerOptions } from './protocol/server.js';
export { KubemrClient, RpcError, type ClientOptions } from './protocol/client.js';
export { runWorker, type WorkerOptions, type WorkerSummary } from './worker/worker.js';
export { runSequential } from './coordinator/sequential.js';
export { loadApp, resolveAppModule, BUNDLED_APPS } from './worker/loader.js';
export { DataLayout, JobLayout } from './storage/layout.js';
export { LocalExecutor, type LocalExecutorOptions } from './executor/local.js';
export { ExternalExecutor } from './executor/external.js';
export type { Executor, LaunchSpec, WorkerInfo, WorkerState, WorkerDeathListener } from './executor/types.js';
export { readOutputFile, OUTPUT_FORMATS, type OutputFormat } from './storage/output-format.js';
