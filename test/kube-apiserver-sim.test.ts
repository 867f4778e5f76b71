/**
 * The API server simulation behaves as a cluster does where kubemr relies on it, checked through
 * the real @kubernetes/client-node: RBAC and its 403, selectors, defaulting, graceful deletion,
 * garbage collection, the Job controller, the scheduler and the kubelet.
 */
import { ApiException, BatchV1Api, CoreV1Api, Watch, type V1Job, type V1Pod } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeApiServerSim } from './support/kube-apiserver-sim.js';
import { waitFor } from './support/wait.js';

let sim: KubeApiServerSim;
beforeEach(async () => {
  sim = await KubeApiServerSim.start();
});
afterEach(async () => {
  await sim.close();
});

const NS = 'kubemr';
const admin = () => ({ batch: sim.adminKubeConfig(NS).makeApiClient(BatchV1Api), core: sim.adminKubeConfig(NS).makeApiClient(CoreV1Api) });
const body = (err: unknown) => JSON.parse(String((err as ApiException<string>).body)) as { code: number; reason: string; message: string; details?: unknown };

function job(name: string, over: Partial<V1Job['spec']> = {}, image = 'busybox:1.36'): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      parallelism: 2,
      backoffLimit: 1,
      template: { metadata: { labels: { app: name } }, spec: { restartPolicy: 'Never', containers: [{ name: 'main', image, command: ['true'] }] } },
      ...over,
    },
  };
}

const failPod = (exitCode: number) => (p: V1Pod) => {
  p.status = { phase: exitCode === 0 ? 'Succeeded' : 'Failed', containerStatuses: [{ name: 'main', image: 'x', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode } } }] };
};
const livePods = (name: string) => sim.podsOfJob(name).filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded');
const condition = (name: string, type: string) => sim.jobs.get(`${NS}/${name}`)?.status?.conditions?.find((c) => c.type === type && c.status === 'True');

describe('authorization (RBAC from k8s/)', () => {
  it('allows what the coordinator Role grants and answers the rest 403 in the real Status shape', async () => {
    const core = sim.kubeConfig(NS).makeApiClient(CoreV1Api);
    await expect(core.listNamespacedPod({ namespace: NS })).resolves.toMatchObject({ items: [] });
    const err = await core.readNamespacedSecret({ name: 'kubemr-token', namespace: NS }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiException);
    expect((err as ApiException<string>).code).toBe(403);
    expect(body(err)).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'secrets "kubemr-token" is forbidden: User "system:serviceaccount:kubemr:kubemr-coordinator" cannot get resource "secrets" in API group "" in the namespace "kubemr"',
      reason: 'Forbidden',
      details: { name: 'kubemr-token', kind: 'secrets' },
      code: 403,
    });
    // Another namespace: the Role is namespaced.
    const other = await core.listNamespacedPod({ namespace: 'default' }).catch((e: unknown) => e);
    expect(body(other).message).toBe('pods is forbidden: User "system:serviceaccount:kubemr:kubemr-coordinator" cannot list resource "pods" in API group "" in the namespace "default"');
    // A cluster admin may; a bad token is 401.
    await expect(admin().core.listNamespacedSecret({ namespace: NS })).resolves.toBeDefined();
    const anon = await sim.kubeConfig(NS, 'nobody').makeApiClient(CoreV1Api).listNamespacedPod({ namespace: NS }).catch((e: unknown) => e);
    expect((anon as ApiException<string>).code).toBe(401);
    expect(sim.authorizations.filter((a) => !a.allowed).map((a) => `${a.verb} ${a.resource} ${a.namespace}`)).toEqual(['get secrets kubemr', 'list pods default']);
  });

  it('a grant removed from the Role is refused at once', async () => {
    const core = sim.kubeConfig(NS).makeApiClient(CoreV1Api);
    const role = sim.rbac.role('kubemr-coordinator');
    role.rules = role.rules!.map((r) => (r.resources?.includes('pods') ? { ...r, verbs: r.verbs.filter((v) => v !== 'list') } : r));
    const err = await core.listNamespacedPod({ namespace: NS }).catch((e: unknown) => e);
    expect((err as ApiException<string>).code).toBe(403);
  });
});

