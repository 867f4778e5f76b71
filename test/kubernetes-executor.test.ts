/**
 * The KubernetesExecutor driven through the real @kubernetes/client-node against the API server
 * simulation (test/support/kube-apiserver-sim.ts) — no cluster needed. Every request is
 * authorized against the Role rendered from k8s/, every Job the executor creates is validated
 * against the official schema (422 otherwise), and the simulation's Job controller makes the pods.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { V1ContainerStatus, V1Job, V1Pod } from '@kubernetes/client-node';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubernetesExecutor, type KubernetesExecutorOptions } from '../lib/executor/kubernetes.js';
import { ANNOTATION_JOB_ID, LABEL_JOB, LABEL_MANAGED_BY } from '../lib/executor/kubernetes-objects.js';
import { workerCredential } from '../lib/protocol/credentials.js';
import type { LaunchSpec } from '../lib/executor/types.js';
import { KubeApiServerSim } from './support/kube-apiserver-sim.js';
import { waitFor } from './support/wait.js';

let server: KubeApiServerSim;
let dataDir: string;
let executors: KubernetesExecutor[];
let seq = 0;

beforeEach(async () => {
  server = await KubeApiServerSim.start();
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'kubemr-k8s-exec-'));
  executors = [];
});

afterEach(async () => {
  await Promise.all(executors.map((e) => e.close()));
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
});

function makeExecutor(options: Partial<KubernetesExecutorOptions> = {}): KubernetesExecutor {
  const e = new KubernetesExecutor({ kubeConfig: server.kubeConfig('kubemr'), watchRetryMs: 50, ...options });
  executors.push(e);
  return e;
}

/** A job id of its own for every test. */
const newJobId = (prefix = 'job') => `${prefix}-${process.pid}-${++seq}`;

const spec = (jobId: string, over: Partial<LaunchSpec> = {}): LaunchSpec => ({
  jobId,
  app: 'wordcount',
  coordinator: 'kubemr-coordinator:7070',
  dataDir,
  ...over,
});

interface Death {
  worker: string;
  job: string;
  reason: string;
  at: number;
}
function recordDeaths(e: KubernetesExecutor): Death[] {
  const deaths: Death[] = [];
  e.onWorkerDeath((worker, job, reason) => deaths.push({ worker, job, reason, at: Date.now() }));
  return deaths;
}


const workerStatus = (state: V1ContainerStatus['state']): V1ContainerStatus => ({
  name: 'worker',
  image: 'kubemr:dev',
  imageID: 'docker://sha256:0',
  ready: false,
  restartCount: 0,
  state,
});

const running = (pod: V1Pod) => {
  pod.status = { phase: 'Running', startTime: new Date(), containerStatuses: [workerStatus({ running: { startedAt: new Date() } })] };
  pod.spec = { ...pod.spec!, nodeName: 'minikube' };
};
const terminated = (exitCode: number, reason: string) => (pod: V1Pod) => {
  pod.status = {
    phase: exitCode === 0 ? 'Succeeded' : 'Failed',
    startTime: pod.status?.startTime ?? new Date(),
    containerStatuses: [workerStatus({ terminated: { exitCode, reason, finishedAt: new Date() } })],
  };
};
// As the kubelet evicts under node pressure: a DisruptionTarget condition, which the Job's pod
// failure policy ignores.
const evicted = (pod: V1Pod) => {
  pod.status = {
    phase: 'Failed',
    reason: 'Evicted',
    message: 'The node was low on resource: memory.',
    conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'TerminationByKubelet', message: 'The node was low on resource: memory.', lastTransitionTime: new Date() }],
  };
};

async function launched(e: KubernetesExecutor, jobId: string, n = 2): Promise<V1Pod[]> {
  await e.launch(spec(jobId), n);
  return waitFor(`${n} pods of ${jobId}`, () => {
    const pods = server.podsOfJob(e.jobName(jobId));
    return pods.length === n ? pods : undefined;
  });
}

