/**
 * The MapReduceJob operator driven through the real @kubernetes/client-node against the API
 * server simulation, which authorizes the operator's requests against the Role in k8s/ and
 * serves the CRD from k8s/crd.yaml: every object created and every status the
 * operator writes is defaulted and validated with the CRD's own schema (422 otherwise), and the
 * test checks each recorded status against it once more.
 *
 * Most cases use a real Coordinator (real data directory, journal, RESULT files) with a
 * recording executor and play the workers by calling the scheduler; one case runs real worker
 * processes from dist/ over the Gutenberg books and compares with the sequential run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type V1PodSpec } from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Coordinator } from '../lib/coordinator/coordinator.js';
import { KubernetesExecutor } from '../lib/executor/kubernetes.js';
import { buildWorkerJob, compileWorkerPodOptions } from '../lib/executor/kubernetes-objects.js';
import { LocalExecutor } from '../lib/executor/local.js';
import type { Executor, LaunchSpec, WorkerDeathListener, WorkerInfo } from '../lib/executor/types.js';
import { startCoordinatorServer, stopServer } from '../lib/protocol/server.js';
import { MAPREDUCEJOB, mapReduceJobId, ResourceOwners, startOperator, type MapReduceJobStatus, type OperatorOptions } from '../lib/operator/index.js';
import type { JobRecord } from '../lib/coordinator/scheduler.js';
import { assertBuilt, BOOKS, ROOT, sequentialOutput, sortedOutput, startKubemr, tempDir } from './support/cli.js';
import { KubeApiServerSim, type CustomObject } from './support/kube-apiserver-sim.js';
import { unknownFields, validateOfficial, type KubeObject } from './support/k8s-schemas.js';
import { applyDefaults, validate, type Schema } from './support/structural-schema.js';
import { waitFor } from './support/wait.js';

const crd = loadAll(fs.readFileSync(path.join(ROOT, 'k8s', 'crd.yaml'), 'utf8'))[0] as { spec: { versions: { schema: { openAPIV3Schema: Schema } }[] } };
const schema = crd.spec.versions[0]!.schema.openAPIV3Schema;
const NS = 'kubemr';
const { group, version, plural } = MAPREDUCEJOB;

/** Launches nothing; remembers what it was asked. */
class RecordingExecutor implements Executor {
  readonly kind = 'external' as const;
  readonly launches: { spec: LaunchSpec; n: number }[] = [];
  readonly stops: string[] = [];
  private readonly listeners: WorkerDeathListener[] = [];
  async launch(spec: LaunchSpec, n: number): Promise<void> {
    this.launches.push({ spec, n });
  }
  async list(): Promise<WorkerInfo[]> {
    return [];
  }
  async logs(): Promise<AsyncIterable<string>> {
    return (async function* () {})();
  }
  async stop(jobId: string): Promise<void> {
    this.stops.push(jobId);
  }
  onWorkerDeath(l: WorkerDeathListener): void {
    this.listeners.push(l);
  }
  async close(): Promise<void> {}
}

/** The API server checks metadata as ObjectMeta itself; the CRD's schema covers the rest. */
const checkAgainstCrd = (o: CustomObject): string[] => validate(schema, { ...o, metadata: {} });

let server: KubeApiServerSim;
let dataDir: string;
let cleanups: (() => Promise<void>)[];
let seq = 0;

beforeEach(async () => {
  server = await KubeApiServerSim.start();
  server.serveCustomResource({
    group,
    version,
    plural,
    kind: MAPREDUCEJOB.kind,
    applyDefaults: (o) => applyDefaults(schema, o) as CustomObject,
    validate: checkAgainstCrd,
  });
  dataDir = tempDir('operator');
  fs.mkdirSync(path.join(dataDir, 'inputs', 'small'), { recursive: true });
  for (const [n, text] of [['a', 'the cat sat\n'], ['b', 'on the mat\n'], ['c', 'the end\n']] as const) {
    fs.writeFileSync(path.join(dataDir, 'inputs', 'small', `${n}.txt`), text);
  }
  cleanups = [];
});

afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  await server.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

// Resources are made as a person would, with kubectl: as a cluster admin.
const api = () => server.adminKubeConfig(NS).makeApiClient(CustomObjectsApi);
const newName = (prefix = 'wc') => `${prefix}-${process.pid}-${++seq}`;

async function createResource(name: string, spec: Record<string, unknown>, labels?: Record<string, string>): Promise<CustomObject> {
  return (await api().createNamespacedCustomObject({
    group,
    version,
    namespace: NS,
    plural,
    body: { apiVersion: MAPREDUCEJOB.apiVersion, kind: MAPREDUCEJOB.kind, metadata: { name, ...(labels ? { labels } : {}) }, spec },
  })) as CustomObject;
}

async function deleteResource(name: string): Promise<void> {
  await api().deleteNamespacedCustomObject({ group, version, namespace: NS, plural, name });
}

