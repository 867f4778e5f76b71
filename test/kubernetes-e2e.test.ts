/**
 * kubemr on Kubernetes end to end, without a cluster: the coordinator with its KubernetesExecutor
 * and the MapReduceJob operator, through the real @kubernetes/client-node, against the API server
 * simulation (test/support/kube-apiserver-sim.ts) — which enforces the Role rendered from k8s/,
 * runs the Job controller, and runs each worker pod's container (`node dist/cmd/kubemr/main.js
 * worker ...`, the pod's own command and env) as a real process. Outputs are compared with the
 * sequential run; what a user sees is read back as `kubectl get -o yaml` and `kubectl describe`
 * would show it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CoreV1Api, CustomObjectsApi, type CoreV1Event, type V1Pod } from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Coordinator } from '../lib/coordinator/coordinator.js';
import { KubernetesExecutor, type KubernetesExecutorOptions } from '../lib/executor/kubernetes.js';
import type { Logger } from '../lib/logger.js';
import { MAPREDUCEJOB, mapReduceJobId, ResourceOwners, startOperator, type MapReduceJobStatus } from '../lib/operator/index.js';
import type { MapReduceJobCondition } from '../lib/operator/types.js';
import { startCoordinatorServer, stopServer } from '../lib/protocol/server.js';
import { assertBuilt, BOOKS, ROOT, sequentialOutput, sortedOutput, tempDir } from './support/cli.js';
import { KubeApiServerSim, type CustomObject } from './support/kube-apiserver-sim.js';
import { renderKustomization } from './support/kustomize.js';
import { applyDefaults, validate, type Schema } from './support/structural-schema.js';
import { waitFor } from './support/wait.js';

const crd = loadAll(fs.readFileSync(path.join(ROOT, 'k8s', 'crd.yaml'), 'utf8'))[0] as { spec: { versions: { schema: { openAPIV3Schema: Schema } }[] } };
const schema = crd.spec.versions[0]!.schema.openAPIV3Schema;
const NS = 'kubemr';
const TOKEN = 'e2e-token';
const { group, version, plural } = MAPREDUCEJOB;

let sim: KubeApiServerSim;
let dataDir: string;
let cleanups: (() => Promise<void>)[];
let seq = 0;
/** The coordinator's grants the scenarios used (checked against the Role at the end), and how many ran. */
const used = new Set<string>();
let scenarios = 0;
/** Set by a scenario that runs with the Role as k8s/ has it. */
let ctxScenario = false;

beforeEach(async () => {
  assertBuilt();
  sim = await KubeApiServerSim.start();
  sim.serveCustomResource({
    group,
    version,
    plural,
    kind: MAPREDUCEJOB.kind,
    applyDefaults: (o) => applyDefaults(schema, o) as CustomObject,
    validate: (o) => validate(schema, { ...o, metadata: {} }),
  });
  // The worker image is this checkout.
  sim.images = new Set(['kubemr:dev']);
  sim.runContainers = true;
  dataDir = tempDir('k8s-e2e');
  fs.mkdirSync(path.join(dataDir, 'inputs', 'books'), { recursive: true });
  for (const b of BOOKS.slice(0, 4)) fs.copyFileSync(b, path.join(dataDir, 'inputs', 'books', path.basename(b)));
  cleanups = [];
});

afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  if (ctxScenario) {
    for (const g of sim.grantsUsed()) used.add(g);
    scenarios++;
  }
  ctxScenario = false;
  await sim.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const admin = () => sim.adminKubeConfig(NS).makeApiClient(CustomObjectsApi);
const newName = (prefix: string) => `${prefix}-${process.pid}-${++seq}`;
const inputs = () => fs.readdirSync(path.join(dataDir, 'inputs', 'books')).sort().map((f) => path.join('inputs', 'books', f));

