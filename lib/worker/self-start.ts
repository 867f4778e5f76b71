import path from 'node:path';
import type { RegisteredApp } from '../app/app.js';
import { createLogger, type LogLevel } from '../logger.js';
import { runWorker } from './worker.js';

/**
 * The App contract's second entry: an app module run directly as a process with worker
 * settings in its environment (`KUBEMR_COORDINATOR`, and optionally `KUBEMR_JOB`,
 * `KUBEMR_WORKER_ID`, `KUBEMR_TOKEN`) becomes a worker, so a container can run
 * `node my-app.js` with no kubemr CLI in between. This module is that process's adapter, the
 * one place outside cmd/ that reads the environment, and only when registerApp asks it to.
 */
export async function startWorkerFromEnv(reg: RegisteredApp): Promise<void> {
  const env = process.env;
  const logger = createLogger({ level: (env.KUBEMR_LOG_LEVEL as LogLevel | undefined) ?? 'warn', json: env.KUBEMR_LOG_FORMAT === 'json' });
  const appName = env.KUBEMR_APP ?? reg.name ?? path.basename(process.argv[1] ?? 'app').replace(/\.[^.]+$/, '');
  const abort = new AbortController();
  process.once('SIGTERM', () => abort.abort());
  process.once('SIGINT', () => abort.abort());
  try {
    const summary = await runWorker({
      coordinator: env.KUBEMR_COORDINATOR!,
      app: reg,
      appName,
      jobId: env.KUBEMR_JOB || undefined,
      workerId: env.KUBEMR_WORKER_ID || undefined,
      token: env.KUBEMR_TOKEN || undefined,
      logger,
      signal: abort.signal,
    });
    process.exitCode = summary.reason === 'aborted' ? 143 : 0;
  } catch (err) {
    process.stderr.write(`kubemr worker: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