interface Harness {
  coordinator: Coordinator;
  executor: RecordingExecutor;
  owners: ResourceOwners;
  operator: { close(): Promise<void> };
  /** Stops the operator and the coordinator, as a coordinator shutting down does. */
  stop(): Promise<void>;
}

async function startHarness(options: Partial<OperatorOptions> = {}): Promise<Harness> {
  const executor = new RecordingExecutor();
  const coordinator = new Coordinator({ dataDir, executor, tickMs: 20 });
  await coordinator.start();
  const owners = new ResourceOwners(dataDir);
  const operator = await startOperator({
    coordinator,
    kubeConfig: server.kubeConfig(NS),
    namespace: NS,
    owners,
    statusIntervalMs: 50,
    watchRetryMs: 50,
    ...options,
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await operator.close();
    await coordinator.close();
  };
  cleanups.push(stop);
  return { coordinator, executor, owners, operator, stop };
}


const statusOf = (name: string) => server.getCustomObject(plural, name, NS)?.status as MapReduceJobStatus | undefined;
const waitPhase = (name: string, phase: string, timeoutMs?: number) =>
  waitFor(`${name} to be ${phase} (now ${JSON.stringify(statusOf(name))})`, () => (statusOf(name)?.phase === phase ? statusOf(name) : undefined), timeoutMs);
const writesOf = (name: string) => server.statusWrites.filter((w) => w.name === name).map((w) => w.status as MapReduceJobStatus);
const phasesOf = (name: string) => writesOf(name).map((s) => s.phase).filter((p, i, a) => i === 0 || a[i - 1] !== p);

/** Plays one worker: takes every task there is and reports it done. */
function runTasks(coordinator: Coordinator, jobId: string, kind?: 'map' | 'reduce', max = Infinity): number {
  let n = 0;
  while (n < max) {
    if (kind === 'map' && coordinator.getJob(jobId).phase === 'reduce') break;
    const r = coordinator.requestTask({ workerId: `w-${jobId}`, app: 'wordcount', jobId });
    if (r.directive !== 'run') break;
    const { task, attempt, attemptDir, job } = r.assignment;
    if (kind !== undefined && task.kind !== kind) throw new Error(`expected a ${kind} task, got ${task.kind}`);
    // Writes (empty) outputs where the coordinator said, as a worker does; the commit moves them.
    const names = task.kind === 'map' ? job.reduces.map((_, p) => `mr-${task.index}-${p}`) : [`mr-out-${task.index}`];
    const outputFiles = names.map((n) => path.join(attemptDir!, n));
    for (const f of outputFiles) fs.writeFileSync(f, '');
    coordinator.report({ jobId, kind: task.kind, index: task.index, attempt, workerId: `w-${jobId}` }, { success: true, outputFiles });
    n++;
  }
  return n;
}

/** Every status ever written must satisfy the CRD's status schema (the API server simulation already refuses any that does not). */
function expectValidStatuses(): void {
  expect(server.statusWrites.length).toBeGreaterThan(0);
  for (const w of server.statusWrites) {
    expect(validate(schema.properties!.status!, w.status, 'status'), JSON.stringify(w.status)).toEqual([]);
    expect(w.contentType).toBe('application/merge-patch+json');
  }
}

describe('MapReduceJob operator', () => {
  it('submits a new resource as a job and keeps its status current: Pending -> Running -> Succeeded', async () => {
    const h = await startHarness();
    const name = newName();
    const created = await createResource(name, { app: 'wordcount', inputs: ['inputs/small/*.txt'], reducers: 2, workers: 3, leaseSeconds: 7 });
    const jobId = mapReduceJobId(name, created.metadata!.uid!);
    const pending = await waitPhase(name, 'Pending');
    expect(pending).toMatchObject({ jobId, mapsDone: 0, mapsTotal: 3, reducesDone: 0, reducesTotal: 2, progress: 'map 0/3 reduce 0/2', results: [], observedGeneration: 1 });

    // The job: inputs on the data volume, relative as written; defaults from the CRD; one launch.
    const job: JobRecord = h.coordinator.getJob(jobId);
    expect(job.spec).toMatchObject({ app: 'wordcount', name, reducers: 2, workers: 3, maxAttempts: 4, leaseMs: 7000, workDir: path.resolve(dataDir) });
    expect(job.spec.inputs).toEqual(['inputs/small/a.txt', 'inputs/small/b.txt', 'inputs/small/c.txt']);
    expect(h.executor.launches).toHaveLength(1);
    expect(h.executor.launches[0]).toMatchObject({ spec: { jobId, app: 'wordcount' }, n: 3 });
    // Its worker Jobs are owned by the resource, now and after a restart (from the job directory).
    const ref = { apiVersion: 'kubemr.io/v1alpha1', kind: 'MapReduceJob', name, uid: created.metadata!.uid };
    expect(h.owners.ownerReferences(jobId)).toEqual([expect.objectContaining(ref)]);
    expect(new ResourceOwners(dataDir).ownerReferences(jobId)).toEqual([expect.objectContaining(ref)]);
    expect(h.owners.ownerReferences('submitted-over-grpc')).toBeUndefined();

    runTasks(h.coordinator, jobId, 'map', 1);
    await waitFor('map 1/3', () => statusOf(name)?.progress === 'map 1/3 reduce 0/2');
    expect(statusOf(name)).toMatchObject({ phase: 'Running', mapsDone: 1 });
    expect(statusOf(name)?.startTime).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(statusOf(name)?.completionTime).toBeUndefined();
    runTasks(h.coordinator, jobId, 'map');
    await waitFor('the reduce phase', () => statusOf(name)?.progress === 'map 3/3 reduce 0/2');
    runTasks(h.coordinator, jobId, 'reduce');
    const done = await waitPhase(name, 'Succeeded');
    expect(done).toMatchObject({
      jobId,
      mapsDone: 3,
      mapsTotal: 3,
      reducesDone: 2,
      reducesTotal: 2,
      progress: 'map 3/3 reduce 2/2',
      results: [`jobs/${jobId}/output/mr-out-0`, `jobs/${jobId}/output/mr-out-1`],
      message: '',
    });
    expect(done.completionTime).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(phasesOf(name)).toEqual(['Pending', 'Running', 'Succeeded']);
    expect(fs.readFileSync(path.join(dataDir, 'jobs', jobId, 'RESULT'), 'utf8')).toBe('OK\n');
    // The spec was never touched by the operator; only /status was written.
    expect(server.requestsMatching('PATCH', /\/mapreducejobs\/[^/]+$/)).toEqual([]);
    expect(server.requestsMatching('PUT', /\/mapreducejobs\//)).toEqual([]);
    expectValidStatuses();
  });

  it('throttles status writes to about one per interval, but writes every phase change at once', async () => {
    const h = await startHarness({ statusIntervalMs: 400 });
    const name = newName();
    fs.mkdirSync(path.join(dataDir, 'inputs', 'many'));
    for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(dataDir, 'inputs', 'many', `f${i}.txt`), `word${i}\n`);
    // One map task per file (pack: false), so that there are many task completions to throttle.
    const created = await createResource(name, { app: 'wordcount', inputs: ['inputs/many/*.txt'], reducers: 1, pack: false });
    const jobId = mapReduceJobId(name, created.metadata!.uid!);
    await waitPhase(name, 'Pending');
    const before = writesOf(name).length;
    const start = Date.now();
    for (let i = 0; i < 39; i++) {
      runTasks(h.coordinator, jobId, 'map', 1);
      await new Promise((r) => setTimeout(r, 10));
    }
    await waitFor('the last progress', () => statusOf(name)?.mapsDone === 39);
    const elapsed = Date.now() - start;
    const writes = writesOf(name).length - before;
    // 39 task completions: the phase change to Running at once, then at most one per 400 ms.
    expect(writes).toBeLessThanOrEqual(2 + Math.ceil(elapsed / 400));
    expect(writes).toBeLessThan(15);
    runTasks(h.coordinator, jobId);
    await waitPhase(name, 'Succeeded');
    expectValidStatuses();
  });

  it('fails a resource with an invalid spec with a message naming the field, and keeps running others', async () => {
    const h = await startHarness();
    // Valid for the CRD's schema, but not a job: a map-only streaming job (no reducer) with reducers.
    const streaming = newName('stream');
    await createResource(streaming, { inputs: ['inputs/small/a.txt'], streaming: { mapper: 'cat' }, reducers: 3 });
    // Stored before the schema was strict (or with a CRD applied without one).
    const zero = newName('zero');
    server.addCustomObject(plural, { metadata: { name: zero, namespace: NS }, spec: { app: 'wordcount', inputs: ['inputs/small/a.txt'], reducers: -1 } }, { validate: false });
    const noSpec = newName('nospec');
    server.addCustomObject(plural, { metadata: { name: noSpec, namespace: NS } }, { validate: false });
    const escape = newName('escape');
    await createResource(escape, { app: 'wordcount', inputs: ['../../etc/passwd'] });
    const nothing = newName('nothing');
    await createResource(nothing, { app: 'wordcount', inputs: ['inputs/none/*.txt'] });

    expect((await waitPhase(streaming, 'Failed')).message).toBe('A streaming job without a reducer is map-only: expected `reducers` to be 0, got `3`');
    expect((await waitPhase(zero, 'Failed')).message).toMatch(/^Expected `reducers` to be an integer between 0 and \d+, got `-1`$/);
    expect((await waitPhase(noSpec, 'Failed')).message).toBe('Expected `spec` to be an object, got `nothing`');
    expect((await waitPhase(escape, 'Failed')).message).toContain('Expected `inputs[0]` to be a path on the data volume');
    expect((await waitPhase(nothing, 'Failed')).message).toBe('Input pattern `inputs/none/*.txt` matched no files');
    expect(statusOf(streaming)?.jobId).toBeUndefined();
    expect(h.executor.launches).toEqual([]);
    expect(h.coordinator.listJobs()).toEqual([]);

    // Nothing crashed: a good resource still runs.
    const good = newName();
    await createResource(good, { app: 'wordcount', inputs: ['inputs/small/a.txt'], reducers: 1 });
    await waitPhase(good, 'Pending');

    // Fixing a rejected spec (a new generation) runs it.
    await api().patchNamespacedCustomObject(
      { group, version, namespace: NS, plural, name: streaming, body: { spec: { streaming: { mapper: 'cat', reducer: 'uniq -c' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const fixed = await waitPhase(streaming, 'Pending');
    expect(fixed).toMatchObject({ observedGeneration: 2, mapsTotal: 1, message: '' });
    expect(h.executor.launches).toHaveLength(2);
    expectValidStatuses();
  });

  it('cancels the job and stops its workers when the resource is deleted', async () => {
    const h = await startHarness();
    const name = newName();
    const created = await createResource(name, { app: 'wordcount', inputs: ['inputs/small/*.txt'], reducers: 2 });
    const jobId = mapReduceJobId(name, created.metadata!.uid!);
    await waitPhase(name, 'Pending');
    runTasks(h.coordinator, jobId, 'map', 1);
    await waitPhase(name, 'Running');
    const writes = server.statusWrites.length;
    await deleteResource(name);
    const result = path.join(dataDir, 'jobs', jobId, 'RESULT');
    await waitFor('RESULT', () => fs.existsSync(result));
    expect(fs.readFileSync(result, 'utf8')).toBe('CANCELLED\n');
    expect(h.coordinator.getJob(jobId).phase).toBe('cancelled');
    await waitFor('the workers stopped', () => h.executor.stops.includes(jobId));
    // No status is written for a resource that is gone.
    await new Promise((r) => setTimeout(r, 150));
    expect(server.statusWrites.length).toBe(writes);
  });

  it('relists on 410 Gone without submitting anything twice, and sees deletions it missed', async () => {
    const h = await startHarness();
    const a = newName();
    const b = newName();
    const ra = await createResource(a, { app: 'wordcount', inputs: ['inputs/small/a.txt'], reducers: 1 });
    const rb = await createResource(b, { app: 'wordcount', inputs: ['inputs/small/b.txt'], reducers: 1 });
    await waitPhase(a, 'Pending');
    await waitPhase(b, 'Pending');
    const lists = () => server.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/mapreducejobs') && r.query.watch !== 'true').length;

    // A 410 as a watch event: the informer relists and watches again.
    let before = lists();
    server.expireWatches('event');
    await waitFor('a relist', () => lists() > before);
    await waitFor('a new watch', () => server.openWatches > 0);

    // A 410 answering the watch request itself; meanwhile `b` is deleted behind the watch's back.
    before = lists();
    server.expireWatches('http');
    server.deleteCustomObject(plural, b, NS);
    await waitFor('a relist', () => lists() > before);

    const jobB = mapReduceJobId(b, rb.metadata!.uid!);
    await waitFor('b cancelled', () => h.coordinator.getJob(jobB).phase === 'cancelled');
    const jobA = mapReduceJobId(a, ra.metadata!.uid!);
    expect(h.coordinator.getJob(jobA).phase).toBe('queued');
    expect(h.coordinator.listJobs()).toHaveLength(2);
    expect(h.executor.launches.map((l) => l.spec.jobId)).toEqual([jobA, jobB]);

    // Still watching: progress keeps arriving.
    runTasks(h.coordinator, jobA);
    await waitPhase(a, 'Succeeded');
    expectValidStatuses();
  });

  it('after a restart, tracks resumed jobs instead of resubmitting, reports jobs finished meanwhile, and cancels jobs whose resource went away', async () => {
    const first = await startHarness();
    const running = newName('running');
    const finished = newName('finished');
    const orphan = newName('orphan');
    const rr = await createResource(running, { app: 'wordcount', inputs: ['inputs/small/*.txt'], reducers: 1 });
    const rf = await createResource(finished, { app: 'wordcount', inputs: ['inputs/small/a.txt'], reducers: 1 });
    const ro = await createResource(orphan, { app: 'wordcount', inputs: ['inputs/small/b.txt'], reducers: 1 });
    for (const n of [running, finished, orphan]) await waitPhase(n, 'Pending');
    const jobRunning = mapReduceJobId(running, rr.metadata!.uid!);
    const jobFinished = mapReduceJobId(finished, rf.metadata!.uid!);
    const jobOrphan = mapReduceJobId(orphan, ro.metadata!.uid!);
    runTasks(first.coordinator, jobRunning, 'map', 1);
    await waitFor('map 1/3', () => statusOf(running)?.mapsDone === 1);
    // The operator stops first: `finished` ends with nobody left to write its status.
    await first.operator.close();
    runTasks(first.coordinator, jobFinished);
    expect(first.coordinator.getJob(jobFinished).phase).toBe('succeeded');
    await first.stop();
    expect(statusOf(finished)?.phase).toBe('Pending');
    // Deleted while no coordinator was watching.
    server.deleteCustomObject(plural, orphan, NS);

    const second = await startHarness();
    // Resumed from the journal by the coordinator (one launch each), not submitted again.
    expect(second.executor.launches.map((l) => l.spec.jobId).sort()).toEqual([jobOrphan, jobRunning].sort());
    await waitFor('the orphan cancelled', () => second.coordinator.getJob(jobOrphan).phase === 'cancelled');
    expect(fs.readFileSync(path.join(dataDir, 'jobs', jobOrphan, 'RESULT'), 'utf8')).toBe('CANCELLED\n');
    const reported = await waitPhase(finished, 'Succeeded');
    expect(reported).toMatchObject({ jobId: jobFinished, mapsDone: 1, mapsTotal: 1, results: [`jobs/${jobFinished}/output/mr-out-0`] });
    // Listed from its RESULT for history, but never run again.
    expect(second.coordinator.getJob(jobFinished).phase).toBe('succeeded');
    runTasks(second.coordinator, jobRunning);
    const done = await waitPhase(running, 'Succeeded');
    expect(done).toMatchObject({ jobId: jobRunning, mapsDone: 3, reducesDone: 1 });
    // Two resumed jobs and one listed from history.
    expect(second.coordinator.listJobs()).toHaveLength(3);
    expectValidStatuses();
  });

  it('runs only resources matching its label selector', async () => {
    const h = await startHarness({ labelSelector: 'team=search' });
    const mine = newName('mine');
    const other = newName('other');
    await createResource(other, { app: 'wordcount', inputs: ['inputs/small/a.txt'] }, { team: 'ads' });
    await createResource(mine, { app: 'wordcount', inputs: ['inputs/small/a.txt'] }, { team: 'search' });
    await waitPhase(mine, 'Pending');
    await new Promise((r) => setTimeout(r, 100));
    expect(statusOf(other)).toBeUndefined();
    expect(h.executor.launches).toHaveLength(1);
  });

  it('retries a status write the API server refused', async () => {
    await startHarness();
    const name = newName();
    server.nextStatusWriteStatus = 500;
    await createResource(name, { app: 'wordcount', inputs: ['inputs/small/a.txt'], reducers: 1 });
    await waitPhase(name, 'Pending');
    expect(server.requestsMatching('PATCH', new RegExp(`/mapreducejobs/${name}/status$`)).length).toBeGreaterThanOrEqual(2);
  });

  it('refuses to start when MapReduceJobs cannot be listed (no CRD), naming the cause', async () => {
    const coordinator = new Coordinator({ dataDir, executor: new RecordingExecutor() });
    await coordinator.start();
    cleanups.push(() => coordinator.close());
    const bare = await KubeApiServerSim.start();
    cleanups.push(() => bare.close());
    await expect(startOperator({ coordinator, kubeConfig: bare.kubeConfig(NS), namespace: NS })).rejects.toThrow(/Could not list MapReduceJobs in namespace kubemr .*HTTP 404/);
  });

  /** A coordinator with local worker processes from dist/, its gRPC server and the operator, stopped after the test. */
  async function startWithRealWorkers(): Promise<Coordinator> {
    const executor = new LocalExecutor({ command: [process.execPath, path.join(ROOT, 'dist', 'cmd', 'kubemr', 'main.js')] });
    const coordinator = new Coordinator({ dataDir, executor, tickMs: 50 });
    const { server: grpcServer, address } = await startCoordinatorServer(coordinator, '127.0.0.1:0');
    coordinator.advertise = address;
    await coordinator.start();
    const operator = await startOperator({ coordinator, kubeConfig: server.kubeConfig(NS), namespace: NS, statusIntervalMs: 100 });
    cleanups.push(async () => {
      await operator.close();
      await stopServer(grpcServer, 2000);
      await coordinator.close();
    });
    return coordinator;
  }

  it('runs a wordcount MapReduceJob end to end with real workers; the output equals the sequential run', async () => {
    assertBuilt();
    const books = path.join(dataDir, 'inputs', 'gutenberg');
    fs.mkdirSync(books, { recursive: true });
    for (const b of BOOKS) fs.copyFileSync(b, path.join(books, path.basename(b)));
    const coordinator = await startWithRealWorkers();
    const name = newName('gutenberg');
    const created = await createResource(name, { app: 'wordcount', inputs: ['inputs/gutenberg/pg-*.txt'], reducers: 4, workers: 3 });
    const status = await waitPhase(name, 'Succeeded', 120_000);
    const jobId = mapReduceJobId(name, created.metadata!.uid!);
    expect(status).toMatchObject({ jobId, mapsDone: 8, mapsTotal: 8, reducesDone: 4, reducesTotal: 4, progress: 'map 8/8 reduce 4/4' });
    expect(status.results).toHaveLength(4);
    for (const f of status.results!) expect(fs.existsSync(path.join(dataDir, f))).toBe(true);
    const inputs = BOOKS.map((b) => path.join('inputs', 'gutenberg', path.basename(b)));
    expect(sortedOutput(path.join(dataDir, 'jobs', jobId, 'output'))).toBe(sequentialOutput(dataDir, 'wordcount', inputs));
    expect(phasesOf(name)[0]).toBe('Pending');
    expect(phasesOf(name).at(-1)).toBe('Succeeded');
    expectValidStatuses();
  });

  it('runs a two-step MapReduceJob (count words, then the top 10) end to end; the output equals the sequential run of both steps', async () => {
    const words = path.join(dataDir, 'inputs', 'words');
    fs.mkdirSync(words, { recursive: true });
    const vocab = ['alpha', 'beta', 'gamma', 'delta', 'épée', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu', 'nu', 'xi'];
    for (let f = 0; f < 4; f++) {
      const text = Array.from({ length: 300 }, (_, i) => vocab.slice(0, 1 + ((i * 5 + f) % vocab.length)).join(' ')).join('\n');
      fs.writeFileSync(path.join(words, `w-${f}.txt`), text + '\n');
    }
    const coordinator = await startWithRealWorkers();
    const app = path.join(ROOT, 'test', 'apps', 'top-words.ts');
    const name = newName('top-words');
    const created = await createResource(name, { app, inputs: ['inputs/words/w-*.txt'], reducers: 2, workers: 2, steps: 2 });
    const status = await waitPhase(name, 'Succeeded', 120_000);
    const jobId = mapReduceJobId(name, created.metadata!.uid!);
    expect(status).toMatchObject({ jobId, progress: 'step 2/2 map 2/2 reduce 2/2' });
    // Each step ran as a job of its own; only the last step's output is kept.
    expect(coordinator.getJob(`${jobId}-s1`).phase).toBe('succeeded');
    expect(coordinator.getJob(`${jobId}-s2`).spec.inputs).toHaveLength(2);
    expect(fs.existsSync(path.join(dataDir, 'jobs', `${jobId}-s1`, 'output'))).toBe(false);
    const inputs = fs.readdirSync(words).sort().map((f) => path.join('inputs', 'words', f));
    expect(sortedOutput(path.join(dataDir, "jobs", jobId, "output"))).toBe(sequentialOutput(dataDir, app, inputs));
    expect(status.counters?.['map.inputRecords']).toBe(4 + 2);
    expectValidStatuses();
  });
});

describe('MapReduceJob spec: split size, memory, pack, worker resources and env', () => {
  /** The worker Job the Kubernetes executor would create for a launch. */
  const workerJob = (spec: LaunchSpec) =>
    buildWorkerJob({ spec, workers: 2, namespace: NS, incarnation: 'abc123', options: compileWorkerPodOptions({}) }) as unknown as KubeObject & {
      spec: { template: { spec: V1PodSpec } };
    };

  it('reaches the job and the worker pods: sizes as quantities, packing, requests and limits, env beside kubemr\'s own', async () => {
    const h = await startHarness();
    h.coordinator.advertise = 'kubemr-coordinator:7070';
    const name = newName('tuned');
    const created = await createResource(name, {
      app: 'wordcount',
      inputs: ['inputs/small/*.txt'],
      reducers: 1,
      splitSize: '1Mi',
      memory: '512Mi',
      pack: false,
      resources: { requests: { cpu: 2 }, limits: { memory: '3Gi', 'ephemeral-storage': '2Gi' } },
      env: [{ name: 'LANG', value: 'C.UTF-8' }, { name: 'NODE_OPTIONS', value: '--max-old-space-size=2048' }],
    });
    const jobId = mapReduceJobId(name, created.metadata!.uid!);
    // Packing is on by default; `pack: false` gives each small file a map task of its own.
    expect(await waitPhase(name, 'Pending')).toMatchObject({ mapsTotal: 3 });
    expect(h.coordinator.getJob(jobId).spec).toMatchObject({ splitBytes: 1024 * 1024, memoryBytes: 512 * 1024 * 1024, packSmallFiles: false });
    const launch = h.executor.launches[0]!.spec;
    expect(launch).toMatchObject({
      memoryBytes: 512 * 1024 * 1024,
      resources: { requests: { cpu: '2' }, limits: { memory: '3Gi', 'ephemeral-storage': '2Gi' } },
      env: [{ name: 'LANG', value: 'C.UTF-8' }, { name: 'NODE_OPTIONS', value: '--max-old-space-size=2048' }],
    });

    const job = workerJob(launch);
    await validateOfficial(job);
    expect(unknownFields(job, 'V1Job')).toEqual([]);
    const c = job.spec.template.spec.containers[0]!;
    // cpu: the job's request, the executor's limit raised to it; memory: the job's limit, the request from `memory`.
    expect(c.resources).toEqual({ requests: { cpu: '2', memory: '512Mi' }, limits: { cpu: '2', memory: '3Gi', 'ephemeral-storage': '2Gi' } });
    const env = c.env!.map((e) => e.name);
    expect(env.slice(0, 2)).toEqual(['LANG', 'NODE_OPTIONS']);
    expect(env).toEqual(expect.arrayContaining(['KUBEMR_COORDINATOR', 'KUBEMR_JOB', 'KUBEMR_WORKER_ID', 'KUBEMR_DATA']));
    expect(new Set(env).size).toBe(env.length);
    expectValidStatuses();
  });

  it('through the Kubernetes executor: the worker Job the API server stores carries the job\'s resources and env', async () => {
    const executor = new KubernetesExecutor({ kubeConfig: server.kubeConfig(NS), namespace: NS, watchRetryMs: 50, copyLogs: false });
    const coordinator = new Coordinator({ dataDir, executor, tickMs: 20 });
    coordinator.advertise = 'kubemr-coordinator:7070';
    await coordinator.start();
    const operator = await startOperator({ coordinator, kubeConfig: server.kubeConfig(NS), namespace: NS, statusIntervalMs: 50, watchRetryMs: 50 });
    cleanups.push(async () => {
      await operator.close();
      await coordinator.close();
      await executor.close();
    });
    const name = newName('pods');
    await createResource(name, {
      app: 'wordcount',
      inputs: ['inputs/small/*.txt'],
      reducers: 1,
      workers: 2,
      memory: '768Mi',
      resources: { requests: { cpu: '500m' }, limits: { cpu: 2 } },
      env: [{ name: 'LANG', value: 'C.UTF-8' }],
    });
    const job = await waitFor('the worker Job', () => [...server.jobs.values()].find((j) => j.metadata?.annotations?.['kubemr.io/job-id'] === statusOf(name)?.jobId));
    await validateOfficial(job as unknown as KubeObject);
    const c = job.spec!.template.spec!.containers[0]!;
    // 768Mi of buffer: request 768Mi, limit 2 x 768Mi + 512Mi = 2048Mi.
    expect(c.resources).toEqual({ requests: { cpu: '500m', memory: '768Mi' }, limits: { cpu: '2', memory: '2Gi' } });
    expect(c.env?.[0]).toEqual({ name: 'LANG', value: 'C.UTF-8' });
    expect(c.env?.filter((e) => e.name === 'LANG')).toHaveLength(1);
    expect(job.spec!.parallelism).toBe(2);
  });

  it('kubemr submit --memory sizes the worker pods of a job submitted over gRPC the same way', async () => {
    assertBuilt();
    const executor = new RecordingExecutor();
    const coordinator = new Coordinator({ dataDir, executor, tickMs: 20, token: 'submit-token' });
    const { server: grpcServer, address } = await startCoordinatorServer(coordinator, '127.0.0.1:0', { token: 'submit-token' });
    coordinator.advertise = 'kubemr-coordinator:7070';
    await coordinator.start();
    cleanups.push(async () => {
      await stopServer(grpcServer, 1000);
      await coordinator.close();
    });
    const input = path.join(dataDir, 'inputs', 'small', 'a.txt');
    // In the background: the coordinator answering it runs in this process.
    const r = await startKubemr(['submit', 'wordcount', input, '--memory', '1G', '--split-size', '8M', '--coordinator', address, '--token', 'submit-token'], { cwd: dataDir }).exited;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    await waitFor('the launch', () => executor.launches[0]);
    const launch = executor.launches[0]!.spec;
    expect(coordinator.getJob(launch.jobId).spec).toMatchObject({ memoryBytes: 1024 ** 3, splitBytes: 8 * 1024 ** 2 });
    expect(launch.memoryBytes).toBe(1024 ** 3);
    // The CLI's 1G is 1 GiB: request 1Gi, limit 2 x 1Gi + 512Mi.
    expect(workerJob(launch).spec.template.spec.containers[0]!.resources!.limits).toMatchObject({ memory: '2560Mi' });
    const bad = await startKubemr(['submit', 'wordcount', input, '--memory', 'lots', '--coordinator', address, '--token', 'submit-token'], { cwd: dataDir }).exited;
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Expected `--memory` to be a size such as 64M or 1G, got `lots`');
  });

  it('sizes the worker pods\' memory from `memory` when resources do not say: 256Mi/1Gi by default, more for a larger buffer', async () => {
    const h = await startHarness();
    h.coordinator.advertise = 'kubemr-coordinator:7070';
    const plain = newName('plain');
    const big = newName('big');
    const rp = await createResource(plain, { app: 'wordcount', inputs: ['inputs/small/a.txt'], reducers: 1 });
    const rb = await createResource(big, { app: 'wordcount', inputs: ['inputs/small/b.txt'], reducers: 1, memory: 1536 * 1024 * 1024 });
    await waitPhase(plain, 'Pending');
    await waitPhase(big, 'Pending');
    const launchOf = (r: CustomObject) => h.executor.launches.find((l) => l.spec.jobId === mapReduceJobId(r.metadata!.name!, r.metadata!.uid!))!.spec;
    const memory = (r: CustomObject) => workerJob(launchOf(r)).spec.template.spec.containers[0]!.resources!;
    expect(memory(rp)).toEqual({ requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } });
    // 1.5 GiB of buffer: request the buffer, limit twice it plus 512 MiB.
    expect(memory(rb)).toEqual({ requests: { cpu: '250m', memory: '1536Mi' }, limits: { cpu: '1', memory: '3584Mi' } });
    await validateOfficial(workerJob(launchOf(rb)));
  });

  it('refuses env overriding kubemr\'s own variables: the API server at create (the CRD\'s rule), the operator when no schema is applied', async () => {
    const h = await startHarness();
    for (const env of [[{ name: 'KUBEMR_TOKEN', value: 'x' }], [{ name: 'A', value: '1' }, { name: 'TMPDIR', value: '/' }]]) {
      const err = await createResource(newName('own'), { app: 'wordcount', inputs: ['inputs/small/a.txt'], env }).then(() => undefined, (e: unknown) => e as { code?: number; body?: unknown });
      expect(err?.code).toBe(422);
      expect(JSON.stringify(err?.body)).toContain("KUBEMR_* and TMPDIR are kubemr's own variables");
    }
    const cases: [unknown[], RegExp][] = [
      [[{ name: 'KUBEMR_TOKEN', value: 'x' }], /^`env\[0\]\.name` may not be `KUBEMR_TOKEN`: kubemr sets KUBEMR_\* and TMPDIR in every worker itself/],
      [[{ name: 'A', value: '1' }, { name: 'KUBEMR_COORDINATOR', value: 'evil:1' }], /^`env\[1\]\.name` may not be `KUBEMR_COORDINATOR`/],
    ];
    for (const [env, message] of cases) {
      const name = newName('own');
      server.addCustomObject(plural, { metadata: { name, namespace: NS }, spec: { app: 'wordcount', inputs: ['inputs/small/a.txt'], reducers: 1, env } }, { validate: false });
      expect((await waitPhase(name, 'Failed')).message).toMatch(message);
    }
    expect(h.executor.launches).toEqual([]);
  });

  const refused: [string, Record<string, unknown>, string | RegExp][] = [
    ['env naming a variable twice', { env: [{ name: 'A', value: '1' }, { name: 'A', value: '2' }] }, '`env[1].name` repeats `A`: each variable may be set once'],
    ['a memory limit the buffer does not fit in', { memory: '512Mi', resources: { limits: { memory: '512Mi' } } }, /^Expected `resources\.limits\.memory` \(512Mi\) to be larger than the job's `memory` \(512Mi, .*give at least 1536Mi/],
    ['a request above its limit', { resources: { requests: { cpu: '3' }, limits: { cpu: '2' } } }, 'Expected `resources.requests.cpu` (3) to be at most `resources.limits.cpu` (2)'],
  ];
  it.each(refused)('fails a resource with %s, with a message naming the field, and launches nothing', async (_what, extra, message) => {
    const h = await startHarness();
    const name = newName('refused');
    await createResource(name, { app: 'wordcount', inputs: ['inputs/small/a.txt'], reducers: 1, ...extra });
    expect((await waitPhase(name, 'Failed')).message).toMatch(message);
    expect(h.executor.launches).toEqual([]);
    expect(h.coordinator.listJobs()).toEqual([]);
  });

  it('checks the fields itself when the CRD\'s schema was not applied', async () => {
    const h = await startHarness();
    const cases: [Record<string, unknown>, string][] = [
      [{ memory: 'lots' }, 'Expected `memory` to be a size such as 512Mi (a Kubernetes quantity) or a number of bytes, got `"lots"`'],
      [{ memory: '1Ki' }, 'Expected `memory` to be at least 1Mi, got `"1Ki"`'],
      [{ splitSize: true }, 'Expected `splitSize` to be a size such as 16Mi (a Kubernetes quantity) or a number of bytes, got `true`'],
      [{ pack: 'yes' }, 'Expected `pack` to be true or false, got `"yes"`'],
      [{ resources: { requests: { gpu: '1' } } }, 'Expected `resources.requests` to be an object of only cpu, memory and ephemeral-storage, got `"gpu"`'],
      [{ resources: { limits: { memory: 'a lot' } } }, 'Expected `resources.limits.memory` to be a Kubernetes quantity such as 500m, 2 or 1Gi, got `"a lot"`'],
      [{ env: { LANG: 'C' } }, 'Expected `env` to be a list of { name, value }, got `{"LANG":"C"}`'],
      [{ env: [{ name: '1X', value: '' }] }, 'Expected `env[0].name` to be a variable name (letters, digits, `_`, `-`, `.`, not starting with a digit), got `"1X"`'],
      [{ env: [{ name: 'X', value: 1 }] }, 'Expected `env[0].value` to be a string, got `1`'],
    ];
    const names = cases.map(([extra]) => {
      const name = newName('unchecked');
      server.addCustomObject(plural, { metadata: { name, namespace: NS }, spec: { app: 'wordcount', inputs: ['inputs/small/a.txt'], reducers: 1, ...extra } }, { validate: false });
      return name;
    });
    for (const [i, name] of names.entries()) expect((await waitPhase(name, 'Failed')).message).toBe(cases[i]![1]);
    expect(h.executor.launches).toEqual([]);
  });
});
