/**
 * A Kubernetes API server simulation for tests: a real HTTP server on 127.0.0.1:0 that the real
 * @kubernetes/client-node talks to, with the parts of a cluster kubemr relies on behaving as they
 * do in one — no cluster needed.
 *
 * API server
 * - Authentication by bearer token (`kubeConfig()` is the coordinator's ServiceAccount,
 *   `adminKubeConfig()` a cluster admin) and **authorization of every request** against the Roles,
 *   ClusterRoles and bindings rendered from k8s/ (test/support/kustomize.ts): a request the
 *   coordinator's Role does not grant is answered 403 Forbidden with the real server's Status.
 *   Every decision is kept in `authorizations`.
 * - pods (+ log), events, secrets (core/v1), jobs (batch/v1), and custom resources
 *   (`serveCustomResource`, e.g. MapReduceJob) with a status subresource: create (name or
 *   generateName; 409 AlreadyExists), get, list and watch (set-based label selectors, field
 *   selectors, resourceVersions, 410 Gone, objects entering and leaving a selector), update (409
 *   Conflict on a stale resourceVersion), merge patch and JSON patch, delete.
 * - Built-in objects are validated against the official OpenAPI schema (kubernetes-models) and
 *   answered 422 when invalid; server-side defaults are filled in on create (a Job's selector,
 *   completionMode, podReplacementPolicy, a pod's restartPolicy, terminationGracePeriodSeconds,
 *   imagePullPolicy, ...). Custom resources are defaulted and validated by the definition's
 *   `applyDefaults` / `validate` (with validation ratcheting on update); every status written to
 *   one is kept in `statusWrites`.
 * - Deletion as the real server does it: pods gracefully (deletionTimestamp, MODIFIED, then
 *   DELETED once the kubelet has stopped them), finalizers, and garbage collection through
 *   ownerReferences with Background, Foreground and Orphan propagation (batch/v1 Jobs orphan
 *   their pods unless told otherwise, as on a real server). Dependents whose owners do not exist
 *   are collected too.
 *
 * Job controller (batch/v1, NonIndexed): creates `parallelism` pods from the template through
 * the API (so quota and admission apply: a refused pod is a FailedCreate Event on the Job, and
 * retried), replaces failed pods until more than `backoffLimit` have failed, applies
 * `podFailurePolicy` (Ignore / FailJob / Count on exit codes and pod conditions) and
 * `podReplacementPolicy`, follows the rule that once any pod has succeeded no new pod starts and
 * the Job is Complete when the rest have ended, `activeDeadlineSeconds`, and
 * `ttlSecondsAfterFinished`; it keeps `status` (active, ready, succeeded, failed, terminating,
 * startTime, completionTime and the FailureTarget/Failed/Complete conditions). Unlike the real
 * controller it creates replacement pods at once (no 10 s, 20 s, ... back-off) and tracks pods
 * without finalizers.
 *
 * Scheduler and kubelet, one node (`node`): a pod is bound when its requests fit what is left of
 * the node's allocatable resources, else it stays Pending with PodScheduled=False Unschedulable
 * and a FailedScheduling Event. A bound pod's images are pulled when they are in `images` (all
 * are, when unset) — otherwise ErrImagePull, then ImagePullBackOff, with Events — and its
 * Secret references resolved — otherwise CreateContainerConfigError. Then:
 * - with `runContainers` off (the default), the pod waits in ContainerCreating and the test plays
 *   the kubelet with `updatePod` (running, OOM-killed, evicted, ...);
 * - with `runContainers` on, the container's command really runs as a local process (the image is
 *   this checkout: `node` is the running Node.js and the working directory the repository root),
 *   with the pod's env (values, fieldRefs, Secrets); its output is the pod's log, its exit the
 *   container's termination (FallbackToLogsOnError message included), and deleting the pod sends
 *   SIGTERM, then SIGKILL after the grace period.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig, type V1Job, type V1Pod } from '@kubernetes/client-node';
import { Job as JobModel } from 'kubernetes-models/batch/v1/Job';
import { Event as EventModel } from 'kubernetes-models/v1/Event';
import { Pod as PodModel } from 'kubernetes-models/v1/Pod';
import { Secret as SecretModel } from 'kubernetes-models/v1/Secret';
import type { KubeObject } from './k8s-schemas.js';
import { forbidden, RbacAuthorizer, serviceAccountUser, type RequestAttributes, type UserInfo } from './kube-rbac.js';
import { BadRequest, jsonPatch, mergePatch, parseFieldSelector, parseLabelSelector, type Selector } from './kube-selectors.js';
import { renderKustomization } from './kustomize.js';

export { mergePatch, parseLabelSelector } from './kube-selectors.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The token of the coordinator's ServiceAccount (kubemr/kubemr-coordinator). */
export const COORDINATOR_TOKEN = 'coordinator-token';
/** A cluster admin's token (group system:masters: every request allowed). */
export const ADMIN_TOKEN = 'admin-token';

interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  creationTimestamp?: string | Date;
  deletionTimestamp?: string | Date;
  deletionGracePeriodSeconds?: number;
  [k: string]: unknown;
}
interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Any stored object. */
export interface CustomObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: unknown;
  status?: unknown;
  [k: string]: unknown;
}
// Objects of built-in kinds, whose specs the simulation reads.
type Obj = CustomObject & { spec?: any; status?: any };

/** How to serve one custom resource. */
export interface CustomResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
  /** The API server's defaulting from the CRD schema, applied on create and update. */
  applyDefaults?: (obj: CustomObject) => CustomObject;
  /** Problems with an object (the CRD schema, say); any answers 422. */
  validate?: (obj: CustomObject) => string[];
}

export interface StatusWrite {
  plural: string;
  namespace: string;
  name: string;
  method: 'PATCH' | 'PUT';
  contentType: string;
  /** The whole status after the write. */
  status: unknown;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string;
  user: string | undefined;
  body?: unknown;
}

export interface Authorization {
  user: string;
  verb: string;
  apiGroup: string;
  resource: string;
  namespace: string;
  name: string | undefined;
  allowed: boolean;
}

interface ResourceType {
  group: string;
  version: string;
  resource: string;
  kind: string;
  /** Store key: `pods`, `batch/jobs`, `kubemr.io/mapreducejobs`. */
  key: string;
  statusSubresource: boolean;
  custom?: CustomResourceType;
  /** Schema problems of a built-in object. */
  validate?: (o: Obj) => string[];
  defaults?: (o: Obj) => void;
  fieldSelectors: string[];
  defaultPropagation: 'Orphan' | 'Background';
  hasGeneration: boolean;
}

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';
interface StoredEvent {
  rv: number;
  key: string;
  type: EventType;
  object: Obj;
  /** The object before a MODIFIED, to tell watchers whether it entered or left their selector. */
  prev?: Obj;
}
interface Watcher {
  key: string;
  namespace: string;
  labels: Selector;
  fields: (o: unknown) => boolean;
  res: http.ServerResponse;
}

type Result = { ok: true; code: number; obj: Obj } | { ok: false; code: number; body: StatusBody };
type StatusBody = ReturnType<typeof status>;

const status = (code: number, reason: string, message: string, details?: object) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  ...(details ? { details } : {}),
  code,
});
const fail = (code: number, reason: string, message: string): Result => ({ ok: false, code, body: status(code, reason, message) });

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const now = () => new Date().toISOString();
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function modelProblems(Model: new (data: any) => { validate(): void }, o: Obj): string[] {
  try {
    new Model(clone(o)).validate();
    return [];
  } catch (err) {
    return [err instanceof Error ? err.message : String(err)];
  }
}

/** Kubernetes quantities: 250m, 1, 1.5, 256Mi, 1Gi, 2G, 100k. */
export function parseQuantity(q: string | number | undefined): number {
  if (q === undefined) return 0;
  if (typeof q === 'number') return q;
  const m = /^([+-]?[0-9.]+)([a-zA-Z]*)$/.exec(q.trim());
  if (!m) throw new Error(`bad quantity ${q}`);
  const n = Number(m[1]);
  const mult: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
  const f = mult[m[2]!];
  if (f === undefined) throw new Error(`bad quantity suffix ${q}`);
  return n * f;
}

function podDefaults(p: Obj): void {
  const s = (p.spec ??= {});
  s.restartPolicy ??= 'Always';
  s.terminationGracePeriodSeconds ??= 30;
  s.dnsPolicy ??= 'ClusterFirst';
  s.schedulerName ??= 'default-scheduler';
  s.serviceAccountName ??= 'default';
  s.serviceAccount ??= s.serviceAccountName;
  s.enableServiceLinks ??= true;
  s.securityContext ??= {};
  s.priority ??= 0;
  for (const c of [...(s.initContainers ?? []), ...(s.containers ?? [])]) {
    const image = String(c.image ?? '');
    const tag = image.includes('@') ? 'digest' : image.lastIndexOf(':') > image.lastIndexOf('/') ? image.slice(image.lastIndexOf(':') + 1) : 'latest';
    c.imagePullPolicy ??= tag === 'latest' ? 'Always' : 'IfNotPresent';
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    c.resources ??= {};
    // Requests default to limits.
    if (c.resources.limits) c.resources.requests = { ...c.resources.limits, ...c.resources.requests };
  }
}

