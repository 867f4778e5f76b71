/**
 * KubernetesExecutor: a job's workers are the pods of a batch/v1 Job (built by
 * kubernetes-objects.ts). One informer watches every kubemr worker pod in the namespace, so a
 * worker that fails, is evicted or OOM-killed is reported the moment the API server says so, and
 * each ended pod's log is copied to the shared volume before Kubernetes deletes the pod. Workers
 * that cannot start (their pods' waiting reasons, Unschedulable, the Job controller's FailedCreate
 * Events) are reported at once, and given up after the start deadline.
 *
 * @example
 *   const kc = new KubeConfig(); kc.loadFromDefault();            // in cmd/*, never in lib
 *   const executor = new KubernetesExecutor({ kubeConfig: kc, namespace: 'kubemr', dataDir: '/data' });
 *   executor.onWorkerDeath((worker, job, reason) => scheduler.workerDied(worker, reason));
 *   await executor.launch({ jobId, app: 'wordcount', coordinator: 'kubemr-coordinator:7070', dataDir: '/data' }, 4);
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import {
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  Log,
  type CoreV1Event,
  type V1Job,
  type V1Pod,
} from '@kubernetes/client-node';
import { KubernetesError, errorMessage } from '../errors.js';
import { describe, statusCode } from '../kube/api-errors.js';
import { RestartingInformer } from '../kube/informer.js';
import { fail } from '../kube/options.js';
import { DataLayout, tempPathFor } from '../storage/layout.js';
import { silentLogger, type Logger } from '../logger.js';
import {
  LABEL_JOB,
  WORKERS_SELECTOR,
  WORKER_CONTAINER,
  buildWorkerJob,
  checkLaunchSpec,
  compileWorkerPodOptions,
  isDns1123Label,
  jobLabelValue,
  INCARNATION,
  newIncarnation,
  podDeathReason,
  podJobId,
  workerJobName,
  type CompiledWorkerPodOptions,
  type WorkerPodOptions,
} from './kubernetes-objects.js';
import type { Executor, LaunchSpec, WorkerDeathListener, WorkerInfo, WorkersExhaustedListener, WorkersStuckListener, WorkerState } from './types.js';

export interface KubernetesExecutorOptions extends WorkerPodOptions {
  /** Where the API server is and how to authenticate; loaded by the caller (cmd/*). */
  kubeConfig: KubeConfig;
  /** Namespace of the worker Jobs. @default the kubeconfig context's namespace, else 'default' */
  namespace?: string;
  /** Tag that makes this coordinator incarnation's Job names unique. @default newIncarnation() */
  incarnation?: string;
  /** The shared volume as this process sees it; ended pods' logs are copied under it.
   * @default the dataDir of the job's LaunchSpec */
  dataDir?: string;
  /** Copy each ended pod's log to `<dataDir>/jobs/<id>/logs/pod-<pod>.log`. @default true */
  copyLogs?: boolean;
  /** At most this many bytes of a pod's log are copied. @default 16 MiB */
  maxLogBytes?: number;
  /** First delay before re-establishing a failed watch; doubles up to 30 s. @default 1000 */
  watchRetryMs?: number;
  /** How long `logs(..., { follow: true })` waits for a pending pod to start. @default 300000 */
  podStartTimeoutMs?: number;
  /**
   * The start deadline: a job none of whose worker pods has been running for this long (since
   * its launch, or since its last running worker ended) is given up (`onWorkersExhausted`,
   * cause `start-timeout`), with the reason its pods could not start (an image that cannot be
   * pulled, a container config error, no node with room, pods the Job controller may not
   * create). The reason itself is reported at once (`onWorkersStuck`). @default 300000
   */
  workerStartTimeoutMs?: number;
  /** @default silentLogger */
  logger?: Logger;
}

interface CompiledOptions {
  pod: CompiledWorkerPodOptions;
  kubeConfig: KubeConfig;
  namespace: string;
  incarnation: string;
  dataDir: string | undefined;
  copyLogs: boolean;
  maxLogBytes: number;
  watchRetryMs: number;
  podStartTimeoutMs: number;
  workerStartTimeoutMs: number;
  logger: Logger;
}