describe('objects', () => {
  it('fills in server-side defaults of Jobs and pods', async () => {
    const { batch } = admin();
    const created = await batch.createNamespacedJob({
      namespace: NS,
      body: job('defaults', { podFailurePolicy: { rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }] } }),
    });
    const uid = created.metadata!.uid!;
    expect(created.spec).toMatchObject({ completionMode: 'NonIndexed', suspend: false, podReplacementPolicy: 'Failed', selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } } });
    expect(created.spec!.completions).toBeUndefined();
    expect(created.spec!.template.metadata!.labels).toMatchObject({ 'batch.kubernetes.io/job-name': 'defaults', 'job-name': 'defaults', 'controller-uid': uid });
    const c = created.spec!.template.spec!.containers[0]!;
    expect(c).toMatchObject({ imagePullPolicy: 'IfNotPresent', terminationMessagePolicy: 'File', terminationMessagePath: '/dev/termination-log' });
    expect(created.spec!.template.spec).toMatchObject({ terminationGracePeriodSeconds: 30, dnsPolicy: 'ClusterFirst', serviceAccountName: 'default' });
    const plain = await batch.createNamespacedJob({ namespace: NS, body: job('plain') });
    expect(plain.spec!.podReplacementPolicy).toBe('TerminatingOrFailed');
    const latest = await admin().core.createNamespacedPod({ namespace: NS, body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
    expect(latest.spec!.containers[0]!.imagePullPolicy).toBe('Always');
    expect(latest.spec!.restartPolicy).toBe('Always');
  });

  it('validates built-in objects against the official schema (422) and refuses duplicates (409)', async () => {
    const { batch } = admin();
    const bad = job('bad');
    (bad.spec!.template.spec!.containers[0] as { name?: unknown }).name = 42;
    const err = await batch.createNamespacedJob({ namespace: NS, body: bad }).catch((e: unknown) => e);
    expect((err as ApiException<string>).code).toBe(422);
    await batch.createNamespacedJob({ namespace: NS, body: job('twice') });
    const dup = await batch.createNamespacedJob({ namespace: NS, body: job('twice') }).catch((e: unknown) => e);
    expect(body(dup)).toMatchObject({ code: 409, reason: 'AlreadyExists', message: 'jobs.batch "twice" already exists' });
  });

  it('selects by set-based label selectors and by field selectors', async () => {
    const { core } = admin();
    for (const [name, labels] of [['a', { tier: 'web', env: 'prod' }], ['b', { tier: 'db', env: 'dev' }], ['c', { tier: 'cache' }]] as const) {
      await core.createNamespacedPod({ namespace: NS, body: { metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'busybox:1' }] } } });
    }
    const names = async (labelSelector?: string, fieldSelector?: string) =>
      (await core.listNamespacedPod({ namespace: NS, ...(labelSelector ? { labelSelector } : {}), ...(fieldSelector ? { fieldSelector } : {}) })).items.map((p) => p.metadata!.name).sort();
    expect(await names('tier in (web, db)')).toEqual(['a', 'b']);
    expect(await names('tier notin (web)')).toEqual(['b', 'c']);
    expect(await names('env')).toEqual(['a', 'b']);
    expect(await names('!env')).toEqual(['c']);
    expect(await names('tier in (web,db),env!=prod')).toEqual(['b']);
    expect(await names(undefined, 'metadata.name=c')).toEqual(['c']);
    const err = await core.listNamespacedPod({ namespace: NS, fieldSelector: 'spec.bogus=1' }).catch((e: unknown) => e);
    expect(body(err)).toMatchObject({ code: 400, message: 'field label not supported: spec.bogus' });
  });
});

