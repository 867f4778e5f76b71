/**
 * The coordinator as the operator of the MapReduceJob custom resource (k8s/crd.yaml): each new
 * resource becomes a job, its `.status` follows the job, and deleting it cancels the job.
 *
 * Lifecycle of one resource, as the operator sees it:
 *   seen (list or watch ADDED)
 *     -> submitted   (spec valid: Coordinator.submit under a job id derived from name + uid)
 *     -> tracked     (the job was already there: resumed from its journal, or finished on disk)
 *     -> rejected    (spec invalid: status Failed with the coordinator's message; retried only
 *                     when the spec changes, i.e. a new metadata.generation)
 *   tracked/submitted -> forgotten (resource deleted: the job is cancelled, its workers stopped)
 *
 * The job id is a pure function of the resource's name and uid, so a restarted coordinator that
 * lists the same resource finds the job directory it already made and never runs it twice.
 *
 * @example
 *   const kc = new KubeConfig(); kc.loadFromDefault();            // in cmd/*, never in lib
 *   const owners = new ResourceOwners('/data');                   // shared with the executor
 *   const executor = new KubernetesExecutor({ kubeConfig: kc, ownerReferences: owners.ownerReferences });
 *   const coordinator = new Coordinator({ dataDir: '/data', executor });
 *   await coordinator.start();
 *   const operator = await startOperator({ coordinator, kubeConfig: kc, namespace: 'kubemr', owners });
 *   // ... on SIGTERM:
 *   await operator.close();
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  CustomObjectsApi,
  KubeConfig,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type Informer,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
  type V1OwnerReference,
} from '@kubernetes/client-node';
import { jobCounters } from '../coordinator/counters.js';
import { isFinished, resultFiles, type Coordinator } from '../coordinator/coordinator.js';
import { writeFileAtomic } from '../storage/atomic.js';
import { slugify } from '../storage/job-id.js';
import { InvalidJobSpecError, KubernetesError, errorMessage } from '../errors.js';
import { describe, fail, statusCode } from '../executor/kubernetes.js';
import type { JobSpecInput } from '../coordinator/jobspec.js';
import { silentLogger, type Logger } from '../logger.js';
import type { JobPhase, JobRecord } from '../coordinator/scheduler.js';

export const MAPREDUCEJOB = {
  group: 'kubemr.io',
  version: 'v1alpha1',
  plural: 'mapreducejobs',
  kind: 'MapReduceJob',
  apiVersion: 'kubemr.io/v1alpha1',
} as const;

/** `.spec` as k8s/crd.yaml declares it; read as `unknown` first, since nothing guarantees the CRD's schema was applied. */
export interface MapReduceJobSpec {
  app?: string;
  image?: string;
  inputs: string[];
  reducers?: number;
  workers?: number;
  maxAttempts?: number;
  leaseSeconds?: number;
  streaming?: { mapper?: string; reducer?: string; combiner?: string };
  /** Job parameters, read in map/reduce with params(). */
  params?: Record<string, string>;
  /** Backup attempts of slow tasks near the end of a phase. @default true */
  speculative?: boolean;
  /** How many steps the app declares (registerApp({ steps })). @default 1 */
  steps?: number;
  /** text (default) | tsv | jsonl */
  outputFormat?: string;
}

/**
 * Pending (submitted, no task handed out yet) -> Running -> Succeeded | Failed | Cancelled.
 * A resource whose spec is invalid goes straight to Failed.
 */
export type MapReduceJobPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Cancelled';

export interface MapReduceJobStatus {
  phase: MapReduceJobPhase;
  jobId?: string;
  mapsDone?: number;
  mapsTotal?: number;
  reducesDone?: number;
  reducesTotal?: number;
  /** "map 3/8 reduce 0/10" */
  progress?: string;
  /** Output files, relative to the data volume when inside it. */
  results?: string[];
  message?: string;
  observedGeneration?: number;
  startTime?: string;
  completionTime?: string;
  /** Sums over each task's winning attempt: map.*, reduce.*, user.<name>. */
  counters?: Record<string, number>;
}

export interface MapReduceJob extends KubernetesObject {
  spec?: unknown;
  status?: Partial<MapReduceJobStatus>;
}

