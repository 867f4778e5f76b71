/**
 * Everything kubemr hands to Kubernetes, checked without a cluster: the manifests `k8s/`
 * renders (`kubectl kustomize k8s/`), the worker Jobs the executor builds, and the
 * MapReduceJob samples against the CRD's own schema. Official schemas come from
 * kubernetes-models (validation) and @kubernetes/client-node (known fields).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V1PodSpec } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildWorkerJob,
  compileWorkerPodOptions,
  newIncarnation,
  workerJobName,
  type WorkerPodOptions,
} from '../lib/executor/kubernetes-objects.js';
import type { LaunchSpec } from '../lib/executor/types.js';
import { workerCredential } from '../lib/protocol/credentials.js';
import { modelTypeName, parseYamlDocs, unknownFields, validateOfficial, type KubeObject } from './support/k8s-schemas.js';
import { renderKustomization } from './support/kustomize.js';
import { applyDefaults, checkStructural, evalCel, validate, type Schema } from './support/structural-schema.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * `kubectl kustomize k8s/` where kubectl is installed; without it, the same rendering in-process
 * (test/support/kustomize.ts, checked against kubectl's wherever kubectl is there).
 */
function renderKustomize(): { docs: KubeObject[]; by: 'kubectl' | 'in-process' } {
  let out: string;
  try {
    out = execFileSync('kubectl', ['kustomize', path.join(root, 'k8s')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') return { docs: renderKustomization(path.join(root, 'k8s')), by: 'in-process' };
    throw new Error(`kubectl kustomize k8s/ failed: ${e.stderr ?? e.message}`);
  }
  return { docs: parseYamlDocs(out), by: 'kubectl' };
}

let docs: KubeObject[];
let renderedBy: 'kubectl' | 'in-process';
beforeAll(() => {
  ({ docs, by: renderedBy } = renderKustomize());
});

const find = (kind: string, name: string): KubeObject => {
  const d = docs.find((x) => x.kind === kind && x.metadata?.name === name);
  if (!d) throw new Error(`k8s/ renders no ${kind}/${name}`);
  return d;
};

/** What the restricted Pod Security Standard and our own rules demand of every pod. */
function podSpecProblems(spec: V1PodSpec, where: string): string[] {
  const p: string[] = [];
  if (spec.securityContext?.runAsNonRoot !== true) p.push(`${where}: pod securityContext.runAsNonRoot must be true`);
  if (spec.securityContext?.seccompProfile?.type !== 'RuntimeDefault') p.push(`${where}: pod seccompProfile must be RuntimeDefault`);
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) p.push(`${where}: no host namespaces`);
  const tmpVolumes = new Set((spec.volumes ?? []).filter((v) => v.emptyDir !== undefined).map((v) => v.name));
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    const at = `${where} container ${c.name}`;
    const sc = c.securityContext;
    if (sc?.readOnlyRootFilesystem !== true) p.push(`${at}: readOnlyRootFilesystem must be true`);
    if (sc?.allowPrivilegeEscalation !== false) p.push(`${at}: allowPrivilegeEscalation must be false`);
    if (sc?.privileged === true) p.push(`${at}: must not be privileged`);
    if (JSON.stringify(sc?.capabilities?.drop) !== '["ALL"]') p.push(`${at}: capabilities.drop must be [ALL]`);
    if (sc?.capabilities?.add?.length) p.push(`${at}: must add no capabilities`);
    for (const kind of ['requests', 'limits'] as const) {
      for (const r of ['cpu', 'memory']) if (!c.resources?.[kind]?.[r]) p.push(`${at}: resources.${kind}.${r} missing`);
    }
    const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
    if (!tmp || !tmpVolumes.has(tmp.name)) p.push(`${at}: needs an emptyDir at /tmp (the root filesystem is read-only)`);
  }
  return p;
}

