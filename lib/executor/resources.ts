/**
 * A job's own say over its worker pods: resource requests and limits, and extra environment
 * variables. Checked once when the job is submitted (compileJobSpec), merged with the executor's
 * defaults when its workers are launched (buildWorkerJob). Pure: no API server involved.
 */
import { InvalidJobSpecError } from '../errors.js';

export type ResourceName = 'cpu' | 'memory' | 'ephemeral-storage';
export const RESOURCE_NAMES: readonly ResourceName[] = ['cpu', 'memory', 'ephemeral-storage'];
export type ResourceList = Partial<Record<ResourceName, string>>;

export interface WorkerResources {
  requests?: ResourceList;
  limits?: ResourceList;
}

/** An environment variable of the worker pods. */
export interface EnvVar {
  name: string;
  value: string;
}

const MIB = 1024 * 1024;
/** A Kubernetes quantity: a decimal number, then a binary (Ki..Ei) or decimal (n..E) suffix or an exponent. */
export const QUANTITY = /^\+?(\d+(\.\d*)?|\.\d+)(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+)?$/;
const SUFFIX: Record<string, number> = {
  '': 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, Pi: 1024 ** 5, Ei: 1024 ** 6,
};

/** The value of a Kubernetes quantity (`500m` = 0.5, `1Gi` = 1073741824, `1G` = 1e9), or undefined if it is none. */
export function parseQuantity(q: string): number | undefined {
  const m = QUANTITY.exec(q);
  if (!m) return undefined;
  const suffix = m[3] ?? '';
  const n = Number(m[1]);
  if (/^[eE]/.test(suffix)) return n * 10 ** Number(suffix.slice(1));
  return n * SUFFIX[suffix]!;
}

/** Bytes as a quantity in whole MiB (`1Gi` when it is whole GiB). */
export function mebibytes(bytes: number): string {
  const mi = Math.ceil(bytes / MIB);
  return mi % 1024 === 0 ? `${mi / 1024}Gi` : `${mi}Mi`;
}

/**
 * The memory a worker pod asks for when neither the job nor the executor says: the map-side
 * buffer (`memory`, `--memory`) may be filled twice over while a sorted run is written (the bound
 * test/memory-bound.test.ts holds workers to), plus room for Node itself. At the default 256 MiB
 * buffer that is the request 256Mi and the limit 1Gi.
 */
export function workerMemory(memoryBytes: number): { request: string; limit: string } {
  return {
    request: mebibytes(Math.max(256 * MIB, memoryBytes)),
    limit: mebibytes(Math.max(1024 * MIB, 2 * memoryBytes + 512 * MIB)),
  };
}

const show = (v: unknown): string => {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(field: string, expected: string, value: unknown): never {
  throw new InvalidJobSpecError(`Expected \`${field}\` to be ${expected}, got \`${show(value)}\``, { field });
}

/**
 * A job's `resources` checked: only `requests` and `limits`, only cpu, memory and
 * ephemeral-storage, each a quantity (a plain number, as YAML writes `cpu: 2`, is taken as one),
 * no request above its limit, and a memory limit above the job's map-side buffer.
 */
export function checkWorkerResources(value: unknown, memoryBytes: number, field = 'resources'): WorkerResources {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) bad(field, 'an object with `requests` and/or `limits`', value);
  const out: WorkerResources = {};
  for (const [kind, list] of Object.entries(value)) {
    if (kind !== 'requests' && kind !== 'limits') bad(field, 'an object with only `requests` and `limits`', kind);
    if (list === undefined || list === null) continue;
    if (!isRecord(list)) bad(`${field}.${kind}`, 'an object of cpu, memory and ephemeral-storage', list);
    const checked: ResourceList = {};
    for (const [name, q] of Object.entries(list)) {
      if (!(RESOURCE_NAMES as readonly string[]).includes(name)) bad(`${field}.${kind}`, 'an object of only cpu, memory and ephemeral-storage', name);
      const s = typeof q === 'number' && Number.isFinite(q) && q >= 0 ? String(q) : q;
      if (typeof s !== 'string' || parseQuantity(s) === undefined) bad(`${field}.${kind}.${name}`, 'a Kubernetes quantity such as 500m, 2 or 1Gi', q);
      checked[name as ResourceName] = s;
    }
    out[kind] = checked;
  }
  for (const name of RESOURCE_NAMES) {
    const req = out.requests?.[name];
    const lim = out.limits?.[name];
    if (req !== undefined && lim !== undefined && parseQuantity(req)! > parseQuantity(lim)!) {
      throw new InvalidJobSpecError(`Expected \`${field}.requests.${name}\` (${req}) to be at most \`${field}.limits.${name}\` (${lim})`, { field: `${field}.requests.${name}` });
    }
  }
  const memLimit = out.limits?.memory;
  if (memLimit !== undefined && parseQuantity(memLimit)! <= memoryBytes) {
    throw new InvalidJobSpecError(
      `Expected \`${field}.limits.memory\` (${memLimit}) to be larger than the job's \`memory\` (${mebibytes(memoryBytes)}, the map-side buffer each worker fills): ` +
        `give at least ${workerMemory(memoryBytes).limit}, or a smaller \`memory\``,
      { field: `${field}.limits.memory` },
    );
  }
  return out;
}

/** Variables kubemr sets in every worker itself; a job may not set them. */
export const isKubemrVariable = (name: string): boolean => /^KUBEMR_/i.test(name) || name === 'TMPDIR';
/** What Kubernetes accepts as an environment variable name everywhere (C identifiers plus `-` and `.`). */
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const MAX_ENV = 100;