async function createResource(name: string, spec: Record<string, unknown>): Promise<CustomObject> {
  return (await admin().createNamespacedCustomObject({
    group,
    version,
    namespace: NS,
    plural,
    body: { apiVersion: MAPREDUCEJOB.apiVersion, kind: MAPREDUCEJOB.kind, metadata: { name }, spec },
  })) as CustomObject;
}

/** `kubectl get mapreducejob NAME -o yaml`: the object as the API server returns it. */
const getYaml = async (name: string) => (await admin().getNamespacedCustomObject({ group, version, namespace: NS, plural, name })) as CustomObject & { status?: MapReduceJobStatus };
const statusOf = (name: string) => sim.getCustomObject(plural, name, NS)?.status as MapReduceJobStatus | undefined;
const waitPhase = (name: string, phase: string, timeoutMs = 60_000) =>
  waitFor(`${name} to be ${phase} (now ${JSON.stringify(statusOf(name))})`, () => (statusOf(name)?.phase === phase ? statusOf(name) : undefined), timeoutMs);
/** What `kubectl wait --for=condition=TYPE` waits for. */
const conditionTrue = (s: MapReduceJobStatus | undefined, type: string) => s?.conditions?.find((c) => c.type === type && c.status === 'True');
/** `kubectl describe mapreducejob NAME`'s Events: by involvedObject, oldest first. */
async function describeEvents(name: string, uid: string): Promise<CoreV1Event[]> {
  const list = await sim.adminKubeConfig(NS).makeApiClient(CoreV1Api).listNamespacedEvent({
    namespace: NS,
    fieldSelector: `involvedObject.name=${name},involvedObject.namespace=${NS},involvedObject.kind=MapReduceJob,involvedObject.uid=${uid}`,
  });
  return list.items.sort((a, b) => new Date(a.firstTimestamp ?? 0).getTime() - new Date(b.firstTimestamp ?? 0).getTime());
}

interface Stack {
  coordinator: Coordinator;
  executor: KubernetesExecutor;
  stop(): Promise<void>;
}

/** The coordinator pod's processes: gRPC server, coordinator, KubernetesExecutor, operator. */
async function startStack(options: Partial<KubernetesExecutorOptions> = {}): Promise<Stack> {
  const owners = new ResourceOwners(dataDir);
  const executor = new KubernetesExecutor({
    kubeConfig: sim.kubeConfig(NS),
    namespace: NS,
    dataDir,
    watchRetryMs: 50,
    ownerReferences: owners.ownerReferences,
    ...options,
  });
  const coordinator = new Coordinator({ dataDir, executor, token: TOKEN, tickMs: 50 });
  const { server, address } = await startCoordinatorServer(coordinator, '127.0.0.1:0', { token: TOKEN });
  coordinator.advertise = address;
  await coordinator.start();
  const operator = await startOperator({ coordinator, kubeConfig: sim.kubeConfig(NS), namespace: NS, owners, statusIntervalMs: 100, watchRetryMs: 50 });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await operator.close();
    await stopServer(server, 2000);
    await coordinator.close();
  };
  cleanups.push(stop);
  return { coordinator, executor, stop };
}

const sortedKinds = (events: CoreV1Event[]) => events.map((e) => `${e.type} ${e.reason}`);

