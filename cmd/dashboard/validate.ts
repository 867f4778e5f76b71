import type { JobSpec } from '../../lib/protocol/gen/kubemr/v1/JobSpec.js';
import { isJobId, JOB_ID_RULE } from '../../lib/storage/job-id.js';
import { BadRequestError } from './http-errors.js';

/** The body of POST /api/jobs. Everything but `inputs` (and `app`, unless streaming) is optional. */
export interface SubmitBody {
  app?: string;
  inputs: string[];
  reducers?: number;
  workers?: number;
  name?: string;
  jobId?: string;
  maxAttempts?: number;
  leaseMs?: number;
  splitBytes?: number;
  packSmallFiles?: boolean;
  outputDir?: string;
  workDir?: string;
  image?: string;
  streaming?: { mapper?: string; reducer?: string; combiner?: string };
}

const FIELDS = new Set(['app', 'inputs', 'reducers', 'workers', 'name', 'jobId', 'maxAttempts', 'leaseMs', 'splitBytes', 'packSmallFiles', 'outputDir', 'workDir', 'image', 'streaming', 'params', 'speculative', 'steps']);

/** Deepest nesting a request body may have: a job spec needs 3 (params, streaming). */
const MAX_DEPTH = 32;

/** Whether `v` nests deeper than `max` arrays or objects; iterative, so any depth is measured safely. */
function deeperThan(v: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[v, 0]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (typeof x !== 'object' || x === null) continue;
    if (d >= max) return true;
    for (const y of Object.values(x)) stack.push([y, d + 1]);
  }
  return false;
}

const show = (v: unknown): string => {
  let s: string;
  try {
    s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  } catch {
    s = Array.isArray(v) ? '[...]' : typeof v === 'object' ? '{...}' : String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

function int(body: Record<string, unknown>, field: string, min: number, max: number): number {
  const v = body[field];
  if (v === undefined || v === null || v === '') return 0;
  // Form fields arrive as strings; accept "4" as well as 4.
  const n = typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new BadRequestError(`Expected \`${field}\` to be an integer between ${min} and ${max}, got \`${show(v)}\``);
  }
  return n;
}

function str(body: Record<string, unknown>, field: string, max = 4096): string {
  const v = body[field];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string' || v.length > max || v.includes('\0')) {
    throw new BadRequestError(`Expected \`${field}\` to be a string of at most ${max} characters, got \`${show(v)}\``);
  }
  return v.trim();
}

/** Validates a submit request once; messages name the field and the bad value. */
export function compileSubmit(raw: unknown, defaults: { workDir: string }): { spec: JobSpec; jobId: string } {
  if (deeperThan(raw, MAX_DEPTH)) throw new BadRequestError(`Expected the request body to nest at most ${MAX_DEPTH} levels of arrays and objects`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new BadRequestError(`Expected the request body to be a JSON object, got \`${show(raw)}\``);
  }
  const body = raw as Record<string, unknown>;
  for (const key of Object.keys(body)) {
    if (!FIELDS.has(key)) throw new BadRequestError(`Unknown field \`${key}\`; expected one of ${[...FIELDS].join(', ')}`);
  }
  const inputs = body.inputs;
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw new BadRequestError(`Expected \`inputs\` to be a non-empty array of paths, got \`${show(inputs)}\``);
  }
  if (inputs.length > 100_000) throw new BadRequestError(`Expected \`inputs\` to list at most 100000 paths, got ${inputs.length}`);
  inputs.forEach((p, i) => {
    if (typeof p !== 'string' || p.trim() === '' || p.includes('\0')) {
      throw new BadRequestError(`Expected \`inputs[${i}]\` to be a non-empty path, got \`${show(p)}\``);
    }
  });
  const s = body.streaming;
  let streaming: JobSpec['streaming'];
  if (s !== undefined && s !== null) {
    if (typeof s !== 'object' || Array.isArray(s)) throw new BadRequestError(`Expected \`streaming\` to be an object, got \`${show(s)}\``);
    const so = s as Record<string, unknown>;
    for (const key of Object.keys(so)) {
      if (!['mapper', 'reducer', 'combiner'].includes(key)) throw new BadRequestError(`Unknown field \`streaming.${key}\``);
    }
    streaming = { mapper: str(so, 'mapper'), reducer: str(so, 'reducer'), combiner: str(so, 'combiner') };
    if (!streaming.mapper || !streaming.reducer) throw new BadRequestError('A streaming job needs both `streaming.mapper` and `streaming.reducer`');
  }
  const app = str(body, 'app', 1024);
  if (!app && !streaming) throw new BadRequestError('Expected `app` to name an app (wordcount, indexer, or a module path), got ``');
  if (app && streaming) throw new BadRequestError(`A job has either \`app\` or \`streaming\`, got app \`${show(app)}\` and streaming commands`);
  const jobId = str(body, 'jobId', 40);
  if (jobId && !isJobId(jobId)) {
    throw new BadRequestError(`Expected \`jobId\` to be ${JOB_ID_RULE}, got \`${show(jobId)}\``);
  }
  const pack = body.packSmallFiles;
  if (pack !== undefined && typeof pack !== 'boolean') throw new BadRequestError(`Expected \`packSmallFiles\` to be true or false, got \`${show(pack)}\``);
  const spec = body.speculative;
  if (spec !== undefined && typeof spec !== 'boolean') throw new BadRequestError(`Expected \`speculative\` to be true or false, got \`${show(spec)}\``);
  const rawParams = body.params ?? {};
  if (typeof rawParams !== 'object' || rawParams === null || Array.isArray(rawParams)) {
    throw new BadRequestError(`Expected \`params\` to be an object of strings, got \`${show(rawParams)}\``);
  }
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawParams as Record<string, unknown>)) {
    if (typeof v !== 'string') throw new BadRequestError(`Expected \`params.${k}\` to be a string, got \`${show(v)}\``);
    params[k] = v;
  }
  const workDir = str(body, 'workDir') || defaults.workDir;
  if (!workDir.startsWith('/')) throw new BadRequestError(`Expected \`workDir\` to be an absolute path, got \`${show(workDir)}\``);
  return {
    jobId,
    spec: {
      app,
      inputs: inputs.map((p: string) => p.trim()),
      reducers: int(body, 'reducers', 1, 100_000),
      workers: int(body, 'workers', 1, 10_000),
      maxAttempts: int(body, 'maxAttempts', 1, 1000),
      leaseMs: int(body, 'leaseMs', 100, 86_400_000),
      splitBytes: int(body, 'splitBytes', 1, Number.MAX_SAFE_INTEGER),
      packSmallFiles: pack !== false,
      noPack: pack === false,
      name: str(body, 'name', 200),
      outputDir: str(body, 'outputDir'),
      workDir,
      image: str(body, 'image', 1024),
      streaming,
      params,
      noSpeculation: spec === false,
      steps: int(body, 'steps', 1, 20),
    },
  };
}
