/**
 * The coordinator as the operator of the MapReduceJob custom resource (k8s/crd.yaml): each new
 * resource becomes a job, its `.status` follows the job (with Running/Succeeded/Failed conditions,
 * conditions.ts), what happens to it is recorded as Events on it (submitted, started, a worker
 * failed, workers cannot start, how it ended: events.ts), and deleting it cancels the job.
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
import fs from 'node:fs';
import os from 'node:os';
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions, type KubernetesListObject } from '@kubernetes/client-node';
import type { Coordinator, WorkerEvent } from '../coordinator/coordinator.js';
import { isFinished } from '../coordinator/coordinator.js';
import { errorMessage, KubernetesError } from '../errors.js';
import { describe, statusCode } from '../kube/api-errors.js';
import { RestartingInformer } from '../kube/informer.js';
import { fail } from '../kube/options.js';
import { silentLogger, type Logger } from '../logger.js';
import { conditionsFor, type FailureReason } from './conditions.js';
import { EventRecorder, type InvolvedObject } from './events.js';
import { ResourceOwners } from './owners.js';
import { mapReduceJobId, specFromResource } from './spec.js';
import { statusFromDisk, statusOf, TERMINAL } from './status.js';
import { MAPREDUCEJOB, type MapReduceJob, type MapReduceJobCondition, type MapReduceJobStatus } from './types.js';

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
  /** The `reportingInstance` of the Events it records (the coordinator pod's name). @default os.hostname() */
  eventInstance?: string | undefined;
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
  eventInstance: string;
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
    eventInstance: o.eventInstance || os.hostname(),
  };
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
  /** Why the workers cannot start, while they cannot (from the executor). */
  workersStuck: string | undefined;
  /** Why the job failed, when the executor or the spec says (the Failed condition's reason). */
  failureReason: FailureReason | undefined;
  /** The conditions last written (or found on the resource), for their lastTransitionTime. */
  conditions: MapReduceJobCondition[] | undefined;
  /** The phase last written (or found on the resource). */
  writtenPhase: unknown;
  writtenMessage: unknown;
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
  private readonly events: EventRecorder;
  private readonly tracked = new Map<string, Tracked>();
  private readonly byJob = new Map<string, Tracked>();
  private readonly pending = new Set<Promise<void>>();
  private informer: RestartingInformer<MapReduceJob> | undefined;
  private unsubscribe: (() => void) | undefined;
  private unsubscribeWorkers: (() => void) | undefined;
  private closed = false;
  private orphansChecked = false;

  constructor(options: OperatorOptions) {
    this.o = compile(options);
    this.log = this.o.logger;
    this.api = this.o.kubeConfig.makeApiClient(CustomObjectsApi);
    this.events = new EventRecorder(this.o.kubeConfig.makeApiClient(CoreV1Api), { component: 'kubemr-coordinator', instance: this.o.eventInstance }, this.log);
  }

  private get coordinator(): Coordinator {
    return this.o.coordinator;
  }

  async start(): Promise<void> {
    this.unsubscribe = this.coordinator.subscribe((e) => {
      const t = this.byJob.get(e.job.id);
      if (t && (e.type !== 'task' || e.task.state === 'done')) this.requestWrite(t);
    });
    this.unsubscribeWorkers = this.coordinator.onWorkerEvent((e) => this.onWorkerEvent(e));
    const { namespace } = this.o;
    const listFn = () =>
      this.api.listNamespacedCustomObject({
        group: MAPREDUCEJOB.group,
        version: MAPREDUCEJOB.version,
        namespace,
        plural: MAPREDUCEJOB.plural,
        ...(this.o.labelSelector ? { labelSelector: this.o.labelSelector } : {}),
      }) as Promise<KubernetesListObject<MapReduceJob>>;
    let started = false;
    const informer = new RestartingInformer<MapReduceJob>({
      kubeConfig: this.o.kubeConfig,
      path: `/apis/${MAPREDUCEJOB.group}/${MAPREDUCEJOB.version}/namespaces/${namespace}/${MAPREDUCEJOB.plural}`,
      list: listFn,
      labelSelector: this.o.labelSelector,
      retryMs: this.o.watchRetryMs,
      logger: this.log,
      what: 'MapReduceJob',
      onAdd: (r) => this.onResource(r),
      onUpdate: (r) => this.onResource(r),
      onDelete: (r) => this.onDeleted(r),
      // After a restart the list may have missed deletions: look for orphans again.
      onSynced: () => {
        if (started) this.cancelOrphans();
      },
    });
    this.informer = informer;
    // The first list must work: a missing CRD or missing RBAC is a setup error, said at once.
    const firstError = await informer.start({ retry: false });
    started = true;
    if (firstError !== undefined) {
      await informer.stop();
      this.unsubscribe();
      this.unsubscribeWorkers?.();
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
    this.unsubscribe?.();
    this.unsubscribeWorkers?.();
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
      workersStuck: undefined,
      failureReason: undefined,
      conditions: status?.conditions as MapReduceJobCondition[] | undefined,
      writtenPhase: status?.phase,
      writtenMessage: status?.message,
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
        t.failureReason = 'InvalidSpec';
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
    if (coordinator.hasJob(t.jobId)) {
      const job = coordinator.getJob(t.jobId);
      const steps = job.spec.steps > 1 ? `, ${job.spec.steps} steps` : '';
      this.event(t, 'Normal', 'Submitted', `job ${t.jobId}: ${job.maps.length} map tasks, ${job.reduces.length} reduce tasks, ${job.spec.workers} workers${steps}`);
    }
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
    this.events.forget(t.uid);
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
    let status: MapReduceJobStatus;
    let failureReason = t.failureReason;
    if (t.fixed) {
      status = { ...t.fixed };
    } else {
      const scheduler = this.coordinator;
      if (!scheduler.hasJob(t.jobId)) return undefined;
      const job = scheduler.getJob(t.jobId);
      status = statusOf(job, this.coordinator.dataRoot, t.generation);
      if (t.note !== '' && !isFinished(job.phase)) status.message = status.message ? `${status.message}; ${t.note}` : t.note;
      if (job.phase === 'failed' && failureReason === undefined) failureReason = [...job.maps, ...job.reduces].some((x) => x.state === 'failed') ? 'TaskFailed' : 'JobFailed';
    }
    status.conditions = conditionsFor(
      { phase: status.phase, message: status.message ?? '', workersStuck: t.workersStuck, failureReason, generation: status.observedGeneration ?? t.generation },
      t.conditions,
    );
    return status;
  }

  private event(t: Tracked, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const on: InvolvedObject = { apiVersion: MAPREDUCEJOB.apiVersion, kind: MAPREDUCEJOB.kind, namespace: t.namespace, name: t.name, uid: t.uid };
    this.track(this.events.record(on, type, reason, message));
  }

  private onWorkerEvent(e: WorkerEvent): void {
    const t = this.byJob.get(e.jobId);
    if (!t || t.gone || this.closed) return;
    switch (e.type) {
      case 'died':
        this.event(t, 'Warning', 'WorkerFailed', `worker pod ${e.worker} failed: ${e.reason}`);
        return;
      case 'stuck':
        t.workersStuck = e.problem;
        this.event(t, 'Warning', 'WorkersCannotStart', e.problem);
        this.requestWrite(t);
        return;
      case 'started':
        t.workersStuck = undefined;
        this.event(t, 'Normal', 'WorkersStarted', 'no worker pod is stuck any more');
        this.requestWrite(t);
        return;
      case 'exhausted':
        t.failureReason = e.cause === 'start-timeout' ? 'WorkersCannotStart' : 'BackoffLimitExceeded';
        return;
    }
  }

  /** The Events of a phase change just written: started, and how it ended. */
  private phaseEvents(t: Tracked, before: unknown, status: MapReduceJobStatus): void {
    if (status.phase === before) return;
    if ((before === undefined || before === 'Pending') && status.phase !== 'Pending' && status.startTime !== undefined) {
      this.event(t, 'Normal', 'Started', `job ${status.jobId ?? t.jobId} started: its first task is running`);
    }
    const failed = status.conditions?.find((c) => c.type === 'Failed');
    if (status.phase === 'Succeeded') this.event(t, 'Normal', 'Succeeded', `job ${status.jobId ?? t.jobId} succeeded: ${status.results?.length ?? 0} output files`);
    else if (status.phase === 'Failed') this.event(t, 'Warning', failed?.reason ?? 'Failed', status.message || 'the job failed');
    else if (status.phase === 'Cancelled') this.event(t, 'Normal', 'Cancelled', status.message || 'the job was cancelled');
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
    // A new phase or message (workers that cannot start, say) is news: written at once.
    if (((status.phase !== t.writtenPhase || status.message !== t.writtenMessage) && now >= t.retryAt) || wait <= 0) {
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
        const before = t.writtenPhase;
        t.writtenPhase = status.phase;
        t.writtenMessage = status.message;
        t.conditions = status.conditions;
        log.debug('status written', { phase: status.phase, progress: status.progress });
        this.phaseEvents(t, before, status);
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
