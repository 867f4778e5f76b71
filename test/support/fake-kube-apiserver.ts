/**
 * A fake Kubernetes API server for tests: a real HTTP server on 127.0.0.1:0 that answers the
 * calls the KubernetesExecutor makes through the real @kubernetes/client-node — create, list and
 * delete batch/v1 Jobs; list and watch Pods (with resourceVersions, label selectors and 410 Gone);
 * read and follow pod logs. Created Jobs are validated against the official OpenAPI schema
 * (kubernetes-models) and answered with 422 when invalid, as a real server would.
 *
 * It plays the Job controller only as far as tests need: creating a Job creates `parallelism`
 * Pending pods; deleting a Job deletes its pods. Everything else (a pod running, failing, being
 * OOM-killed or evicted) is driven by the test through `updatePod` / `deletePod`.
 *
 * Custom resources (`serveCustomResource`, e.g. MapReduceJob) are served as the API server serves
 * a CRD with a status subresource: create, get, list and watch (label selectors, resourceVersions,
 * 410 Gone), merge-patch and update of the object (spec changes bump metadata.generation; status
 * is ignored there) and of `/status` (only status changes there), delete. Objects and every
 * status written are checked with the definition's `validate` (422 when invalid, except for
 * problems the stored object already had: validation ratcheting), and every status written is
 * kept in `statusWrites`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig, type V1Job, type V1Pod } from '@kubernetes/client-node';
import { Job } from 'kubernetes-models/batch/v1/Job';

/** 'pods', 'jobs', or `<group>/<plural>` for a custom resource. */
type Kind = string;
type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';
interface StoredEvent {
  rv: number;
  kind: Kind;
  type: EventType;
  object: V1Pod | V1Job | CustomObject;
}

/** A custom resource as stored: any JSON object with metadata. */
export interface CustomObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    labels?: Record<string, string>;
    creationTimestamp?: string | Date;
    deletionTimestamp?: string | Date;
    [k: string]: unknown;
  };
  spec?: unknown;
  status?: unknown;
  [k: string]: unknown;
}

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

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}
interface Watcher {
  kind: Kind;
  namespace: string;
  selector: Selector;
  res: http.ServerResponse;
}
interface LogFollower {
  res: http.ServerResponse;
}
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string;
  body?: unknown;
}

type Selector = (labels: Record<string, string> | undefined) => boolean;

/** Equality-based label selectors: `a=b`, `a==b`, `a!=b`, `a`, `!a`, comma-separated. */
export function parseLabelSelector(s: string | undefined): Selector {
  const terms = (s ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  const tests = terms.map((t): Selector => {
    let m: RegExpMatchArray | null;
    if ((m = t.match(/^([^!=]+)!=(.*)$/))) {
      const [, k, v] = m as [string, string, string];
      return (l) => l?.[k] !== v;
    }
    if ((m = t.match(/^([^!=]+)==?(.*)$/))) {
      const [, k, v] = m as [string, string, string];
      return (l) => l?.[k] === v;
    }
    if (t.startsWith('!')) return (l) => l?.[t.slice(1)] === undefined;
    return (l) => l?.[t] !== undefined;
  });
  return (labels) => tests.every((test) => test(labels));
}

const status = (code: number, reason: string, message: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  code,
});

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

