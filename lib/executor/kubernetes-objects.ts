/**
 * Pure builders for the Kubernetes objects the KubernetesExecutor creates: names, labels and the
 * batch/v1 Job that runs a job's workers. No API server is involved here, so every object can be
 * checked against the official schemas in tests (test/k8s-manifests.test.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import type { V1EnvVar, V1Job, V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import { JOB_DEFAULTS } from '../coordinator/jobspec.js';
import { InvalidJobSpecError } from '../errors.js';
import { slugify } from '../storage/job-id.js';
import { checkWorkerEnv, checkWorkerResources, mergeWorkerResources, QUANTITY, workerNodeOptions, type ResourceList } from './resources.js';
import type { LaunchSpec } from './types.js';
import { isWorkerCredential } from '../protocol/credentials.js';

export type { ResourceList } from './resources.js';

export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'kubemr';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const COMPONENT_WORKER = 'worker';
export const LABEL_JOB = 'kubemr.io/job';
export const LABEL_INCARNATION = 'kubemr.io/incarnation';
/** The job id exactly as the coordinator knows it; the label holds a label-safe form of it. */
export const ANNOTATION_JOB_ID = 'kubemr.io/job-id';
export const WORKER_CONTAINER = 'worker';

/** Selects every worker pod (or Job) kubemr manages in a namespace. */
export const WORKERS_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY},${LABEL_COMPONENT}=${COMPONENT_WORKER}`;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
export const INCARNATION = /^[a-z0-9]{1,10}$/;

export const isDns1123Label = (s: string): boolean => s.length <= 63 && DNS1123_LABEL.test(s);
export const isLabelValue = (s: string): boolean => s.length <= 63 && LABEL_VALUE.test(s);

const shortHash = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 6);

/**
 * The value of the `kubemr.io/job` label for a job id: the id itself when it is a valid label
 * value, otherwise a slug plus a hash of the id (so two ids never share a label).
 */
export function jobLabelValue(jobId: string): string {
  if (jobId !== '' && isLabelValue(jobId)) return jobId;
  const s = slugify(jobId, 55);
  return s === '' ? `h-${shortHash(jobId)}` : `${s}-${shortHash(jobId)}`;
}

/**
 * A coordinator incarnation tag: names a restarted coordinator creates never collide with those
 * of the one before it. Derived from the coordinator pod's uid when there is one (a container
 * restart inside the same pod then finds its own Jobs again: 409 = already there), else random.
 */
export function newIncarnation(podUid?: string): string {
  if (podUid !== undefined && podUid !== '') {
    const hex = podUid.toLowerCase().replace(/[^a-z0-9]/g, '');
    if (hex.length >= 8) return hex.slice(0, 8);
  }
  const n = randomBytes(6).readUIntBE(0, 6);
  return n.toString(36).padStart(8, '0').slice(-8);
}

/**
 * The worker Job's name: `mr-<slug of job id>-<hash of job id>-<incarnation>`. Deterministic for
 * one job and one coordinator incarnation (so `launch` is idempotent), DNS-1123, <= 63 chars.
 */
export function workerJobName(jobId: string, incarnation: string): string {
  const tail = `-${shortHash(jobId)}-${incarnation}`;
  const s = slugify(jobId, 63 - 'mr-'.length - tail.length);
  const name = s === '' ? `mr${tail}` : `mr-${s}${tail}`;
  if (!isDns1123Label(name)) throw new InvalidJobSpecError(`Cannot name a Job for job id \`${jobId}\``);
  return name;
}

/** What the worker pods need; every field has a default. */
export interface WorkerPodOptions {
  /** Image when the LaunchSpec names none. @default 'kubemr:dev' */
  image?: string;
  /** @default 'IfNotPresent' */
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** The shared volume's PersistentVolumeClaim. @default 'kubemr-data' */
  pvcName?: string;
  /** The worker entry point; the app name (or `--streaming`) is appended.
   * @default ['node', 'dist/cmd/kubemr/main.js', 'worker'] */
  workerCommand?: string[];
  /**
   * Every worker's requests and limits, unless its job sets its own. Memory left unset here is
   * sized from the job's map-side buffer (`memory`, `--memory`): request max(256Mi, buffer),
   * limit max(1Gi, 2 x buffer + 512Mi), i.e. 256Mi and 1Gi at the default 256 MiB.
   * @default { requests: { cpu: '250m' }, limits: { cpu: '1' } }
   */
  resources?: { requests?: ResourceList; limits?: ResourceList };
  /** Pod failures the Job tolerates before it gives up (evictions are not counted). @default 4 */
  backoffLimit?: number;
  /** Seconds a finished Job (and its pods) lingers before Kubernetes deletes it. @default 600 */
  ttlSecondsAfterFinished?: number;
  /** Hard limit on a worker Job's run time, in seconds. @default undefined (none) */
  activeDeadlineSeconds?: number;
  /** Worker pods need no API access; when set, this account is used with its token unmounted.
   * @default undefined (the namespace's default account) */
  serviceAccountName?: string;
  /** Non-root uid/gid the worker runs as; 1000 is `node` in the official node images. @default 1000 */
  runAsUser?: number;
  /** Size limit of the /tmp emptyDir (the root filesystem is read-only). @default '256Mi' */
  tmpSizeLimit?: string;
  /** Owners of every worker Job: the coordinator's Pod or Deployment, or a MapReduceJob. Either a
   * list, or a function of the job id (the operator owns each job's Jobs by its MapReduceJob).
   * @default [] */
  ownerReferences?: V1OwnerReference[] | ((jobId: string) => V1OwnerReference[] | undefined);
}

