import { InvalidJobSpecError } from '../errors.js';
import { checkWorkerEnv, checkWorkerResources, type EnvVar, type WorkerResources } from '../executor/resources.js';
import { checkOutputFormat, type OutputFormat } from '../storage/output-format.js';

/** Streaming (Hadoop Streaming style) commands run through `sh -c`. */
export interface StreamingCommands {
  mapper: string;
  reducer: string;
  /** Empty: no combiner. */
  combiner: string;
}

/** A job as the user describes it; everything but `inputs` has a default. */
export interface JobSpecInput {
  /** Bundled app name or module path. Empty for streaming jobs, or "any app" for hand-started workers. */
  app?: string;
  /** Input file paths, passed to map exactly as given. */
  inputs: string[];
  /** Number of reduce partitions; 0 makes a map-only job (Hadoop's `-numReduceTasks 0`). @default 10 */
  reducers?: number;
  /** Workers the executor starts. @default 2 */
  workers?: number;
  /** Reported task failures before the job fails. @default 4 */
  maxAttempts?: number;
  /**
   * Lost attempts (worker crashed, lease expired) before the job fails. Counted apart from
   * failures so that flaky machines do not fail a job, but a task that kills every worker
   * that runs it still ends. @default 10
   */
  maxLostAttempts?: number;
  /** A running task without a heartbeat for this long goes back to pending. @default 10000 */
  leaseMs?: number;
  /** Directory for mr-out-<r>. @default <data>/jobs/<id>/output */
  outputDir?: string;
  /** Relative input paths are resolved against it. @default the submitter's working directory */
  workDir?: string;
  /** A file larger than this becomes several map tasks. @default 64 MiB */
  splitBytes?: number;
  /** Map-side buffer per worker before spilling a sorted run. @default 256 MiB */
  memoryBytes?: number;
  /**
   * Longest line a streaming mapper or combiner may write; a longer one fails the task with a
   * clear error instead of exhausting the worker's memory. @default 64 MiB
   */
  maxLineBytes?: number;
  /**
   * Pack small files together into map tasks of up to `splitBytes` (fewer when the input is
   * small for the workers; see planMapTasks). False: one map task per file, as in the MIT lab.
   * @default true
   */
  packSmallFiles?: boolean;
  streaming?: Partial<StreamingCommands>;
  /** A display name. @default the app name */
  name?: string;
  /** Worker image (Kubernetes). */
  image?: string;
  /**
   * Requests and limits of each worker pod (Kubernetes); what is unset comes from the executor,
   * and memory from `memoryBytes` (request 256Mi, limit 1Gi at the default buffer). @default {}
   */
  resources?: WorkerResources;
  /** Extra environment variables of each worker (Kubernetes); kubemr's own KUBEMR_* are refused. @default [] */
  env?: EnvVar[];
  /** Job parameters, read by user code through `params()` (streaming: `KUBEMR_PARAM_<NAME>`). @default {} */
  params?: Record<string, string>;
  /**
   * Run backup attempts of the slowest tasks near the end of a phase on idle workers; the first
   * attempt to finish wins. @default true
   */
  speculative?: boolean;
  /**
   * How many steps the app declares (`registerApp({ steps: [...] })`); each step's output is the
   * next one's input. `kubemr run` fills it from the app; a MapReduceJob names it. @default 1
   */
  steps?: number;
  /** Internal: which step (0-based) of pipeline `pipeline` this job runs. @default 0 */
  step?: number;
  /** Internal: the id of the multi-step job this job is a step of; '' for a job of its own. */
  pipeline?: string;
  /** How output records are written: `text` (`key value`), `tsv` or `jsonl` (both lossless). @default 'text' */
  outputFormat?: OutputFormat;
}

export type JobSpec = Required<Omit<JobSpecInput, 'streaming'>> & { streaming: StreamingCommands };

/** A parameter name: what a flag or an environment variable can carry. */
export const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const MAX_PARAMS = 100;
export const MAX_STEPS = 20;
const MAX_PARAM_BYTES = 64 * 1024;

function compileParams(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidJobSpecError(`Expected \`params\` to be an object of strings, got \`${JSON.stringify(value)}\``);
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_PARAMS) throw new InvalidJobSpecError(`Expected at most ${MAX_PARAMS} \`params\`, got ${entries.length}`);
  let bytes = 0;
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (!PARAM_NAME.test(k)) throw new InvalidJobSpecError(`Expected a parameter name of letters, digits, '_', '.' and '-' (not starting with a digit), got \`${k}\``);
    if (typeof v !== 'string') throw new InvalidJobSpecError(`Expected \`params.${k}\` to be a string, got \`${JSON.stringify(v)}\``);
    bytes += k.length + Buffer.byteLength(v);
    out[k] = v;
  }
  if (bytes > MAX_PARAM_BYTES) throw new InvalidJobSpecError(`Expected \`params\` to hold at most ${MAX_PARAM_BYTES} bytes, got ${bytes}`);
  return out;
}

