/**
 * The coordinator service main (dist/cmd/coordinator/main.js) as a real process with local
 * workers: health endpoints, a job submitted over gRPC with the local token whose output equals
 * the sequential run, and a graceful SIGTERM (not ready while draining, exit 0).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubemrClient } from '../lib/protocol/client.js';
import { MAPREDUCEJOB, mapReduceJobId, type MapReduceJobStatus } from '../lib/operator/index.js';
import { assertBuilt, BOOKS, ROOT, sequentialOutput, sortedOutput, tempDir } from './support/cli.js';
import { KubeApiServerSim, type CustomObject } from './support/kube-apiserver-sim.js';
import { applyDefaults, validate, type Schema } from './support/structural-schema.js';
import { waitFor } from './support/wait.js';

const MAIN = path.join(ROOT, 'dist', 'cmd', 'coordinator', 'main.js');

interface Service {
  child: ReturnType<typeof spawn>;
  grpc: string;
  health: string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let dir: string;
let services: Service[];
let clients: KubemrClient[];

beforeEach(() => {
  dir = tempDir('coord-service');
  services = [];
  clients = [];
});

afterEach(async () => {
  for (const c of clients) c.close();
  for (const s of services) {
    if (s.child.exitCode === null && s.child.signalCode === null) {
      s.child.kill('SIGKILL');
      await s.exited;
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

async function startService(data: string, extra: string[] = [], env: Record<string, string> = {}): Promise<Service> {
  const child = spawn(process.execPath, [MAIN, '--executor', 'local', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--data', data, ...extra], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KUBEMR_TOKEN: '', ...env },
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const grpc = /listening on (\S+)/.exec(stderr)?.[1];
    const health = /health on (http:\/\/\S+)/.exec(stderr)?.[1];
    if (grpc && health) {
      const s: Service = { child, grpc, health, stderr: () => stderr, exited };
      services.push(s);
      return s;
    }
    if (child.exitCode !== null) throw new Error(`the coordinator exited early: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`the coordinator did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function httpStatus(url: string): Promise<number | 'refused'> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.text();
    return res.status;
  } catch {
    return 'refused';
  }
}

describe('coordinator service', () => {
  it('serves health, runs a submitted wordcount with local workers (equal to the sequential run), and stops cleanly on SIGTERM', async () => {
    assertBuilt();
    const data = path.join(dir, 'data');
    const svc = await startService(data);
    // Liveness holds while the service drains; once it has exited, the probe is refused.
    const live = await httpStatus(`${svc.health}/healthz`);
    if (live !== 200) {
      expect(live).toBe('refused');
      expect(await Promise.race([svc.exited.then(() => 'exited'), new Promise((r) => setTimeout(() => r('still running'), 2000))])).toBe('exited');
    }
    expect(await httpStatus(`${svc.health}/readyz`)).toBe(200);
    expect(await httpStatus(`${svc.health}/nope`)).toBe(404);

    // The local token is written to the data directory; without it the coordinator refuses.
    const token = fs.readFileSync(path.join(data, 'token'), 'utf8').trim();
    expect(token).toMatch(/^[0-9a-f]{48}$/);
    const anonymous = new KubemrClient({ address: svc.grpc, deadlineMs: 5000 });
    clients.push(anonymous);
    await expect(anonymous.listJobs()).rejects.toThrow(/token|unauthenticated/i);

    const client = new KubemrClient({ address: svc.grpc, token, deadlineMs: 10_000 });
    clients.push(client);
    const jobId = await client.submitJob({ app: 'wordcount', inputs: BOOKS, reducers: 3, workers: 2, workDir: dir, name: 'service-wc' });
    expect(jobId).not.toBe('');
    const deadline = Date.now() + 120_000;
    let status = await client.getJob(jobId);
    while (!['succeeded', 'failed', 'cancelled'].includes(status.phase)) {
      if (Date.now() > deadline) throw new Error(`job did not finish: ${JSON.stringify(status.phase)}\n${svc.stderr()}`);
      await new Promise((r) => setTimeout(r, 100));
      status = await client.getJob(jobId);
    }
    expect(status.phase, status.message).toBe('succeeded');
    expect(status).toMatchObject({ mapsDone: 8, mapsTotal: 8, reducesDone: 3, reducesTotal: 3 });
    expect(status.results).toHaveLength(3);
    expect(fs.readFileSync(path.join(data, 'jobs', jobId, 'RESULT'), 'utf8')).toBe('OK\n');
    expect(sortedOutput(path.join(data, 'jobs', jobId, 'output'))).toBe(sequentialOutput(dir, 'wordcount', BOOKS));

    // An open WatchJob stream keeps the gRPC server draining for a moment after SIGTERM: long
    // enough to see readiness go 503 while liveness still answers.
    const watch = client.watchJob('');
    watch.on('error', () => {});
    watch.on('data', () => {});
    await new Promise((r) => setTimeout(r, 200));
    const signalled = Date.now();
    svc.child.kill('SIGTERM');
    const seen: (number | 'refused')[] = [];
    for (;;) {
      const code = await httpStatus(`${svc.health}/readyz`);
      seen.push(code);
      if (code !== 200 || Date.now() - signalled > 10_000) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(seen.at(-1)).toBe(503);
    // Liveness holds while the service drains; once it has exited, the probe is refused.
    const liveness = await httpStatus(`${svc.health}/healthz`);
    if (liveness !== 200) {
      expect(liveness).toBe('refused');
      expect(await Promise.race([svc.exited.then(() => 'exited'), new Promise((r) => setTimeout(() => r('still running'), 2000))])).toBe('exited');
    }
    const exit = await svc.exited;
    expect(exit, svc.stderr()).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalled).toBeLessThan(10_000);
    watch.cancel();
  });

  it('exits 0 at once on SIGTERM when idle, and a restarted service on the same data keeps its jobs', async () => {
    assertBuilt();
    const data = path.join(dir, 'data');
    const first = await startService(data);
    const token = fs.readFileSync(path.join(data, 'token'), 'utf8').trim();
    const client = new KubemrClient({ address: first.grpc, token, deadlineMs: 10_000 });
    clients.push(client);
    const jobId = await client.submitJob({ app: 'wordcount', inputs: BOOKS.slice(0, 2), reducers: 2, workers: 1, workDir: dir });
    for (;;) {
      const s = await client.getJob(jobId);
      if (s.phase === 'succeeded') break;
      if (s.phase === 'failed' || s.phase === 'cancelled') throw new Error(s.message);
      await new Promise((r) => setTimeout(r, 100));
    }
    const signalled = Date.now();
    first.child.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalled).toBeLessThan(5000);

    const second = await startService(data);
    expect(await httpStatus(`${second.health}/readyz`)).toBe(200);
    // Same data directory, same token: old clients keep working against the new process.
    expect(fs.readFileSync(path.join(data, 'token'), 'utf8').trim()).toBe(token);
    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });

  it('with --executor kubernetes, fails a MapReduceJob whose worker image cannot be pulled after --worker-start-timeout, with the reason', async () => {
    assertBuilt();
    const crd = loadAll(fs.readFileSync(path.join(ROOT, 'k8s', 'crd.yaml'), 'utf8'))[0] as { spec: { versions: { schema: { openAPIV3Schema: Schema } }[] } };
    const schema = crd.spec.versions[0]!.schema.openAPIV3Schema;
    const api = await KubeApiServerSim.start();
    try {
      api.serveCustomResource({ ...MAPREDUCEJOB, applyDefaults: (o) => applyDefaults(schema, o) as CustomObject, validate: (o) => validate(schema, { ...o, metadata: {} }) });
      api.images = new Set(['kubemr:dev']);
      const kubeconfig = path.join(dir, 'kubeconfig.json');
      fs.writeFileSync(kubeconfig, api.kubeConfig('kubemr').exportConfig());
      const data = path.join(dir, 'data');
      fs.mkdirSync(path.join(data, 'inputs'), { recursive: true });
      fs.writeFileSync(path.join(data, 'inputs', 'a.txt'), 'a b c\n');
      const env = { KUBECONFIG: kubeconfig, KUBEMR_NAMESPACE: 'kubemr' };
      const bad = spawn(process.execPath, [MAIN, '--executor', 'kubernetes', '--insecure', '--data', data, '--worker-start-timeout', '0'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
      let badErr = '';
      bad.stderr!.on('data', (d) => (badErr += d));
      expect(await new Promise((r) => bad.on('close', r))).not.toBe(0);
      expect(badErr).toContain('Expected `--worker-start-timeout` to be an integer >= 1, got `0`');

      const child = spawn(process.execPath, [MAIN, '--executor', 'kubernetes', '--insecure', '--operator', '--listen', '127.0.0.1:0', '--data', data, '--worker-start-timeout', '3'], {
        cwd: dir,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, KUBEMR_TOKEN: '', ...env },
      });
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
      services.push({ child, grpc: '', health: '', stderr: () => stderr, exited });
      const name = `service-bad-image-${process.pid}`;
      await waitFor(`the coordinator listening: ${stderr}`, () => /listening on/.test(stderr), 30_000);
      await api.adminKubeConfig('kubemr').makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
        group: MAPREDUCEJOB.group,
        version: MAPREDUCEJOB.version,
        namespace: 'kubemr',
        plural: MAPREDUCEJOB.plural,
        body: { apiVersion: MAPREDUCEJOB.apiVersion, kind: MAPREDUCEJOB.kind, metadata: { name }, spec: { app: 'wordcount', image: 'example.invalid/none:1', inputs: ['inputs/a.txt'], reducers: 1, workers: 1 } },
      });
      const t0 = Date.now();
      const status = await waitFor(`Failed (${stderr})`, () => {
        const s = api.getCustomObject(MAPREDUCEJOB.plural, name)?.status as MapReduceJobStatus | undefined;
        return s?.phase === 'Failed' ? s : undefined;
      }, 60_000);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(2500);
      expect(status.message).toMatch(/^workers could not be started: no worker pod of Job mr-[-a-z0-9]+ was running 3 s after it was needed \(the worker start timeout\): pod mr-[-a-z0-9]+: (ErrImagePull|ImagePullBackOff): .*example\.invalid\/none:1/);
      expect(status.conditions?.find((c) => c.type === 'Failed')).toMatchObject({ status: 'True', reason: 'WorkersCannotStart' });
      child.kill('SIGTERM');
      expect(await exited).toEqual({ code: 0, signal: null });
    } finally {
      await api.close();
    }
  });

  it('with --operator, runs a MapReduceJob from the API server named by KUBECONFIG and reports it Succeeded', async () => {
    assertBuilt();
    const crd = loadAll(fs.readFileSync(path.join(ROOT, 'k8s', 'crd.yaml'), 'utf8'))[0] as { spec: { versions: { schema: { openAPIV3Schema: Schema } }[] } };
    const schema = crd.spec.versions[0]!.schema.openAPIV3Schema;
    const api = await KubeApiServerSim.start();
    try {
      api.serveCustomResource({
        ...MAPREDUCEJOB,
        applyDefaults: (o) => applyDefaults(schema, o) as CustomObject,
        validate: (o) => validate(schema, { ...o, metadata: {} }),
      });
      const kubeconfig = path.join(dir, 'kubeconfig.json');
      fs.writeFileSync(kubeconfig, api.kubeConfig('kubemr').exportConfig());
      const data = path.join(dir, 'data');
      fs.mkdirSync(path.join(data, 'inputs', 'gutenberg'), { recursive: true });
      for (const b of BOOKS) fs.copyFileSync(b, path.join(data, 'inputs', 'gutenberg', path.basename(b)));
      const svc = await startService(data, ['--operator'], { KUBECONFIG: kubeconfig, KUBEMR_NAMESPACE: 'kubemr' });
      const name = `service-wc-${process.pid}`;
      const created = (await api.adminKubeConfig('kubemr').makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
        group: MAPREDUCEJOB.group,
        version: MAPREDUCEJOB.version,
        namespace: 'kubemr',
        plural: MAPREDUCEJOB.plural,
        body: { apiVersion: MAPREDUCEJOB.apiVersion, kind: MAPREDUCEJOB.kind, metadata: { name }, spec: { app: 'wordcount', inputs: ['inputs/gutenberg/pg-*.txt'], reducers: 3 } },
      })) as CustomObject;
      const jobId = mapReduceJobId(name, created.metadata!.uid!);
      const deadline = Date.now() + 120_000;
      let status: MapReduceJobStatus | undefined;
      for (;;) {
        status = api.getCustomObject(MAPREDUCEJOB.plural, name)?.status as MapReduceJobStatus | undefined;
        if (status?.phase === 'Succeeded' || status?.phase === 'Failed') break;
        if (Date.now() > deadline) throw new Error(`no Succeeded status: ${JSON.stringify(status)}\n${svc.stderr()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(status, svc.stderr()).toMatchObject({ phase: 'Succeeded', jobId, progress: 'map 8/8 reduce 3/3', results: [0, 1, 2].map((r) => `jobs/${jobId}/output/mr-out-${r}`) });
      const inputs = BOOKS.map((b) => path.join('inputs', 'gutenberg', path.basename(b)));
      expect(sortedOutput(path.join(data, 'jobs', jobId, 'output'))).toBe(sequentialOutput(data, 'wordcount', inputs));
      for (const w of api.statusWrites) expect(validate(schema.properties!.status!, w.status, 'status')).toEqual([]);
      svc.child.kill('SIGTERM');
      expect(await svc.exited).toEqual({ code: 0, signal: null });
    } finally {
      await api.close();
    }
  });
});