function jobDefaults(j: Obj): void {
  const s = (j.spec ??= {});
  if (s.parallelism === undefined && s.completions === undefined) {
    s.parallelism = 1;
    s.completions = 1;
  }
  s.parallelism ??= 1;
  s.backoffLimit ??= 6;
  s.completionMode ??= 'NonIndexed';
  s.suspend ??= false;
  s.manualSelector ??= false;
  s.podReplacementPolicy ??= s.podFailurePolicy ? 'Failed' : 'TerminatingOrFailed';
  const uid = j.metadata!.uid!;
  const name = j.metadata!.name!;
  const selectorLabels = { 'batch.kubernetes.io/controller-uid': uid };
  s.selector ??= { matchLabels: selectorLabels };
  s.template ??= {};
  s.template.metadata = {
    ...s.template.metadata,
    labels: { ...s.template.metadata?.labels, 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': name, 'controller-uid': uid, 'job-name': name },
  };
  podDefaults(s.template);
}

/** What the Job controller remembers about one Job (by uid). */
interface JobState {
  counted: Set<string>;
  seen: Set<string>;
  failed: number;
  succeeded: number;
  failJob: string | undefined;
  retry: NodeJS.Timeout | undefined;
  deadline: NodeJS.Timeout | undefined;
  ttl: NodeJS.Timeout | undefined;
}

/** What the kubelet is doing with one pod (by uid). */
interface PodRun {
  state: 'unscheduled' | 'waiting' | 'handed-over' | 'running' | 'ended';
  child?: ChildProcess;
  killTimer?: NodeJS.Timeout;
  retry?: NodeJS.Timeout;
  pulls: number;
}

export class KubeApiServerSim {
  /** Every request, in order, for assertions on what the client sent. */
  readonly requests: RecordedRequest[] = [];
  /** Every authorization decision, in order. */
  readonly authorizations: Authorization[] = [];
  /** The Roles and bindings requests are checked against (rendered from k8s/); editable. */
  readonly rbac: RbacAuthorizer;
  /** Every accepted status write of a custom resource, in order. */
  readonly statusWrites: StatusWrite[] = [];
  /** When set, the next status write of a custom resource is answered with this code (e.g. 500), once. */
  nextStatusWriteStatus: number | undefined;
  /** When set, the next Job delete is answered with this status (e.g. 404: someone beat us to it). */
  nextJobDeleteStatus: number | undefined;
  /** The node pods are scheduled on. */
  readonly node = { name: 'sim-node', allocatable: { cpu: '64', memory: '256Gi' } as Record<string, string> };
  /** Images the node can pull; every image when undefined. */
  images: Set<string> | undefined;
  /** Run pods' containers as local processes; off: the test plays the kubelet with updatePod. */
  runContainers = false;
  /** A ResourceQuota on pods per namespace: pod creates beyond it are refused (403 exceeded quota). */
  podQuota: { name: string; pods: number } | undefined;
  /** ServiceAccounts (`namespace/name`) besides each namespace's `default`; a pod naming another is refused. */
  readonly serviceAccounts = new Set<string>(['kubemr/kubemr-coordinator', 'kubemr/kubemr-dashboard']);
  /** How long an image pull backs off before it is tried again. */
  imagePullBackOffMs = 100;
  /** How long the Job controller waits before retrying a refused pod create. */
  failedCreateRetryMs = 200;

  private readonly tokens = new Map<string, UserInfo>([
    [COORDINATOR_TOKEN, serviceAccountUser('kubemr', 'kubemr-coordinator')],
    [ADMIN_TOKEN, { name: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] }],
  ]);
  private readonly types = new Map<string, ResourceType>();
  private readonly stores = new Map<string, Map<string, Obj>>();
  private readonly podLogs = new Map<string, string>();
  private readonly followers = new Map<string, Set<http.ServerResponse>>();
  private readonly history: StoredEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly jobStates = new Map<string, JobState>();
  private readonly runs = new Map<string, PodRun>();
  private readonly queued = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private rv = 100;
  /** Watches from a resourceVersion older than this get HTTP 410 Gone. */
  private compactedBelow = 0;
  private failNextWatchWith410 = false;
  private eventSeq = 0;
  private closed = false;

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    rbacObjects: KubeObject[],
  ) {
    this.rbac = new RbacAuthorizer(rbacObjects);
    const builtin = (t: Omit<ResourceType, 'key' | 'statusSubresource' | 'defaultPropagation' | 'hasGeneration'> & Partial<ResourceType>) =>
      this.addType({ statusSubresource: false, defaultPropagation: 'Background', hasGeneration: false, key: t.group ? `${t.group}/${t.resource}` : t.resource, ...t });
    const meta = ['metadata.name', 'metadata.namespace'];
    builtin({ group: '', version: 'v1', resource: 'pods', kind: 'Pod', statusSubresource: true, validate: (o) => modelProblems(PodModel, o), defaults: podDefaults, fieldSelectors: [...meta, 'spec.nodeName', 'status.phase'] });
    builtin({
      group: '',
      version: 'v1',
      resource: 'events',
      kind: 'Event',
      validate: (o) => modelProblems(EventModel, o),
      fieldSelectors: [...meta, 'involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
    });
    builtin({ group: '', version: 'v1', resource: 'secrets', kind: 'Secret', validate: (o) => modelProblems(SecretModel, o), fieldSelectors: [...meta, 'type'] });
    builtin({
      group: 'batch',
      version: 'v1',
      resource: 'jobs',
      kind: 'Job',
      statusSubresource: true,
      hasGeneration: true,
      // batch/v1 keeps the old default: deleting a Job without a propagationPolicy orphans its pods.
      defaultPropagation: 'Orphan',
      validate: (o) => {
        const p = modelProblems(JobModel, o);
        const name = o.metadata?.name ?? '';
        if (!DNS1123_LABEL.test(name) || name.length > 63) p.push('metadata.name: must be a DNS-1123 label (at most 63 characters)');
        return p;
      },
      defaults: jobDefaults,
      fieldSelectors: [...meta, 'status.successful'],
    });
  }

  /**
   * Starts the server. Requests are authorized against the RBAC objects rendered from k8s/
   * unless `rbac` gives others (or `false`: every authenticated request is allowed).
   */
  static async start(options: { rbac?: KubeObject[] | false } = {}): Promise<KubeApiServerSim> {
    const rbacObjects =
      options.rbac === false
        ? [
            { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'everything' }, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] },
            {
              apiVersion: 'rbac.authorization.k8s.io/v1',
              kind: 'ClusterRoleBinding',
              metadata: { name: 'everything' },
              roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'everything' },
              subjects: [{ kind: 'Group', name: 'system:authenticated' }],
            },
          ]
        : (options.rbac ?? renderKustomization(path.join(ROOT, 'k8s')).filter((d) => /^(Cluster)?Role(Binding)?$/.test(d.kind ?? '')));
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const sim = new KubeApiServerSim(server, `http://127.0.0.1:${port}`, clone(rbacObjects));
    server.on('request', (req, res) => {
      sim.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) sim.send(res, 500, status(500, 'InternalError', String(err)));
        else res.destroy();
      });
    });
    return sim;
  }

  /** A KubeConfig whose current context points at this server, as the coordinator's ServiceAccount (or `token`). */
  kubeConfig(namespace = 'kubemr', token = COORDINATOR_TOKEN): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'sim', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'user', token }],
      contexts: [{ name: 'sim', cluster: 'sim', user: 'user', namespace }],
      currentContext: 'sim',
    });
    return kc;
  }

  /** A KubeConfig of a cluster admin (what a person runs kubectl as). */
  adminKubeConfig(namespace = 'kubemr'): KubeConfig {
    return this.kubeConfig(namespace, ADMIN_TOKEN);
  }

  // --- what tests read ---

  get jobs(): Map<string, V1Job> {
    return this.store('batch/jobs') as Map<string, V1Job>;
  }

  get pods(): Map<string, V1Pod> {
    return this.store('pods') as Map<string, V1Pod>;
  }

  /** Core/v1 Events in a namespace, oldest first. */
  events(namespace = 'kubemr'): Obj[] {
    return [...this.store('events').values()].filter((e) => e.metadata?.namespace === namespace).map(clone);
  }

  /** Open watch connections right now (of one resource: `pods`, `events`, `kubemr.io/mapreducejobs`). */
  watchesOf(key?: string): number {
    return [...this.watchers].filter((w) => key === undefined || w.key === key).length;
  }

  get openWatches(): number {
    return this.watchesOf();
  }

  requestsMatching(method: string, pathRe: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && pathRe.test(r.path));
  }

  /** Grants the coordinator's requests used, as `group/resource: verb` (`core/pods/log: get`). */
  grantsUsed(user = serviceAccountUser('kubemr', 'kubemr-coordinator').name): Set<string> {
    return new Set(this.authorizations.filter((a) => a.allowed && a.user === user).map((a) => `${a.apiGroup || 'core'}/${a.resource}: ${a.verb}`));
  }

  podsOfJob(jobName: string): V1Pod[] {
    return [...this.pods.values()].filter((p) => p.metadata?.labels?.['batch.kubernetes.io/job-name'] === jobName);
  }

  /** Serve a custom resource type under /apis/<group>/<version>/namespaces/<ns>/<plural>. */
  serveCustomResource(type: CustomResourceType): void {
    this.addType({
      group: type.group,
      version: type.version,
      resource: type.plural,
      kind: type.kind,
      key: `${type.group}/${type.plural}`,
      statusSubresource: true,
      custom: type,
      fieldSelectors: ['metadata.name', 'metadata.namespace'],
      defaultPropagation: 'Background',
      hasGeneration: true,
    });
  }

  /** A custom resource as stored now. */
  getCustomObject(plural: string, name: string, namespace = 'kubemr'): CustomObject | undefined {
    const t = this.customType(plural);
    const o = this.store(t.key).get(`${namespace}/${name}`);
    return o === undefined ? undefined : clone(o);
  }

  /**
   * Store a custom resource as if a client had created it, skipping `validate` when asked (an
   * object that predates a stricter schema, or a CRD applied without one).
   */
  addCustomObject(plural: string, obj: CustomObject, options: { validate?: boolean } = {}): CustomObject {
    const t = this.customType(plural);
    const r = this.createObject(t, obj.metadata?.namespace ?? 'kubemr', obj, { validate: options.validate !== false });
    if (!r.ok) throw new Error(`kube sim: ${r.body.message}`);
    return clone(r.obj);
  }

  /** Delete a custom resource as `kubectl delete` would (background propagation). */
  deleteCustomObject(plural: string, name: string, namespace = 'kubemr', propagationPolicy: 'Background' | 'Foreground' | 'Orphan' = 'Background'): boolean {
    return this.deleteObject(this.customType(plural), namespace, name, { propagationPolicy }).ok;
  }

  /** Add a Secret (what `kubectl create secret generic` does). */
  addSecret(name: string, data: Record<string, string>, namespace = 'kubemr'): void {
    const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
    const r = this.createObject(this.types.get('/v1/secrets')!, namespace, { apiVersion: 'v1', kind: 'Secret', metadata: { name }, data: encoded });
    if (!r.ok) throw new Error(`kube sim: ${r.body.message}`);
  }

  /** Add a pod as if some controller had created it (kept as given: not scheduled or run). */
  addPod(pod: V1Pod): V1Pod {
    const p = clone(pod) as Obj;
    p.metadata = { namespace: 'kubemr', uid: randomUUID(), creationTimestamp: now(), ...p.metadata };
    p.status ??= { phase: 'Pending' };
    this.store('pods').set(this.key(p), p);
    this.runs.set(p.metadata.uid!, { state: 'handed-over', pulls: 0 });
    this.emit('pods', 'ADDED', p);
    return clone(p) as V1Pod;
  }

  /** Change a pod the way the kubelet would (phase, container states); emits MODIFIED. */
  updatePod(name: string, mutate: (pod: V1Pod) => void, namespace = 'kubemr'): V1Pod {
    const pod = this.store('pods').get(`${namespace}/${name}`);
    if (!pod) throw new Error(`kube sim: no pod ${namespace}/${name}`);
    const prev = clone(pod);
    // From here on the test is the kubelet of this pod.
    const run = this.runs.get(pod.metadata!.uid!) ?? { state: 'handed-over', pulls: 0 };
    this.runs.set(pod.metadata!.uid!, run);
    if (run.state !== 'running') {
      run.state = 'handed-over';
      this.clearTimer(run.retry);
    }
    mutate(pod as V1Pod);
    this.emit('pods', 'MODIFIED', pod, prev);
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') this.endLog(name);
    return clone(pod) as V1Pod;
  }

  /** Delete a pod as `kubectl delete pod` does: gracefully. */
  deletePod(name: string, namespace = 'kubemr', gracePeriodSeconds?: number): void {
    this.deleteObject(this.types.get('/v1/pods')!, namespace, name, gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds });
  }

  /** Kill a running container's process (a crash, the OOM killer); its pod then fails as the kubelet reports it. */
  killContainer(name: string, signal: NodeJS.Signals = 'SIGKILL', namespace = 'kubemr'): void {
    const pod = this.store('pods').get(`${namespace}/${name}`);
    const child = pod ? this.runs.get(pod.metadata!.uid!)?.child : undefined;
    if (!child) throw new Error(`kube sim: no container running in pod ${namespace}/${name}`);
    child.kill(signal);
  }

  /** Append to a pod's log; followers see it at once. */
  appendLog(name: string, text: string): void {
    this.podLogs.set(name, (this.podLogs.get(name) ?? '') + text);
    for (const f of this.followers.get(name) ?? []) f.write(text);
  }

  /** End every follow of a pod's log (the container ended). */
  endLog(name: string): void {
    for (const f of this.followers.get(name) ?? []) f.end();
    this.followers.delete(name);
  }

  /**
   * Make the history the open watches started from too old, as etcd compaction does.
   * 'event': open watches get an ERROR event with a 410 Status, then the stream closes.
   * 'http': open watches close, and the next watch request is answered HTTP 410 Gone.
   */
  expireWatches(mode: 'event' | 'http'): void {
    this.compactedBelow = this.rv + 1;
    if (mode === 'http') this.failNextWatchWith410 = true;
    for (const w of [...this.watchers]) {
      if (mode === 'event') w.res.write(JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', 'too old resource version') }) + '\n');
      w.res.end();
      this.watchers.delete(w);
    }
  }

  /** Drop open watch connections without a word (a network blip). */
  dropWatches(): void {
    for (const w of [...this.watchers]) {
      w.res.destroy();
      this.watchers.delete(w);
    }
  }

  /** A new node resource size (scheduling is tried again for pods waiting for room). */
  setAllocatable(resources: Record<string, string>): void {
    Object.assign(this.node.allocatable, resources);
    this.retryUnscheduled();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.jobStates.values()) for (const t of [s.retry, s.deadline, s.ttl]) if (t) clearTimeout(t);
    const exits: Promise<void>[] = [];
    for (const run of this.runs.values()) {
      if (run.killTimer) clearTimeout(run.killTimer);
      if (run.retry) clearTimeout(run.retry);
      const child = run.child;
      if (child && child.exitCode === null && child.signalCode === null) {
        exits.push(new Promise((r) => child.once('exit', () => r())));
        child.kill('SIGKILL');
      }
    }
    await Promise.all(exits);
    for (const w of this.watchers) w.res.destroy();
    this.watchers.clear();
    for (const set of this.followers.values()) for (const f of set) f.destroy();
    this.followers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // --- storage ---

  private addType(t: ResourceType): void {
    this.types.set(`${t.group}/${t.version}/${t.resource}`, t);
    if (!this.stores.has(t.key)) this.stores.set(t.key, new Map());
  }

  private store(key: string): Map<string, Obj> {
    let s = this.stores.get(key);
    if (!s) this.stores.set(key, (s = new Map()));
    return s;
  }

  private customType(plural: string): ResourceType {
    const t = [...this.types.values()].find((x) => x.custom?.plural === plural);
    if (!t) throw new Error(`kube sim: no custom resource ${plural} served`);
    return t;
  }

  private typeOfKind(apiVersion: string, kind: string): ResourceType | undefined {
    return [...this.types.values()].find((t) => (t.group ? `${t.group}/${t.version}` : t.version) === apiVersion && t.kind === kind);
  }

  private key(o: Obj): string {
    return `${o.metadata?.namespace ?? 'default'}/${o.metadata?.name ?? ''}`;
  }

  private timer(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closed) fn();
    }, ms);
    t.unref?.();
    this.timers.add(t);
    return t;
  }

  private clearTimer(t: NodeJS.Timeout | undefined): void {
    if (!t) return;
    clearTimeout(t);
    this.timers.delete(t);
  }

  private emit(key: string, type: EventType, object: Obj, prev?: Obj): void {
    const rv = ++this.rv;
    object.metadata = { ...object.metadata, resourceVersion: String(rv) };
    const ev: StoredEvent = { rv, key, type, object: clone(object), ...(prev ? { prev } : {}) };
    this.history.push(ev);
    for (const w of this.watchers) this.deliver(w, ev);
    if (key === 'pods') this.onPodChanged(ev.object, type);
  }

  private deliver(w: Watcher, ev: StoredEvent): void {
    if (ev.key !== w.key || ev.object.metadata?.namespace !== w.namespace) return;
    const matches = (o: Obj | undefined) => o !== undefined && w.labels(o.metadata?.labels) && w.fields(o);
    let type: EventType | undefined;
    if (ev.type === 'ADDED') type = matches(ev.object) ? 'ADDED' : undefined;
    else if (ev.type === 'DELETED') type = matches(ev.object) ? 'DELETED' : undefined;
    else {
      const now = matches(ev.object);
      const before = ev.prev === undefined ? now : matches(ev.prev);
      type = now && before ? 'MODIFIED' : now ? 'ADDED' : before ? 'DELETED' : undefined;
    }
    if (type) w.res.write(JSON.stringify({ type, object: ev.object }) + '\n');
  }

  /** Create as the API server does: name, defaults, validation, uid; then the controllers react. */
  private createObject(t: ResourceType, ns: string, body: unknown, options: { validate?: boolean } = {}): Result {
    if (typeof body !== 'object' || body === null) return fail(400, 'BadRequest', 'the request body must be an object');
    let obj = clone(body) as Obj;
    if (obj.metadata?.namespace !== undefined && obj.metadata.namespace !== ns) {
      return fail(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    }
    const meta = (obj.metadata ??= {});
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomBytes(4).toString('hex').slice(0, 5)}`;
    const name = meta.name ?? '';
    const what = t.group ? `${t.resource}.${t.group}` : t.resource;
    if (name === '') return fail(422, 'Invalid', `${t.kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
    if (!t.custom && (!DNS1123_SUBDOMAIN.test(name) || name.length > 253)) return fail(422, 'Invalid', `${t.kind} "${name}" is invalid: metadata.name: must be a DNS-1123 subdomain`);
    if (this.store(t.key).has(`${ns}/${name}`)) return { ok: false, code: 409, body: status(409, 'AlreadyExists', `${what} "${name}" already exists`, { name, group: t.group, kind: t.resource }) };
    obj.apiVersion = t.group ? `${t.group}/${t.version}` : t.version;
    obj.kind = t.kind;
    obj.metadata = { ...meta, namespace: ns, uid: randomUUID(), creationTimestamp: now() };
    delete obj.metadata.deletionTimestamp;
    delete obj.metadata.resourceVersion;
    if (t.hasGeneration) obj.metadata.generation = 1;
    if (t.custom) {
      if (t.custom.applyDefaults) obj = t.custom.applyDefaults(obj);
      if (options.validate !== false) {
        const problems = t.custom.validate?.(obj) ?? [];
        if (problems.length > 0) return fail(422, 'Invalid', `${t.kind}.${t.group} "${name}" is invalid: ${problems.join('; ')}`);
      }
      delete obj.status; // the status subresource ignores status on create
    } else {
      if (t.resource === 'jobs') delete obj.status;
      if (t.resource === 'pods') obj.status = { phase: 'Pending', qosClass: 'Burstable' };
      t.defaults?.(obj);
      const problems = options.validate === false ? [] : (t.validate?.(obj) ?? []);
      if (problems.length > 0) return fail(422, 'Invalid', `${t.kind} "${name}" is invalid: ${problems.join('; ')}`);
    }
    const sa = obj.spec?.serviceAccountName;
    if (t.resource === 'pods' && !t.group && sa !== undefined && sa !== 'default' && !this.serviceAccounts.has(`${ns}/${sa}`)) {
      // The ServiceAccount admission plugin.
      return fail(403, 'Forbidden', `pods "${name}" is forbidden: error looking up service account ${ns}/${sa}: serviceaccount "${sa}" not found`);
    }
    if (t.resource === 'pods' && this.podQuota) {
      const used = [...this.pods.values()].filter((p) => p.metadata?.namespace === ns && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed').length;
      if (used + 1 > this.podQuota.pods) {
        return fail(403, 'Forbidden', `pods "${name}" is forbidden: exceeded quota: ${this.podQuota.name}, requested: pods=1, used: pods=${used}, limited: pods=${this.podQuota.pods}`);
      }
    }
    this.store(t.key).set(`${ns}/${name}`, obj);
    this.emit(t.key, 'ADDED', obj);
    if (t.resource === 'jobs' && t.group === 'batch') this.enqueueJob(`${ns}/${name}`);
    if (t.resource === 'pods' && !t.group) setImmediate(() => this.admitPod(obj));
    if (obj.metadata?.ownerReferences?.length) setImmediate(() => this.collectIfDangling(t, obj));
    return { ok: true, code: 201, obj };
  }

  /** Writes a new version of a stored object (update, patch, or a status write). */
  private writeObject(t: ResourceType, ns: string, name: string, next: Obj, opts: { isStatus: boolean; method: 'PUT' | 'PATCH'; contentType: string }): Result {
    const key = `${ns}/${name}`;
    const current = this.store(t.key).get(key);
    const what = t.group ? `${t.resource}.${t.group}` : t.resource;
    if (!current) return fail(404, 'NotFound', `${what} "${name}" not found`);
    if (opts.method === 'PUT') {
      const rv = next.metadata?.resourceVersion;
      if (rv !== undefined && rv !== current.metadata?.resourceVersion) {
        return fail(409, 'Conflict', `Operation cannot be fulfilled on ${what} "${name}": the object has been modified; please apply your changes to the latest version and try again`);
      }
    }
    let updated: Obj;
    if (opts.isStatus) {
      updated = { ...clone(current), status: next.status };
    } else {
      const meta: ObjectMeta = { ...current.metadata };
      for (const f of ['labels', 'annotations', 'finalizers', 'ownerReferences'] as const) {
        if (next.metadata?.[f] !== undefined) (meta as Record<string, unknown>)[f] = next.metadata[f];
        else delete meta[f];
      }
      updated = { ...next, metadata: meta, ...(t.statusSubresource ? { status: current.status } : {}) };
      if (t.statusSubresource && current.status === undefined) delete updated.status;
      if (t.custom?.applyDefaults) updated = t.custom.applyDefaults(updated);
      if (t.hasGeneration && JSON.stringify(updated.spec) !== JSON.stringify(current.spec)) {
        updated.metadata = { ...updated.metadata, generation: (current.metadata?.generation ?? 1) + 1 };
      }
    }
    if (updated.status === undefined) delete updated.status;
    updated.apiVersion = current.apiVersion;
    updated.kind = current.kind;
    // Validation ratcheting: what was already wrong with the stored object does not block an update.
    const check = t.custom ? (o: Obj) => t.custom!.validate?.(o) ?? [] : (o: Obj) => t.validate?.(o) ?? [];
    const before = new Set(check(current));
    const problems = check(updated).filter((p) => !before.has(p));
    if (problems.length > 0) return fail(422, 'Invalid', `${t.kind}${t.group ? `.${t.group}` : ''} "${name}" is invalid: ${problems.join('; ')}`);
    const prev = clone(current);
    this.store(t.key).set(key, updated);
    if (t.custom && opts.isStatus) this.statusWrites.push({ plural: t.resource, namespace: ns, name, method: opts.method, contentType: opts.contentType, status: clone(updated.status) });
    this.emit(t.key, 'MODIFIED', updated, prev);
    // The last finalizer of an object being deleted is gone: now it goes.
    if (updated.metadata?.deletionTimestamp && !(updated.metadata.finalizers?.length) && t.resource !== 'pods') this.removeObject(t, updated);
    return { ok: true, code: 200, obj: updated };
  }

  /** Delete as the API server does: finalizers, graceful pods, propagation to dependents. */
  private deleteObject(t: ResourceType, ns: string, name: string, o: { propagationPolicy?: string; gracePeriodSeconds?: number }): Result {
    const cur = this.store(t.key).get(`${ns}/${name}`);
    const what = t.group ? `${t.resource}.${t.group}` : t.resource;
    if (!cur) return fail(404, 'NotFound', `${what} "${name}" not found`);
    const policy = o.propagationPolicy ?? t.defaultPropagation;
    if (!['Orphan', 'Background', 'Foreground'].includes(policy)) return fail(400, 'BadRequest', `propagationPolicy: Unsupported value: "${policy}"`);
    if (cur.metadata?.deletionTimestamp) return { ok: true, code: 202, obj: cur };
    if (policy === 'Orphan') this.orphanDependents(cur);
    const isPod = t.resource === 'pods' && !t.group;
    let grace = 0;
    if (isPod) {
      const phase = cur.status?.phase;
      // An unbound or finished pod has nothing to stop.
      grace = o.gracePeriodSeconds ?? (cur.spec?.nodeName && phase !== 'Succeeded' && phase !== 'Failed' ? (cur.spec?.terminationGracePeriodSeconds ?? 30) : 0);
    }
    const finalizers = [...(cur.metadata?.finalizers ?? []), ...(policy === 'Foreground' ? ['foregroundDeletion'] : [])];
    if (finalizers.length > 0 || (isPod && grace > 0) || (isPod && this.runs.get(cur.metadata!.uid!)?.state === 'running')) {
      const prev = clone(cur);
      cur.metadata = {
        ...cur.metadata,
        finalizers: finalizers.length > 0 ? finalizers : undefined,
        deletionTimestamp: new Date(Date.now() + grace * 1000).toISOString(),
        deletionGracePeriodSeconds: grace,
      };
      if (!cur.metadata.finalizers) delete cur.metadata.finalizers;
      this.emit(t.key, 'MODIFIED', cur, prev);
      if (isPod) this.terminatePod(cur, grace);
      if (policy === 'Foreground') this.deleteDependents(cur, 'Foreground');
      return { ok: true, code: 200, obj: clone(cur) };
    }
    this.removeObject(t, cur);
    return { ok: true, code: 200, obj: clone(cur) };
  }

  /** The object leaves the store (DELETED); its dependents are collected. */
  private removeObject(t: ResourceType, obj: Obj): void {
    const key = this.key(obj);
    if (!this.store(t.key).has(key)) return;
    this.store(t.key).delete(key);
    this.emit(t.key, 'DELETED', obj);
    const uid = obj.metadata?.uid ?? '';
    if (t.resource === 'pods' && !t.group) {
      const run = this.runs.get(uid);
      if (run) {
        this.clearTimer(run.retry);
        if (run.killTimer) clearTimeout(run.killTimer);
      }
      this.runs.delete(uid);
      this.endLog(obj.metadata?.name ?? '');
      this.podLogs.delete(obj.metadata?.name ?? '');
      this.retryUnscheduled();
    }
    if (t.resource === 'jobs' && t.group === 'batch') {
      const s = this.jobStates.get(uid);
      if (s) for (const tm of [s.retry, s.deadline, s.ttl]) this.clearTimer(tm);
      this.jobStates.delete(uid);
    }
    this.deleteDependents(obj, 'Background');
    this.checkForegroundOwners(obj);
  }

  // --- garbage collector ---

  private dependentsOf(owner: Obj): { t: ResourceType; obj: Obj; ref: OwnerReference }[] {
    const uid = owner.metadata?.uid;
    const out: { t: ResourceType; obj: Obj; ref: OwnerReference }[] = [];
    for (const t of new Map([...this.types.values()].map((x) => [x.key, x])).values()) {
      for (const obj of this.store(t.key).values()) {
        if (obj.metadata?.namespace !== owner.metadata?.namespace) continue;
        const ref = obj.metadata?.ownerReferences?.find((r) => r.uid === uid);
        if (ref) out.push({ t, obj, ref });
      }
    }
    return out;
  }

  private ownerExists(ref: OwnerReference, namespace: string): boolean {
    const t = this.typeOfKind(ref.apiVersion, ref.kind);
    // A kind this server does not serve cannot be looked up: the collector leaves the dependent alone.
    if (!t) return true;
    return this.store(t.key).get(`${namespace}/${ref.name}`)?.metadata?.uid === ref.uid;
  }

  /** Background (and, for the owner's part, Foreground) propagation: dependents with no owner left go. */
  private deleteDependents(owner: Obj, mode: 'Background' | 'Foreground'): void {
    setImmediate(() => {
      for (const { t, obj } of this.dependentsOf(owner)) {
        if (obj.metadata?.deletionTimestamp) continue;
        const others = (obj.metadata?.ownerReferences ?? []).filter((r) => r.uid !== owner.metadata?.uid && this.ownerExists(r, obj.metadata?.namespace ?? ''));
        if (mode === 'Background' && others.length > 0) continue;
        this.deleteObject(t, obj.metadata!.namespace!, obj.metadata!.name!, { propagationPolicy: 'Background' });
      }
      if (mode === 'Foreground') this.checkForegroundOwners(owner, true);
    });
  }

  /** A dependent went away: an owner in foreground deletion may now go too. */
  private checkForegroundOwners(dependent: Obj, self = false): void {
    const owners = self ? [{ t: this.typeOfKind(dependent.apiVersion ?? '', dependent.kind ?? ''), obj: dependent }] : (dependent.metadata?.ownerReferences ?? []).map((r) => {
      const t = this.typeOfKind(r.apiVersion, r.kind);
      return { t, obj: t ? this.store(t.key).get(`${dependent.metadata?.namespace}/${r.name}`) : undefined };
    });
    for (const { t, obj } of owners) {
      if (!t || !obj?.metadata?.deletionTimestamp || !obj.metadata.finalizers?.includes('foregroundDeletion')) continue;
      const blocking = this.dependentsOf(obj).filter(({ ref }) => ref.blockOwnerDeletion === true);
      if (blocking.length > 0) continue;
      const prev = clone(obj);
      obj.metadata.finalizers = obj.metadata.finalizers.filter((f) => f !== 'foregroundDeletion');
      if (obj.metadata.finalizers.length === 0) {
        delete obj.metadata.finalizers;
        this.removeObject(t, obj);
      } else this.emit(t.key, 'MODIFIED', obj, prev);
    }
  }

  private orphanDependents(owner: Obj): void {
    for (const { t, obj } of this.dependentsOf(owner)) {
      const prev = clone(obj);
      obj.metadata!.ownerReferences = obj.metadata!.ownerReferences!.filter((r) => r.uid !== owner.metadata?.uid);
      if (obj.metadata!.ownerReferences.length === 0) delete obj.metadata!.ownerReferences;
      this.emit(t.key, 'MODIFIED', obj, prev);
    }
  }

  /** An object created with owners that do not exist is collected, as the real collector does. */
  private collectIfDangling(t: ResourceType, obj: Obj): void {
    const cur = this.store(t.key).get(this.key(obj));
    if (!cur || cur.metadata?.uid !== obj.metadata?.uid || cur.metadata?.deletionTimestamp) return;
    const refs = cur.metadata?.ownerReferences ?? [];
    if (refs.length === 0 || refs.some((r) => this.ownerExists(r, cur.metadata?.namespace ?? ''))) return;
    this.deleteObject(t, cur.metadata!.namespace!, cur.metadata!.name!, { propagationPolicy: 'Background' });
  }

  // --- events ---

  /** Records an Event as a controller's event recorder does (repeats raise the count). */
  private recordEvent(involved: Obj, type: 'Normal' | 'Warning', reason: string, message: string, component: string): void {
    const ns = involved.metadata?.namespace ?? 'default';
    const events = this.store('events');
    const same = [...events.values()].find(
      (e: any) => e.involvedObject?.uid === involved.metadata?.uid && e.reason === reason && e.message === message && e.source?.component === component,
    );
    if (same) {
      const prev = clone(same);
      same.count = ((same.count as number | undefined) ?? 1) + 1;
      same.lastTimestamp = now();
      this.emit('events', 'MODIFIED', same, prev);
      return;
    }
    const stamp = now();
    const ev: Obj = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${involved.metadata?.name}.${(Date.now() * 1e3 + ++this.eventSeq).toString(16)}`, namespace: ns, uid: randomUUID(), creationTimestamp: stamp },
      involvedObject: { apiVersion: involved.apiVersion, kind: involved.kind, name: involved.metadata?.name, namespace: ns, uid: involved.metadata?.uid, resourceVersion: involved.metadata?.resourceVersion },
      reason,
      message,
      type,
      source: { component, ...(component === 'kubelet' ? { host: this.node.name } : {}) },
      firstTimestamp: stamp,
      lastTimestamp: stamp,
      count: 1,
      reportingComponent: component,
      reportingInstance: component === 'kubelet' ? this.node.name : '',
    };
    events.set(`${ns}/${ev.metadata!.name}`, ev);
    this.emit('events', 'ADDED', ev);
  }

  // --- Job controller ---

  private enqueueJob(key: string): void {
    if (this.queued.has(key) || this.closed) return;
    this.queued.add(key);
    setImmediate(() => {
      this.queued.delete(key);
      if (!this.closed) this.syncJob(key);
    });
  }

  private onPodChanged(pod: Obj, type: EventType): void {
    const owner = pod.metadata?.ownerReferences?.find((r) => r.controller && r.kind === 'Job');
    if (owner) this.enqueueJob(`${pod.metadata?.namespace}/${owner.name}`);
    if (type === 'MODIFIED' && (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed')) this.retryUnscheduled();
  }

  private jobState(job: Obj): JobState {
    const uid = job.metadata!.uid!;
    let s = this.jobStates.get(uid);
    if (!s) {
      s = { counted: new Set(), seen: new Set(), failed: 0, succeeded: 0, failJob: undefined, retry: undefined, deadline: undefined, ttl: undefined };
      this.jobStates.set(uid, s);
    }
    return s;
  }

  /** The first podFailurePolicy rule a failed pod matches, as the Job controller evaluates them. */
  private failurePolicyAction(job: Obj, pod: Obj): string | undefined {
    for (const rule of (job.spec?.podFailurePolicy?.rules ?? []) as any[]) {
      if (rule.onPodConditions) {
        const hit = rule.onPodConditions.some((c: any) => (pod.status?.conditions ?? []).some((pc: any) => pc.type === c.type && pc.status === (c.status ?? 'True')));
        if (hit) return rule.action;
      }
      if (rule.onExitCodes) {
        const codes = (pod.status?.containerStatuses ?? [])
          .filter((c: any) => rule.onExitCodes.containerName === undefined || c.name === rule.onExitCodes.containerName)
          .map((c: any) => c.state?.terminated?.exitCode)
          .filter((c: unknown): c is number => typeof c === 'number' && c !== 0);
        const inList = (c: number) => rule.onExitCodes.values.includes(c);
        if (codes.some((c: number) => (rule.onExitCodes.operator === 'In' ? inList(c) : !inList(c)))) return rule.action;
      }
    }
    return undefined;
  }

  private syncJob(key: string): void {
    const job = this.jobs.get(key) as Obj | undefined;
    if (!job || job.metadata?.deletionTimestamp) return;
    const s = this.jobState(job);
    const spec = job.spec ?? {};
    const st = clone(job.status ?? {});
    const conditions: any[] = st.conditions ?? [];
    const finished = conditions.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
    const uid = job.metadata!.uid!;
    const pods = [...this.pods.values()].filter((p) => p.metadata?.ownerReferences?.some((r) => r.uid === uid && r.controller)) as Obj[];
    const live = new Set(pods.map((p) => p.metadata!.uid!));
    for (const p of pods) {
      const puid = p.metadata!.uid!;
      s.seen.add(puid);
      if (s.counted.has(puid)) continue;
      if (p.status?.phase === 'Succeeded') {
        s.counted.add(puid);
        s.succeeded++;
      } else if (p.status?.phase === 'Failed') {
        s.counted.add(puid);
        const action = this.failurePolicyAction(job, p);
        if (action === 'FailJob') s.failJob ??= `Container of pod ${p.metadata?.name} failed, matching a FailJob rule of the pod failure policy`;
        if (action !== 'Ignore') s.failed++;
      }
    }
    // A pod gone without a terminal phase (force-deleted, node lost) counts as failed.
    for (const puid of [...s.seen]) {
      if (live.has(puid) || s.counted.has(puid)) continue;
      s.counted.add(puid);
      if (!finished) s.failed++;
    }
    const terminal = (p: Obj) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
    const active = pods.filter((p) => !terminal(p) && !p.metadata?.deletionTimestamp);
    const terminating = pods.filter((p) => !terminal(p) && p.metadata?.deletionTimestamp);
    const t = now();
    st.startTime ??= t;
    const finish = (type: 'Complete' | 'Failed', reason: string, message: string) => {
      if (type === 'Failed') conditions.push({ type: 'FailureTarget', status: 'True', reason, message, lastProbeTime: t, lastTransitionTime: t });
      conditions.push({ type, status: 'True', ...(type === 'Failed' ? { reason, message } : {}), lastProbeTime: t, lastTransitionTime: t });
      if (type === 'Complete') st.completionTime = t;
      for (const p of active) this.deleteObject(this.types.get('/v1/pods')!, p.metadata!.namespace!, p.metadata!.name!, {});
      this.clearTimer(s.deadline);
      if (spec.ttlSecondsAfterFinished !== undefined) {
        s.ttl = this.timer(spec.ttlSecondsAfterFinished * 1000, () => this.deleteObject(this.types.get('batch/v1/jobs')!, job.metadata!.namespace!, job.metadata!.name!, { propagationPolicy: 'Background' }));
      }
    };
    if (!finished) {
      if (spec.activeDeadlineSeconds !== undefined && !s.deadline) {
        const left = new Date(st.startTime).getTime() + spec.activeDeadlineSeconds * 1000 - Date.now();
        s.deadline = this.timer(Math.max(0, left), () => {
          s.failJob ??= 'DeadlineExceeded';
          this.enqueueJob(key);
        });
      }
      if (s.failJob === 'DeadlineExceeded') finish('Failed', 'DeadlineExceeded', 'Job was active longer than specified deadline');
      else if (s.failJob) finish('Failed', 'PodFailurePolicy', s.failJob);
      else if (s.failed > (spec.backoffLimit ?? 6)) finish('Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
      else if (spec.completions === undefined || spec.completions === null) {
        // Work-queue Jobs: once any pod has succeeded, no new pod starts; complete when all have ended.
        if (s.succeeded > 0) {
          if (active.length + terminating.length === 0) finish('Complete', '', '');
        } else this.createJobPods(job, spec.parallelism - active.length - (spec.podReplacementPolicy === 'Failed' ? terminating.length : 0));
      } else if (s.succeeded >= spec.completions) {
        if (active.length + terminating.length === 0) finish('Complete', '', '');
      } else {
        const want = Math.min(spec.parallelism, spec.completions - s.succeeded);
        this.createJobPods(job, want - active.length - (spec.podReplacementPolicy === 'Failed' ? terminating.length : 0));
      }
    }
    const after = [...this.pods.values()].filter((p) => p.metadata?.ownerReferences?.some((r) => r.uid === uid && r.controller)) as Obj[];
    const next = {
      ...st,
      active: after.filter((p) => !terminal(p) && !p.metadata?.deletionTimestamp).length,
      ready: after.filter((p) => (p.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True')).length,
      terminating: after.filter((p) => !terminal(p) && p.metadata?.deletionTimestamp).length,
      succeeded: s.succeeded,
      failed: s.failed,
      uncountedTerminatedPods: {},
      ...(conditions.length > 0 ? { conditions } : {}),
    };
    for (const f of ['active', 'succeeded', 'failed'] as const) if (next[f] === 0) delete (next as Record<string, unknown>)[f];
    const cur = this.jobs.get(key) as Obj | undefined;
    if (cur?.metadata?.uid !== uid) return;
    if (JSON.stringify(next) !== JSON.stringify(cur.status)) {
      const prev = clone(cur);
      cur.status = next;
      this.emit('batch/jobs', 'MODIFIED', cur, prev);
    }
  }

  private createJobPods(job: Obj, n: number): void {
    const s = this.jobState(job);
    const tmpl = job.spec.template;
    const name = job.metadata!.name!;
    const ns = job.metadata!.namespace!;
    for (let i = 0; i < n; i++) {
      const r = this.createObject(this.types.get('/v1/pods')!, ns, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          generateName: `${name}-`,
          labels: { ...tmpl.metadata?.labels },
          annotations: { ...tmpl.metadata?.annotations },
          ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name, uid: job.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
        },
        spec: clone(tmpl.spec),
      });
      if (r.ok) {
        this.recordEvent(job, 'Normal', 'SuccessfulCreate', `Created pod: ${r.obj.metadata!.name}`, 'job-controller');
        continue;
      }
      this.recordEvent(job, 'Warning', 'FailedCreate', `Error creating: ${r.body.message}`, 'job-controller');
      if (!s.retry) {
        s.retry = this.timer(this.failedCreateRetryMs, () => {
          s.retry = undefined;
          this.enqueueJob(`${ns}/${name}`);
        });
      }
      return;
    }
  }

  // --- scheduler and kubelet ---

  private podRequests(pod: Obj): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of pod.spec?.containers ?? []) {
      for (const [k, v] of Object.entries((c.resources?.requests ?? {}) as Record<string, string>)) out[k] = (out[k] ?? 0) + parseQuantity(v);
    }
    return out;
  }

  private unfit(pod: Obj): string | undefined {
    const used: Record<string, number> = {};
    for (const p of this.pods.values() as IterableIterator<Obj>) {
      if (p === pod || p.spec?.nodeName !== this.node.name || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
      for (const [k, v] of Object.entries(this.podRequests(p))) used[k] = (used[k] ?? 0) + v;
    }
    const short = Object.entries(this.podRequests(pod))
      .filter(([k, v]) => this.node.allocatable[k] !== undefined && (used[k] ?? 0) + v > parseQuantity(this.node.allocatable[k]))
      .map(([k]) => k);
    if (short.length === 0) return undefined;
    return `0/1 nodes are available: ${short.map((k) => `1 Insufficient ${k}`).join(', ')}. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.`;
  }

  private podStatus(pod: Obj, mutate: (pod: Obj) => void): void {
    const cur = this.store('pods').get(this.key(pod));
    if (!cur || cur.metadata?.uid !== pod.metadata?.uid) return;
    const prev = clone(cur);
    mutate(cur);
    this.emit('pods', 'MODIFIED', cur, prev);
  }

  private retryUnscheduled(): void {
    setImmediate(() => {
      for (const p of this.pods.values() as IterableIterator<Obj>) {
        if (this.runs.get(p.metadata!.uid!)?.state === 'unscheduled') this.admitPod(p);
      }
    });
  }

  /** Scheduling, then the kubelet: image pull, config, then waiting for the test or running. */
  private admitPod(pod: Obj): void {
    const cur = this.store('pods').get(this.key(pod));
    if (this.closed || !cur || cur.metadata?.uid !== pod.metadata?.uid || cur.metadata?.deletionTimestamp) return;
    const uid = cur.metadata!.uid!;
    const run = this.runs.get(uid) ?? { state: 'unscheduled', pulls: 0 };
    if (run.state !== 'unscheduled') return;
    this.runs.set(uid, run);
    if (!cur.spec?.nodeName) {
      const why = this.unfit(cur);
      if (why) {
        const first = !(cur.status?.conditions ?? []).some((c: any) => c.type === 'PodScheduled');
        if (first) {
          this.podStatus(cur, (p) => {
            p.status = { ...p.status, phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: why, lastProbeTime: null, lastTransitionTime: now() }] };
          });
          this.recordEvent(cur, 'Warning', 'FailedScheduling', why, 'default-scheduler');
        }
        return;
      }
      this.podStatus(cur, (p) => {
        p.spec.nodeName = this.node.name;
        p.status = { ...p.status, phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now() }] };
      });
      this.recordEvent(cur, 'Normal', 'Scheduled', `Successfully assigned ${cur.metadata!.namespace}/${cur.metadata!.name} to ${this.node.name}`, 'default-scheduler');
    }
    run.state = 'waiting';
    this.startContainers(cur);
  }

  private waitingStatus(pod: Obj, reason: string, message?: string): void {
    this.podStatus(pod, (p) => {
      p.status = {
        ...p.status,
        phase: 'Pending',
        hostIP: '127.0.0.1',
        startTime: p.status?.startTime ?? now(),
        conditions: [
          ...(p.status?.conditions ?? []).filter((c: any) => c.type === 'PodScheduled'),
          { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: now() },
          { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [' + p.spec.containers.map((c: any) => c.name).join(' ') + ']', lastProbeTime: null, lastTransitionTime: now() },
          { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', lastProbeTime: null, lastTransitionTime: now() },
        ],
        containerStatuses: p.spec.containers.map((c: any) => ({
          name: c.name,
          image: c.image,
          imageID: '',
          ready: false,
          started: false,
          restartCount: 0,
          state: { waiting: { reason, ...(message ? { message } : {}) } },
        })),
      };
    });
  }

  /** Resolves the container env the way the kubelet does; a missing Secret is a config error. */
  private containerEnv(pod: Obj, c: any): { env: Record<string, string> } | { error: string } {
    const env: Record<string, string> = {};
    const ns = pod.metadata!.namespace!;
    for (const e of (c.env ?? []) as any[]) {
      if (e.value !== undefined) env[e.name] = String(e.value).replace(/\$\(([A-Za-z0-9_]+)\)/g, (m: string, v: string) => env[v] ?? m);
      else if (e.valueFrom?.fieldRef) {
        const f = e.valueFrom.fieldRef.fieldPath as string;
        const lab = f.match(/^metadata\.(labels|annotations)\['(.+)'\]$/);
        env[e.name] = lab ? (pod.metadata?.[lab[1] as 'labels']?.[lab[2]!] ?? '') : String(f.split('.').reduce<any>((o, k) => o?.[k], pod) ?? '');
      } else if (e.valueFrom?.secretKeyRef) {
        const ref = e.valueFrom.secretKeyRef;
        const secret = this.store('secrets').get(`${ns}/${ref.name}`);
        if (!secret) {
          if (ref.optional) continue;
          return { error: `secret "${ref.name}" not found` };
        }
        const v = (secret.data as Record<string, string> | undefined)?.[ref.key];
        if (v === undefined) {
          if (ref.optional) continue;
          return { error: `couldn't find key ${ref.key} in Secret ${ns}/${ref.name}` };
        }
        env[e.name] = Buffer.from(v, 'base64').toString('utf8');
      } else if (e.valueFrom?.configMapKeyRef) {
        if (e.valueFrom.configMapKeyRef.optional) continue;
        return { error: `configmap "${e.valueFrom.configMapKeyRef.name}" not found` };
      }
    }
    return { env };
  }

  private startContainers(pod: Obj): void {
    const uid = pod.metadata!.uid!;
    const run = this.runs.get(uid);
    const cur = this.store('pods').get(this.key(pod));
    if (!run || run.state !== 'waiting' || !cur || cur.metadata?.uid !== uid || cur.metadata?.deletionTimestamp) return;
    const retry = () => {
      run.retry = this.timer(this.imagePullBackOffMs, () => {
        run.retry = undefined;
        this.startContainers(cur);
      });
    };
    for (const c of cur.spec.containers as any[]) {
      if (this.images === undefined || this.images.has(c.image)) continue;
      if (c.imagePullPolicy === 'Never') {
        const msg = `Container image "${c.image}" is not present with pull policy of Never`;
        this.waitingStatus(cur, 'ErrImageNeverPull', msg);
        this.recordEvent(cur, 'Warning', 'ErrImageNeverPull', msg, 'kubelet');
        retry();
        return;
      }
      // The kubelet's rhythm: a failed pull (ErrImagePull), then a back-off (ImagePullBackOff), again and again.
      run.pulls++;
      if (run.pulls % 2 === 1) {
        const msg = `failed to pull and unpack image "${c.image}": failed to resolve reference "${c.image}": ${c.image}: not found`;
        this.waitingStatus(cur, 'ErrImagePull', msg);
        this.recordEvent(cur, 'Warning', 'Failed', `Failed to pull image "${c.image}": ${msg}`, 'kubelet');
      } else {
        const msg = `Back-off pulling image "${c.image}"`;
        this.waitingStatus(cur, 'ImagePullBackOff', msg);
        this.recordEvent(cur, 'Normal', 'BackOff', msg, 'kubelet');
      }
      retry();
      return;
    }
    for (const c of cur.spec.containers as any[]) {
      const r = this.containerEnv(cur, c);
      if ('error' in r) {
        this.waitingStatus(cur, 'CreateContainerConfigError', r.error);
        this.recordEvent(cur, 'Warning', 'Failed', `Error: ${r.error}`, 'kubelet');
        retry();
        return;
      }
    }
    if (!this.runContainers) {
      run.state = 'handed-over';
      this.waitingStatus(cur, 'ContainerCreating');
      return;
    }
    this.runContainer(cur, run);
  }

  private runContainer(pod: Obj, run: PodRun): void {
    const c = pod.spec.containers[0];
    if (pod.spec.containers.length !== 1 || pod.spec.initContainers?.length) throw new Error('kube sim: the kubelet runs pods of one container');
    if (pod.spec.restartPolicy !== 'Never') throw new Error('kube sim: the kubelet runs restartPolicy Never pods only');
    const env = this.containerEnv(pod, c);
    if ('error' in env) return;
    const argv: string[] = [...(c.command ?? []), ...(c.args ?? [])];
    if (argv.length === 0) throw new Error('kube sim: the container has no command (the image entrypoint is not simulated)');
    if (argv[0] === 'node') argv[0] = process.execPath;
    const name = pod.metadata!.name!;
    const startedAt = now();
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: c.workingDir ?? ROOT,
      env: { PATH: process.env.PATH ?? '', HOSTNAME: name, ...env.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    run.child = child;
    run.state = 'running';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => this.appendLog(name, d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => this.appendLog(name, d));
    const containerID = `sim://${randomBytes(6).toString('hex')}`;
    this.podStatus(pod, (p) => {
      const t = now();
      p.status = {
        ...p.status,
        phase: 'Running',
        podIP: '127.0.0.1',
        podIPs: [{ ip: '127.0.0.1' }],
        conditions: [
          ...(p.status?.conditions ?? []).filter((x: any) => x.type === 'PodScheduled' || x.type === 'Initialized'),
          { type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: t },
          { type: 'ContainersReady', status: 'True', lastProbeTime: null, lastTransitionTime: t },
        ],
        containerStatuses: [{ name: c.name, image: c.image, imageID: `sim://${c.image}`, containerID, ready: true, started: true, restartCount: 0, state: { running: { startedAt } } }],
      };
    });
    this.recordEvent(pod, 'Normal', 'Started', `Started container ${c.name}`, 'kubelet');
    // Both output streams end before 'close': the log is complete when the status says so.
    child.on('close', (code, signal) => {
      if (run.killTimer) clearTimeout(run.killTimer);
      run.state = 'ended';
      const SIGNALS: Record<string, number> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGABRT: 6, SIGSEGV: 11 };
      const exitCode = code ?? 128 + (SIGNALS[signal ?? ''] ?? 0);
      const log = this.podLogs.get(name) ?? '';
      const message = exitCode !== 0 && c.terminationMessagePolicy === 'FallbackToLogsOnError' ? log.split('\n').slice(-80).join('\n').slice(-2048) : undefined;
      this.podStatus(pod, (p) => {
        const t = now();
        p.status = {
          ...p.status,
          phase: exitCode === 0 ? 'Succeeded' : 'Failed',
          conditions: [
            ...(p.status?.conditions ?? []).filter((x: any) => x.type === 'PodScheduled' || x.type === 'Initialized'),
            { type: 'Ready', status: 'False', reason: 'PodCompleted', lastProbeTime: null, lastTransitionTime: t },
            { type: 'ContainersReady', status: 'False', reason: 'PodCompleted', lastProbeTime: null, lastTransitionTime: t },
          ],
          containerStatuses: [
            {
              name: c.name,
              image: c.image,
              imageID: `sim://${c.image}`,
              containerID,
              ready: false,
              started: false,
              restartCount: 0,
              state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt, finishedAt: t, containerID, ...(message ? { message } : {}) } },
            },
          ],
        };
      });
      this.endLog(name);
      const cur = this.store('pods').get(this.key(pod));
      if (cur?.metadata?.uid === pod.metadata?.uid && cur?.metadata?.deletionTimestamp) this.removeObject(this.types.get('/v1/pods')!, cur);
    });
  }

  /** Graceful termination: SIGTERM, SIGKILL after the grace period, then the pod object goes. */
  private terminatePod(pod: Obj, grace: number): void {
    const run = this.runs.get(pod.metadata!.uid!);
    if (run?.state === 'running' && run.child) {
      run.child.kill('SIGTERM');
      run.killTimer = setTimeout(() => run.child?.kill('SIGKILL'), grace * 1000);
      run.killTimer.unref?.();
      return;
    }
    if (run) this.clearTimer(run.retry);
    // Nothing runs (or the test plays the kubelet): the kubelet confirms at once.
    setImmediate(() => {
      const cur = this.store('pods').get(this.key(pod));
      if (cur && cur.metadata?.uid === pod.metadata?.uid) this.removeObject(this.types.get('/v1/pods')!, cur);
    });
  }

  // --- HTTP ---

  private send(res: http.ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private reply(res: http.ServerResponse, r: Result): void {
    if (r.ok) this.send(res, r.code, r.obj);
    else this.send(res, r.code, r.body);
  }

  private async readBody(req: http.IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if (text === '') return undefined;
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const query = Object.fromEntries(url.searchParams.entries());
    const method = req.method ?? 'GET';
    const body = await this.readBody(req);
    const contentType = String(req.headers['content-type'] ?? '').split(';')[0]!.trim();
    const auth = String(req.headers.authorization ?? '');
    const user = auth.startsWith('Bearer ') ? this.tokens.get(auth.slice('Bearer '.length)) : undefined;
    this.requests.push({ method, path: url.pathname, query, contentType, user: user?.name, ...(body !== undefined ? { body } : {}) });
    if (!user) return this.send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    const m = url.pathname.match(/^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+)(?:\/([^/]+))?)?$/);
    if (!m) return this.send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
    const [, coreVersion, g, v, ns, resource, name, sub] = m as unknown as [string, string | undefined, string | undefined, string | undefined, string, string, string | undefined, string | undefined];
    const group = g ?? '';
    const version = coreVersion ?? v ?? '';
    const watch = query.watch === 'true' || query.watch === '1';
    const verbs: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: name === undefined ? 'deletecollection' : 'delete' };
    const verb = method === 'GET' ? (name === undefined ? (watch ? 'watch' : 'list') : 'get') : (verbs[method] ?? method.toLowerCase());
    const attrs: RequestAttributes = { user, verb, apiGroup: group, resource: sub ? `${resource}/${sub}` : resource, namespace: ns, name };
    const allowed = this.rbac.allows(attrs);
    this.authorizations.push({ user: user.name, verb, apiGroup: group, resource: attrs.resource, namespace: ns, name, allowed });
    if (!allowed) return this.send(res, 403, forbidden(attrs));
    const t = this.types.get(`${group}/${version}/${resource}`);
    if (!t) return this.send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
    try {
      this.dispatch(t, ns, name, sub, method, watch, query, contentType, body, res);
    } catch (err) {
      if (err instanceof BadRequest) return this.send(res, 400, status(400, 'BadRequest', err.message));
      throw err;
    }
  }

  private dispatch(
    t: ResourceType,
    ns: string,
    name: string | undefined,
    sub: string | undefined,
    method: string,
    watch: boolean,
    query: Record<string, string>,
    contentType: string,
    body: unknown,
    res: http.ServerResponse,
  ): void {
    const what = t.group ? `${t.resource}.${t.group}` : t.resource;
    const notAllowed = () => this.send(res, 405, status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`));
    if (name === undefined) {
      if (method === 'GET' && watch) return this.watch(t, ns, query, res);
      if (method === 'GET') return this.list(t, ns, query, res);
      if (method === 'POST') return this.reply(res, this.createObject(t, ns, body));
      return notAllowed();
    }
    if (sub !== undefined && !(sub === 'status' && t.statusSubresource) && !(sub === 'log' && t.resource === 'pods' && !t.group)) {
      return this.send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
    }
    if (sub === 'log') return method === 'GET' ? this.podLog(ns, name, query, res) : notAllowed();
    const current = this.store(t.key).get(`${ns}/${name}`);
    if (method === 'GET') return current ? this.send(res, 200, current) : this.send(res, 404, status(404, 'NotFound', `${what} "${name}" not found`, { name, group: t.group, kind: t.resource }));
    if (method === 'DELETE') {
      if (t.resource === 'jobs' && this.nextJobDeleteStatus !== undefined) {
        const code = this.nextJobDeleteStatus;
        this.nextJobDeleteStatus = undefined;
        return this.send(res, code, status(code, code === 404 ? 'NotFound' : 'InternalError', `${what} "${name}": status ${code}`));
      }
      const opts = (typeof body === 'object' && body !== null ? body : {}) as { propagationPolicy?: string; gracePeriodSeconds?: number };
      const r = this.deleteObject(t, ns, name, {
        propagationPolicy: query.propagationPolicy ?? opts.propagationPolicy,
        gracePeriodSeconds: query.gracePeriodSeconds !== undefined ? Number(query.gracePeriodSeconds) : opts.gracePeriodSeconds,
      });
      if (!r.ok || t.custom || this.store(t.key).has(`${ns}/${name}`)) return this.reply(res, r);
      return this.send(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: t.group, kind: t.resource, uid: r.obj.metadata?.uid } });
    }
    if (method !== 'PATCH' && method !== 'PUT') return notAllowed();
    if (!current) return this.send(res, 404, status(404, 'NotFound', `${what} "${name}" not found`));
    const isStatus = sub === 'status';
    if (isStatus && t.custom && this.nextStatusWriteStatus !== undefined) {
      const code = this.nextStatusWriteStatus;
      this.nextStatusWriteStatus = undefined;
      return this.send(res, code, status(code, 'InternalError', `status write refused (${code})`));
    }
    let next: Obj;
    if (method === 'PATCH') {
      if (contentType === 'application/merge-patch+json') next = mergePatch(current, body) as Obj;
      else if (contentType === 'application/json-patch+json') next = jsonPatch(current, body) as Obj;
      else if (contentType === 'application/strategic-merge-patch+json' && !t.custom) next = mergePatch(current, body) as Obj;
      else return this.send(res, 415, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json${t.custom ? '' : ', application/strategic-merge-patch+json'}`));
    } else {
      if (typeof body !== 'object' || body === null) return this.send(res, 400, status(400, 'BadRequest', 'the request body must be an object'));
      next = clone(body as Obj);
    }
    return this.reply(res, this.writeObject(t, ns, name, next, { isStatus, method, contentType }));
  }

  private list(t: ResourceType, ns: string, query: Record<string, string>, res: http.ServerResponse): void {
    const labels = parseLabelSelector(query.labelSelector);
    const fields = parseFieldSelector(query.fieldSelector, t.fieldSelectors);
    const items = [...this.store(t.key).values()].filter((o) => o.metadata?.namespace === ns && labels(o.metadata?.labels) && fields(o));
    this.send(res, 200, { apiVersion: t.group ? `${t.group}/${t.version}` : t.version, kind: `${t.kind}List`, metadata: { resourceVersion: String(this.rv) }, items });
  }

  private watch(t: ResourceType, ns: string, query: Record<string, string>, res: http.ServerResponse): void {
    const labels = parseLabelSelector(query.labelSelector);
    const fields = parseFieldSelector(query.fieldSelector, t.fieldSelectors);
    const from = query.resourceVersion === undefined || query.resourceVersion === '' || query.resourceVersion === '0' ? undefined : Number(query.resourceVersion);
    if (this.failNextWatchWith410 || (from !== undefined && from < this.compactedBelow - 1)) {
      this.failNextWatchWith410 = false;
      this.send(res, 410, status(410, 'Expired', `too old resource version: ${from} (${this.compactedBelow})`));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const w: Watcher = { key: t.key, namespace: ns, labels, fields, res };
    if (from === undefined) {
      // No resourceVersion: the current state as ADDED events, then changes.
      for (const o of this.store(t.key).values()) if (o.metadata?.namespace === ns && labels(o.metadata?.labels) && fields(o)) res.write(JSON.stringify({ type: 'ADDED', object: o }) + '\n');
    } else {
      for (const ev of this.history) if (ev.rv > from) this.deliver(w, ev);
    }
    this.watchers.add(w);
    res.on('close', () => this.watchers.delete(w));
  }

  private podLog(ns: string, name: string, query: Record<string, string>, res: http.ServerResponse): void {
    const pod = this.pods.get(`${ns}/${name}`) as Obj | undefined;
    if (!pod) return this.send(res, 404, status(404, 'NotFound', `pods "${name}" not found`));
    const container = query.container ?? pod.spec?.containers?.[0]?.name;
    const cs = (pod.status?.containerStatuses ?? []).find((c: any) => c.name === container);
    if (!(pod.spec?.containers ?? []).some((c: any) => c.name === container)) return this.send(res, 400, status(400, 'BadRequest', `container ${container} is not valid for pod ${name}`));
    const waiting = cs?.state?.waiting?.reason ?? (pod.status?.phase === 'Pending' && !cs?.state?.running && !cs?.state?.terminated ? 'ContainerCreating' : undefined);
    if (waiting !== undefined) {
      const why = waiting === 'ErrImagePull' || waiting === 'ImagePullBackOff' ? 'trying and failing to pull image' : waiting;
      return this.send(res, 400, status(400, 'BadRequest', `container "${container}" in pod "${name}" is waiting to start: ${why}`));
    }
    let text = this.podLogs.get(name) ?? '';
    const limit = query.limitBytes ? Number(query.limitBytes) : undefined;
    if (limit !== undefined) text = Buffer.from(text).subarray(0, limit).toString('utf8');
    res.writeHead(200, { 'content-type': 'text/plain' });
    const phase = pod.status?.phase;
    if (query.follow !== 'true' || phase === 'Succeeded' || phase === 'Failed') {
      res.end(text);
      return;
    }
    res.write(text);
    const set = this.followers.get(name) ?? new Set<http.ServerResponse>();
    set.add(res);
    this.followers.set(name, set);
    res.on('close', () => set.delete(res));
  }
}