describe('deletion and garbage collection', () => {
  async function watchPods(): Promise<{ events: string[]; stop: () => void }> {
    const events: string[] = [];
    const req = await new Watch(sim.adminKubeConfig(NS)).watch(`/api/v1/namespaces/${NS}/pods`, {}, (type: string, p: V1Pod) => {
      events.push(`${type} ${p.metadata?.name}${p.metadata?.deletionTimestamp ? ' terminating' : ''}`);
    }, () => undefined);
    return { events, stop: () => req.abort() };
  }

  it('deletes a running pod gracefully: MODIFIED with deletionTimestamp, then DELETED', async () => {
    const { core } = admin();
    await core.createNamespacedPod({ namespace: NS, body: { metadata: { name: 'g' }, spec: { containers: [{ name: 'c', image: 'busybox:1' }] } } });
    await waitFor('scheduled', () => sim.pods.get(`${NS}/g`)?.spec?.nodeName === 'sim-node');
    const w = await watchPods();
    const answer = await core.deleteNamespacedPod({ name: 'g', namespace: NS });
    expect(answer.metadata?.deletionTimestamp).toBeDefined();
    expect(answer.metadata?.deletionGracePeriodSeconds).toBe(30);
    await waitFor('DELETED', () => w.events.includes('DELETED g terminating'));
    expect(w.events.filter((e) => e.endsWith(' g terminating') || e.startsWith('DELETED'))).toEqual(['MODIFIED g terminating', 'DELETED g terminating']);
    w.stop();
  });

  it('Background deletes a Job\'s pods; the batch/v1 default orphans them; Foreground keeps the Job until they are gone', async () => {
    const { batch } = admin();
    for (const n of ['bg', 'orphan', 'fg']) await batch.createNamespacedJob({ namespace: NS, body: job(n) });
    await waitFor('pods', () => ['bg', 'orphan', 'fg'].every((n) => sim.podsOfJob(n).length === 2));

    await batch.deleteNamespacedJob({ name: 'bg', namespace: NS, propagationPolicy: 'Background' });
    expect(sim.jobs.has(`${NS}/bg`)).toBe(false);
    await waitFor('bg pods collected', () => sim.podsOfJob('bg').length === 0);

    await batch.deleteNamespacedJob({ name: 'orphan', namespace: NS });
    await new Promise((r) => setTimeout(r, 100));
    expect(sim.podsOfJob('orphan')).toHaveLength(2);
    for (const p of sim.podsOfJob('orphan')) expect(p.metadata?.ownerReferences).toBeUndefined();

    await batch.deleteNamespacedJob({ name: 'fg', namespace: NS, propagationPolicy: 'Foreground' });
    const fg = sim.jobs.get(`${NS}/fg`);
    expect(fg?.metadata?.deletionTimestamp).toBeDefined();
    expect(fg?.metadata?.finalizers).toEqual(['foregroundDeletion']);
    await waitFor('fg gone with its pods', () => !sim.jobs.has(`${NS}/fg`));
    expect(sim.podsOfJob('fg')).toEqual([]);
  });

  it('collects an object whose owner does not exist', async () => {
    const { batch } = admin();
    const j = job('dangling');
    j.metadata!.ownerReferences = [{ apiVersion: 'v1', kind: 'Pod', name: 'gone', uid: '00000000-0000-4000-8000-000000000000' }];
    await batch.createNamespacedJob({ namespace: NS, body: j });
    await waitFor('the Job collected', () => !sim.jobs.has(`${NS}/dangling`));
  });
});

describe('the Job controller', () => {
  it('replaces failed pods up to backoffLimit, then fails the Job and stops the rest', async () => {
    await admin().batch.createNamespacedJob({ namespace: NS, body: job('retry') });
    const [a, b] = await waitFor('2 pods', () => (sim.podsOfJob('retry').length === 2 ? sim.podsOfJob('retry') : undefined));
    sim.updatePod(a!.metadata!.name!, failPod(1));
    await waitFor('a replacement', () => livePods('retry').length === 2 && sim.podsOfJob('retry').length === 3);
    expect(sim.jobs.get(`${NS}/retry`)?.status).toMatchObject({ failed: 1, active: 2 });
    sim.updatePod(b!.metadata!.name!, failPod(2));
    await waitFor('Failed', () => condition('retry', 'Failed'));
    expect(condition('retry', 'Failed')).toMatchObject({ reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
    expect(condition('retry', 'FailureTarget')).toBeDefined();
    await waitFor('the rest stopped', () => livePods('retry').length === 0);
  });

  it('ignores disrupted pods by the pod failure policy, and completes once any pod succeeded and the rest ended', async () => {
    const policy = { rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }] };
    await admin().batch.createNamespacedJob({ namespace: NS, body: job('wq', { backoffLimit: 0, podFailurePolicy: policy }) });
    const [a, b] = await waitFor('2 pods', () => (sim.podsOfJob('wq').length === 2 ? sim.podsOfJob('wq') : undefined));
    sim.updatePod(a!.metadata!.name!, (p) => {
      p.status = { phase: 'Failed', reason: 'Evicted', conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'TerminationByKubelet' }] };
    });
    await waitFor('a replacement for the evicted pod', () => sim.podsOfJob('wq').length === 3);
    expect(condition('wq', 'Failed')).toBeUndefined();
    const c = sim.podsOfJob('wq').find((p) => p.metadata!.name !== a!.metadata!.name && p.metadata!.name !== b!.metadata!.name)!;
    sim.updatePod(b!.metadata!.name!, failPod(0));
    await new Promise((r) => setTimeout(r, 100));
    // One pod succeeded: no new pods, but not complete while another still runs.
    expect(condition('wq', 'Complete')).toBeUndefined();
    expect(sim.podsOfJob('wq')).toHaveLength(3);
    sim.updatePod(c.metadata!.name!, failPod(0));
    await waitFor('Complete', () => condition('wq', 'Complete'));
    expect(sim.jobs.get(`${NS}/wq`)?.status).toMatchObject({ succeeded: 2 });
    expect(sim.jobs.get(`${NS}/wq`)?.status?.completionTime).toBeDefined();
  });

  it('records FailedCreate on the Job when pods are refused (quota), and creates them once they fit', async () => {
    sim.podQuota = { name: 'kubemr-quota', pods: 1 };
    await admin().batch.createNamespacedJob({ namespace: NS, body: job('quota') });
    const ev = await waitFor('FailedCreate', () => sim.events().find((e) => e.reason === 'FailedCreate'));
    expect(ev).toMatchObject({ type: 'Warning', involvedObject: { kind: 'Job', name: 'quota' }, source: { component: 'job-controller' } });
    expect(ev.message).toMatch(/^Error creating: pods "quota-[a-z0-9]{5}" is forbidden: exceeded quota: kubemr-quota, requested: pods=1, used: pods=1, limited: pods=1$/);
    expect(sim.podsOfJob('quota')).toHaveLength(1);
    sim.podQuota = undefined;
    await waitFor('both pods', () => sim.podsOfJob('quota').length === 2);
  });
});

