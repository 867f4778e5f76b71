/**
 * One contract every executor keeps, run against each: LocalExecutor (real child processes),
 * KubernetesExecutor (the real client-node against the API server simulation) and ExternalExecutor
 * (workers started by hand, which it can neither list nor watch).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { ExternalExecutor } from '../lib/executor/external.js';
import { KubernetesExecutor } from '../lib/executor/kubernetes.js';
import { LocalExecutor } from '../lib/executor/local.js';
import type { Executor, LaunchSpec, WorkerState } from '../lib/executor/types.js';
import { ROOT } from './support/cli.js';
import { KubeApiServerSim } from './support/kube-apiserver-sim.js';
import { waitFor } from './support/wait.js';

interface Harness {
  executor: Executor;
  spec(jobId: string): LaunchSpec;
  /** Makes one running worker of the job die abnormally. */
  killOne(jobId: string): Promise<void>;
  listsWorkers: boolean;
  reportsDeaths: boolean;
  close(): Promise<void>;
}

const STATES: WorkerState[] = ['starting', 'running', 'succeeded', 'failed'];
let seq = 0;
const newJobId = () => `contract-${process.pid}-${++seq}`;
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'kubemr-contract-'));


const harnesses: Record<string, () => Promise<Harness>> = {
  local: async () => {
    const dataDir = tmp();
    const executor = new LocalExecutor({ command: [process.execPath, path.join(ROOT, 'test/support/stub-worker.mjs')], killGraceMs: 500 });
    return {
      executor,
      spec: (jobId) => ({ jobId, app: 'wordcount', coordinator: '127.0.0.1:1', dataDir }),
      async killOne(jobId) {
        const w = (await executor.list(jobId)).find((x) => x.state === 'running');
        process.kill(Number(/pid (\d+)/.exec(w!.where!)![1]), 'SIGKILL');
      },
      listsWorkers: true,
      reportsDeaths: true,
      close: () => executor.close(),
    };
  },
  kubernetes: async () => {
    const server = await KubeApiServerSim.start();
    const dataDir = tmp();
    const executor = new KubernetesExecutor({ kubeConfig: server.kubeConfig('kubemr'), watchRetryMs: 50 });
    const running = (p: V1Pod) => {
      p.status = { phase: 'Running', startTime: new Date(), containerStatuses: [{ name: 'worker', image: 'kubemr:dev', imageID: 'x', ready: true, restartCount: 0, state: { running: { startedAt: new Date() } } }] };
    };
    return {
      executor,
      spec: (jobId) => ({ jobId, app: 'wordcount', coordinator: 'kubemr-coordinator:7070', dataDir }),
      async killOne(jobId) {
        const pod = server.podsOfJob(executor.jobName(jobId)).find((p) => p.status?.phase !== 'Failed')!;
        server.updatePod(pod.metadata!.name!, running);
        server.updatePod(pod.metadata!.name!, (p) => {
          p.status = { phase: 'Failed', containerStatuses: [{ name: 'worker', image: 'kubemr:dev', imageID: 'x', ready: false, restartCount: 0, state: { terminated: { exitCode: 137, reason: 'OOMKilled' } } }] };
        });
      },
      listsWorkers: true,
      reportsDeaths: true,
      async close() {
        await executor.close();
        await server.close();
      },
    };
  },
  external: async () => {
    const executor = new ExternalExecutor();
    return {
      executor,
      spec: (jobId) => ({ jobId, app: 'wordcount', coordinator: '127.0.0.1:1', dataDir: tmp() }),
      killOne: async () => undefined,
      listsWorkers: false,
      reportsDeaths: false,
      close: () => executor.close(),
    };
  },
};

for (const [name, make] of Object.entries(harnesses)) {
  describe(`executor contract: ${name}`, () => {
    let h: Harness | undefined;
    afterEach(async () => {
      await h?.close();
      h = undefined;
    });

    it('launch starts the workers of a job, listed by job, and a second launch adds none', async () => {
      h = await make();
      const jobId = newJobId();
      await h.executor.launch(h.spec(jobId), 2);
      await h.executor.launch(h.spec(jobId), 2);
      const workers = await h.executor.list(jobId);
      if (!h.listsWorkers) {
        expect(workers).toEqual([]);
        return;
      }
      expect(workers).toHaveLength(2);
      for (const w of workers) {
        expect(w.jobId).toBe(jobId);
        expect(w.id).not.toBe('');
        expect(STATES).toContain(w.state);
      }
      expect(new Set(workers.map((w) => w.id)).size).toBe(2);
    });

    it('reports a worker that dies, with its id, its job and the reason', async () => {
      h = await make();
      const deaths: Array<{ worker: string; job: string; reason: string }> = [];
      h.executor.onWorkerDeath((worker, job, reason) => deaths.push({ worker, job, reason }));
      const jobId = newJobId();
      await h.executor.launch(h.spec(jobId), 2);
      if (!h.reportsDeaths) {
        // Hand-started workers are only known by their leases; nothing to report here.
        expect(deaths).toEqual([]);
        return;
      }
      const harness = h;
      await waitFor('two live workers', async () => (await harness.executor.list(jobId)).filter((w) => w.state === 'running' || w.state === 'starting').length === 2);
      const before = (await h.executor.list(jobId)).map((w) => w.id);
      await h.killOne(jobId);
      const d = await waitFor('a death report', () => deaths[0]);
      expect(d.job).toBe(jobId);
      expect(before).toContain(d.worker);
      expect(d.reason).toMatch(/\S/);
    });

    it('stop ends every worker of the job, reports none of them dead, and spares other jobs', async () => {
      h = await make();
      const deaths: string[] = [];
      h.executor.onWorkerDeath((worker) => deaths.push(worker));
      const a = newJobId();
      const b = newJobId();
      await h.executor.launch(h.spec(a), 2);
      await h.executor.launch(h.spec(b), 1);
      const harness = h;
      if (h.listsWorkers) await waitFor('workers up', async () => (await harness.executor.list(a)).length === 2);
      await h.executor.stop(a);
      await waitFor('job a stopped', async () => (await harness.executor.list(a)).every((w) => w.state !== 'running' && w.state !== 'starting'));
      await new Promise((r) => setTimeout(r, 200));
      expect(deaths).toEqual([]);
      if (h.listsWorkers) expect((await h.executor.list(b)).length).toBe(1);
    });
  });
}
