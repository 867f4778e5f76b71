import fs from 'node:fs';
import path from 'node:path';
import { InvalidJobSpecError, OutputExistsError } from '../errors.js';
import { isJobId, JOB_ID_RULE, newJobId } from '../storage/job-id.js';
import { SUCCESS_MARKER } from '../storage/layout.js';
import { expandPatterns, planMapTasks } from './inputs.js';
import { compileJobSpec, type JobSpec, type JobSpecInput } from './jobspec.js';
import { MAX_PIPELINE_ID } from './pipeline.js';
import type { InputSplit } from './scheduler.js';

/**
 * A job checked and planned, ready to queue: the spec compiled, its id checked, its input
 * patterns expanded, every input stat'ed once while its map tasks were planned, and its output
 * directory checked (by the Coordinator, under the directory's claim). Every way a job starts (`Coordinator.submit`, `kubemr run`'s early check
 * while workers boot, `kubemr run --sequential`) goes through `prepareJob`, so each check runs
 * once and says the same thing.
 */
export interface PreparedJob {
  readonly prepared: true;
  readonly id: string;
  /** The compiled spec; `inputs` are the expanded paths, as map will be given them. */
  readonly spec: JobSpec;
  /** Absolute. */
  readonly outputDir: string;
  /** One entry per map task. Empty for a multi-step job as a whole: each step plans its own. */
  readonly mapInputs: InputSplit[][];
}

export interface PrepareOptions {
  /** The id to give the job; a fresh one from the job's name when empty. */
  jobId?: string | undefined;
  /** The working directory of whoever submits: relative `workDir`... @default process.cwd() */
  workDir?: string;
  /** The output directory when the spec names none (the job's own, under the data directory). */
  defaultOutputDir: (jobId: string) => string;
  /** Refuse inputs and an output directory that resolve outside this directory. @default no restriction */
  confineTo?: string | undefined;
  /**
   * Check the output directory here. The Coordinator passes false and checks it once it has
   * claimed the directory, so no other job can publish into it in between. @default true
   */
  checkOutput?: boolean;
}

export const isPreparedJob = (v: unknown): v is PreparedJob => typeof v === 'object' && v !== null && (v as PreparedJob).prepared === true;

/** Validates, expands and plans a job, throwing the first problem found (nothing is written). */
export async function prepareJob(input: JobSpecInput, o: PrepareOptions): Promise<PreparedJob> {
  const spec = compileJobSpec(input, { workDir: o.workDir ?? process.cwd() });
  if (!path.isAbsolute(spec.workDir)) {
    throw new InvalidJobSpecError(`Expected \`workDir\` to be an absolute path, got \`${spec.workDir}\``);
  }
  // A multi-step job as a whole: its steps are jobs of their own, whose ids take a suffix.
  const whole = spec.steps > 1 && spec.pipeline === '';
  const id = o.jobId || newJobId(spec.name);
  if (whole && (id.length > MAX_PIPELINE_ID || !isJobId(id))) {
    throw new InvalidJobSpecError(`Expected the id of a multi-step job to be lowercase letters, digits and '-', at most ${MAX_PIPELINE_ID} characters, got \`${id}\``);
  }
  if (!isJobId(id)) throw new InvalidJobSpecError(`Expected the job id to be ${JOB_ID_RULE}, got \`${id}\``);
  spec.inputs = await expandPatterns(spec.inputs, spec.workDir);
  const outputDir = spec.outputDir ? path.resolve(spec.workDir, spec.outputDir) : o.defaultOutputDir(id);
  if (o.confineTo) {
    const root = realPath(o.confineTo);
    const outside = [...spec.inputs, ...(spec.outputDir ? [spec.outputDir] : [])].find((p) => {
      const rel = path.relative(root, realPath(path.resolve(spec.workDir, p)));
      return rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel);
    });
    if (outside !== undefined) throw new InvalidJobSpecError(`Path \`${outside}\` is outside the data directory`);
  }
  // Planning stats every input (and refuses what it cannot read); a multi-step job's first step
  // gets these very tasks.
  const mapInputs = planMapTasks(spec.inputs, spec.workDir, { splitBytes: spec.splitBytes, pack: spec.packSmallFiles, workers: spec.workers });
  if (o.checkOutput ?? true) checkOutputDir(outputDir);
  return { prepared: true, id, spec, outputDir, mapInputs };
}

/** Refuses an output directory that already holds results, so no run mixes with an older one. */
export function checkOutputDir(dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw new OutputExistsError(`Output path \`${dir}\` is a file, not a directory`, { path: dir });
    throw err;
  }
  const taken = names.filter((n) => n.startsWith('mr-out') || n === SUCCESS_MARKER);
  if (taken.length > 0) {
    throw new OutputExistsError(`Output directory \`${dir}\` already holds results (${taken.slice(0, 3).join(', ')}${taken.length > 3 ? ', ...' : ''}); remove them or choose another directory`, { path: dir });
  }
}

/** The real path of `p`, following symlinks as far as the path exists. */
function realPath(p: string): string {
  const abs = path.resolve(p);
  let head = abs;
  while (!fs.existsSync(head) && path.dirname(head) !== head) head = path.dirname(head);
  return path.join(fs.realpathSync.native(head), path.relative(head, abs));
}