export interface CompiledWorkerPodOptions {
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  pvcName: string;
  workerCommand: string[];
  resources: { requests: ResourceList; limits: ResourceList };
  backoffLimit: number;
  ttlSecondsAfterFinished: number;
  activeDeadlineSeconds: number | undefined;
  serviceAccountName: string | undefined;
  runAsUser: number;
  tmpSizeLimit: string;
  ownerReferences: (jobId: string) => V1OwnerReference[];
}

const fmt = (v: unknown): string => {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
};

function fail(field: string, expected: string, value: unknown): never {
  throw new InvalidJobSpecError(`Expected \`${field}\` to be ${expected}, got \`${fmt(value)}\``);
}

function intField(field: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    fail(field, max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in ${min}..${max}`, v);
  }
  return v;
}

function resourceList(field: string, list: ResourceList | undefined): ResourceList {
  const out: ResourceList = {};
  for (const [k, v] of Object.entries(list ?? {})) {
    if (k !== 'cpu' && k !== 'memory' && k !== 'ephemeral-storage') fail(`${field}`, 'cpu, memory or ephemeral-storage', k);
    if (typeof v !== 'string' || !QUANTITY.test(v)) fail(`${field}.${k}`, 'a Kubernetes quantity like 500m or 1Gi', v);
    out[k] = v;
  }
  return out;
}

function ownerReference(field: string, o: V1OwnerReference): V1OwnerReference {
  for (const k of ['apiVersion', 'kind', 'name', 'uid'] as const) {
    if (typeof o?.[k] !== 'string' || o[k] === '') fail(`${field}.${k}`, 'a non-empty string', o?.[k]);
  }
  return { ...o };
}

/** Checks every field once and fills in defaults; errors name the field and the value. */
export function compileWorkerPodOptions(o: WorkerPodOptions = {}): CompiledWorkerPodOptions {
  const image = o.image ?? 'kubemr:dev';
  if (typeof image !== 'string' || image.trim() === '' || /\s/.test(image)) fail('image', 'an image reference', image);
  const imagePullPolicy = o.imagePullPolicy ?? 'IfNotPresent';
  if (!['Always', 'IfNotPresent', 'Never'].includes(imagePullPolicy)) {
    fail('imagePullPolicy', 'Always, IfNotPresent or Never', imagePullPolicy);
  }
  const pvcName = o.pvcName ?? 'kubemr-data';
  if (!isDns1123Label(pvcName)) fail('pvcName', 'a DNS-1123 name', pvcName);
  const workerCommand = o.workerCommand ?? ['node', 'dist/cmd/kubemr/main.js', 'worker'];
  if (!Array.isArray(workerCommand) || workerCommand.length === 0 || workerCommand.some((s) => typeof s !== 'string' || s === '')) {
    fail('workerCommand', 'a non-empty array of non-empty strings', workerCommand);
  }
  const requests = resourceList('resources.requests', o.resources?.requests ?? { cpu: '250m' });
  const limits = resourceList('resources.limits', o.resources?.limits ?? { cpu: '1' });
  if (o.serviceAccountName !== undefined && !isDns1123Label(o.serviceAccountName)) {
    fail('serviceAccountName', 'a DNS-1123 name', o.serviceAccountName);
  }
  const tmpSizeLimit = o.tmpSizeLimit ?? '256Mi';
  if (!QUANTITY.test(tmpSizeLimit)) fail('tmpSizeLimit', 'a Kubernetes quantity like 256Mi', tmpSizeLimit);
  const owners = o.ownerReferences ?? [];
  let ownerReferences: (jobId: string) => V1OwnerReference[];
  if (typeof owners === 'function') {
    ownerReferences = (jobId) => (owners(jobId) ?? []).map((r, i) => ownerReference(`ownerReferences(${jobId})[${i}]`, r));
  } else if (Array.isArray(owners)) {
    const checked = owners.map((r, i) => ownerReference(`ownerReferences[${i}]`, r));
    ownerReferences = () => checked.map((r) => ({ ...r }));
  } else {
    fail('ownerReferences', 'an array or a function', owners);
  }
  return {
    image,
    imagePullPolicy,
    pvcName,
    workerCommand: [...workerCommand],
    resources: { requests, limits },
    backoffLimit: intField('backoffLimit', o.backoffLimit ?? 4, 0, 1000),
    ttlSecondsAfterFinished: intField('ttlSecondsAfterFinished', o.ttlSecondsAfterFinished ?? 600, 0),
    activeDeadlineSeconds: o.activeDeadlineSeconds === undefined ? undefined : intField('activeDeadlineSeconds', o.activeDeadlineSeconds, 1),
    serviceAccountName: o.serviceAccountName,
    runAsUser: intField('runAsUser', o.runAsUser ?? 1000, 1),
    tmpSizeLimit,
    ownerReferences,
  };
}

export interface WorkerJobParams {
  spec: LaunchSpec;
  /** Worker pods (the Job's parallelism). */
  workers: number;
  namespace: string;
  incarnation: string;
  options: CompiledWorkerPodOptions;
}

/** Checks what a LaunchSpec must hold for a pod; errors name the field and the value. */
export function checkLaunchSpec(spec: LaunchSpec, workers: number, options: CompiledWorkerPodOptions): void {
  if (typeof spec.jobId !== 'string' || spec.jobId === '') fail('jobId', 'a non-empty string', spec.jobId);
  if (typeof spec.app !== 'string') fail('app', 'a string (empty for streaming jobs)', spec.app);
  if (typeof spec.coordinator !== 'string' || !/^[^\s:]+:\d{1,5}$/.test(spec.coordinator)) {
    fail('coordinator', 'a host:port address', spec.coordinator);
  }
  if (typeof spec.dataDir !== 'string' || !path.posix.isAbsolute(spec.dataDir) || path.posix.normalize(spec.dataDir) === '/') {
    fail('dataDir', 'an absolute path other than /, where the PVC is mounted in worker pods', spec.dataDir);
  }
  if (spec.image !== undefined && (spec.image.trim() === '' || /\s/.test(spec.image))) fail('image', 'an image reference', spec.image);
  if (spec.token !== undefined && !isWorkerCredential(spec.token)) {
    fail('token', "a job's worker credential (kmw1.<job>.<mac>); the coordinator's own token never goes into a pod spec", '<redacted>');
  }
  intField('workers', workers, 1, 1000);
  if (spec.memoryBytes !== undefined) intField('memoryBytes', spec.memoryBytes, 1024 * 1024);
  checkWorkerResources(spec.resources, spec.memoryBytes ?? JOB_DEFAULTS.memoryBytes);
  checkWorkerEnv(spec.env);
}

/**
 * The batch/v1 Job running `workers` worker pods for one kubemr job. Work-queue style: no
 * `completions`, so the Job is complete once any worker exits 0 (told EXIT) and the rest end.
 * `restartPolicy: Never` makes a crashed, evicted or OOM-killed worker a failed pod (reported to
 * the coordinator) and the Job starts a replacement, up to `backoffLimit`.
 */
export function buildWorkerJob(p: WorkerJobParams): V1Job {
  const { spec, options: o } = p;
  checkLaunchSpec(spec, p.workers, o);
  const name = workerJobName(spec.jobId, p.incarnation);
  const labels: Record<string, string> = {
    [LABEL_MANAGED_BY]: MANAGED_BY,
    'app.kubernetes.io/name': 'kubemr',
    [LABEL_COMPONENT]: COMPONENT_WORKER,
    [LABEL_JOB]: jobLabelValue(spec.jobId),
    [LABEL_INCARNATION]: p.incarnation,
  };
  const annotations = { [ANNOTATION_JOB_ID]: spec.jobId };
  const mountPath = path.posix.normalize(spec.dataDir);
  const env: V1EnvVar[] = [
    // The job's own variables first; kubemr's (which a job may not set) after them.
    ...(spec.env ?? []).map((e) => ({ name: e.name, value: e.value })),
    { name: 'KUBEMR_COORDINATOR', value: spec.coordinator },
    { name: 'KUBEMR_JOB', value: spec.jobId },
    { name: 'KUBEMR_WORKER_ID', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
    { name: 'KUBEMR_DATA', value: mountPath },
    // A worker keeps asking a coordinator that is away (restarting, rescheduled) rather than
    // exiting 0: the first pod to exit 0 completes the Job, which then starts no more workers.
    { name: 'KUBEMR_GIVE_UP_MS', value: 'never' },
    { name: 'TMPDIR', value: '/tmp' },
  ];
  // The job's worker credential: it lets a pod run this job's tasks and nothing else (no submit,
  // cancel or read), so it may sit in the Job's spec; the coordinator's token stays in its Secret.
  if (spec.token !== undefined) env.push({ name: 'KUBEMR_TOKEN', value: spec.token });
  if (spec.tlsCa !== undefined) env.push({ name: 'KUBEMR_TLS_CA_PEM', value: spec.tlsCa });
  // A job's own NODE_OPTIONS replace ours.
  if (!env.some((e) => e.name === 'NODE_OPTIONS')) env.push({ name: 'NODE_OPTIONS', value: workerNodeOptions(spec.memoryBytes ?? JOB_DEFAULTS.memoryBytes) });
  const owners = o.ownerReferences(spec.jobId);
  const job: V1Job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: p.namespace,
      labels,
      annotations,
      ...(owners.length > 0 ? { ownerReferences: owners } : {}),
    },
    spec: {
      parallelism: p.workers,
      backoffLimit: o.backoffLimit,
      ttlSecondsAfterFinished: o.ttlSecondsAfterFinished,
      ...(o.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: o.activeDeadlineSeconds } : {}),
      // An evicted or preempted worker is not the app's fault: do not count it against backoffLimit.
      podFailurePolicy: {
        rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }],
      },
      template: {
        metadata: { labels, annotations },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 15,
          ...(o.serviceAccountName !== undefined ? { serviceAccountName: o.serviceAccountName } : {}),
          securityContext: {
            runAsNonRoot: true,
            runAsUser: o.runAsUser,
            runAsGroup: o.runAsUser,
            fsGroup: o.runAsUser,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: WORKER_CONTAINER,
              image: spec.image ?? o.image,
              imagePullPolicy: o.imagePullPolicy,
              command: [...o.workerCommand, ...(spec.app === '' ? ['--streaming'] : [spec.app])],
              env,
              resources: mergeWorkerResources(o.resources, spec.resources ?? {}, spec.memoryBytes ?? JOB_DEFAULTS.memoryBytes),
              securityContext: {
                runAsNonRoot: true,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                privileged: false,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              // The tail of the log becomes the termination message of a failed worker.
              terminationMessagePolicy: 'FallbackToLogsOnError',
              volumeMounts: [
                { name: 'data', mountPath },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'data', persistentVolumeClaim: { claimName: o.pvcName } },
            { name: 'tmp', emptyDir: { sizeLimit: o.tmpSizeLimit } },
          ],
        },
      },
    },
  };
  return job;
}

/** The kubemr job a worker pod belongs to: the annotation, else the label. */
export function podJobId(pod: V1Pod): string | undefined {
  return pod.metadata?.annotations?.[ANNOTATION_JOB_ID] ?? pod.metadata?.labels?.[LABEL_JOB];
}

/**
 * Why a worker pod is gone for good, or undefined while it is alive or ended well. The reason
 * starts with the Kubernetes term: `OOMKilled`, `Evicted`, `Error exit 137`, `Deleted`, ...
 */
export function podDeathReason(pod: V1Pod): string | undefined {
  const status = pod.status;
  if (status === undefined) return undefined;
  if (status.reason === 'Evicted') return status.message ? `Evicted: ${status.message}` : 'Evicted';
  const containers = status.containerStatuses ?? [];
  const worker = containers.find((c) => c.name === WORKER_CONTAINER) ?? containers[0];
  const t = worker?.state?.terminated ?? (status.phase === 'Failed' ? worker?.lastState?.terminated : undefined);
  if (t !== undefined && t.exitCode !== 0) {
    if (t.reason === 'OOMKilled') return 'OOMKilled';
    const sig = t.signal ? ` signal ${t.signal}` : '';
    return `${t.reason ?? 'Error'} exit ${t.exitCode}${sig}`;
  }
  const disruption = status.conditions?.find((c) => c.type === 'DisruptionTarget' && c.status === 'True');
  if (disruption !== undefined && status.phase !== 'Succeeded') {
    return `Disrupted: ${disruption.reason ?? 'DisruptionTarget'}${disruption.message ? ` (${disruption.message})` : ''}`;
  }
  if (status.phase === 'Failed') return status.reason ? `${status.reason}${status.message ? `: ${status.message}` : ''}` : 'Failed';
  return undefined;
}