export interface OperatorOptions {
  coordinator: Coordinator;
  /** Where the API server is and how to authenticate; loaded by the caller (cmd/*). */
  kubeConfig: KubeConfig;
  /** Namespace whose MapReduceJobs are run. @default the kubeconfig context's namespace, else 'default' */
  namespace?: string | undefined;
  logger?: Logger;
  /**
   * Records which resource owns which job, for the executor's `ownerReferences` and across
   * restarts. Pass the instance the executor uses, so worker Jobs are owned by their resource.
   * @default a private ResourceOwners over the coordinator's data directory
   */
  owners?: ResourceOwners | undefined;
  /** Only resources matching this label selector are run. @default every MapReduceJob */
  labelSelector?: string | undefined;
  /** At most one status write per resource per this many ms; phase changes are written at once. @default 1000 */
  statusIntervalMs?: number;
  /** First delay before restarting a failed watch; doubles up to 30 s. @default 1000 */
  watchRetryMs?: number;
}

interface CompiledOptions {
  coordinator: Coordinator;
  kubeConfig: KubeConfig;
  namespace: string;
  logger: Logger;
  owners: ResourceOwners;
  labelSelector: string | undefined;
  statusIntervalMs: number;
  watchRetryMs: number;
}

function compile(o: OperatorOptions): CompiledOptions {
  if (!(o.kubeConfig instanceof KubeConfig)) fail('kubeConfig', 'a KubeConfig', typeof o.kubeConfig);
  if (typeof o.coordinator?.submit !== 'function') fail('coordinator', 'a Coordinator', typeof o.coordinator);
  const ctx = o.kubeConfig.getContextObject(o.kubeConfig.getCurrentContext());
  const namespace = o.namespace || ctx?.namespace || 'default';
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) fail('namespace', 'a DNS-1123 label', namespace);
  const posInt = (field: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) fail(field, 'an integer >= 1', v);
    return v;
  };
  if (o.labelSelector !== undefined && typeof o.labelSelector !== 'string') fail('labelSelector', 'a string', o.labelSelector);
  return {
    coordinator: o.coordinator,
    kubeConfig: o.kubeConfig,
    namespace,
    logger: (o.logger ?? silentLogger).child({ component: 'operator' }),
    owners: o.owners ?? new ResourceOwners(o.coordinator.dataRoot),
    labelSelector: o.labelSelector || undefined,
    statusIntervalMs: posInt('statusIntervalMs', o.statusIntervalMs ?? 1000),
    watchRetryMs: posInt('watchRetryMs', o.watchRetryMs ?? 1000),
  };
}

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
  // Type checks of the remaining fields are compileJobSpec's, with the same messages as gRPC submits get.
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
    workDir: root,
  };
}