function compile(o: KubernetesExecutorOptions): CompiledOptions {
  if (!(o.kubeConfig instanceof KubeConfig)) fail('kubeConfig', 'a KubeConfig', typeof o.kubeConfig);
  const pod = compileWorkerPodOptions(o);
  const ctx = o.kubeConfig.getContextObject(o.kubeConfig.getCurrentContext());
  const namespace = o.namespace ?? ctx?.namespace ?? 'default';
  if (!isDns1123Label(namespace)) fail('namespace', 'a DNS-1123 name', namespace);
  const incarnation = o.incarnation ?? newIncarnation();
  if (!INCARNATION.test(incarnation)) fail('incarnation', '1-10 characters of [a-z0-9]', incarnation);
  if (o.dataDir !== undefined && !path.isAbsolute(o.dataDir)) fail('dataDir', 'an absolute path', o.dataDir);
  const posInt = (field: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) fail(field, 'an integer >= 1', v);
    return v;
  };
  return {
    pod,
    kubeConfig: o.kubeConfig,
    namespace,
    incarnation,
    dataDir: o.dataDir,
    copyLogs: o.copyLogs ?? true,
    maxLogBytes: posInt('maxLogBytes', o.maxLogBytes ?? 16 * 1024 * 1024),
    watchRetryMs: posInt('watchRetryMs', o.watchRetryMs ?? 1000),
    podStartTimeoutMs: posInt('podStartTimeoutMs', o.podStartTimeoutMs ?? 300_000),
    workerStartTimeoutMs: posInt('workerStartTimeoutMs', o.workerStartTimeoutMs ?? 300_000),
    logger: (o.logger ?? silentLogger).child({ component: 'kubernetes-executor' }),
  };
}