describe('k8s/ (kubectl kustomize)', () => {
  it('renders the whole installation', () => {
    const kinds = docs.map((d) => `${d.kind}/${d.metadata?.name}`).sort();
    expect(kinds).toEqual(
      [
        'CustomResourceDefinition/mapreducejobs.kubemr.io',
        'Deployment/kubemr-coordinator',
        'Deployment/kubemr-dashboard',
        'Job/kubemr-fetch',
        'Namespace/kubemr',
        'PersistentVolumeClaim/kubemr-data',
        'Role/kubemr-coordinator',
        'RoleBinding/kubemr-coordinator',
        'Service/kubemr-coordinator',
        'Service/kubemr-dashboard',
        'ServiceAccount/kubemr-coordinator',
        'ServiceAccount/kubemr-dashboard',
      ].sort(),
    );
  });

  it('renders exactly as test/support/kustomize.ts does (which the API server simulation uses for RBAC)', (ctx) => {
    if (renderedBy !== 'kubectl') ctx.skip(); // no kubectl here: nothing to compare with
    const byName = (list: KubeObject[]) => [...list].sort((a, b) => `${a.kind}/${a.metadata?.name}`.localeCompare(`${b.kind}/${b.metadata?.name}`));
    expect(byName(renderKustomization(path.join(root, 'k8s')))).toEqual(byName(docs));
  });

  it('every object passes the official OpenAPI schema of its kind', async () => {
    for (const d of docs) await validateOfficial(d);
  });

  it('no object has a field the Kubernetes API does not know (strict field validation)', () => {
    for (const d of docs) expect(unknownFields(d, modelTypeName(d)), `${d.kind}/${d.metadata?.name}`).toEqual([]);
    // The check itself catches a typo:
    expect(unknownFields({ spec: { containers: [{ name: 'a', readOnlyRootFileSystem: true }] } }, 'V1Pod')).toEqual([
      'spec.containers[0].readOnlyRootFileSystem',
    ]);
  });

  it('puts every namespaced object in the kubemr namespace', () => {
    for (const d of docs) {
      if (d.kind === 'Namespace' || d.kind === 'CustomResourceDefinition') continue;
      expect(d.metadata?.namespace, `${d.kind}/${d.metadata?.name}`).toBe('kubemr');
    }
  });

  it('hardens every pod: non-root, read-only root with /tmp emptyDir, no capabilities, seccomp, requests and limits', () => {
    const pods = docs.filter((d) => d.kind === 'Deployment' || d.kind === 'Job');
    expect(pods.length).toBe(3);
    for (const d of pods) {
      const spec = (d.spec as { template: { spec: V1PodSpec } }).template.spec;
      expect(podSpecProblems(spec, `${d.kind}/${d.metadata?.name}`)).toEqual([]);
    }
  });

  it('runs the coordinator as specified, with /readyz and /healthz probes on 8080', () => {
    const spec = (find('Deployment', 'kubemr-coordinator').spec as { template: { spec: V1PodSpec } }).template.spec;
    const c = spec.containers[0]!;
    expect(c.image).toBe('kubemr:dev');
    expect(c.command?.join(' ')).toBe(
      'node dist/cmd/coordinator/main.js --executor kubernetes --listen 0.0.0.0:7070 --http 0.0.0.0:8080 --data /data --operator',
    );
    expect(c.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'http' });
    expect(c.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'http' });
    expect(c.ports?.find((p) => p.name === 'http')?.containerPort).toBe(8080);
    expect(c.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
    expect(spec.serviceAccountName).toBe('kubemr-coordinator');
    expect(spec.volumes?.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName).toBe('kubemr-data');
    const svc = find('Service', 'kubemr-coordinator').spec as { ports: { name: string; port: number }[] };
    expect(svc.ports.map((p) => [p.name, p.port])).toEqual([
      ['grpc', 7070],
      ['http', 8080],
    ]);
  });

  it('runs the dashboard and the fetch Job as specified', () => {
    const dash = (find('Deployment', 'kubemr-dashboard').spec as { template: { spec: V1PodSpec } }).template.spec;
    expect(dash.containers[0]!.command?.join(' ')).toBe(
      'node dist/cmd/dashboard/main.js --coordinator kubemr-coordinator:7070 --listen 0.0.0.0:8081',
    );
    expect(dash.containers[0]!.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(dash.automountServiceAccountToken).toBe(false);
    // The volume read-only, but for inputs/, where uploads go.
    expect(dash.containers[0]!.volumeMounts).toEqual(
      expect.arrayContaining([
        { name: 'data', mountPath: '/data', readOnly: true },
        { name: 'data-inputs', mountPath: '/data/inputs', subPath: 'inputs' },
      ]),
    );
    expect(dash.volumes?.find((v) => v.name === 'data')?.persistentVolumeClaim).toEqual({ claimName: 'kubemr-data', readOnly: true });
    expect(dash.volumes?.find((v) => v.name === 'data-inputs')?.persistentVolumeClaim).toEqual({ claimName: 'kubemr-data' });
    const svc = find('Service', 'kubemr-dashboard').spec as { type: string; ports: { port: number }[] };
    // Not on a node's port: reached by port-forward or an Ingress.
    expect(svc.type).toBe('ClusterIP');
    expect(svc.ports[0]!.port).toBe(8081);
    const fetch = (find('Job', 'kubemr-fetch').spec as { template: { spec: V1PodSpec } }).template.spec;
    expect(fetch.containers[0]!.command?.join(' ')).toBe('node dist/cmd/fetch/main.js --data /data --no-verify --retries 2 gutenberg');
    // Fails fast without gutenberg.org: one pod, a deadline of minutes.
    const fetchJob = find('Job', 'kubemr-fetch').spec as { backoffLimit: number; activeDeadlineSeconds: number };
    expect(fetchJob.backoffLimit).toBe(0);
    expect(fetchJob.activeDeadlineSeconds).toBeLessThanOrEqual(300);
    expect(fetch.restartPolicy).toBe('Never');
  });

  // That each grant is used, and nothing else needed, is checked by running the code against the
  // API server simulation under this Role (test/kubernetes-e2e.test.ts).
  it('grants the coordinator least privilege: these verbs, no wildcards, no cluster roles', () => {
    expect(docs.filter((d) => d.kind === 'ClusterRole' || d.kind === 'ClusterRoleBinding')).toEqual([]);
    const rules = (find('Role', 'kubemr-coordinator') as { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] }).rules;
    expect(JSON.stringify(rules)).not.toContain('*');
    const grants = rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.map((res) => `${g || 'core'}/${res}: ${[...r.verbs].sort().join(',')}`)));
    expect(grants.sort()).toEqual(
      [
        'batch/jobs: create,delete,get,list',
        'core/events: create,list,patch,watch',
        'core/pods: list,watch',
        'core/pods/log: get',
        'kubemr.io/mapreducejobs: list,watch',
        'kubemr.io/mapreducejobs/status: patch',
      ].sort(),
    );
    const binding = find('RoleBinding', 'kubemr-coordinator') as { roleRef: { kind: string; name: string }; subjects: { kind: string; name: string; namespace: string }[] };
    expect(binding.roleRef).toMatchObject({ kind: 'Role', name: 'kubemr-coordinator' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'kubemr-coordinator', namespace: 'kubemr' }]);
  });

  it('claims the shared volume kubemr-data (ReadWriteOnce: minikube hostpath)', () => {
    const pvc = find('PersistentVolumeClaim', 'kubemr-data').spec as { accessModes: string[] };
    expect(pvc.accessModes).toEqual(['ReadWriteOnce']);
  });
});

