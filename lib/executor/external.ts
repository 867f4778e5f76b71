import type { Executor, LaunchSpec, WorkerDeathListener, WorkerInfo } from './types.js';

/**
 * Workers started by hand (`kubemr worker ...`), as in the MIT lab's test script. The
 * coordinator only learns of them through their requests; it detects dead ones by lease.
 */
export class ExternalExecutor implements Executor {
  readonly kind = 'external' as const;
  private readonly launched = new Map<string, LaunchSpec>();

  async launch(spec: LaunchSpec): Promise<void> {
    this.launched.set(spec.jobId, spec);
  }
  async list(): Promise<WorkerInfo[]> {
    return [];
  }
  async logs(workerId: string): Promise<AsyncIterable<string>> {
    throw new Error(`worker ${workerId} was started by hand; its log is wherever its owner sent it`);
  }
  async stop(jobId: string): Promise<void> {
    this.launched.delete(jobId);
  }
  onWorkerDeath(_listener: WorkerDeathListener): void {}
  async close(): Promise<void> {
    this.launched.clear();
  }
}