describe('KubernetesExecutor: launch', () => {
  it('creates one valid batch/v1 Job per job with the worker pod contract', async () => {
    // The owner exists: the garbage collector would delete a Job whose owner does not.
    server.addPod({ metadata: { name: 'kubemr-coordinator-abc', uid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427' }, spec: { containers: [{ name: 'coordinator', image: 'kubemr:dev' }] } });
    const e = makeExecutor({
      ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'kubemr-coordinator-abc', uid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427' }],
    });
    const jobId = newJobId();
    const credential = workerCredential('the-coordinator-token', jobId);
    await e.launch(spec(jobId, { token: credential }), 3);

    const posts = server.requestsMatching('POST', /^\/apis\/batch\/v1\/namespaces\/kubemr\/jobs$/);
    expect(posts).toHaveLength(1);
    const job = posts[0]!.body as V1Job;
    expect(() => new Job(job as ConstructorParameters<typeof Job>[0]).validate()).not.toThrow();

    expect(job.metadata?.name).toBe(e.jobName(jobId));
    expect(job.metadata?.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(job.metadata?.labels?.[LABEL_MANAGED_BY]).toBe('kubemr');
    expect(job.metadata?.labels?.[LABEL_JOB]).toBe(jobId);
    expect(job.metadata?.ownerReferences?.[0]?.name).toBe('kubemr-coordinator-abc');
    expect(job.spec?.parallelism).toBe(3);
    expect(job.spec?.completions).toBeUndefined();
    expect(job.spec?.backoffLimit).toBe(4);
    expect(job.spec?.ttlSecondsAfterFinished).toBe(600);

    const pod = job.spec!.template.spec!;
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(pod.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
    const c = pod.containers[0]!;
    expect(c.image).toBe('kubemr:dev');
    expect(c.command).toEqual(['node', 'dist/cmd/kubemr/main.js', 'worker', 'wordcount']);
    expect(c.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.resources?.requests).toBeDefined();
    expect(c.resources?.limits).toBeDefined();
    const env = Object.fromEntries((c.env ?? []).map((v) => [v.name, v]));
    expect(env.KUBEMR_COORDINATOR?.value).toBe('kubemr-coordinator:7070');
    expect(env.KUBEMR_JOB?.value).toBe(jobId);
    expect(env.KUBEMR_DATA?.value).toBe(dataDir);
    // A worker pod keeps asking an absent coordinator instead of exiting 0 (which would complete the Job).
    expect(env.KUBEMR_GIVE_UP_MS?.value).toBe('never');
    expect(env.KUBEMR_WORKER_ID?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    // The job's own worker credential, which can run this job's tasks only; never the token.
    expect(env.KUBEMR_TOKEN?.value).toBe(credential);
    expect(JSON.stringify(job)).not.toContain('the-coordinator-token');
    expect(c.volumeMounts).toContainEqual({ name: 'data', mountPath: dataDir });
    expect(pod.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'kubemr-data' } });
    await waitFor('the Job controller to create 3 pods', () => server.podsOfJob(e.jobName(jobId)).length === 3);
  });

  it('runs streaming jobs with `worker --streaming`', async () => {
    const e = makeExecutor();
    const jobId = newJobId('stream');
    await e.launch(spec(jobId, { app: '', image: 'my/python-streaming:1' }), 1);
    const job = server.jobs.get(`kubemr/${e.jobName(jobId)}`)!;
    const c = job.spec!.template.spec!.containers[0]!;
    expect(c.command).toEqual(['node', 'dist/cmd/kubemr/main.js', 'worker', '--streaming']);
    expect(c.image).toBe('my/python-streaming:1');
  });

  it('is idempotent: a second launch gets 409 and means "already there"', async () => {
    const e = makeExecutor();
    const jobId = newJobId();
    await e.launch(spec(jobId), 2);
    await expect(e.launch(spec(jobId), 2)).resolves.toBeUndefined();
    expect(server.requestsMatching('POST', /\/jobs$/)).toHaveLength(2);
    expect(server.jobs.size).toBe(1);
    await waitFor('2 pods', () => server.podsOfJob(e.jobName(jobId)).length === 2);
    await new Promise((r) => setTimeout(r, 50));
    expect(server.podsOfJob(e.jobName(jobId))).toHaveLength(2);
  });

  it('a restarted coordinator (new incarnation) never collides with the old Jobs', async () => {
    const jobId = newJobId();
    const before = makeExecutor();
    const after = makeExecutor();
    expect(before.incarnation).not.toBe(after.incarnation);
    await before.launch(spec(jobId), 1);
    await after.launch(spec(jobId), 1);
    expect(server.jobs.size).toBe(2);
    expect(before.jobName(jobId)).not.toBe(after.jobName(jobId));
  });

  it('gives long and odd job ids DNS-1123 names of at most 63 characters', async () => {
    const e = makeExecutor();
    const jobId = `Word_Count/${'x'.repeat(100)}.run#1`;
    await e.launch(spec(jobId), 1);
    const name = e.jobName(jobId);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    const job = server.jobs.get(`kubemr/${name}`)!;
    expect(job.metadata?.annotations?.[ANNOTATION_JOB_ID]).toBe(jobId);
    expect(job.metadata?.labels?.[LABEL_JOB]?.length).toBeLessThanOrEqual(63);
  });

  it('surfaces other API errors as KubernetesError with the server message', async () => {
    const bad = makeExecutor({ kubeConfig: server.kubeConfig('kubemr', 'wrong-token') });
    await expect(bad.launch(spec(newJobId()), 1)).rejects.toThrow(/Could not create Job kubemr\/mr-.*HTTP 401: Unauthorized/);
  });

  it('takes the namespace from the kubeconfig context unless told', () => {
    expect(new KubernetesExecutor({ kubeConfig: server.kubeConfig('team-a') }).namespace).toBe('team-a');
    expect(new KubernetesExecutor({ kubeConfig: server.kubeConfig('team-a'), namespace: 'kubemr' }).namespace).toBe('kubemr');
  });

  it('validates options and launch specs with messages naming field and value', () => {
    const kubeConfig = server.kubeConfig();
    expect(() => new KubernetesExecutor({ kubeConfig, backoffLimit: -1 })).toThrow('Expected `backoffLimit` to be an integer in 0..1000, got `-1`');
    expect(() => new KubernetesExecutor({ kubeConfig, resources: { limits: { memory: 'lots' } } })).toThrow(
      'Expected `resources.limits.memory` to be a Kubernetes quantity like 500m or 1Gi, got `"lots"`',
    );
    expect(() => new KubernetesExecutor({ kubeConfig, namespace: 'Bad_NS' })).toThrow('Expected `namespace` to be a DNS-1123 name, got `"Bad_NS"`');
    expect(() => new KubernetesExecutor({ kubeConfig, pvcName: 'x'.repeat(64) })).toThrow(/`pvcName`/);
    expect(() => new KubernetesExecutor({ kubeConfig, ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'p', uid: '' }] })).toThrow(
      'Expected `ownerReferences[0].uid` to be a non-empty string, got `""`',
    );
    const e = makeExecutor();
    return Promise.all([
      expect(e.launch(spec('j', { coordinator: 'nohost' }), 1)).rejects.toThrow('Expected `coordinator` to be a host:port address, got `"nohost"`'),
      expect(e.launch(spec('j', { dataDir: 'relative' }), 1)).rejects.toThrow(/`dataDir`.*"relative"/),
      expect(e.launch(spec('j'), 0)).rejects.toThrow('Expected `workers` to be an integer in 1..1000, got `0`'),
      // The coordinator's own token is refused: only a job's worker credential goes into a pod spec.
      expect(e.launch(spec('j', { token: 'the-coordinator-token' }), 1)).rejects.toThrow(/`token`.*worker credential/),
    ]);
  });
});

describe('KubernetesExecutor: watching worker pods', () => {
  it('reports an OOM-killed pod at once, with reason OOMKilled, exactly once', async () => {
    const e = makeExecutor();
    const deaths = recordDeaths(e);
    const jobId = newJobId();
    const [a] = await launched(e, jobId, 2);
    const name = a!.metadata!.name!;
    server.updatePod(name, running);
    const t0 = Date.now();
    server.updatePod(name, terminated(137, 'OOMKilled'));
    const d = await waitFor('death report', () => deaths[0]);
    expect(d).toMatchObject({ worker: name, job: jobId, reason: 'OOMKilled' });
    // At once, not after a lease or a resync: well under the 10 s lease even on a loaded machine.
    expect(d.at - t0).toBeLessThan(5000);
    // Later updates of the same dead pod are not news.
    server.updatePod(name, (p) => (p.metadata!.annotations = { ...p.metadata!.annotations, touched: 'yes' }));
    await new Promise((r) => setTimeout(r, 100));
    expect(deaths).toHaveLength(1);
  });

  it('reports failed and evicted pods with their reasons', async () => {
    const e = makeExecutor();
    const deaths = recordDeaths(e);
    const jobId = newJobId();
    const [a, b] = await launched(e, jobId, 2);
    server.updatePod(a!.metadata!.name!, running);
    server.updatePod(a!.metadata!.name!, terminated(137, 'Error'));
    server.updatePod(b!.metadata!.name!, evicted);
    await waitFor('two deaths', () => deaths.length === 2);
    const byWorker = Object.fromEntries(deaths.map((d) => [d.worker, d.reason]));
    expect(byWorker[a!.metadata!.name!]).toBe('Error exit 137');
    expect(byWorker[b!.metadata!.name!]).toBe('Evicted: The node was low on resource: memory.');
  });

  it('past backoffLimit failed pods (evictions aside), reports the job\'s workers exhausted', async () => {
    const e = makeExecutor({ backoffLimit: 1 });
    const exhausted: Array<[string, string]> = [];
    e.onWorkersExhausted((job, reason) => exhausted.push([job, reason]));
    const jobId = newJobId();
    const [a, b, c] = await launched(e, jobId, 3);
    server.updatePod(a!.metadata!.name!, evicted);
    server.updatePod(b!.metadata!.name!, terminated(1, 'Error'));
    await new Promise((r) => setTimeout(r, 150));
    expect(exhausted).toEqual([]);
    server.updatePod(c!.metadata!.name!, terminated(3, 'Error'));
    await waitFor('exhausted', () => exhausted.length === 1);
    expect(exhausted[0]![0]).toBe(jobId);
    expect(exhausted[0]![1]).toMatch(/reached backoffLimit 1: 2 pods failed, the last with Error exit 3/);
  });

  it('does not report a worker that exited 0; reports one deleted while running', async () => {
    const e = makeExecutor();
    const deaths = recordDeaths(e);
    const jobId = newJobId();
    const [a, b] = await launched(e, jobId, 2);
    server.updatePod(a!.metadata!.name!, running);
    server.updatePod(a!.metadata!.name!, terminated(0, 'Completed'));
    server.updatePod(b!.metadata!.name!, running);
    server.deletePod(b!.metadata!.name!);
    const d = await waitFor('death of the deleted pod', () => deaths[0]);
    expect(d).toMatchObject({ worker: b!.metadata!.name!, reason: 'Deleted' });
    await new Promise((r) => setTimeout(r, 100));
    expect(deaths).toHaveLength(1);
  });

  it.each(['event', 'http'] as const)('relists after 410 Gone (%s) and still reports deaths, including ones in the gap', async (mode) => {
    const e = makeExecutor();
    const deaths = recordDeaths(e);
    const jobId = newJobId();
    const [a, b] = await launched(e, jobId, 2);
    await waitFor('a pod watch', () => server.watchesOf('pods') === 1);
    const listsBefore = server.requestsMatching('GET', /\/pods$/).filter((r) => r.query.watch === undefined).length;

    server.expireWatches(mode);
    // A pod dies while no watch is open: the relist must catch it.
    server.updatePod(a!.metadata!.name!, terminated(1, 'Error'));
    await waitFor('relist', () => server.requestsMatching('GET', /\/pods$/).filter((r) => r.query.watch === undefined).length > listsBefore);
    await waitFor('a new watch', () => server.watchesOf('pods') === 1);
    if (mode === 'http') {
      const gone = server.requestsMatching('GET', /\/pods$/).filter((r) => r.query.watch === 'true');
      expect(gone.length).toBeGreaterThanOrEqual(3); // first, the one answered 410, the one after the relist
    }
    await waitFor('death found by relist', () => deaths.find((d) => d.worker === a!.metadata!.name!));

    server.updatePod(b!.metadata!.name!, terminated(137, 'OOMKilled'));
    const d = await waitFor('death after relist', () => deaths.find((x) => x.worker === b!.metadata!.name!));
    expect(d.reason).toBe('OOMKilled');
    expect(deaths).toHaveLength(2);
  });

  it('re-establishes a watch that drops without a word', async () => {
    const e = makeExecutor();
    const deaths = recordDeaths(e);
    const [a] = await launched(e, newJobId(), 1);
    await waitFor('a pod watch', () => server.watchesOf('pods') === 1);
    server.dropWatches();
    await waitFor('the watch back', () => server.watchesOf('pods') === 1);
    server.updatePod(a!.metadata!.name!, terminated(2, 'Error'));
    expect((await waitFor('death', () => deaths[0])).reason).toBe('Error exit 2');
  });

  it('lists its workers with their states', async () => {
    const e = makeExecutor();
    const jobId = newJobId();
    const other = newJobId('other');
    const [a, b] = await launched(e, jobId, 2);
    await launched(e, other, 1);
    server.updatePod(a!.metadata!.name!, running);
    server.updatePod(b!.metadata!.name!, terminated(137, 'OOMKilled'));
    // The Job controller replaces the failed pod.
    const workers = await waitFor('states', async () => {
      const list = await e.list(jobId);
      return list.some((w) => w.state === 'running') && list.some((w) => w.state === 'failed') && list.length === 3 ? list : undefined;
    });
    const byId = Object.fromEntries(workers.map((w) => [w.id, w]));
    expect(byId[a!.metadata!.name!]).toMatchObject({ jobId, state: 'running', where: 'minikube' });
    expect(byId[b!.metadata!.name!]).toMatchObject({ jobId, state: 'failed', reason: 'OOMKilled' });
    expect(workers.filter((w) => w.id !== a!.metadata!.name! && w.id !== b!.metadata!.name!)).toEqual([expect.objectContaining({ jobId, state: 'starting' })]);
    expect(await e.list()).toHaveLength(4);
    expect((await e.list(other))[0]).toMatchObject({ jobId: other, state: 'starting' });
  });
});

describe('KubernetesExecutor: workers that cannot start', () => {
  interface Stuck {
    job: string;
    problem: string | undefined;
    at: number;
  }
  function recordStuck(e: KubernetesExecutor): { stuck: Stuck[]; exhausted: { job: string; reason: string; cause: string | undefined; at: number }[] } {
    const stuck: Stuck[] = [];
    const exhausted: { job: string; reason: string; cause: string | undefined; at: number }[] = [];
    e.onWorkersStuck((job, problem) => stuck.push({ job, problem, at: Date.now() }));
    e.onWorkersExhausted((job, reason, cause) => exhausted.push({ job, reason, cause, at: Date.now() }));
    return { stuck, exhausted };
  }

  const cases: [string, () => void, Partial<LaunchSpec>, RegExp][] = [
    ['an image that cannot be pulled', () => (server.images = new Set(['kubemr:dev'])), { image: 'registry.example.com/nope:1' }, /^pod mr-[-a-z0-9]+: (ErrImagePull|ImagePullBackOff): .*registry\.example\.com\/nope:1/],
    [
      'a ServiceAccount that does not exist',
      () => undefined,
      {},
      /^Job mr-[-a-z0-9]+: FailedCreate: Error creating: pods "mr-[-a-z0-9]+" is forbidden: error looking up service account kubemr\/kubemr-worker: serviceaccount "kubemr-worker" not found$/,
    ],
    ['no node with room', () => server.setAllocatable({ memory: '100Mi' }), {}, /^pod mr-[-a-z0-9]+: Unschedulable: 0\/1 nodes are available: 1 Insufficient memory\./],
    ['pods the Job controller may not create', () => (server.podQuota = { name: 'kubemr-quota', pods: 0 }), {}, /^Job mr-[-a-z0-9]+: FailedCreate: Error creating: pods "mr-[-a-z0-9]+" is forbidden: exceeded quota: kubemr-quota/],
  ];

  it.each(cases)('%s: the reason at once, the job given up at the start deadline', async (name, setup, over, reason) => {
    setup();
    const e = makeExecutor({ workerStartTimeoutMs: 1500, ...(name.includes('ServiceAccount') ? { serviceAccountName: 'kubemr-worker' } : {}) });
    const { stuck, exhausted } = recordStuck(e);
    const jobId = newJobId('stuck');
    const t0 = Date.now();
    await e.launch(spec(jobId, over), 2);
    const first = await waitFor('the stuck report', () => stuck[0]);
    expect(first.job).toBe(jobId);
    expect(first.problem).toMatch(reason);
    const gaveUp = await waitFor('the start deadline', () => exhausted[0]);
    // The reason came at once, well before the deadline gave the job up.
    expect(first.at).toBeLessThan(gaveUp.at);
    expect(gaveUp.at - t0).toBeGreaterThanOrEqual(1500);
    expect(gaveUp).toMatchObject({ job: jobId, cause: 'start-timeout' });
    expect(gaveUp.reason).toMatch(/^no worker pod of Job mr-[-a-z0-9]+ was running 2 s after it was needed \(the worker start timeout\): /);
    expect(gaveUp.reason.slice(gaveUp.reason.indexOf('timeout): ') + 'timeout): '.length)).toMatch(reason);
    expect(exhausted).toHaveLength(1);
  });

  it('a container config error (the kubelet says so), then a worker that runs after all: the report cleared, no deadline', async () => {
    const e = makeExecutor({ workerStartTimeoutMs: 1500 });
    const { stuck, exhausted } = recordStuck(e);
    const jobId = newJobId('late');
    const [pod] = await launched(e, jobId, 1);
    const name = pod!.metadata!.name!;
    server.updatePod(name, (p) => {
      p.status = { phase: 'Pending', containerStatuses: [workerStatus({ waiting: { reason: 'CreateContainerConfigError', message: 'secret "app-credentials" not found' } })] };
    });
    const first = await waitFor('the stuck report', () => stuck[0]);
    expect(first).toMatchObject({ job: jobId, problem: `pod ${name}: CreateContainerConfigError: secret "app-credentials" not found` });
    server.updatePod(name, running);
    await waitFor('the report cleared', () => stuck.at(-1)?.problem === undefined && stuck.length === 2);
    await new Promise((r) => setTimeout(r, 2000));
    expect(exhausted).toEqual([]);
    expect((await e.list(jobId))[0]).toMatchObject({ state: 'running' });
  });

  it('some workers stuck while others run: reported, but no deadline', async () => {
    const e = makeExecutor({ workerStartTimeoutMs: 1000 });
    const { stuck, exhausted } = recordStuck(e);
    const jobId = newJobId('partial');
    const [a, b] = await launched(e, jobId, 2);
    server.updatePod(a!.metadata!.name!, running);
    server.updatePod(b!.metadata!.name!, (p) => {
      p.status = { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient cpu.' }] };
    });
    const r = await waitFor('the stuck report', () => stuck[0]);
    expect(r.problem).toBe(`pod ${b!.metadata!.name}: Unschedulable: 0/1 nodes are available: 1 Insufficient cpu.`);
    await new Promise((res) => setTimeout(res, 1500));
    expect(exhausted).toEqual([]);
    server.updatePod(b!.metadata!.name!, running);
    await waitFor('cleared', () => stuck.length === 2 && stuck[1]!.problem === undefined);
  });

  it('lists a stuck worker with the reason', async () => {
    server.images = new Set(['kubemr:dev']);
    const e = makeExecutor();
    const jobId = newJobId('list');
    await e.launch(spec(jobId, { image: 'nope:2' }), 1);
    const w = await waitFor('a stuck worker', async () => (await e.list(jobId)).find((x) => x.reason !== undefined));
    expect(w).toMatchObject({ state: 'starting' });
    expect(w.reason).toMatch(/^pod mr-[-a-z0-9]+: (ErrImagePull|ImagePullBackOff): /);
  });
});

describe('KubernetesExecutor: logs', () => {
  it("copies an ended pod's log to the shared volume (temp name, then rename)", async () => {
    const e = makeExecutor();
    const jobId = newJobId();
    const [a, b] = await launched(e, jobId, 2);
    const [na, nb] = [a!.metadata!.name!, b!.metadata!.name!];
    server.updatePod(na, running);
    server.updatePod(nb, running);
    server.appendLog(na, 'map-0 done\n');
    server.appendLog(nb, 'map-1 started\nout of memory\n');
    server.updatePod(na, terminated(0, 'Completed'));
    server.updatePod(nb, terminated(137, 'OOMKilled'));
    const logs = path.join(dataDir, 'jobs', jobId, 'logs');
    // Temp files may show up while a copy is written; wait for the two final names.
    await waitFor('two saved logs', async () => (await readdir(logs).catch(() => [])).filter((f) => f.startsWith('pod-')).length === 2);
    expect((await readdir(logs)).sort()).toEqual([`pod-${na}.log`, `pod-${nb}.log`].sort());
    expect(await readFile(path.join(logs, `pod-${nb}.log`), 'utf8')).toBe('map-1 started\nout of memory\n');
    // Once the pod is gone, logs() answers from the saved copy.
    server.deletePod(nb);
    const chunks: string[] = [];
    for await (const c of await e.logs(nb)) chunks.push(c);
    expect(chunks.join('')).toBe('map-1 started\nout of memory\n');
  });

  it('reads a live log, and follows one until the worker ends', async () => {
    const e = makeExecutor();
    const [a] = await launched(e, newJobId(), 1);
    const name = a!.metadata!.name!;
    server.updatePod(name, running);
    server.appendLog(name, 'line 1\n');
    const now: string[] = [];
    for await (const c of await e.logs(name)) now.push(c);
    expect(now.join('')).toBe('line 1\n');

    const followed: string[] = [];
    const done = (async () => {
      for await (const c of await e.logs(name, { follow: true })) followed.push(c);
    })();
    await waitFor('first chunk', () => followed.join('').includes('line 1'));
    server.appendLog(name, 'line 2\n');
    await waitFor('second chunk', () => followed.join('').includes('line 2'));
    server.updatePod(name, terminated(0, 'Completed'));
    await done;
    expect(followed.join('')).toBe('line 1\nline 2\n');
  });

  it('waits for a pending pod to start before following its log', async () => {
    const e = makeExecutor();
    const [a] = await launched(e, newJobId(), 1);
    const name = a!.metadata!.name!;
    await waitFor('synced', async () => (await e.list()).length === 1);
    const followed: string[] = [];
    const done = (async () => {
      for await (const c of await e.logs(name, { follow: true })) followed.push(c);
    })();
    await new Promise((r) => setTimeout(r, 50));
    server.appendLog(name, 'hello\n');
    server.updatePod(name, running);
    await waitFor('log after start', () => followed.join('') === 'hello\n');
    server.updatePod(name, terminated(0, 'Completed'));
    await done;
  });

  it('a worker that never existed is an error', async () => {
    const e = makeExecutor();
    await expect(e.logs('mr-nope-000000-aaaa-xxxxx')).rejects.toThrow(/No worker pod kubemr\/mr-nope/);
  });
});

describe('KubernetesExecutor: stop', () => {
  it('deletes the Jobs of the job (Background propagation, by label) and reports no deaths', async () => {
    const e = makeExecutor();
    const deaths = recordDeaths(e);
    const jobId = newJobId();
    const keep = newJobId('keep');
    const pods = await launched(e, jobId, 2);
    await launched(e, keep, 1);
    // A second coordinator incarnation's Job for the same job is deleted too.
    const older = makeExecutor();
    await older.launch(spec(jobId), 1);
    for (const p of pods) server.updatePod(p.metadata!.name!, running);
    server.appendLog(pods[0]!.metadata!.name!, 'working\n');

    await e.stop(jobId);

    const deletes = server.requestsMatching('DELETE', /\/jobs\//);
    expect(deletes).toHaveLength(2);
    for (const d of deletes) expect(d.query.propagationPolicy).toBe('Background');
    const lists = server.requestsMatching('GET', /\/jobs$/);
    expect(lists.at(-1)!.query.labelSelector).toContain(`kubemr.io/job=${jobId}`);
    expect([...server.jobs.values()].map((j) => j.metadata?.annotations?.['kubemr.io/job-id'])).toEqual([keep]);
    await waitFor('pods gone', () => server.podsOfJob(e.jobName(jobId)).length === 0);
    await new Promise((r) => setTimeout(r, 100));
    expect(deaths).toEqual([]);
    // The running pods' logs were saved before they went away.
    const saved = await readdir(path.join(dataDir, 'jobs', jobId, 'logs'));
    expect(saved).toContain(`pod-${pods[0]!.metadata!.name!}.log`);
  });

  it('treats 404 on delete and an unknown job as already stopped', async () => {
    const e = makeExecutor();
    const jobId = newJobId();
    await launched(e, jobId, 1);
    server.nextJobDeleteStatus = 404;
    await expect(e.stop(jobId)).resolves.toBeUndefined();
    await expect(e.stop(newJobId('never'))).resolves.toBeUndefined();
    server.nextJobDeleteStatus = 500;
    await expect(e.stop(jobId)).rejects.toThrow(/Could not delete Job kubemr\/mr-.*HTTP 500/);
  });

  it('a launch after stop makes the job live again', async () => {
    const e = makeExecutor();
    const deaths = recordDeaths(e);
    const jobId = newJobId();
    await launched(e, jobId, 1);
    await e.stop(jobId);
    await waitFor('pods gone', () => server.podsOfJob(e.jobName(jobId)).length === 0);
    const [p] = await launched(e, jobId, 1);
    server.updatePod(p!.metadata!.name!, terminated(1, 'Error'));
    expect((await waitFor('death', () => deaths[0])).reason).toBe('Error exit 1');
  });

  it('close() ends watches and follows; the executor then refuses work', async () => {
    const e = makeExecutor();
    const [a] = await launched(e, newJobId(), 1);
    server.updatePod(a!.metadata!.name!, running);
    const it = await e.logs(a!.metadata!.name!, { follow: true });
    const drained = (async () => {
      for await (const _ of it) void _;
    })();
    await waitFor('a pod watch', () => server.watchesOf('pods') === 1);
    await e.close();
    await drained;
    await waitFor('watch closed', () => server.watchesOf('pods') === 0);
    await expect(e.launch(spec(newJobId()), 1)).rejects.toThrow(/closed/);
  });
});
