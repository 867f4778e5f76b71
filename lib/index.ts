/**
 * kubemr — MapReduce for TypeScript, on a laptop or on Kubernetes.
 *
 * An app module imports only the light entry, `kubemr/app`:
 *
 * ```ts
 * import { registerApp } from 'kubemr/app';
 *
 * registerApp({
 *   map: (file, text) => [...text.matchAll(/\p{L}+/gu)].map((m) => ({ key: m[0], value: '1' })),
 *   reduce: (key, values) => String(values.length),
 * });
 * ```
 *
 * `kubemr run ./my-app.ts books/*.txt` runs it locally; `kubemr/worker` (or `kubemr worker`) runs
 * it as the worker of a Kubernetes job. This entry is for embedding the rest:
 *
 * ```ts
 * import { Coordinator, LocalExecutor, startCoordinatorServer } from 'kubemr';
 *
 * const coord = new Coordinator({ dataDir: '.kubemr', executor: new LocalExecutor() });
 * await coord.start();
 * const server = await startCoordinatorServer(coord, '127.0.0.1:0');
 * coord.advertise = server.address;
 * const job = await coord.submit({ app: 'wordcount', inputs: ['books/*.txt'], reducers: 4 });
 * console.log((await coord.waitFor(job.id)).phase);
 * ```
 *
 * The folders are the parts: app/ (what apps import), storage/ (data directory layout, job ids,
 * RESULT), shuffle/ (intermediate files), coordinator/ (scheduler, Coordinator, prepareJob,
 * sequential oracle), protocol/ (gRPC), worker/, executor/, operator/, fetch/.
 */
export {
  registerApp,
  registeredApp,
  type App,
  type KeyValue,
  type MultiStepApp,
  type RegisterOptions,
  type RegisteredApp,
} from './app/app.js';
export { counter, params } from './app/context.js';
export { defaultPartition, fnv1a32 } from './app/partition.js';
export { compareUtf8 } from './shuffle/byte-order.js';
export {
  KubemrError,
  isKubemrError,
  errorFields,
  errorMessage,
  InvalidJobSpecError,
  InvalidOptionError,
  InputNotFoundError,
  CompressedInputError,
  AppNotFoundError,
  JobNotFoundError,
  JobExistsError,
  OutputExistsError,
  PathNotWritableError,
  TaskFailedError,
  JobCancelledError,
  UnrecoverableError,
  UnauthenticatedError,
  PermissionDeniedError,
  LimitExceededError,
  StreamingCommandError,
  CoordinatorUnavailableError,
  KubernetesError,
  type ErrorField,
  type KubemrErrorCode,
} from './errors.js';
export { createLogger, silentLogger, type Logger, type LogFields, type LogLevel } from './logger.js';
export { compileJobSpec, JOB_DEFAULTS, type JobSpec, type JobSpecInput, type StreamingCommands } from './coordinator/jobspec.js';
export {
  Scheduler,
  systemClock,
  compileSchedulerOptions,
  type Clock,
  type JobPhase,
  type JobRecord,
  type TaskRecord,
  type TaskState,
  type AttemptState,
  type SchedulerEvent,
  type SchedulerOptions,
} from './coordinator/scheduler.js';
export { Coordinator, compileCoordinatorOptions, isFinished, type CoordinatorOptions, type WorkerEvent } from './coordinator/coordinator.js';
export { prepareJob, checkOutputDir, type PreparedJob, type PrepareOptions } from './coordinator/prepare.js';
export { runSequential, runSequentialSteps } from './coordinator/sequential.js';
export { startCoordinatorServer, stopServer, coordinatorHandlers, compileServerOptions, type ServerOptions } from './protocol/server.js';
export { KubemrClient, RpcError, type ClientOptions } from './protocol/client.js';
export { runWorker, compileWorkerOptions, type WorkerOptions, type WorkerSummary } from './worker/worker.js';
export { loadApp, resolveAppModule, BUNDLED_APPS } from './worker/loader.js';
export { DataLayout, JobLayout, taskName } from './storage/layout.js';
export { isJobId, newJobId, JOB_ID_PATTERN } from './storage/job-id.js';
export { formatResult, parseResult, type JobResult } from './storage/result.js';
export { LocalExecutor, compileLocalExecutorOptions, type LocalExecutorOptions } from './executor/local.js';
export { ExternalExecutor } from './executor/external.js';
export type { Executor, LaunchSpec, WorkerInfo, WorkerState, WorkerDeathListener } from './executor/types.js';
export { readOutputFile, OUTPUT_FORMATS, type OutputFormat } from './storage/output-format.js';