/** The smallest map-side buffer a job may ask for. */
export const MIN_MEMORY_BYTES = 1024 * 1024;

export const JOB_DEFAULTS = {
  reducers: 10,
  workers: 2,
  maxAttempts: 4,
  maxLostAttempts: 10,
  leaseMs: 10_000,
  /** Small enough that one large file keeps two or more workers busy (64 MiB is four tasks). */
  splitBytes: 16 * 1024 * 1024,
  memoryBytes: 256 * 1024 * 1024,
  maxLineBytes: 64 * 1024 * 1024,
} as const;

function int(field: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const bound = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `between ${min} and ${max}`;
    throw new InvalidJobSpecError(`Expected \`${field}\` to be an integer ${bound}, got \`${String(value)}\``, { field });
  }
  return value;
}

function str(field: string, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new InvalidJobSpecError(`Expected \`${field}\` to be a string, got \`${String(value)}\``, { field });
  return value;
}

function bool(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') throw new InvalidJobSpecError(`Expected \`${field}\` to be true or false, got \`${String(value)}\``, { field });
  return value;
}

/** Validates once and fills defaults. Messages name the field and the bad value. */
export function compileJobSpec(input: JobSpecInput, defaults: { workDir: string }): JobSpec {
  if (!Array.isArray(input.inputs) || input.inputs.length === 0) {
    throw new InvalidJobSpecError('Expected `inputs` to list at least one input file, got none');
  }
  for (const p of input.inputs) {
    if (typeof p !== 'string' || p === '' || p.includes('\0')) {
      throw new InvalidJobSpecError(`Expected every input to be a non-empty path, got \`${JSON.stringify(p)}\``);
    }
  }
  const reducer = str('streaming.reducer', input.streaming?.reducer);
  const streaming: StreamingCommands = {
    mapper: str('streaming.mapper', input.streaming?.mapper),
    // Hadoop Streaming's `-reducer NONE`: a map-only job.
    reducer: reducer === 'NONE' ? '' : reducer,
    combiner: str('streaming.combiner', input.streaming?.combiner),
  };
  const app = str('app', input.app);
  // A streaming job without a reducer is map-only.
  const mapOnlyStreaming = streaming.mapper !== '' && streaming.reducer === '';
  if (streaming.mapper !== '' || streaming.reducer !== '') {
    if (streaming.mapper === '') throw new InvalidJobSpecError('A streaming job needs `streaming.mapper`');
    if (mapOnlyStreaming && input.reducers !== undefined && input.reducers !== 0) {
      throw new InvalidJobSpecError(`A streaming job without a reducer is map-only: expected \`reducers\` to be 0, got \`${String(input.reducers)}\``);
    }
    if (app !== '') throw new InvalidJobSpecError(`A job has either \`app\` or streaming commands, got app \`${app}\` and a mapper`);
  }
  const memoryBytes = int('memoryBytes', input.memoryBytes ?? JOB_DEFAULTS.memoryBytes, MIN_MEMORY_BYTES);
  return {
    app,
    inputs: [...input.inputs],
    reducers: int('reducers', mapOnlyStreaming ? 0 : (input.reducers ?? JOB_DEFAULTS.reducers), 0, 100_000),
    workers: int('workers', input.workers ?? JOB_DEFAULTS.workers, 1, 10_000),
    maxAttempts: int('maxAttempts', input.maxAttempts ?? JOB_DEFAULTS.maxAttempts, 1, 1000),
    maxLostAttempts: int('maxLostAttempts', input.maxLostAttempts ?? JOB_DEFAULTS.maxLostAttempts, 1, 1000),
    leaseMs: int('leaseMs', input.leaseMs ?? JOB_DEFAULTS.leaseMs, 100),
    outputDir: str('outputDir', input.outputDir),
    workDir: str('workDir', input.workDir) || defaults.workDir,
    splitBytes: int('splitBytes', input.splitBytes ?? JOB_DEFAULTS.splitBytes, 1),
    memoryBytes,
    maxLineBytes: int('maxLineBytes', input.maxLineBytes ?? JOB_DEFAULTS.maxLineBytes, 1),
    packSmallFiles: bool('packSmallFiles', input.packSmallFiles, true),
    streaming,
    name: str('name', input.name) || app.split('/').pop()!.replace(/\.[^.]*$/, '') || (streaming.mapper ? 'streaming' : 'job'),
    image: str('image', input.image),
    resources: checkWorkerResources(input.resources, memoryBytes),
    env: checkWorkerEnv(input.env),
    params: compileParams(input.params),
    speculative: bool('speculative', input.speculative, true),
    steps: int('steps', input.steps ?? 1, 1, MAX_STEPS),
    step: int('step', input.step ?? 0, 0, MAX_STEPS - 1),
    pipeline: str('pipeline', input.pipeline),
    outputFormat: checkOutputFormat('outputFormat', input.outputFormat),
  };
}