export class FakeKubeApiServer {
  readonly jobs = new Map<string, V1Job>();
  readonly pods = new Map<string, V1Pod>();
  /** Every request, in order, for assertions on what the client sent. */
  readonly requests: RecordedRequest[] = [];
  /** Create a Job's pods when the Job is created. */
  autoCreatePods = true;
  private readonly podLogs = new Map<string, string>();
  private readonly followers = new Map<string, Set<LogFollower>>();
  private readonly events: StoredEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  private rv = 100;
  /** Watches from a resourceVersion older than this get HTTP 410 Gone. */
  private compactedBelow = 0;
  private failNextWatchWith410 = false;
  /** When set, the next Job delete is answered with this status (e.g. 404: someone beat us to it). */
  nextJobDeleteStatus: number | undefined;
  /** Custom resources by `<plural>/<namespace>/<name>`. */
  readonly customObjects = new Map<string, CustomObject>();
  /** Every accepted status write of a custom resource, in order. */
  readonly statusWrites: StatusWrite[] = [];
  /** When set, the next status write is answered with this status code (e.g. 500), once. */
  nextStatusWriteStatus: number | undefined;
  private readonly customTypes = new Map<string, CustomResourceType>();

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeKubeApiServer> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const fake = new FakeKubeApiServer(server, `http://127.0.0.1:${port}`);
    server.on('request', (req, res) => {
      fake.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) fake.send(res, 500, status(500, 'InternalError', String(err)));
        else res.destroy();
      });
    });
    return fake;
  }

  /** A KubeConfig whose current context points at this server. */
  kubeConfig(namespace = 'kubemr', token = 'fake-token'): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'tester', token }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'tester', namespace }],
      currentContext: 'fake',
    });
    return kc;
  }

  /** Open pod watch connections right now. */
  get openWatches(): number {
    return this.watchers.size;
  }

  requestsMatching(method: string, pathRe: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && pathRe.test(r.path));
  }

  podsOfJob(jobName: string): V1Pod[] {
    return [...this.pods.values()].filter((p) => p.metadata?.labels?.['batch.kubernetes.io/job-name'] === jobName);
  }

  /** Serve a custom resource type under /apis/<group>/<version>/namespaces/<ns>/<plural>. */
  serveCustomResource(type: CustomResourceType): void {
    this.customTypes.set(`${type.group}/${type.version}/${type.plural}`, type);
  }

  /** A custom resource as stored now. */
  getCustomObject(plural: string, name: string, namespace = 'kubemr'): CustomObject | undefined {
    const o = this.customObjects.get(`${plural}/${namespace}/${name}`);
    return o === undefined ? undefined : clone(o);
  }

  /**
   * Store a custom resource as if a client had created it, skipping `validate` when asked (an
   * object that predates a stricter schema, or a CRD applied without one).
   */
  addCustomObject(plural: string, obj: CustomObject, options: { validate?: boolean } = {}): CustomObject {
    const type = [...this.customTypes.values()].find((t) => t.plural === plural);
    if (!type) throw new Error(`fake apiserver: no custom resource ${plural} served`);
    const o = this.admitCustom(type, clone(obj));
    const problems = options.validate === false ? [] : (type.validate?.(o) ?? []);
    if (problems.length > 0) throw new Error(`fake apiserver: invalid ${type.kind}: ${problems.join('; ')}`);
    return this.storeNewCustom(type, o.metadata?.namespace ?? 'kubemr', o);
  }

  /** Delete a custom resource as `kubectl delete` would; emits DELETED. */
  deleteCustomObject(plural: string, name: string, namespace = 'kubemr'): boolean {
    const key = `${plural}/${namespace}/${name}`;
    const o = this.customObjects.get(key);
    if (!o) return false;
    this.customObjects.delete(key);
    const type = [...this.customTypes.values()].find((t) => t.plural === plural)!;
    this.emit(`${type.group}/${plural}`, 'DELETED', o);
    return true;
  }

  /** Add a pod as if some controller had created it. */
  addPod(pod: V1Pod): V1Pod {
    const p = clone(pod);
    p.metadata = { namespace: 'kubemr', uid: randomUUID(), creationTimestamp: new Date(), ...p.metadata };
    this.pods.set(this.key(p), p);
    this.emit('pods', 'ADDED', p);
    return p;
  }

  /** Change a pod the way the kubelet would (phase, container states); emits MODIFIED. */
  updatePod(name: string, mutate: (pod: V1Pod) => void, namespace = 'kubemr'): V1Pod {
    const pod = this.pods.get(`${namespace}/${name}`);
    if (!pod) throw new Error(`fake apiserver: no pod ${namespace}/${name}`);
    mutate(pod);
    this.emit('pods', 'MODIFIED', pod);
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') this.endLog(name);
    return pod;
  }

  deletePod(name: string, namespace = 'kubemr'): void {
    const pod = this.pods.get(`${namespace}/${name}`);
    if (!pod) return;
    this.pods.delete(`${namespace}/${name}`);
    this.emit('pods', 'DELETED', pod);
    this.endLog(name);
    this.podLogs.delete(name);
  }

  /** Append to a pod's log; followers see it at once. */
  appendLog(name: string, text: string): void {
    this.podLogs.set(name, (this.podLogs.get(name) ?? '') + text);
    for (const f of this.followers.get(name) ?? []) f.res.write(text);
  }

  /** End every follow of a pod's log (the container ended). */
  endLog(name: string): void {
    for (const f of this.followers.get(name) ?? []) f.res.end();
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
      if (mode === 'event') {
        w.res.write(JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', 'too old resource version') }) + '\n');
      }
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

  async close(): Promise<void> {
    for (const w of this.watchers) w.res.destroy();
    this.watchers.clear();
    for (const set of this.followers.values()) for (const f of set) f.res.destroy();
    this.followers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private key(o: V1Pod | V1Job): string {
    return `${o.metadata?.namespace ?? 'default'}/${o.metadata?.name ?? ''}`;
  }

  private emit(kind: Kind, type: EventType, object: V1Pod | V1Job | CustomObject): void {
    const rv = ++this.rv;
    object.metadata = { ...object.metadata, resourceVersion: String(rv) };
    const ev: StoredEvent = { rv, kind, type, object: clone(object) };
    this.events.push(ev);
    for (const w of this.watchers) this.deliver(w, ev);
  }

  private deliver(w: Watcher, ev: StoredEvent): void {
    if (ev.kind !== w.kind || ev.object.metadata?.namespace !== w.namespace) return;
    if (!w.selector(ev.object.metadata?.labels)) return;
    w.res.write(JSON.stringify({ type: ev.type, object: ev.object }) + '\n');
  }

  private send(res: http.ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
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
    this.requests.push({ method, path: url.pathname, query, contentType, ...(body !== undefined ? { body } : {}) });
    if (req.headers.authorization !== 'Bearer fake-token') {
      this.send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    let m: RegExpMatchArray | null;
    if ((m = url.pathname.match(/^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs$/))) {
      const ns = m[1]!;
      if (method === 'POST') return this.createJob(ns, body as V1Job, res);
      if (method === 'GET') return this.list('jobs', ns, query, res);
    }
    if ((m = url.pathname.match(/^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs\/([^/]+)$/))) {
      const [, ns, name] = m as [string, string, string];
      if (method === 'GET') {
        const job = this.jobs.get(`${ns}/${name}`);
        return job ? this.send(res, 200, job) : this.send(res, 404, status(404, 'NotFound', `jobs.batch "${name}" not found`));
      }
      if (method === 'DELETE') return this.deleteJob(ns, name, res);
    }
    if ((m = url.pathname.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods$/)) && method === 'GET') {
      const ns = m[1]!;
      if (query.watch === 'true' || query.watch === '1') return this.watch('pods', ns, query, res);
      return this.list('pods', ns, query, res);
    }
    if ((m = url.pathname.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/)) && method === 'GET') {
      const [, ns, name] = m as [string, string, string];
      return this.podLog(ns, name, query, res);
    }
    if ((m = url.pathname.match(/^\/apis\/([^/]+)\/([^/]+)\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+)(\/status)?)?$/))) {
      const [, group, version, ns, plural, name, sub] = m as [string, string, string, string, string, string | undefined, string | undefined];
      const type = this.customTypes.get(`${group}/${version}/${plural}`);
      if (type) return this.custom(type, ns, name, sub !== undefined, method, query, contentType, body, res);
    }
    this.send(res, 404, status(404, 'NotFound', `the fake apiserver does not serve ${method} ${url.pathname}`));
  }

  private customKey(type: CustomResourceType, ns: string, name: string): string {
    return `${type.plural}/${ns}/${name}`;
  }

  private admitCustom(type: CustomResourceType, obj: CustomObject): CustomObject {
    return type.applyDefaults ? type.applyDefaults(obj) : obj;
  }

  private storeNewCustom(type: CustomResourceType, ns: string, obj: CustomObject): CustomObject {
    const stored = clone(obj);
    stored.apiVersion = `${type.group}/${type.version}`;
    stored.kind = type.kind;
    stored.metadata = { ...stored.metadata, namespace: ns, uid: randomUUID(), generation: 1, creationTimestamp: new Date().toISOString() };
    this.customObjects.set(this.customKey(type, ns, stored.metadata.name ?? ''), stored);
    this.emit(`${type.group}/${type.plural}`, 'ADDED', stored);
    return stored;
  }

  private custom(
    type: CustomResourceType,
    ns: string,
    name: string | undefined,
    isStatus: boolean,
    method: string,
    query: Record<string, string>,
    contentType: string,
    body: unknown,
    res: http.ServerResponse,
  ): void {
    const kind = `${type.group}/${type.plural}`;
    const notFound = () => this.send(res, 404, status(404, 'NotFound', `${type.plural}.${type.group} "${name}" not found`));
    if (name === undefined) {
      if (method === 'GET' && (query.watch === 'true' || query.watch === '1')) return this.watch(kind, ns, query, res);
      if (method === 'GET') {
        const selector = parseLabelSelector(query.labelSelector);
        const items = [...this.customObjects.entries()]
          .filter(([k, o]) => k.startsWith(`${type.plural}/${ns}/`) && selector(o.metadata?.labels))
          .map(([, o]) => o);
        return this.send(res, 200, { apiVersion: `${type.group}/${type.version}`, kind: `${type.kind}List`, metadata: { resourceVersion: String(this.rv) }, items });
      }
      if (method === 'POST') {
        const obj = this.admitCustom(type, clone(body as CustomObject));
        const n = obj?.metadata?.name ?? '';
        const problems = type.validate?.(obj) ?? [];
        if (problems.length > 0) return this.send(res, 422, status(422, 'Invalid', `${type.kind}.${type.group} "${n}" is invalid: ${problems.join('; ')}`));
        if (this.customObjects.has(this.customKey(type, ns, n))) {
          return this.send(res, 409, status(409, 'AlreadyExists', `${type.plural}.${type.group} "${n}" already exists`));
        }
        delete obj.status; // the status subresource ignores status on create
        return this.send(res, 201, this.storeNewCustom(type, ns, obj));
      }
    } else {
      const key = this.customKey(type, ns, name);
      const current = this.customObjects.get(key);
      if (!current) return notFound();
      if (method === 'GET') return this.send(res, 200, current);
      if (method === 'DELETE') {
        this.deleteCustomObject(type.plural, name, ns);
        return this.send(res, 200, current);
      }
      if (method === 'PATCH' || method === 'PUT') {
        if (isStatus && this.nextStatusWriteStatus !== undefined) {
          const code = this.nextStatusWriteStatus;
          this.nextStatusWriteStatus = undefined;
          return this.send(res, code, status(code, 'InternalError', `status write refused (${code})`));
        }
        let next: CustomObject;
        if (method === 'PATCH') {
          if (contentType !== 'application/merge-patch+json') {
            return this.send(res, 415, status(415, 'UnsupportedMediaType', `the fake apiserver only takes merge patches, got ${contentType}`));
          }
          next = mergePatch(current, body) as CustomObject;
        } else {
          const b = body as CustomObject;
          const rv = b?.metadata?.resourceVersion;
          if (rv !== undefined && rv !== current.metadata?.resourceVersion) {
            return this.send(res, 409, status(409, 'Conflict', `Operation cannot be fulfilled on ${type.plural}.${type.group} "${name}": the object has been modified`));
          }
          next = clone(b);
        }
        // The status subresource: writes to /status change only status, writes to the object never do.
        const updated: CustomObject = isStatus
          ? { ...clone(current), status: next.status }
          : { ...this.admitCustom(type, { ...next, status: current.status }), metadata: { ...current.metadata, labels: next.metadata?.labels ?? current.metadata?.labels } };
        if (updated.status === undefined) delete updated.status;
        // Validation ratcheting: what was already wrong with the stored object does not block an update.
        const before = new Set(type.validate?.(current) ?? []);
        const problems = (type.validate?.(updated) ?? []).filter((p) => !before.has(p));
        if (problems.length > 0) return this.send(res, 422, status(422, 'Invalid', `${type.kind}.${type.group} "${name}" is invalid: ${problems.join('; ')}`));
        if (!isStatus && JSON.stringify(updated.spec) !== JSON.stringify(current.spec)) {
          updated.metadata = { ...updated.metadata, generation: (current.metadata?.generation ?? 1) + 1 };
        }
        this.customObjects.set(key, updated);
        if (isStatus) this.statusWrites.push({ plural: type.plural, namespace: ns, name, method, contentType, status: clone(updated.status) });
        this.emit(kind, 'MODIFIED', updated);
        return this.send(res, 200, updated);
      }
    }
    this.send(res, 405, status(405, 'MethodNotAllowed', `the fake apiserver does not allow ${method} here`));
  }

  private createJob(ns: string, job: V1Job, res: http.ServerResponse): void {
    const name = job?.metadata?.name ?? '';
    try {
      new Job(clone(job) as ConstructorParameters<typeof Job>[0]).validate();
    } catch (err) {
      this.send(res, 422, status(422, 'Invalid', `Job.batch "${name}" is invalid: ${String(err)}`));
      return;
    }
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 63) {
      this.send(res, 422, status(422, 'Invalid', `Job.batch "${name}" is invalid: metadata.name: must be a DNS-1123 label`));
      return;
    }
    if (job.metadata?.namespace !== undefined && job.metadata.namespace !== ns) {
      this.send(res, 400, status(400, 'BadRequest', 'the namespace of the object does not match the namespace of the request'));
      return;
    }
    if (this.jobs.has(`${ns}/${name}`)) {
      this.send(res, 409, status(409, 'AlreadyExists', `jobs.batch "${name}" already exists`));
      return;
    }
    const stored = clone(job);
    stored.metadata = { ...stored.metadata, namespace: ns, uid: randomUUID(), creationTimestamp: new Date() };
    this.jobs.set(`${ns}/${name}`, stored);
    this.emit('jobs', 'ADDED', stored);
    this.send(res, 201, stored);
    if (this.autoCreatePods) {
      const template = stored.spec?.template;
      for (let i = 0; i < (stored.spec?.parallelism ?? 1); i++) {
        this.addPod({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name: `${name}-${randomBytes(4).toString('hex').slice(0, 5)}`,
            namespace: ns,
            labels: { ...template?.metadata?.labels, 'batch.kubernetes.io/job-name': name, 'job-name': name },
            annotations: { ...template?.metadata?.annotations },
            ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name, uid: stored.metadata.uid!, controller: true }],
          },
          spec: clone(template!.spec!),
          status: { phase: 'Pending' },
        });
      }
    }
  }

  private deleteJob(ns: string, name: string, res: http.ServerResponse): void {
    if (this.nextJobDeleteStatus !== undefined) {
      const code = this.nextJobDeleteStatus;
      this.nextJobDeleteStatus = undefined;
      this.send(res, code, status(code, code === 404 ? 'NotFound' : 'InternalError', `jobs.batch "${name}": status ${code}`));
      return;
    }
    const job = this.jobs.get(`${ns}/${name}`);
    if (!job) {
      this.send(res, 404, status(404, 'NotFound', `jobs.batch "${name}" not found`));
      return;
    }
    this.jobs.delete(`${ns}/${name}`);
    this.emit('jobs', 'DELETED', job);
    this.send(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: 'batch', kind: 'jobs', uid: job.metadata?.uid } });
    // The garbage collector deletes the dependents (propagationPolicy Background).
    setImmediate(() => {
      for (const pod of this.podsOfJob(name)) this.deletePod(pod.metadata!.name!, ns);
    });
  }

  private list(kind: Kind, ns: string, query: Record<string, string>, res: http.ServerResponse): void {
    const selector = parseLabelSelector(query.labelSelector);
    const store: Map<string, V1Pod | V1Job> = kind === 'pods' ? this.pods : this.jobs;
    const items = [...store.values()].filter((o) => o.metadata?.namespace === ns && selector(o.metadata?.labels));
    this.send(res, 200, {
      apiVersion: kind === 'pods' ? 'v1' : 'batch/v1',
      kind: kind === 'pods' ? 'PodList' : 'JobList',
      metadata: { resourceVersion: String(this.rv) },
      items,
    });
  }

  private watch(kind: Kind, ns: string, query: Record<string, string>, res: http.ServerResponse): void {
    const from = Number(query.resourceVersion ?? '0');
    if (this.failNextWatchWith410 || (from > 0 && from < this.compactedBelow - 1)) {
      this.failNextWatchWith410 = false;
      this.send(res, 410, status(410, 'Expired', `too old resource version: ${from}`));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const w: Watcher = { kind, namespace: ns, selector: parseLabelSelector(query.labelSelector), res };
    for (const ev of this.events) if (ev.rv > from) this.deliver(w, ev);
    this.watchers.add(w);
    res.on('close', () => this.watchers.delete(w));
  }

  private podLog(ns: string, name: string, query: Record<string, string>, res: http.ServerResponse): void {
    const pod = this.pods.get(`${ns}/${name}`);
    if (!pod) {
      this.send(res, 404, status(404, 'NotFound', `pods "${name}" not found`));
      return;
    }
    if (pod.status?.phase === 'Pending') {
      this.send(res, 400, status(400, 'BadRequest', `container "worker" in pod "${name}" is waiting to start: ContainerCreating`));
      return;
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
    const f: LogFollower = { res };
    const set = this.followers.get(name) ?? new Set<LogFollower>();
    set.add(f);
    this.followers.set(name, set);
    res.on('close', () => set.delete(f));
  }
}
