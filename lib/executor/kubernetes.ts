/**
 * KubernetesExecutor: a job's workers are the pods of a batch/v1 Job (built by
 * kubernetes-objects.ts). One informer watches every kubemr worker pod in the namespace, so a
 * worker that fails, is evicted or OOM-killed is reported the moment the API server says so, and
 * each ended pod's log is copied to the shared volume before Kubernetes deletes the pod.
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
import type { Executor, LaunchSpec, WorkerDeathListener, WorkerInfo, WorkerState } from './types.js';

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
    logger: (o.logger ?? silentLogger).child({ component: 'kubernetes-executor' }),
  };
}

const CONFIG_ERRORS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError']);

export class KubernetesExecutor implements Executor {
  readonly kind = 'kubernetes' as const;
  readonly namespace: string;
  readonly incarnation: string;
  private readonly o: CompiledOptions;
  private readonly log: Logger;
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;
  private informer: RestartingInformer<V1Pod> | undefined;
  private watching: Promise<void> | undefined;
  private closed = false;
  private readonly listeners: WorkerDeathListener[] = [];
  private readonly exhaustedListeners: Array<(jobId: string, reason: string) => void> = [];
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
  private readonly warned = new Set<string>();
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

  onWorkersExhausted(listener: (jobId: string, reason: string) => void): void {
    this.exhaustedListeners.push(listener);
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
    try {
      await this.batch.createNamespacedJob({ namespace: this.namespace, body: job });
      log.info('created worker Job', { name, workers: n, image: job.spec?.template.spec?.containers[0]?.image });
    } catch (err) {
      if (statusCode(err) === 409) {
        log.info('worker Job already exists', { name });
        return;
      }
      throw new KubernetesError(`Could not create Job ${this.namespace}/${name}: ${describe(err)}`, { cause: err });
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
    await this.informer?.stop();
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
      onAdd: (pod) => this.onPod(pod),
      onUpdate: (pod) => this.onPod(pod),
      onDelete: (pod) => this.onPodDeleted(pod),
      onSynced: () => this.log.debug('watching worker pods', { namespace: this.namespace }),
    });
    // A failed first list is retried in the background; launches do not wait for it.
    this.watching = this.informer.start({ retry: true }).then(() => undefined);
    return this.watching;
  }

  private onPod(pod: V1Pod): void {
    const name = pod.metadata?.name;
    const jobId = podJobId(pod);
    if (name === undefined || jobId === undefined) return;
    this.podJobs.set(name, jobId);
    const phase = pod.status?.phase;
    if (phase !== undefined && phase !== 'Pending') this.wakeWaiters(name);
    const reason = podDeathReason(pod);
    if (reason !== undefined) this.reportDeath(pod, jobId, reason);
    if (reason !== undefined || phase === 'Succeeded' || phase === 'Failed') void this.copyLog(pod);
    this.warnStuck(pod, name, jobId);
  }

  private onPodDeleted(pod: V1Pod): void {
    const name = pod.metadata?.name;
    const jobId = podJobId(pod);
    if (name === undefined || jobId === undefined) return;
    this.wakeWaiters(name);
    for (const { pod: p, pass } of this.follows.values()) if (p === name) pass.end();
    if (pod.status?.phase !== 'Succeeded') this.reportDeath(pod, jobId, podDeathReason(pod) ?? 'Deleted');
    this.reported.delete(name);
    for (const key of this.warned) if (key.startsWith(`${name}/`)) this.warned.delete(key);
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
    for (const listener of this.exhaustedListeners) listener(jobId, why);
  }

  /** A pod that cannot start (bad image, missing Secret) is not dead, but someone should know. */
  private warnStuck(pod: V1Pod, name: string, jobId: string): void {
    for (const c of pod.status?.containerStatuses ?? []) {
      const waiting = c.state?.waiting;
      if (!waiting?.reason || !CONFIG_ERRORS.has(waiting.reason)) continue;
      const key = `${name}/${waiting.reason}`;
      if (this.warned.has(key)) continue;
      this.warned.add(key);
      this.log.warn('worker pod cannot start', { job: jobId, worker: name, reason: waiting.reason, message: waiting.message });
    }
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
    else if (waiting !== undefined && CONFIG_ERRORS.has(waiting)) info.reason = waiting;
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