const FAILED_CREATE = 'involvedObject.kind=Job,reason=FailedCreate';
const CONFIG_ERRORS = new Set(['ErrImagePull', 'ImagePullBackOff', 'ErrImageNeverPull', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError']);

/** A Job that has ended: it starts no more pods. */
const jobFinished = (job: V1Job): string | undefined =>
  job.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')?.type;

/** Why a pod cannot start, as Kubernetes says it (or undefined: it may yet start). */
function podStartProblem(pod: V1Pod): string | undefined {
  const name = pod.metadata?.name ?? '';
  if (pod.metadata?.deletionTimestamp) return undefined;
  for (const c of pod.status?.containerStatuses ?? []) {
    const w = c.state?.waiting;
    if (w?.reason && CONFIG_ERRORS.has(w.reason)) return `pod ${name}: ${w.reason}${w.message ? `: ${w.message}` : ''}`;
  }
  const sched = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
  if (sched) return `pod ${name}: Unschedulable${sched.message ? `: ${sched.message}` : ''}`;
  return undefined;
}

/** Watching one job's start: is any of its workers running, and if not, why not. */
interface StartWatch {
  jobName: string;
  /** uids of the Jobs created for it (a replaced Job has a new one). */
  jobUids: Set<string>;
  /** Runs while no worker of the job is running; fires the start deadline. */
  timer: NodeJS.Timeout | undefined;
  /** The Job controller's last FailedCreate, while no pod runs. */
  createProblem: string | undefined;
  /** The problem last reported to the stuck listeners. */
  reported: string | undefined;
  failed: boolean;
}

export class KubernetesExecutor implements Executor {
  readonly kind = 'kubernetes' as const;
  readonly namespace: string;
  readonly incarnation: string;
  private readonly o: CompiledOptions;
  private readonly log: Logger;
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;
  private informer: RestartingInformer<V1Pod> | undefined;
  private eventInformer: RestartingInformer<CoreV1Event> | undefined;
  private watching: Promise<void> | undefined;
  private closed = false;
  private readonly listeners: WorkerDeathListener[] = [];
  private readonly exhaustedListeners: WorkersExhaustedListener[] = [];
  private readonly stuckListeners: WorkersStuckListener[] = [];
  private readonly starts = new Map<string, StartWatch>();
  /** Failed pods per job, counted as the Job controller counts them against backoffLimit. */
  private readonly failures = new Map<string, number>();
  /** Pods already reported dead, so a relist or a later update never reports them twice. */
  private readonly reported = new Set<string>();
  /** uids of Jobs deleted by stop(): their pods dying is expected, not news. */
  private readonly stoppedJobUids = new Set<string>();
  private readonly jobDataDirs = new Map<string, string>();
  /** Pod name -> job id, remembered after the pod is gone (to find its saved log). */
  private readonly podJobs = new Map<string, string>();
  private readonly copies = new Map<string, Promise<void>>();
  /** Open log follows: aborted and ended by close(), ended when their pod is deleted. */
  private readonly follows = new Map<AbortController, { pod: string; pass: PassThrough }>();
  private readonly podWaiters = new Map<string, Set<() => void>>();

  constructor(options: KubernetesExecutorOptions) {
    this.o = compile(options);
    this.namespace = this.o.namespace;
    this.incarnation = this.o.incarnation;
    this.log = this.o.logger;
    this.batch = this.o.kubeConfig.makeApiClient(BatchV1Api);
    this.core = this.o.kubeConfig.makeApiClient(CoreV1Api);
  }

  /** The name of the Job this incarnation creates for a job. */
  jobName(jobId: string): string {
    return workerJobName(jobId, this.incarnation);
  }

  onWorkerDeath(listener: WorkerDeathListener): void {
    this.listeners.push(listener);
  }

  onWorkersExhausted(listener: WorkersExhaustedListener): void {
    this.exhaustedListeners.push(listener);
  }

  onWorkersStuck(listener: WorkersStuckListener): void {
    this.stuckListeners.push(listener);
  }

  async launch(spec: LaunchSpec, n: number): Promise<void> {
    this.assertOpen();
    checkLaunchSpec(spec, n, this.o.pod);
    const job = buildWorkerJob({ spec, workers: n, namespace: this.namespace, incarnation: this.incarnation, options: this.o.pod });
    const name = job.metadata!.name!;
    const log = this.log.child({ job: spec.jobId });
    this.jobDataDirs.set(spec.jobId, spec.dataDir);
    // Watch first: a pod that dies between create and watch is still seen by the initial list.
    await this.ensureWatching();
    const created = await this.createOrReplace(job, spec.jobId, log);
    const watch = this.starts.get(spec.jobId);
    if (watch && !watch.failed) {
      watch.jobName = name;
      if (created.metadata?.uid) watch.jobUids.add(created.metadata.uid);
    } else {
      this.starts.set(spec.jobId, { jobName: name, jobUids: new Set(created.metadata?.uid ? [created.metadata.uid] : []), timer: undefined, createProblem: undefined, reported: undefined, failed: false });
    }
    this.checkStart(spec.jobId);
  }

  /**
   * Creates the Job. One of the same name already there (this incarnation launched it before: a
   * coordinator container restarted in the same pod) is the job's if it still runs; if it has
   * finished (Complete: a worker exited 0; Failed: past backoffLimit) it starts no more pods, so
   * it is deleted and created again: a resumed job always gets workers.
   */
  private async createOrReplace(job: V1Job, jobId: string, log: Logger): Promise<V1Job> {
    const name = job.metadata!.name!;
    const where = `${this.namespace}/${name}`;
    for (let attempt = 0; ; attempt++) {
      try {
        const created = await this.batch.createNamespacedJob({ namespace: this.namespace, body: job });
        log.info('created worker Job', { name, workers: job.spec?.parallelism, image: job.spec?.template.spec?.containers[0]?.image });
        return created;
      } catch (err) {
        if (statusCode(err) !== 409) throw new KubernetesError(`Could not create Job ${where}: ${describe(err)}`, { cause: err });
      }
      let existing: V1Job;
      try {
        existing = await this.batch.readNamespacedJob({ name, namespace: this.namespace });
      } catch (err) {
        if (statusCode(err) === 404) continue; // deleted in between: create it again
        throw new KubernetesError(`Job ${where} exists but could not be read: ${describe(err)}`, { cause: err });
      }
      const ended = jobFinished(existing);
      if (ended === undefined && !existing.metadata?.deletionTimestamp) {
        log.info('worker Job already exists', { name });
        return existing;
      }
      if (attempt >= 8) throw new KubernetesError(`Job ${where} has finished (${ended ?? 'being deleted'}) and could not be replaced`);
      if (existing.metadata?.uid) this.stoppedJobUids.add(existing.metadata.uid);
      if (!existing.metadata?.deletionTimestamp) {
        log.info('worker Job of the same name has finished; replacing it', { name, condition: ended });
        try {
          await this.batch.deleteNamespacedJob({ name, namespace: this.namespace, propagationPolicy: 'Background' });
        } catch (err) {
          if (statusCode(err) !== 404) throw new KubernetesError(`Could not delete the finished Job ${where}: ${describe(err)}`, { cause: err });
        }
        // Its failures were the old Job's; the new one has a backoffLimit of its own.
        this.failures.delete(jobId);
      }
      await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 2000)));
    }
  }

  async list(jobId?: string): Promise<WorkerInfo[]> {
    this.assertOpen();
    await this.ensureWatching();
    let pods: readonly V1Pod[];
    if (this.informer?.synced) {
      pods = this.informer.list(this.namespace);
    } else {
      try {
        pods = (await this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: WORKERS_SELECTOR })).items;
      } catch (err) {
        throw new KubernetesError(`Could not list worker pods in ${this.namespace}: ${describe(err)}`, { cause: err });
      }
    }
    return pods
      .filter((p) => jobId === undefined || podJobId(p) === jobId)
      .map((p) => this.workerInfo(p))
      .sort((a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0) || a.id.localeCompare(b.id));
  }

  async logs(workerId: string, options: { follow?: boolean } = {}): Promise<AsyncIterable<string>> {
    this.assertOpen();
    if (!options.follow) {
      try {
        const text = await this.core.readNamespacedPodLog({ name: workerId, namespace: this.namespace, container: WORKER_CONTAINER });
        return once(text);
      } catch (err) {
        if (statusCode(err) !== 404) throw new KubernetesError(`Could not read the log of pod ${workerId}: ${describe(err)}`, { cause: err });
        return once(await this.savedLog(workerId));
      }
    }
    await this.ensureWatching();
    await this.waitForStart(workerId);
    const pass = new PassThrough({ encoding: 'utf8' });
    let controller: AbortController;
    try {
      controller = await new Log(this.o.kubeConfig).log(this.namespace, workerId, WORKER_CONTAINER, pass, { follow: true });
    } catch (err) {
      pass.destroy();
      if (statusCode(err) !== 404) throw new KubernetesError(`Could not follow the log of pod ${workerId}: ${describe(err)}`, { cause: err });
      return once(await this.savedLog(workerId));
    }
    this.follows.set(controller, { pod: workerId, pass });
    const follows = this.follows;
    return (async function* () {
      try {
        for await (const chunk of pass) yield chunk as string;
      } catch (err) {
        // An aborted follow (close()) ends the stream; anything else is the caller's to see.
        if (!controller.signal.aborted) throw err;
      } finally {
        controller.abort();
        follows.delete(controller);
      }
    })();
  }

  async stop(jobId: string): Promise<void> {
    this.assertOpen();
    const log = this.log.child({ job: jobId });
    this.endStartWatch(jobId);
    // Save what the pods said before the pods go away with their Job.
    if (this.informer?.synced) {
      const pods = this.informer.list(this.namespace).filter((p) => podJobId(p) === jobId);
      await Promise.all(pods.map((p) => this.copyLog(p)));
    }
    const labelSelector = `${WORKERS_SELECTOR},${LABEL_JOB}=${jobLabelValue(jobId)}`;
    let names: string[];
    try {
      const jobs = await this.batch.listNamespacedJob({ namespace: this.namespace, labelSelector });
      names = jobs.items.map((j) => j.metadata?.name).filter((n): n is string => n !== undefined);
      for (const j of jobs.items) if (j.metadata?.uid) this.stoppedJobUids.add(j.metadata.uid);
    } catch (err) {
      throw new KubernetesError(`Could not list the Jobs of job ${jobId}: ${describe(err)}`, { cause: err });
    }
    await Promise.all(
      names.map(async (name) => {
        try {
          await this.batch.deleteNamespacedJob({ name, namespace: this.namespace, propagationPolicy: 'Background' });
          log.info('deleted worker Job', { name });
        } catch (err) {
          if (statusCode(err) === 404) return;
          throw new KubernetesError(`Could not delete Job ${this.namespace}/${name}: ${describe(err)}`, { cause: err });
        }
      }),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [c, { pass }] of this.follows) {
      c.abort();
      pass.end();
    }
    this.follows.clear();
    for (const waiters of this.podWaiters.values()) for (const w of waiters) w();
    for (const jobId of [...this.starts.keys()]) this.endStartWatch(jobId);
    await this.informer?.stop();
    await this.eventInformer?.stop();
    await Promise.allSettled([...this.copies.values()]);
  }

  private assertOpen(): void {
    if (this.closed) throw new KubernetesError('The Kubernetes executor is closed');
  }

  private ensureWatching(): Promise<void> {
    if (this.watching) return this.watching;
    const path = `/api/v1/namespaces/${this.namespace}/pods`;
    this.informer = new RestartingInformer<V1Pod>({
      kubeConfig: this.o.kubeConfig,
      path,
      list: () => this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: WORKERS_SELECTOR }),
      labelSelector: WORKERS_SELECTOR,
      retryMs: this.o.watchRetryMs,
      logger: this.log,
      what: 'worker pod',
      onAdd: (pod) => this.onPod(pod, true),
      onUpdate: (pod) => this.onPod(pod),
      onDelete: (pod) => this.onPodDeleted(pod),
      onSynced: () => this.log.debug('watching worker pods', { namespace: this.namespace }),
    });
    // Pods the Job controller may not create (quota, admission) exist only as Events on the Job.
    this.eventInformer = new RestartingInformer<CoreV1Event>({
      kubeConfig: this.o.kubeConfig,
      path: `/api/v1/namespaces/${this.namespace}/events`,
      list: () => this.core.listNamespacedEvent({ namespace: this.namespace, fieldSelector: FAILED_CREATE }),
      fieldSelector: FAILED_CREATE,
      retryMs: this.o.watchRetryMs,
      logger: this.log,
      what: 'FailedCreate Event',
      onAdd: (e) => this.onFailedCreate(e),
      onUpdate: (e) => this.onFailedCreate(e),
      onDelete: () => undefined,
    });
    // A failed first list is retried in the background; launches do not wait for it.
    this.watching = Promise.all([this.informer.start({ retry: true }), this.eventInformer.start({ retry: true })]).then(() => undefined);
    return this.watching;
  }

  private onFailedCreate(e: CoreV1Event): void {
    const name = e.involvedObject?.name;
    for (const [jobId, w] of this.starts) {
      if (w.jobName !== name || (e.involvedObject.uid !== undefined && !w.jobUids.has(e.involvedObject.uid))) continue;
      w.createProblem = `Job ${name}: FailedCreate: ${e.message ?? ''}`;
      this.checkStart(jobId);
    }
  }

  /**
   * Is any worker of the job running? If so the start deadline stops; if not it runs. Either way
   * the first reason a pod cannot start is reported at once (again whenever it changes, and as
   * `undefined` once no pod is stuck): with no worker running the job waits on it, with some it
   * runs short of workers.
   */
  private checkStart(jobId: string): void {
    const w = this.starts.get(jobId);
    if (!w || w.failed || this.closed) return;
    if (!w.timer && !this.informer?.synced) {
      // The deadline counts from the launch even while the pod list is not yet to be had.
      w.timer = setTimeout(() => this.startDeadline(jobId), this.o.workerStartTimeoutMs);
      w.timer.unref?.();
    }
    if (!this.informer?.synced) return;
    const pods = this.informer.list(this.namespace).filter((p) => podJobId(p) === jobId);
    const started = pods.some((p) => !p.metadata?.deletionTimestamp && (p.status?.phase === 'Running' || p.status?.phase === 'Succeeded'));
    if (started && w.timer) {
      clearTimeout(w.timer);
      w.timer = undefined;
    } else if (!started && !w.timer) {
      w.timer = setTimeout(() => this.startDeadline(jobId), this.o.workerStartTimeoutMs);
      w.timer.unref?.();
    }
    const problem = pods.map(podStartProblem).find((p) => p !== undefined) ?? w.createProblem;
    if (problem === w.reported) return;
    w.reported = problem;
    if (problem === undefined) this.log.info('no worker pod is stuck any more', { job: jobId });
    else this.log.warn(started ? 'some worker pods cannot start' : 'worker pods cannot start', { job: jobId, reason: problem });
    this.notifyStuck(jobId, problem);
  }

  private startDeadline(jobId: string): void {
    const w = this.starts.get(jobId);
    if (!w || this.closed) return;
    w.timer = undefined;
    const pods = this.informer?.synced ? this.informer.list(this.namespace).filter((p) => podJobId(p) === jobId) : [];
    if (pods.some((p) => !p.metadata?.deletionTimestamp && (p.status?.phase === 'Running' || p.status?.phase === 'Succeeded'))) return;
    w.failed = true;
    const s = Math.round(this.o.workerStartTimeoutMs / 1000);
    const why = w.reported ?? w.createProblem;
    const reason = `no worker pod of Job ${w.jobName} was running ${s} s after it was needed (the worker start timeout): ${why ?? 'its pods were still starting'}`;
    this.log.error('worker pods did not start in time', { job: jobId, reason });
    for (const listener of this.exhaustedListeners) listener(jobId, reason, 'start-timeout');
  }

  private notifyStuck(jobId: string, problem: string | undefined): void {
    for (const listener of this.stuckListeners) {
      try {
        listener(jobId, problem);
      } catch (err) {
        this.log.error('workers-stuck listener threw', { job: jobId, error: errorMessage(err) });
      }
    }
  }

  private endStartWatch(jobId: string): void {
    const w = this.starts.get(jobId);
    if (w?.timer) clearTimeout(w.timer);
    this.starts.delete(jobId);
  }

  private onPod(pod: V1Pod, added = false): void {
    const name = pod.metadata?.name;
    const jobId = podJobId(pod);
    if (name === undefined || jobId === undefined) return;
    this.podJobs.set(name, jobId);
    // A pod the Job controller did create: its last FailedCreate is over (a new one says otherwise).
    const watch = this.starts.get(jobId);
    if (added && watch) watch.createProblem = undefined;
    const phase = pod.status?.phase;
    if (phase !== undefined && phase !== 'Pending') this.wakeWaiters(name);
    const reason = podDeathReason(pod);
    if (reason !== undefined) this.reportDeath(pod, jobId, reason);
    if (reason !== undefined || phase === 'Succeeded' || phase === 'Failed') void this.copyLog(pod);
    this.checkStart(jobId);
  }

  private onPodDeleted(pod: V1Pod): void {
    const name = pod.metadata?.name;
    const jobId = podJobId(pod);
    if (name === undefined || jobId === undefined) return;
    this.wakeWaiters(name);
    for (const { pod: p, pass } of this.follows.values()) if (p === name) pass.end();
    if (pod.status?.phase !== 'Succeeded') this.reportDeath(pod, jobId, podDeathReason(pod) ?? 'Deleted');
    this.reported.delete(name);
    this.checkStart(jobId);
  }

  private reportDeath(pod: V1Pod, jobId: string, reason: string): void {
    const worker = pod.metadata?.name ?? '';
    if (this.reported.has(worker)) return;
    const owner = pod.metadata?.ownerReferences?.find((r) => r.controller && r.kind === 'Job');
    if (owner !== undefined && this.stoppedJobUids.has(owner.uid)) return;
    this.reported.add(worker);
    this.log.warn('worker pod died', { job: jobId, worker, reason });
    for (const listener of this.listeners) {
      try {
        listener(worker, jobId, reason);
      } catch (err) {
        this.log.error('worker death listener threw', { job: jobId, worker, error: errorMessage(err) });
      }
    }
    // Evictions and deletions do not count against backoffLimit (the Job's pod failure policy);
    // past it the Job starts no more pods, so the job must fail rather than wait for workers.
    if (/^(Evicted|Deleted|Disrupt)/.test(reason)) return;
    const n = (this.failures.get(jobId) ?? 0) + 1;
    this.failures.set(jobId, n);
    if (n !== this.o.pod.backoffLimit + 1) return;
    const why = `worker Job ${this.jobName(jobId)} reached backoffLimit ${this.o.pod.backoffLimit}: ${n} pods failed, the last with ${reason}`;
    for (const listener of this.exhaustedListeners) listener(jobId, why, 'backoff-limit');
  }

  private savedLogPath(worker: string, jobId: string): string | undefined {
    const dataDir = this.o.dataDir ?? this.jobDataDirs.get(jobId);
    // The job id comes from an annotation; never let it walk out of the jobs directory.
    if (dataDir === undefined || jobId.includes('/') || jobId.includes('\\') || jobId === '.' || jobId === '..') return undefined;
    return path.join(new DataLayout(dataDir).job(jobId).logsDir, `pod-${worker}.log`);
  }

  private async savedLog(worker: string): Promise<string> {
    const jobId = this.podJobs.get(worker);
    const file = jobId === undefined ? undefined : this.savedLogPath(worker, jobId);
    if (file !== undefined) {
      try {
        return await readFile(file, 'utf8');
      } catch {
        // fall through: no pod and no saved copy
      }
    }
    throw new KubernetesError(`No worker pod ${this.namespace}/${worker} and no saved log of it`);
  }

  /** Once per pod: read its log and write it beside the job's other logs (temp name + rename). */
  private copyLog(pod: V1Pod): Promise<void> {
    const name = pod.metadata?.name;
    const jobId = podJobId(pod);
    if (!this.o.copyLogs || name === undefined || jobId === undefined) return Promise.resolve();
    const existing = this.copies.get(name);
    if (existing) return existing;
    const file = this.savedLogPath(name, jobId);
    if (file === undefined) {
      this.log.debug('no data directory known for the job; pod log not copied', { job: jobId, worker: name });
      return Promise.resolve();
    }
    const copy = (async () => {
      try {
        const text = await this.core.readNamespacedPodLog({
          name,
          namespace: this.namespace,
          container: WORKER_CONTAINER,
          limitBytes: this.o.maxLogBytes,
        });
        await mkdir(path.dirname(file), { recursive: true });
        const tmp = tempPathFor(file, randomBytes(4).toString('hex'));
        await writeFile(tmp, text ?? '');
        await rename(tmp, file);
        this.log.debug('saved pod log', { job: jobId, worker: name, file });
      } catch (err) {
        this.log.warn('could not save pod log', { job: jobId, worker: name, error: describe(err) });
      }
    })();
    this.copies.set(name, copy);
    return copy;
  }

  private waitForStart(name: string): Promise<void> {
    const pod = this.informer?.get(name, this.namespace);
    if (!this.informer?.synced || pod === undefined || pod.status?.phase !== 'Pending') return Promise.resolve();
    return new Promise((resolve) => {
      const waiters = this.podWaiters.get(name) ?? new Set<() => void>();
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0) this.podWaiters.delete(name);
        resolve();
      };
      const timer = setTimeout(done, this.o.podStartTimeoutMs);
      timer.unref?.();
      waiters.add(done);
      this.podWaiters.set(name, waiters);
    });
  }

  private wakeWaiters(name: string): void {
    for (const w of [...(this.podWaiters.get(name) ?? [])]) w();
  }

  private workerInfo(pod: V1Pod): WorkerInfo {
    const reason = podDeathReason(pod);
    const phase = pod.status?.phase;
    let state: WorkerState;
    if (reason !== undefined || phase === 'Failed') state = 'failed';
    else if (phase === 'Succeeded') state = 'succeeded';
    else if (phase === 'Running' || phase === 'Unknown') state = 'running';
    else state = 'starting';
    const worker = pod.status?.containerStatuses?.find((c) => c.name === WORKER_CONTAINER);
    const waiting = worker?.state?.waiting?.reason;
    const finished = worker?.state?.terminated?.finishedAt;
    const started = pod.status?.startTime ?? pod.metadata?.creationTimestamp;
    const info: WorkerInfo = { id: pod.metadata?.name ?? '', jobId: podJobId(pod) ?? '', state };
    if (reason !== undefined) info.reason = reason;
    else if (waiting !== undefined && CONFIG_ERRORS.has(waiting)) info.reason = podStartProblem(pod) ?? waiting;
    else if (podStartProblem(pod) !== undefined) info.reason = podStartProblem(pod);
    else if (phase === 'Unknown') info.reason = 'pod phase Unknown (node unreachable?)';
    if (started !== undefined) info.startedAt = new Date(started).getTime();
    if (finished !== undefined) info.finishedAt = new Date(finished).getTime();
    if (pod.spec?.nodeName) info.where = pod.spec.nodeName;
    return info;
  }
}

async function* once(text: string): AsyncIterable<string> {
  if (text !== '') yield text;
}