describe('CRD mapreducejobs.kubemr.io', () => {
  let schema: Schema;
  let crd: KubeObject & { spec: Record<string, any> };
  beforeAll(() => {
    crd = find('CustomResourceDefinition', 'mapreducejobs.kubemr.io') as typeof crd;
    schema = crd.spec.versions[0].schema.openAPIV3Schema as Schema;
  });

  const resource = (spec: unknown, status?: unknown) => ({
    apiVersion: 'kubemr.io/v1alpha1',
    kind: 'MapReduceJob',
    metadata: { name: 'x', namespace: 'kubemr' },
    spec,
    ...(status !== undefined ? { status } : {}),
  });
  /** The API server's order: default, then validate. Root metadata is ObjectMeta, checked by the server itself. */
  const check = (obj: Record<string, unknown>): string[] => {
    const { metadata: _m, ...rest } = applyDefaults(schema, obj) as Record<string, unknown>;
    return validate(schema, rest);
  };

  it('is kubemr.io/v1alpha1 MapReduceJob, namespaced, with status subresource and printer columns', () => {
    expect(crd.spec.group).toBe('kubemr.io');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names.kind).toBe('MapReduceJob');
    const v = crd.spec.versions[0];
    expect(v.name).toBe('v1alpha1');
    expect(v.subresources).toEqual({ status: {} });
    expect(v.additionalPrinterColumns.map((c: { name: string }) => c.name)).toEqual(['Phase', 'Progress', 'Job', 'Age']);
  });

  it('has a structural schema', () => {
    expect(checkStructural(schema)).toEqual([]);
    // The checker does catch a non-structural schema:
    expect(checkStructural({ type: 'object', properties: { a: {} }, oneOf: [{ type: 'object' }] })).toEqual([
      'a: must specify a type',
      '<root>.oneOf[0]: `type` is not allowed inside oneOf/anyOf/allOf/not',
    ]);
  });

  it('accepts every sample in k8s/samples/', () => {
    const dir = path.join(root, 'k8s', 'samples');
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files).toContain('wordcount.yaml');
    for (const f of files) {
      for (const doc of parseYamlDocs(readFileSync(path.join(dir, f), 'utf8'))) {
        expect(doc.apiVersion, f).toBe('kubemr.io/v1alpha1');
        expect(doc.kind, f).toBe('MapReduceJob');
        expect(check(doc), f).toEqual([]);
      }
    }
  });

  it('fills in defaults: reducers 10, workers 2', () => {
    const d = applyDefaults(schema, resource({ app: 'wordcount', inputs: ['a.txt'] })) as { spec: Record<string, unknown> };
    expect(d.spec).toMatchObject({ reducers: 10, workers: 2, maxAttempts: 4, leaseSeconds: 10 });
  });

  it('accepts split size, memory, pack, worker resources and env, as quantities or numbers', () => {
    const spec = {
      app: 'wordcount',
      inputs: ['a'],
      splitSize: '64Mi',
      memory: 536870912,
      pack: true,
      resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: 2, memory: '3Gi', 'ephemeral-storage': '1Gi' } },
      env: [{ name: 'LANG', value: 'C.UTF-8' }, { name: 'NODE_OPTIONS', value: '--max-old-space-size=2048' }, { name: 'EMPTY' }],
    };
    expect(check(resource(spec))).toEqual([]);
    const env = schema.properties!.spec!.properties!.env as Schema & Record<string, unknown>;
    // One entry per name, as in a pod: `kubectl apply` merges env by name.
    expect(env['x-kubernetes-list-type']).toBe('map');
    expect(env['x-kubernetes-list-map-keys']).toEqual(['name']);
  });

  it('accepts a full status and rejects a bad phase', () => {
    const status = {
      phase: 'Running',
      jobId: 'wordcount-1',
      mapsDone: 3,
      mapsTotal: 8,
      reducesDone: 0,
      reducesTotal: 10,
      progress: 'map 3/8 reduce 0/10',
      results: ['jobs/wordcount-1/output/mr-out-0'],
      message: '',
      startTime: '2024-05-01T10:00:00Z',
    };
    expect(check(resource({ app: 'wordcount', inputs: ['a'] }, status))).toEqual([]);
    expect(check(resource({ app: 'wordcount', inputs: ['a'] }, { ...status, phase: 'Done' })).join('\n')).toMatch(
      /status\.phase: must be one of "Pending", "Running", "Succeeded", "Failed", "Cancelled", got "Done"/,
    );
  });

  const bad: [string, unknown, RegExp][] = [
    ['no spec', undefined, /spec: Required value/],
    ['no inputs', { app: 'wordcount' }, /spec\.inputs: Required value/],
    ['empty inputs', { app: 'wordcount', inputs: [] }, /spec\.inputs: must have at least 1 items/],
    ['an empty input', { app: 'wordcount', inputs: [''] }, /spec\.inputs\[0\]: must be at least 1 characters/],
    ['reducers -1', { app: 'wordcount', inputs: ['a'], reducers: -1 }, /spec\.reducers: must be >= 0, got -1/],
    ['reducers 1001', { app: 'wordcount', inputs: ['a'], reducers: 1001 }, /spec\.reducers: must be <= 1000/],
    ['reducers as a string', { app: 'wordcount', inputs: ['a'], reducers: '10' }, /spec\.reducers: must be of type integer/],
    ['reducers 2.5', { app: 'wordcount', inputs: ['a'], reducers: 2.5 }, /spec\.reducers: must be of type integer/],
    ['workers 0', { app: 'wordcount', inputs: ['a'], workers: 0 }, /spec\.workers: must be >= 1/],
    ['workers 101', { app: 'wordcount', inputs: ['a'], workers: 101 }, /spec\.workers: must be <= 100/],
    ['maxAttempts 0', { app: 'wordcount', inputs: ['a'], maxAttempts: 0 }, /spec\.maxAttempts: must be >= 1/],
    ['leaseSeconds 0', { app: 'wordcount', inputs: ['a'], leaseSeconds: 0 }, /spec\.leaseSeconds: must be >= 1/],
    ['neither app nor streaming', { inputs: ['a'] }, /spec: must match exactly one of oneOf, matched 0/],
    ['both app and streaming', { app: 'wordcount', inputs: ['a'], streaming: { mapper: 'cat' } }, /matched 2/],
    ['streaming without mapper', { inputs: ['a'], streaming: { reducer: 'uniq -c' } }, /spec\.streaming\.mapper: Required value/],
    ['an empty app', { app: '', inputs: ['a'] }, /spec\.app: must be at least 1 characters/],
    ['an image with a space', { app: 'wordcount', inputs: ['a'], image: 'my image' }, /spec\.image: must match/],
    ['a misspelt field', { app: 'wordcount', inputs: ['a'], reducer: 3 }, /spec\.reducer: unknown field/],
    ['memory in words', { app: 'wordcount', inputs: ['a'], memory: 'lots' }, /spec\.memory: must match/],
    ['splitSize as a list', { app: 'wordcount', inputs: ['a'], splitSize: ['1Mi'] }, /spec\.splitSize: must be of type integer or string/],
    ['pack as a string', { app: 'wordcount', inputs: ['a'], pack: 'yes' }, /spec\.pack: must be of type boolean/],
    ['a resource the schema does not know', { app: 'wordcount', inputs: ['a'], resources: { requests: { gpu: '1' } } }, /spec\.resources\.requests\.gpu: unknown field/],
    ['a limit that is no quantity', { app: 'wordcount', inputs: ['a'], resources: { limits: { memory: '2 GB' } } }, /spec\.resources\.limits\.memory: must match/],
    ['an env entry without a name', { app: 'wordcount', inputs: ['a'], env: [{ value: 'x' }] }, /spec\.env\[0\]\.name: Required value/],
    ['env setting KUBEMR_TOKEN', { app: 'wordcount', inputs: ['a'], env: [{ name: 'KUBEMR_TOKEN', value: 'x' }] }, /spec\.env\[0\]: KUBEMR_\* and TMPDIR are kubemr's own variables/],
    ['env setting TMPDIR', { app: 'wordcount', inputs: ['a'], env: [{ name: 'LANG', value: 'C' }, { name: 'TMPDIR', value: '/' }] }, /spec\.env\[1\]: KUBEMR_\* and TMPDIR/],
    ['an env name with a space', { app: 'wordcount', inputs: ['a'], env: [{ name: 'MY VAR', value: 'x' }] }, /spec\.env\[0\]\.name: must match/],
  ];
  it.each(bad)('rejects a spec with %s', (_name, spec, message) => {
    const errs = check(resource(spec) as Record<string, unknown>);
    expect(errs.join('\n')).toMatch(message);
  });

  it('the CEL rule and the oneOf agree', () => {
    const cel = (spec: Record<string, unknown>) => validate({ type: 'object', 'x-kubernetes-validations': schema.properties!.spec!['x-kubernetes-validations'] } as Schema, spec, 'spec', true);
    expect(cel({ app: 'a' })).toEqual([]);
    expect(cel({ streaming: { mapper: 'cat' } })).toEqual([]);
    expect(cel({})).toEqual(['spec: exactly one of spec.app or spec.streaming.mapper must be set']);
    expect(cel({ app: 'a', streaming: { mapper: 'cat' } })).toHaveLength(1);
    // The subset the validator evaluates short-circuits as CEL does, and refuses what it does not know.
    expect(evalCel("!has(self.name) || self.name.startsWith('KUBEMR_')", {})).toBe(true);
    expect(evalCel("has(self.a) && self.a == 'x'", { a: 'x' })).toBe(true);
    expect(() => evalCel('self.env.size() < 3', { env: [] })).toThrow(/cannot be evaluated by this validator/);
  });
});