const PHASES: Record<JobPhase, MapReduceJobPhase> = {
  queued: 'Pending',
  map: 'Running',
  reduce: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

const TERMINAL = new Set<unknown>(['Succeeded', 'Failed', 'Cancelled']);

/** A path on the data volume as users name it in specs; anything outside stays absolute. */
function volumePath(root: string, file: string): string {
  const rel = path.relative(root, file);
  return rel === '' || rel.startsWith('..') || path.isAbsolute(rel) ? file : rel.split(path.sep).join('/');
}

/** A resource's status for a job, as the CRD's status schema declares it. */
export function statusOf(job: JobRecord, dataDir: string, generation?: number): MapReduceJobStatus {
  const done = (ts: JobRecord['maps']) => ts.filter((t) => t.state === 'done').length;
  const status: MapReduceJobStatus = {
    phase: PHASES[job.phase],
    jobId: job.id,
    mapsDone: done(job.maps),
    mapsTotal: job.maps.length,
    reducesDone: done(job.reduces),
    reducesTotal: job.reduces.length,
    progress: `${job.spec.steps > 1 ? `step ${job.spec.step + 1}/${job.spec.steps} ` : ''}map ${done(job.maps)}/${job.maps.length} reduce ${done(job.reduces)}/${job.reduces.length}`,
    results: job.phase === 'succeeded' ? resultFiles(job).map((f) => volumePath(path.resolve(dataDir), f)) : [],
    message: job.message,
    counters: jobCounters(job),
  };
  if (generation !== undefined) status.observedGeneration = generation;
  if (job.startedAt !== undefined) status.startTime = new Date(job.startedAt).toISOString();
  if (job.finishedAt !== undefined) status.completionTime = new Date(job.finishedAt).toISOString();
  return status;
}

/**
 * The status of a job that finished under an earlier coordinator (it is not resumed, so the
 * scheduler never knew it): read back from its job.json and RESULT file.
 */
export function statusFromDisk(dataDir: string, jobId: string, generation?: number): MapReduceJobStatus {
  const root = path.resolve(dataDir);
  const dir = path.join(root, 'jobs', jobId);
  let saved: { spec?: { reducers?: number }; outputDir?: string; mapInputs?: unknown[] } = {};
  let result = '';
  try {
    saved = JSON.parse(fs.readFileSync(path.join(dir, 'job.json'), 'utf8'));
    result = fs.readFileSync(path.join(dir, 'RESULT'), 'utf8').trim();
  } catch {
    // handled below: a directory without both is a job the coordinator could not resume
  }
  const base = { jobId, ...(generation !== undefined ? { observedGeneration: generation } : {}) };
  if (result === '') {
    return { ...base, phase: 'Failed', message: `The job directory jobs/${jobId} exists, but the coordinator could not resume the job (see its log)` };
  }
  const maps = saved.mapInputs?.length ?? 0;
  const reduces = saved.spec?.reducers ?? 0;
  const counts = (mapsDone: number, reducesDone: number) => ({
    mapsDone,
    mapsTotal: maps,
    reducesDone,
    reducesTotal: reduces,
    progress: `map ${mapsDone}/${maps} reduce ${reducesDone}/${reduces}`,
  });
  if (result === 'OK') {
    const out = saved.outputDir ?? path.join(dir, 'output');
    const results = Array.from({ length: reduces }, (_, r) => volumePath(root, path.join(out, `mr-out-${r}`)));
    return { ...base, phase: 'Succeeded', ...counts(maps, reduces), results, message: '' };
  }
  if (result === 'CANCELLED') return { ...base, phase: 'Cancelled', message: 'cancelled by request' };
  return { ...base, phase: 'Failed', message: result.replace(/^FAILED\s*/, '') };
}

interface OwnerRecord {
  namespace: string;
  name: string;
  uid: string;
}

const OWNER_FILE = 'mapreducejob.json';
const SAFE_JOB_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * Which MapReduceJob owns which job. The executor asks while `Coordinator.submit` launches the
 * workers — before the job directory exists — so the answer is kept in memory first; once the
 * job is submitted it is also written to `jobs/<id>/mapreducejob.json`, so a restarted
 * coordinator's resumed jobs (relaunched before the operator even starts) keep their owner, and
 * the operator can tell which resumed jobs lost their resource while it was down.
 */
export class ResourceOwners {
  private readonly memory = new Map<string, OwnerRecord | null>();
  private readonly root: string;

  constructor(dataDir: string) {
    this.root = path.resolve(dataDir);
  }

  remember(jobId: string, owner: OwnerRecord): void {
    this.memory.set(jobId, { ...owner });
  }

  /** Writes the owner beside the job; the job directory must exist. */
  persist(jobId: string): void {
    const owner = this.memory.get(jobId);
    if (owner) writeFileAtomic(this.file(jobId), JSON.stringify({ apiVersion: MAPREDUCEJOB.apiVersion, kind: MAPREDUCEJOB.kind, ...owner }) + '\n');
  }

  forget(jobId: string): void {
    this.memory.delete(jobId);
  }

  get(jobId: string): OwnerRecord | undefined {
    if (!SAFE_JOB_ID.test(jobId)) return undefined;
    const cached = this.memory.get(jobId);
    if (cached !== undefined) return cached ?? undefined;
    let found: OwnerRecord | null = null;
    try {
      const o = JSON.parse(fs.readFileSync(this.file(jobId), 'utf8')) as Partial<OwnerRecord>;
      if (typeof o.namespace === 'string' && typeof o.name === 'string' && typeof o.uid === 'string') {
        found = { namespace: o.namespace, name: o.name, uid: o.uid };
      }
    } catch {
      // no file: a job submitted over gRPC, not from a resource
    }
    this.memory.set(jobId, found);
    return found ?? undefined;
  }

  /**
   * For `KubernetesExecutorOptions.ownerReferences`: the worker Jobs of a resource's job are
   * owned by the resource, so `kubectl delete mapreducejob` takes them along even when no
   * coordinator is running; other jobs get `undefined` (the caller's default owners).
   * Not a controller reference and not blocking: the coordinator, not the garbage collector,
   * decides when workers stop, and blockOwnerDeletion would need mapreducejobs/finalizers rights.
   */
  readonly ownerReferences = (jobId: string): V1OwnerReference[] | undefined => {
    const o = this.get(jobId);
    return o ? [{ apiVersion: MAPREDUCEJOB.apiVersion, kind: MAPREDUCEJOB.kind, name: o.name, uid: o.uid, blockOwnerDeletion: false }] : undefined;
  };

  private file(jobId: string): string {
    return path.join(this.root, 'jobs', jobId, OWNER_FILE);
  }
}

/** What the operator knows about one resource (keyed by uid). */
interface Tracked {
  namespace: string;
  name: string;
  uid: string;
  generation: number | undefined;
  jobId: string;
  /** Set when the status does not come from a live job: a rejected spec, or a job finished on disk. */
  fixed: MapReduceJobStatus | undefined;
  /** Extra words for the message, e.g. workers that could not be started. */
  note: string;
  /** The phase last written (or found on the resource). */
  writtenPhase: unknown;
  lastWriteAt: number;
  timer: NodeJS.Timeout | undefined;
  writing: Promise<void> | undefined;
  dirty: boolean;
  /** After a failed write, nothing (not even a phase change) is written before this time. */
  retryAt: number;
  gone: boolean;
}

class MapReduceJobOperator {
  private readonly o: CompiledOptions;
  private readonly log: Logger;
  private readonly api: CustomObjectsApi;
  private readonly tracked = new Map<string, Tracked>();
  private readonly byJob = new Map<string, Tracked>();
  private readonly pending = new Set<Promise<void>>();
  private informer: (Informer<MapReduceJob> & ObjectCache<MapReduceJob>) | undefined;
  private unsubscribe: (() => void) | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay: number;
  private closed = false;
  private orphansChecked = false;

  constructor(options: OperatorOptions) {
    this.o = compile(options);
    this.log = this.o.logger;
    this.retryDelay = this.o.watchRetryMs;
    this.api = this.o.kubeConfig.makeApiClient(CustomObjectsApi);
  }

  private get coordinator(): Coordinator {
    return this.o.coordinator;
  }

  async start(): Promise<void> {
    this.unsubscribe = this.coordinator.subscribe((e) => {
      const t = this.byJob.get(e.job.id);
      if (t && (e.type !== 'task' || e.task.state === 'done')) this.requestWrite(t);
    });
    const { namespace } = this.o;
    const listFn = () =>
      this.api.listNamespacedCustomObject({
        group: MAPREDUCEJOB.group,
        version: MAPREDUCEJOB.version,
        namespace,
        plural: MAPREDUCEJOB.plural,
        ...(this.o.labelSelector ? { labelSelector: this.o.labelSelector } : {}),
      }) as Promise<KubernetesListObject<MapReduceJob>>;
    const informer = makeInformer<MapReduceJob>(
      this.o.kubeConfig,
      `/apis/${MAPREDUCEJOB.group}/${MAPREDUCEJOB.version}/namespaces/${namespace}/${MAPREDUCEJOB.plural}`,
      listFn,
      this.o.labelSelector,
    );
    informer.on('add', (r) => this.onResource(r));
    informer.on('update', (r) => this.onResource(r));
    informer.on('delete', (r) => this.onDeleted(r));
    informer.on('error', (err) => this.onWatchError(err));
    this.informer = informer;
    // The first list must work: a missing CRD or missing RBAC is a setup error, said at once.
    let firstError: unknown;
    const onFirstError = (err: unknown) => {
      firstError ??= err ?? new Error('the watch failed');
    };
    informer.on('error', onFirstError);
    try {
      await informer.start();
    } finally {
      informer.off('error', onFirstError);
    }
    if (firstError !== undefined) {
      await informer.stop();
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.unsubscribe();
      throw new KubernetesError(
        `Could not list MapReduceJobs in namespace ${namespace} (is k8s/crd.yaml applied, and may the coordinator list mapreducejobs?): ${describe(firstError)}`,
        { cause: firstError },
      );
    }
    this.log.info('watching MapReduceJobs', { namespace, labelSelector: this.o.labelSelector });
    await this.settle();
    this.cancelOrphans();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.unsubscribe?.();
    await this.informer?.stop();
    for (const t of this.tracked.values()) if (t.timer) clearTimeout(t.timer);
    // Statuses not yet written are written by the next coordinator, which resumes the jobs.
    await this.settle();
  }

  /** Waits for submits and status writes under way. */
  private async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private track<T>(p: Promise<T>): void {
    const done = p.then(
      () => undefined,
      (err: unknown) => this.log.error('operator step failed', { error: errorMessage(err) }),
    );
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }

  /** The informer gives up on anything but 410 Gone (which it relists on itself): start it again. */
  private onWatchError(err: unknown): void {
    if (this.closed || this.retryTimer) return;
    this.log.warn('MapReduceJob watch failed; restarting', { error: describe(err), retryMs: this.retryDelay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.closed || !this.informer) return;
      let failed = false;
      const onError = () => {
        failed = true;
      };
      this.informer.on('error', onError);
      void this.informer.start().finally(() => {
        this.informer?.off('error', onError);
        if (!failed) {
          this.retryDelay = this.o.watchRetryMs;
          this.cancelOrphans();
        }
      });
    }, this.retryDelay);
    this.retryTimer.unref?.();
    this.retryDelay = Math.min(this.retryDelay * 2, 30_000);
  }

  private onResource(r: MapReduceJob): void {
    if (this.closed) return;
    const { name, namespace, uid, deletionTimestamp } = r.metadata ?? {};
    if (!name || !uid || !namespace) return;
    if (deletionTimestamp) {
      this.onDeleted(r);
      return;
    }
    const known = this.tracked.get(uid);
    if (known) {
      // A rejected spec may be fixed by editing it; a running job is never changed under it.
      if (known.fixed?.phase !== 'Failed' || this.coordinator.hasJob(known.jobId)) return;
      if (r.metadata?.generation === undefined || r.metadata.generation === known.generation) return;
      if (fs.existsSync(this.coordinator.jobLayout(known.jobId).dir)) return;
      this.untrack(known);
    }
    const status = r.status;
    const generation = r.metadata?.generation;
    const jobId = mapReduceJobId(name, uid);
    const t: Tracked = {
      namespace,
      name,
      uid,
      generation,
      jobId,
      fixed: undefined,
      note: '',
      writtenPhase: status?.phase,
      lastWriteAt: 0,
      timer: undefined,
      writing: undefined,
      dirty: false,
      retryAt: 0,
      gone: false,
    };
    this.tracked.set(uid, t);
    this.byJob.set(jobId, t);
    const log = this.log.child({ job: jobId, resource: `${namespace}/${name}` });
    const scheduler = this.coordinator;
    if (scheduler.hasJob(jobId)) {
      log.info('tracking MapReduceJob whose job is already known');
      this.requestWrite(t);
      return;
    }
    // Finished before (by an earlier coordinator, or rejected at this generation): nothing to redo.
    if (TERMINAL.has(status?.phase) && status?.observedGeneration === generation && (status?.jobId === jobId || !status?.jobId)) {
      t.fixed = { ...(status as MapReduceJobStatus) };
      log.debug('MapReduceJob already finished', { phase: status?.phase });
      return;
    }
    if (fs.existsSync(this.coordinator.jobLayout(jobId).dir)) {
      t.fixed = statusFromDisk(this.coordinator.dataRoot, jobId, generation);
      log.info('MapReduceJob\'s job finished earlier; reporting its result', { phase: t.fixed.phase });
      this.requestWrite(t);
      return;
    }
    this.track(this.submit(t, r.spec, log));
  }

  private async submit(t: Tracked, spec: unknown, log: Logger): Promise<void> {
    const { coordinator } = this;
    const owners = this.o.owners;
    try {
      const input = specFromResource(spec, t.name, coordinator.dataRoot);
      owners.remember(t.jobId, { namespace: t.namespace, name: t.name, uid: t.uid });
      await coordinator.submit(input, t.jobId);
    } catch (err) {
      if (!coordinator.hasJob(t.jobId)) {
        owners.forget(t.jobId);
        t.fixed = { phase: 'Failed', message: errorMessage(err), ...(t.generation !== undefined ? { observedGeneration: t.generation } : {}) };
        log.warn('MapReduceJob rejected', { error: errorMessage(err) });
        this.requestWrite(t);
        return;
      }
      // Queued, but its workers could not be started (an API server hiccup): say so, keep it.
      t.note = `could not start workers: ${errorMessage(err)}`;
      log.error('could not start workers for MapReduceJob', { error: errorMessage(err) });
    }
    try {
      owners.persist(t.jobId);
    } catch (err) {
      log.warn('could not record the owner of the job', { error: errorMessage(err) });
    }
    log.info('MapReduceJob submitted');
    if (t.gone) {
      // Deleted while it was being submitted.
      coordinator.cancel(t.jobId);
      return;
    }
    this.requestWrite(t);
  }

  private onDeleted(r: MapReduceJob): void {
    const uid = r.metadata?.uid;
    const t = uid === undefined ? undefined : this.tracked.get(uid);
    if (!t) return;
    this.untrack(t);
    const scheduler = this.coordinator;
    if (scheduler.hasJob(t.jobId) && !isFinished(scheduler.getJob(t.jobId).phase)) {
      this.log.info('MapReduceJob deleted; cancelling its job', { job: t.jobId, resource: `${t.namespace}/${t.name}` });
      this.coordinator.cancel(t.jobId);
    }
  }

  private untrack(t: Tracked): void {
    t.gone = true;
    if (t.timer) clearTimeout(t.timer);
    t.timer = undefined;
    this.tracked.delete(t.uid);
    if (this.byJob.get(t.jobId) === t) this.byJob.delete(t.jobId);
  }

  /** Resumed jobs whose resource was deleted while no coordinator watched: cancel them. */
  private cancelOrphans(): void {
    if (this.orphansChecked || !this.informer || this.closed) return;
    this.orphansChecked = true;
    const live = new Set(this.informer.list(this.o.namespace).map((r) => r.metadata?.uid));
    for (const job of this.coordinator.listJobs()) {
      if (isFinished(job.phase) || this.byJob.has(job.id)) continue;
      const owner = this.o.owners.get(job.id);
      if (!owner || owner.namespace !== this.o.namespace || live.has(owner.uid)) continue;
      this.log.info('the MapReduceJob of a resumed job is gone; cancelling the job', { job: job.id, resource: `${owner.namespace}/${owner.name}` });
      this.coordinator.cancel(job.id);
    }
  }

  private statusFor(t: Tracked): MapReduceJobStatus | undefined {
    if (t.fixed) return t.fixed;
    const scheduler = this.coordinator;
    if (!scheduler.hasJob(t.jobId)) return undefined;
    const status = statusOf(scheduler.getJob(t.jobId), this.coordinator.dataRoot, t.generation);
    if (t.note !== '' && !isFinished(scheduler.getJob(t.jobId).phase)) status.message = status.message ? `${status.message}; ${t.note}` : t.note;
    return status;
  }

  /** Writes at once on a phase change, otherwise at most once per statusIntervalMs. */
  private requestWrite(t: Tracked): void {
    if (t.gone || this.closed) return;
    if (t.writing) {
      t.dirty = true;
      return;
    }
    const status = this.statusFor(t);
    if (!status) return;
    const now = Date.now();
    const wait = Math.max(t.lastWriteAt + this.o.statusIntervalMs, t.retryAt) - now;
    if ((status.phase !== t.writtenPhase && now >= t.retryAt) || wait <= 0) {
      if (t.timer) clearTimeout(t.timer);
      t.timer = undefined;
      this.write(t);
      return;
    }
    if (t.timer) return;
    t.timer = setTimeout(() => {
      t.timer = undefined;
      this.requestWrite(t);
    }, wait);
    t.timer.unref?.();
  }

  private write(t: Tracked): void {
    const status = this.statusFor(t);
    if (!status) return;
    t.dirty = false;
    const log = this.log.child({ job: t.jobId, resource: `${t.namespace}/${t.name}` });
    const p = (async () => {
      try {
        // client-node sends JSON Patch unless told otherwise; a merge patch sets whole fields.
        await this.api.patchNamespacedCustomObjectStatus(
          {
            group: MAPREDUCEJOB.group,
            version: MAPREDUCEJOB.version,
            namespace: t.namespace,
            plural: MAPREDUCEJOB.plural,
            name: t.name,
            body: { status },
            fieldManager: 'kubemr-coordinator',
          },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        t.writtenPhase = status.phase;
        log.debug('status written', { phase: status.phase, progress: status.progress });
      } catch (err) {
        if (statusCode(err) === 404) {
          log.debug('MapReduceJob gone before its status was written');
          return;
        }
        log.warn('could not write MapReduceJob status; will retry', { error: describe(err) });
        t.dirty = true;
        t.retryAt = Date.now() + this.o.statusIntervalMs;
      } finally {
        t.lastWriteAt = Date.now();
        t.writing = undefined;
      }
    })();
    t.writing = p;
    this.track(p.then(() => {
      if (t.dirty) this.requestWrite(t);
    }));
  }
}

/**
 * Runs the MapReduceJobs of one namespace as jobs of `coordinator` until `close()`. Resolves
 * once the resources have been listed (and each new one submitted); throws when they cannot be
 * listed at all (no CRD, no RBAC).
 */
export async function startOperator(options: OperatorOptions): Promise<{ close(): Promise<void> }> {
  const operator = new MapReduceJobOperator(options);
  await operator.start();
  return { close: () => operator.close() };
}