describe('kubemr on the API server simulation', () => {
  it('a worker stuck in ImagePullBackOff: the reason in the status at once, the job Failed with it at the start deadline', async () => {
    ctxScenario = true;
    sim.imagePullBackOffMs = 400;
    const deadlineMs = 4000;
    await startStack({ workerStartTimeoutMs: deadlineMs });
    const name = newName('no-image');
    const created = await createResource(name, { app: 'wordcount', image: 'registry.example.com/team/missing:1', inputs: ['inputs/books/*.txt'], reducers: 2, workers: 2 });
    const t0 = Date.now();
    const jobId = mapReduceJobId(name, created.metadata!.uid!);

    // At once: still Pending, the message and the Running condition say why.
    const stuck = await waitFor('the pull error in the status', () => {
      const s = statusOf(name);
      return s?.message?.includes('registry.example.com/team/missing:1') ? s : undefined;
    });
    // Before the deadline: the job is still Pending, not yet Failed.
    expect(stuck.phase).toBe('Pending');
    expect(stuck.message).toMatch(/^workers cannot start: pod mr-[-a-z0-9]+: (ErrImagePull|ImagePullBackOff): /);
    expect(stuck.conditions?.find((c) => c.type === 'Running')).toMatchObject({ status: 'False', reason: 'WorkersCannotStart' });

    const failed = await waitPhase(name, 'Failed');
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(deadlineMs);
    expect(elapsed).toBeLessThan(deadlineMs + 30_000);
    expect(failed.message).toMatch(
      /^workers could not be started: no worker pod of Job mr-[-a-z0-9]+ was running 4 s after it was needed \(the worker start timeout\): pod mr-[-a-z0-9]+: (ErrImagePull|ImagePullBackOff): .*registry\.example\.com\/team\/missing:1/,
    );
    const yaml = await getYaml(name);
    expect(conditionTrue(yaml.status, 'Failed')).toMatchObject({ reason: 'WorkersCannotStart', message: failed.message, observedGeneration: yaml.metadata!.generation });
    expect(conditionTrue(yaml.status, 'Succeeded')).toBeUndefined();
    const events = await describeEvents(name, created.metadata!.uid!);
    expect(sortedKinds(events)).toEqual(expect.arrayContaining(['Normal Submitted', 'Warning WorkersCannotStart']));
    expect(events.at(-1)).toMatchObject({ type: 'Warning', reason: 'WorkersCannotStart', message: failed.message });
    expect(events.some((e) => e.reason === 'WorkersCannotStart' && e.message!.includes('ImagePullBackOff: Back-off pulling image "registry.example.com/team/missing:1"'))).toBe(true);
    // The pull kept failing the same way: the Event's count went up rather than a new Event each time.
    expect(events.some((e) => (e.count ?? 1) > 1)).toBe(true);
    // Its workers are gone; nothing ran.
    await waitFor('the worker Job deleted', () => ![...sim.jobs.values()].some((j) => j.metadata?.annotations?.['kubemr.io/job-id'] === jobId));
    expect(fs.readFileSync(path.join(dataDir, 'jobs', jobId, 'RESULT'), 'utf8')).toMatch(/^FAILED workers could not be started/);
  });

  it('a coordinator restarted in the same pod, meeting its Job Complete, replaces it and still finishes the job', async () => {
    ctxScenario = true;
    // The first coordinator's workers never run here: the test plays them exiting 0 (as workers
    // without a coordinator did), so the Job controller marks their Job Complete.
    sim.runContainers = false;
    const first = await startStack({ incarnation: 'podabc12' });
    const name = newName('restart');
    const created = await createResource(name, { app: 'wordcount', inputs: ['inputs/books/*.txt'], reducers: 3, workers: 2 });
    const jobId = mapReduceJobId(name, created.metadata!.uid!);
    const jobName = first.executor.jobName(jobId);
    const pods = await waitFor('2 worker pods', () => (sim.podsOfJob(jobName).length === 2 ? sim.podsOfJob(jobName) : undefined));
    const exited0 = (p: V1Pod) => {
      p.status = { phase: 'Succeeded', containerStatuses: [{ name: 'worker', image: 'kubemr:dev', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] };
    };
    for (const p of pods) sim.updatePod(p.metadata!.name!, exited0);
    await waitFor('the Job Complete', () => sim.jobs.get(`${NS}/${jobName}`)?.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True'));
    const oldUid = sim.jobs.get(`${NS}/${jobName}`)!.metadata!.uid;
    await first.stop();

    // The container restarts: same pod, same incarnation, same Job name; now pods really run.
    sim.runContainers = true;
    const second = await startStack({ incarnation: 'podabc12' });
    expect(second.executor.jobName(jobId)).toBe(jobName);
    const done = await waitPhase(name, 'Succeeded', 120_000);
    expect(done).toMatchObject({ jobId, reducesDone: 3, reducesTotal: 3 });
    expect(sortedOutput(path.join(dataDir, 'jobs', jobId, 'output'))).toBe(sequentialOutput(dataDir, 'wordcount', inputs()));
    // The Complete Job was read, deleted and created anew.
    expect(sim.requestsMatching('GET', new RegExp(`/jobs/${jobName}$`)).length).toBeGreaterThanOrEqual(1);
    expect(sim.requestsMatching('DELETE', new RegExp(`/jobs/${jobName}$`)).length).toBeGreaterThanOrEqual(1);
    // Created by the first coordinator; by the second, refused (409 AlreadyExists), then created again.
    expect(sim.requestsMatching('POST', /\/jobs$/)).toHaveLength(3);
    const replaced = sim.requests.find((r) => r.method === 'DELETE' && r.path.endsWith(`/jobs/${jobName}`));
    expect(replaced?.query.propagationPolicy).toBe('Background');
    const later = sim.jobs.get(`${NS}/${jobName}`);
    if (later) expect(later.metadata?.uid).not.toBe(oldUid);
  });

  it('conditions and Events as `kubectl get -o yaml` and `kubectl describe` show them, a killed worker among them', async () => {
    ctxScenario = true;
    await startStack();
    const name = newName('describe');
    const created = await createResource(name, { app: 'wordcount', inputs: ['inputs/books/*.txt'], reducers: 2, workers: 2 });
    const uid = created.metadata!.uid!;
    const jobId = mapReduceJobId(name, uid);
    // A worker crashes as soon as it runs (the OOM killer, say); the Job controller replaces it.
    const victim = await waitFor('a running worker pod', () => [...sim.pods.values()].find((p) => p.status?.phase === 'Running'));
    sim.killContainer(victim.metadata!.name!);
    await waitPhase(name, 'Succeeded', 120_000);
    expect(sortedOutput(path.join(dataDir, 'jobs', jobId, 'output'))).toBe(sequentialOutput(dataDir, 'wordcount', inputs()));

    const obj = await getYaml(name);
    const conditions = obj.status!.conditions!;
    expect(conditions.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Running', 'False', 'Succeeded'],
      ['Succeeded', 'True', 'Succeeded'],
      ['Failed', 'False', 'Succeeded'],
    ]);
    for (const c of conditions as MapReduceJobCondition[]) {
      expect(c.observedGeneration).toBe(obj.metadata!.generation);
      expect(Date.parse(c.lastTransitionTime)).not.toBeNaN();
    }
    // Running flipped True on the first task, then False at the end: a later transition than Failed's, which never flipped.
    const byType = Object.fromEntries(conditions.map((c) => [c.type, c]));
    expect(Date.parse(byType.Running!.lastTransitionTime)).toBeGreaterThanOrEqual(Date.parse(byType.Failed!.lastTransitionTime));
    expect(obj.status).toMatchObject({ phase: 'Succeeded', jobId, observedGeneration: 1 });
    // Every status written was valid for the CRD (the simulation refuses others with 422).
    for (const w of sim.statusWrites) expect(validate(schema.properties!.status!, w.status, 'status')).toEqual([]);

    const events = await describeEvents(name, uid);
    const reasons = sortedKinds(events);
    expect(reasons[0]).toBe('Normal Submitted');
    expect(reasons).toContain('Normal Started');
    expect(reasons.at(-1)).toBe('Normal Succeeded');
    const workerFailed = events.find((e) => e.reason === 'WorkerFailed');
    expect(workerFailed).toMatchObject({ type: 'Warning', message: `worker pod ${victim.metadata!.name} failed: Error exit 137`, source: { component: 'kubemr-coordinator' } });
    expect(events.find((e) => e.reason === 'Submitted')?.message).toBe(`job ${jobId}: 4 map tasks, 2 reduce tasks, 2 workers`);
    for (const e of events) expect(e.involvedObject).toMatchObject({ apiVersion: 'kubemr.io/v1alpha1', kind: 'MapReduceJob', name, namespace: NS, uid });
    // The workers' logs are on the volume, the killed one's included.
    const logs = fs.readdirSync(path.join(dataDir, 'jobs', jobId, 'logs'));
    expect(logs).toContain(`pod-${victim.metadata!.name}.log`);
  });

  it('a Role without `pods/log get` makes reading a worker\'s log fail with the 403', async () => {
    const role = sim.rbac.role('kubemr-coordinator');
    role.rules = role.rules!.filter((r) => !r.resources?.includes('pods/log'));
    sim.runContainers = false;
    const warnings: string[] = [];
    const logger: Logger = { debug() {}, info() {}, warn: (msg, f) => warnings.push(`${msg} ${JSON.stringify(f ?? {})}`), error() {}, child: () => logger };
    const executor = new KubernetesExecutor({ kubeConfig: sim.kubeConfig(NS), namespace: NS, dataDir, watchRetryMs: 50, logger });
    cleanups.push(() => executor.close());
    const jobId = newName('logs');
    await executor.launch({ jobId, app: 'wordcount', coordinator: 'kubemr-coordinator:7070', dataDir }, 1);
    const [pod] = await waitFor('a pod', () => (sim.podsOfJob(executor.jobName(jobId)).length === 1 ? sim.podsOfJob(executor.jobName(jobId)) : undefined));
    const name = pod!.metadata!.name!;
    sim.updatePod(name, (p) => {
      p.status = { phase: 'Running', containerStatuses: [{ name: 'worker', image: 'kubemr:dev', imageID: '', ready: true, restartCount: 0, state: { running: { startedAt: new Date() } } }] };
    });
    sim.appendLog(name, 'map-0 started\n');
    const forbidden = `HTTP 403: pods "${name}" is forbidden: User "system:serviceaccount:kubemr:kubemr-coordinator" cannot get resource "pods/log" in API group "" in the namespace "kubemr"`;
    await expect(executor.logs(name)).rejects.toThrow(`Could not read the log of pod ${name}: ${forbidden}`);
    // The copy to the volume when the pod ends fails the same way, and says so.
    sim.updatePod(name, (p) => {
      p.status = { phase: 'Failed', containerStatuses: [{ name: 'worker', image: 'kubemr:dev', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 1, reason: 'Error' } } }] };
    });
    await waitFor('the warning', () => warnings.find((w) => w.startsWith('could not save pod log') && w.includes('HTTP 403')));
    expect(fs.existsSync(path.join(dataDir, 'jobs', jobId, 'logs', `pod-${name}.log`))).toBe(false);
    // With the Role as k8s/ has it, the same call works.
    role.rules!.push({ apiGroups: [''], resources: ['pods/log'], verbs: ['get'] });
    const chunks: string[] = [];
    for await (const c of await executor.logs(name)) chunks.push(c);
    expect(chunks.join('')).toBe('map-0 started\n');
  });

  // Last (a file's tests run in order): the grants the three scenarios above used are exactly
  // the Role's — each grant is needed, and (the simulation enforcing the Role) none is missing.
  it('the Role in k8s/ grants exactly what the code used', (ctx) => {
    if (scenarios < 3) ctx.skip();
    const role = renderKustomization(path.join(ROOT, 'k8s')).find((d) => d.kind === 'Role' && d.metadata?.name === 'kubemr-coordinator') as unknown as {
      rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    };
    const granted = role.rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g || 'core'}/${res}: ${v}`))));
    expect([...used].sort()).toEqual([...new Set(granted)].sort());
  });
});