/** A job's `env` checked: a list of `{ name, value }`, valid unique names, none of kubemr's own. */
export function checkWorkerEnv(value: unknown, field = 'env'): EnvVar[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) bad(field, 'a list of { name, value }', value);
  if (value.length > MAX_ENV) throw new InvalidJobSpecError(`Expected at most ${MAX_ENV} \`${field}\` entries, got ${value.length}`, { field });
  const seen = new Set<string>();
  return value.map((e: unknown, i) => {
    const at = `${field}[${i}]`;
    if (!isRecord(e)) bad(at, 'an object { name, value }', e);
    for (const k of Object.keys(e)) if (k !== 'name' && k !== 'value') bad(at, 'an object with only `name` and `value`', k);
    const { name, value: v } = e;
    if (typeof name !== 'string' || !ENV_NAME.test(name)) bad(`${at}.name`, 'a variable name (letters, digits, `_`, `-`, `.`, not starting with a digit)', name);
    if (isKubemrVariable(name)) {
      throw new InvalidJobSpecError(
        `\`${at}.name\` may not be \`${name}\`: kubemr sets KUBEMR_* and TMPDIR in every worker itself (the coordinator address, the job, the token, the data directory)`,
        { field: `${at}.name` },
      );
    }
    if (seen.has(name)) throw new InvalidJobSpecError(`\`${at}.name\` repeats \`${name}\`: each variable may be set once`, { field: `${at}.name` });
    seen.add(name);
    if (v !== undefined && typeof v !== 'string') bad(`${at}.value`, 'a string', v);
    return { name, value: v ?? '' };
  });
}

/**
 * The requests and limits of one worker container: the job's own first, then the executor's
 * (`base`), then memory sized from the job's buffer. A request or limit the job did not set
 * gives way to one it did, so the pair stays valid (a request never above its limit).
 */
export function mergeWorkerResources(base: WorkerResources, job: WorkerResources, memoryBytes: number): { requests: ResourceList; limits: ResourceList } {
  const mem = workerMemory(memoryBytes);
  const requests: ResourceList = { memory: mem.request, ...base.requests, ...job.requests };
  const limits: ResourceList = { memory: mem.limit, ...base.limits, ...job.limits };
  // An executor-wide memory limit the job's buffer would not fit in is not a limit but an OOM kill.
  if (job.limits?.memory === undefined && parseQuantity(limits.memory!)! <= memoryBytes) limits.memory = mem.limit;
  for (const name of RESOURCE_NAMES) {
    const req = requests[name];
    const lim = limits[name];
    if (req === undefined || lim === undefined || parseQuantity(req)! <= parseQuantity(lim)!) continue;
    if (job.limits?.[name] === undefined) limits[name] = req;
    else requests[name] = lim;
  }
  return { requests, limits };
}

/**
 * The Node options a worker process starts with: V8's young generation sized from the job's
 * memory budget, `--memory`/8 per semi-space, between 16 MB (V8's own default) and 64 MB. A map
 * call's pairs die within the call or a piece later; in a 16 MB young generation many of them
 * outlive two scavenges, are promoted and are collected again as old garbage. Measured on the
 * wordcount bench (256 MiB, 2 workers): 11.6 s at 16 MB, 8.7 s at 32 MB, 8.5 s at 64 MB. The
 * young generation counts against the process's memory (three semi-spaces at most), so it
 * grows no further: at 64 MB the high-cardinality job's workers peaked 130 MB higher.
 */
export function workerNodeOptions(memoryBytes: number): string {
  const semiSpaceMb = Math.max(16, Math.min(64, Math.floor(memoryBytes / MIB / 8)));
  return `--max-semi-space-size=${semiSpaceMb}`;
}

/**
 * V8 flags for local worker processes (they are not allowed in NODE_OPTIONS).
 *
 * When the workers are as many as the cores, each collects garbage on its own thread. V8's
 * helper threads would only take cores from the other workers: the indexer bench (2 workers, 2
 * cores) ran 3% faster on 3% less CPU, wordcount likewise, the README's app within 1%. With a
 * core to spare they help.
 *
 * The old generation starts at `--memory`/4, rounded down to a power of two (16 to 256 MB), rather
 * than V8's few megabytes. A worker's old generation is mostly what its tasks promoted and
 * dropped (a map call's pairs, a reduce's values), so a fresh process marked it every task or
 * so: ten full collections a worker in the indexer bench, against two for the no-framework loop
 * that keeps everything. At a quarter of the budget the worker ran four; 2 workers, the same
 * build with and without the flag, 8 interleaved rounds: 0.24 s less CPU, wall 0.98 per round.
 * Both generations count toward a worker's memory: at the default budget, up to 96 MB young
 * and 64 MB old before a first full collection, which the bench's high-cardinality job
 * (`--memory 256M`, held to 2 x 256M + 150 MB a worker) stays within. A power of two keeps the
 * worker bundle's code caches (one per set of flags) to a few.
 */
export function workerV8Flags(workers: number, cores: number, memoryBytes: number): string[] {
  const quarter = Math.max(16, Math.min(256, Math.floor(memoryBytes / MIB / 4)));
  const oldMb = 2 ** Math.floor(Math.log2(quarter));
  return [...(workers >= cores ? ['--single-threaded-gc'] : []), `--initial-old-space-size=${oldMb}`];
}

/** `ours` followed by what the environment already has, so a user's own options win. */
export function withNodeOptions(ours: string, existing: string | undefined): string {
  return existing ? `${ours} ${existing}` : ours;
}