describe('the scheduler and the kubelet', () => {
  const waiting = (name: string) => sim.podsOfJob(name)[0]?.status?.containerStatuses?.[0]?.state?.waiting;

  it('an image it cannot pull: ErrImagePull, then ImagePullBackOff, with Events', async () => {
    sim.images = new Set(['busybox:1.36']);
    await admin().batch.createNamespacedJob({ namespace: NS, body: job('pull', { parallelism: 1 }, 'registry.invalid/nope:1') });
    await waitFor('ErrImagePull', () => waiting('pull')?.reason === 'ErrImagePull');
    await waitFor('ImagePullBackOff', () => waiting('pull')?.reason === 'ImagePullBackOff');
    expect(waiting('pull')?.message).toBe('Back-off pulling image "registry.invalid/nope:1"');
    expect(sim.events().map((e) => e.reason)).toEqual(expect.arrayContaining(['Scheduled', 'Failed', 'BackOff']));
  });

  it('a missing Secret: CreateContainerConfigError; the pod starts once the Secret exists', async () => {
    const j = job('secret', { parallelism: 1 });
    j.spec!.template.spec!.containers[0]!.env = [{ name: 'T', valueFrom: { secretKeyRef: { name: 'kubemr-token', key: 'token' } } }];
    await admin().batch.createNamespacedJob({ namespace: NS, body: j });
    await waitFor('CreateContainerConfigError', () => waiting('secret')?.reason === 'CreateContainerConfigError');
    expect(waiting('secret')?.message).toBe('secret "kubemr-token" not found');
    sim.addSecret('kubemr-token', { token: 't' });
    await waitFor('ContainerCreating', () => waiting('secret')?.reason === 'ContainerCreating');
  });

  it('a pod that does not fit: Pending, PodScheduled=False Unschedulable, FailedScheduling', async () => {
    const j = job('big', { parallelism: 1 });
    j.spec!.template.spec!.containers[0]!.resources = { requests: { memory: '512Gi' } };
    await admin().batch.createNamespacedJob({ namespace: NS, body: j });
    const cond = await waitFor('Unschedulable', () => sim.podsOfJob('big')[0]?.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False'));
    expect(cond).toMatchObject({ reason: 'Unschedulable', message: expect.stringMatching(/^0\/1 nodes are available: 1 Insufficient memory\./) });
    expect(sim.events().find((e) => e.reason === 'FailedScheduling')).toBeDefined();
    sim.setAllocatable({ memory: '1Ti' });
    await waitFor('bound', () => sim.podsOfJob('big')[0]?.spec?.nodeName === 'sim-node');
  });

  it('runs containers as processes: env from fieldRefs and Secrets, log, exit code, FallbackToLogsOnError', async () => {
    sim.runContainers = true;
    sim.addSecret('s', { word: 'secret-word' });
    const j = job('run', { parallelism: 1, backoffLimit: 0 });
    const c = j.spec!.template.spec!.containers[0]!;
    c.command = ['node', '-e', 'console.log(process.env.POD, process.env.WORD); process.exit(3)'];
    c.terminationMessagePolicy = 'FallbackToLogsOnError';
    c.env = [
      { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'WORD', valueFrom: { secretKeyRef: { name: 's', key: 'word' } } },
    ];
    await admin().batch.createNamespacedJob({ namespace: NS, body: j });
    await waitFor('Failed', () => condition('run', 'Failed'), 20_000);
    const pod = sim.podsOfJob('run')[0]!;
    const name = pod.metadata!.name!;
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 3, reason: 'Error', message: `${name} secret-word\n` });
    expect(await admin().core.readNamespacedPodLog({ name, namespace: NS })).toBe(`${name} secret-word\n`);
  });
});
