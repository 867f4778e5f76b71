import crypto from 'node:crypto';
import path from 'node:path';
import type { JobSpecInput } from '../coordinator/jobspec.js';
import { InvalidJobSpecError } from '../errors.js';
import { parseQuantity } from '../executor/resources.js';
import { slugify } from '../storage/job-id.js';

/**
 * The job id of a resource: a readable prefix of its name and a hash of name and uid. The same
 * resource always maps to the same id; a resource deleted and created again under the same name
 * (a new uid) gets a new one.
 */
export function mapReduceJobId(name: string, uid: string): string {
  const slug = slugify(name, 24) || 'mrj';
  const hash = crypto.createHash('sha256').update(`${name}/${uid}`).digest('hex').slice(0, 10);
  return `${slug}-${hash}`;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const MIB = 1024 * 1024;

/**
 * A size field (`memory`, `splitSize`) in bytes: a whole number of bytes, or a Kubernetes
 * quantity as in a pod's resources (`512Mi` = 512 MiB, `500M` = 500,000,000 bytes).
 */
function sizeField(field: string, value: unknown, min: number, example: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' ? parseQuantity(value) : undefined;
  if (n === undefined || !Number.isFinite(n)) {
    throw new InvalidJobSpecError(`Expected \`${field}\` to be a size such as ${example} (a Kubernetes quantity) or a number of bytes, got \`${JSON.stringify(value)}\``);
  }
  const bytes = Math.ceil(n);
  if (bytes < min || bytes > Number.MAX_SAFE_INTEGER) {
    throw new InvalidJobSpecError(`Expected \`${field}\` to be at least ${min >= MIB ? `${min / MIB}Mi` : `${min} bytes`}, got \`${JSON.stringify(value)}\``);
  }
  return bytes;
}

/**
 * A resource's `.spec` as a job spec. Inputs are paths on the data volume: relative ones are
 * resolved against it by the coordinator (workDir), absolute ones must lie inside it, and none
 * may climb out with `..` — a resource author gets no more of the file system than the volume.
 */
export function specFromResource(spec: unknown, name: string, dataDir: string): JobSpecInput {
  if (!isRecord(spec)) throw new InvalidJobSpecError(`Expected \`spec\` to be an object, got \`${JSON.stringify(spec) ?? 'nothing'}\``);
  const root = path.resolve(dataDir);
  const inputs = spec.inputs;
  if (Array.isArray(inputs)) {
    inputs.forEach((p, i) => {
      if (typeof p !== 'string' || p === '') return; // compileJobSpec names these
      const abs = path.resolve(root, p);
      const rel = path.relative(root, abs);
      if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
        throw new InvalidJobSpecError(`Expected \`inputs[${i}]\` to be a path on the data volume (relative to it, e.g. inputs/gutenberg/pg-*.txt), got \`${p}\``);
      }
    });
  }
  const leaseSeconds = spec.leaseSeconds;
  if (leaseSeconds !== undefined && (typeof leaseSeconds !== 'number' || !Number.isInteger(leaseSeconds) || leaseSeconds < 1 || leaseSeconds > 3600)) {
    throw new InvalidJobSpecError(`Expected \`leaseSeconds\` to be an integer between 1 and 3600, got \`${String(leaseSeconds)}\``);
  }
  const streaming = spec.streaming;
  if (streaming !== undefined && !isRecord(streaming)) {
    throw new InvalidJobSpecError(`Expected \`streaming\` to be an object with \`mapper\` and \`reducer\`, got \`${JSON.stringify(streaming)}\``);
  }
  const memoryBytes = sizeField('memory', spec.memory, MIB, '512Mi');
  const splitBytes = sizeField('splitSize', spec.splitSize, 1, '16Mi');
  if (spec.pack !== undefined && typeof spec.pack !== 'boolean') {
    throw new InvalidJobSpecError(`Expected \`pack\` to be true or false, got \`${JSON.stringify(spec.pack)}\``);
  }
  // Type checks of the remaining fields (resources and env among them) are compileJobSpec's,
  // with the same messages as gRPC submits get.
  return {
    name,
    app: spec.app as string | undefined,
    image: spec.image as string | undefined,
    inputs: inputs as string[],
    reducers: spec.reducers as number | undefined,
    workers: spec.workers as number | undefined,
    maxAttempts: spec.maxAttempts as number | undefined,
    leaseMs: leaseSeconds === undefined ? undefined : leaseSeconds * 1000,
    streaming: streaming as JobSpecInput['streaming'],
    params: spec.params as Record<string, string> | undefined,
    speculative: spec.speculative as boolean | undefined,
    steps: spec.steps as number | undefined,
    outputFormat: spec.outputFormat as JobSpecInput['outputFormat'],
    memoryBytes,
    splitBytes,
    packSmallFiles: spec.pack as boolean | undefined,
    resources: spec.resources as JobSpecInput['resources'],
    env: spec.env as JobSpecInput['env'],
    workDir: root,
  };
}