describe('worker Jobs built by the executor', () => {
  const spec = { jobId: 'wordcount-42', app: 'wordcount', coordinator: 'kubemr-coordinator:7070', dataDir: '/data' };
  const variants: [string, WorkerPodOptions, Partial<LaunchSpec>][] = [
    ['defaults', {}, {}],
    ['auth token, owner, deadline', {
      ownerReferences: [{ apiVersion: 'kubemr.io/v1alpha1', kind: 'MapReduceJob', name: 'wordcount', uid: 'c0ffee00-0000-4000-8000-000000000001', controller: true }],
      activeDeadlineSeconds: 3600,
      serviceAccountName: 'kubemr-worker',
    }, { token: workerCredential('t', 'wordcount-42') }],
    ['streaming, custom image and resources', {
      imagePullPolicy: 'Always',
      resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi', 'ephemeral-storage': '1Gi' } },
      backoffLimit: 0,
      ttlSecondsAfterFinished: 0,
    }, { app: '', image: 'registry.example.com/team/mr-python:1.2' }],
    ['a long, odd job id', {}, { jobId: `Index_Build/${'y'.repeat(120)}` }],
    ['the job\'s own memory, resources and env', {}, {
      memoryBytes: 2 * 1024 ** 3,
      resources: { requests: { cpu: '2', 'ephemeral-storage': '1Gi' }, limits: { cpu: '4' } },
      env: [{ name: 'LANG', value: 'C.UTF-8' }, { name: 'EMPTY', value: '' }],
    }],
  ];

  it.each(variants)('%s: passes the official schema, knows no unknown field, is hardened', async (_name, options, over) => {
    const job = buildWorkerJob({
      spec: { ...spec, ...over },
      workers: 4,
      namespace: 'kubemr',
      incarnation: newIncarnation(),
      options: compileWorkerPodOptions(options),
    }) as unknown as KubeObject & { spec: { template: { spec: V1PodSpec; metadata: { labels: Record<string, string> } } } };
    await validateOfficial(job);
    expect(unknownFields(job, 'V1Job')).toEqual([]);
    expect(podSpecProblems(job.spec.template.spec, 'worker Job')).toEqual([]);
    expect(job.metadata!.name!.length).toBeLessThanOrEqual(63);
    expect(job.metadata!.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    for (const [k, v] of Object.entries(job.spec.template.metadata.labels)) {
      expect(v.length, k).toBeLessThanOrEqual(63);
      expect(v, k).toMatch(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/);
    }
  });

  it('names are deterministic per job and incarnation, and differ across incarnations', () => {
    expect(workerJobName('wordcount-42', 'abc123')).toBe(workerJobName('wordcount-42', 'abc123'));
    expect(workerJobName('wordcount-42', 'abc123')).not.toBe(workerJobName('wordcount-42', 'def456'));
    expect(workerJobName('Job_1', 'abc123')).not.toBe(workerJobName('job-1', 'abc123'));
    expect(newIncarnation('3f1b2c4d-0000-4000-8000-000000000000')).toBe('3f1b2c4d');
  });
});

/** Runs a script with `minikube` and `kubectl` replaced by stubs that log their arguments. */
function withStubs(script: string, args: string[], env: Record<string, string>, stubs: { kubectl: string; minikube: string }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'kubemr-stubs-'));
  try {
    for (const [name, body] of Object.entries(stubs)) {
      writeFileSync(path.join(dir, name), `#!/usr/bin/env bash\necho "${name} $*" >> "${dir}/calls"\n${body}\n`, { mode: 0o755 });
    }
    const r = spawnSync('bash', [path.join(root, 'scripts', script), ...args], {
      encoding: 'utf8',
      cwd: root,
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, ...env },
      timeout: 60_000,
    });
    const calls = existsSync(path.join(dir, 'calls')) ? readFileSync(path.join(dir, 'calls'), 'utf8') : '';
    return { ...r, calls };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('scripts/minikube-up.sh', () => {
  const render = (env: Record<string, string> = {}) => {
    const r = spawnSync('bash', [path.join(root, 'scripts', 'minikube-up.sh'), '--render'], { encoding: 'utf8', cwd: root, env: { ...process.env, ...env } });
    expect(r.status, r.stderr).toBe(0);
    return parseYamlDocs(r.stdout);
  };
  const podSpec = (objs: KubeObject[], kind: string, name: string) => {
    const o = objs.find((d) => d.kind === kind && d.metadata?.name === name);
    if (!o) throw new Error(`no ${kind}/${name}`);
    return (o.spec as { template: { spec: V1PodSpec } }).template.spec;
  };

  it('applies k8s/ with the coordinator and dashboard on an image tag made from the sources, so re-runs restart nothing unchanged', async () => {
    const objs = render();
    for (const d of objs) await validateOfficial(d);
    for (const d of objs) expect(unknownFields(d, modelTypeName(d)), `${d.kind}/${d.metadata?.name}`).toEqual([]);
    const coordinator = podSpec(objs, 'Deployment', 'kubemr-coordinator').containers[0]!;
    const tag = coordinator.image!;
    expect(tag).toMatch(/^kubemr:src-[0-9a-f]{12}$/);
    expect(podSpec(objs, 'Deployment', 'kubemr-dashboard').containers[0]!.image).toBe(tag);
    // Workers run the coordinator's own build.
    expect(coordinator.env).toContainEqual({ name: 'KUBEMR_WORKER_IMAGE', value: tag });
    // A Job's pod template cannot change: the fetch Job keeps one image name across builds.
    expect(podSpec(objs, 'Job', 'kubemr-fetch').containers[0]!.image).toBe('kubemr:dev');
    // The same sources, the same tag: applying again changes no pod template.
    expect(podSpec(render(), 'Deployment', 'kubemr-coordinator').containers[0]!.image).toBe(tag);
    expect((objs.find((d) => d.kind === 'PersistentVolumeClaim')!.spec as { accessModes: string[] }).accessModes).toEqual(['ReadWriteOnce']);
    const text = readFileSync(path.join(root, 'scripts', 'minikube-up.sh'), 'utf8');
    expect(text).not.toMatch(/^[^#]*rollout restart/m);
    // No `minikube service --url` (a tunnel left open on the Docker drivers of macOS and Windows).
    expect(text).not.toMatch(/^[^#]*minikube\S* service/m);
    expect(text).toMatch(/mk image build -t kubemr-python-streaming:dev -f Dockerfile\.python-streaming/);
  });

  it('with KUBEMR_STORAGE_CLASS claims a ReadWriteMany volume of that class; with KUBEMR_BOOKS leaves the fetch Job out', async () => {
    const objs = render({ KUBEMR_STORAGE_CLASS: 'nfs-client', KUBEMR_BOOKS: path.join(root, 'test') });
    for (const d of objs) await validateOfficial(d);
    const pvc = objs.find((d) => d.kind === 'PersistentVolumeClaim')!.spec as { accessModes: string[]; storageClassName: string };
    expect(pvc).toMatchObject({ accessModes: ['ReadWriteMany'], storageClassName: 'nfs-client' });
    expect(objs.filter((d) => d.kind === 'Job')).toEqual([]);
  });

  const stubs = (provisioner = '') => ({
    minikube: '[[ " $* " == *" status "* ]] && exit 0; echo "stub minikube: unexpected call" >&2; exit 1',
    kubectl: [
      'case " $* " in',
      '  *" config use-context "*) exit 0 ;;',
      '  *" get nodes "*) printf "minikube Ready\\nminikube-m02 Ready\\n" ;;',
      `  *" get storageclass "*) printf %s "${provisioner}" ;;`,
      '  *) echo "stub kubectl: unexpected call" >&2; exit 1 ;;',
      'esac',
    ].join('\n'),
  });

  it('refuses a cluster of more than one node without a ReadWriteMany storage class, before building or applying anything', () => {
    const r = withStubs('minikube-up.sh', [], { KUBEMR_STORAGE_CLASS: '' }, stubs());
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("error: this cluster has 2 nodes, and kubemr's pods share one volume: that needs a ReadWriteMany storage class");
    expect(r.stderr).toContain('Set KUBEMR_STORAGE_CLASS');
    expect(r.calls).not.toMatch(/image build|apply/);
  });

  /** A one-node cluster where everything works but the fetch Job, which fails (no gutenberg.org). */
  const oneNodeFetchFails = (images = '') => ({
    minikube: [
      'case " $* " in',
      '  *" status "*) exit 0 ;;',
      `  *" image ls "*) printf "%s\\n" ${JSON.stringify(images)} ;;`,
      '  *" image build "*) exit 0 ;;',
      '  *) echo "stub minikube: unexpected call" >&2; exit 1 ;;',
      'esac',
    ].join('\n'),
    kubectl: [
      'case " $* " in',
      '  *" get nodes "*) printf "minikube Ready\\n" ;;',
      // The fetch Job: failed, with its condition's message and the pod's log.
      `  *"range .status.conditions"*) printf "Failed " ;;`,
      `  *'type=="Failed")].message'*) printf "Job has reached the specified backoff limit" ;;`,
      `  *'type=="Failed")].status'*) ;;`,
      '  *" logs job/kubemr-fetch "*) echo "fetch: pg-1342.txt: could not connect to www.gutenberg.org: getaddrinfo ENOTFOUND" ;;',
      '  *" rollout restart "*) echo "stub kubectl: rollout restart" >&2; exit 1 ;;',
      '  *) exit 0 ;;',
      'esac',
    ].join('\n'),
  });

  it('stops at the fetch Job\'s failure at once, with its log and how to do without the download', () => {
    const started = Date.now();
    const r = withStubs('minikube-up.sh', [], { KUBEMR_STORAGE_CLASS: '', KUBEMR_BOOKS: '', TIMEOUT: '900' }, oneNodeFetchFails());
    expect(r.status, r.stderr).toBe(1);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(r.stderr).toContain('getaddrinfo ENOTFOUND');
    expect(r.stderr).toContain('error: the fetch Job failed (Job has reached the specified backoff limit). Without access to gutenberg.org, run again with KUBEMR_BOOKS=');
    // Both images built; applied without a rollout restart.
    expect(r.calls).toMatch(/^minikube -p minikube image build -t kubemr:dev \.$/m);
    expect(r.calls).toMatch(/^minikube -p minikube image build -t kubemr-python-streaming:dev -f Dockerfile\.python-streaming \.$/m);
    expect(r.calls).toMatch(/^kubectl apply -k \S+\/\.minikube-up\.\w+$/m);
    expect(r.calls).not.toContain('rollout restart');
  });

  it('with the image of these sources already built, builds only the streaming image', () => {
    const tag = (parseYamlDocs(spawnSync('bash', [path.join(root, 'scripts', 'minikube-up.sh'), '--render'], { encoding: 'utf8', cwd: root }).stdout)
      .find((d) => d.kind === 'Deployment' && d.metadata?.name === 'kubemr-coordinator')!.spec as { template: { spec: V1PodSpec } }).template.spec.containers[0]!.image!;
    const r = withStubs('minikube-up.sh', [], { KUBEMR_STORAGE_CLASS: '', KUBEMR_BOOKS: '' }, oneNodeFetchFails(`docker.io/library/${tag}`));
    expect(r.stdout).toContain(`${tag} is already built`);
    expect(r.calls).not.toMatch(/image build -t kubemr:/);
    expect(r.calls).toMatch(/image build -t kubemr-python-streaming:dev/);
  });

  it('refuses a storage class whose provisioner offers ReadWriteOnce volumes only', () => {
    const r = withStubs('minikube-up.sh', [], { KUBEMR_STORAGE_CLASS: 'standard' }, stubs('k8s.io/minikube-hostpath'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error: storage class standard (k8s.io/minikube-hostpath) offers ReadWriteOnce volumes only; kubemr needs a ReadWriteMany class');
    expect(r.calls).not.toMatch(/image build|apply/);
  });
});

describe('scripts', () => {
  it('every shell script parses (bash -n)', () => {
    const dir = path.join(root, 'scripts');
    const scripts = readdirSync(dir).filter((f) => f.endsWith('.sh'));
    expect(scripts).toEqual(expect.arrayContaining(['minikube-up.sh', 'minikube-down.sh', 'e2e-cluster.sh']));
    for (const s of scripts) {
      const r = spawnSync('bash', ['-n', path.join(dir, s)], { encoding: 'utf8' });
      if (r.error) throw new Error(`bash is needed to check ${s}: ${r.error.message}`);
      expect(r.status, `${s}: ${r.stderr}`).toBe(0);
    }
  });

  describe('e2e-cluster.sh without a cluster', () => {
    /** A kubeconfig whose API server does not answer (nothing listens on port 1). */
    const deadConfig = (dir: string, file: string): string => {
      const f = path.join(dir, file);
      mkdirSync(path.dirname(f), { recursive: true });
      writeFileSync(
        f,
        ['apiVersion: v1', 'kind: Config', 'clusters: [{ name: dead, cluster: { server: "https://127.0.0.1:1" } }]',
          'users: [{ name: u, user: { token: t } }]', 'contexts: [{ name: dead, context: { cluster: dead, user: u } }]', 'current-context: dead', ''].join('\n'),
      );
      return f;
    };
    const e2e = (env: Record<string, string | undefined>) => {
      const home = mkdtempSync(path.join(tmpdir(), 'kubemr-e2e-home-'));
      const full: Record<string, string | undefined> = { ...process.env, HOME: home, E2E_REQUIRE: undefined, KUBECONFIG: undefined };
      for (const [k, v] of Object.entries(env)) full[k] = typeof v === 'string' ? v.replaceAll('$HOME', home) : v;
      for (const k of Object.keys(full)) if (full[k] === undefined) delete full[k];
      if (env.WITH_HOME_CONFIG) deadConfig(home, '.kube/config');
      try {
        const r = spawnSync('bash', [path.join(root, 'scripts', 'e2e-cluster.sh')], { encoding: 'utf8', env: full as NodeJS.ProcessEnv, cwd: root, timeout: 60_000 });
        return { status: r.status, out: (r.stdout + r.stderr).replaceAll(home, '$HOME') };
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    };

    it('skips with exit 0 and says why when neither KUBECONFIG nor ~/.kube/config exists', () => {
      const r = e2e({});
      expect(r.out.trim()).toBe('skipped: KUBECONFIG is not set and $HOME/.kube/config does not exist (no cluster to test against)');
      expect(r.status).toBe(0);
    });

    it('tries ~/.kube/config when KUBECONFIG is unset, and skips naming it when its cluster does not answer', () => {
      const r = e2e({ WITH_HOME_CONFIG: '1' });
      expect(r.out).toMatch(/^skipped: no configured cluster answers \(\$HOME\/\.kube\/config: .+\) \(no cluster to test against\)$/m);
      expect(r.status).toBe(0);
    });

    it('tries KUBECONFIG, then ~/.kube/config; E2E_REQUIRE=1 turns the skip into a failure', () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'kubemr-e2e-cfg-'));
      try {
        const cfg = deadConfig(dir, 'config');
        const r = e2e({ KUBECONFIG: cfg, WITH_HOME_CONFIG: '1' });
        expect(r.out).toContain(`skipped: no configured cluster answers (${cfg}: `);
        expect(r.out).toContain('; $HOME/.kube/config: ');
        expect(r.status).toBe(0);
        const required = e2e({ KUBECONFIG: cfg, E2E_REQUIRE: '1' });
        expect(required.out).toContain('E2E_REQUIRE is set: failing instead');
        expect(required.status).toBe(1);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  const shellcheck = spawnSync('shellcheck', ['--version']).status === 0;
  // CI installs shellcheck (.ci/run); elsewhere the check runs when it is there.
  it.skipIf(!shellcheck && !process.env.CI)('every shell script is shellcheck-clean', () => {
    const dir = path.join(root, 'scripts');
    const scripts = readdirSync(dir).filter((f) => f.endsWith('.sh')).map((f) => path.join(dir, f));
    const r = spawnSync('shellcheck', scripts, { encoding: 'utf8' });
    if (r.error) throw new Error(`shellcheck is not installed (apt-get install shellcheck): ${r.error.message}`);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
