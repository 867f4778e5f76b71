import path from 'node:path';
import { registeredApp, type RegisteredApp } from '../app/app.js';
import { errorMessage } from '../errors.js';
import { createLogger, type LogLevel } from '../logger.js';
import { runWorker } from './worker.js';

/**
 * `kubemr/worker`: the explicit entry for a process that is its own worker, with no kubemr CLI
 * in between (a container running `node worker.js`). Call it after your app module has called
 * `registerApp`:
 *
 * ```ts
 * import './my-app.js';
 * import { startWorkerFromEnv } from 'kubemr/worker';
 * await startWorkerFromEnv();
 * ```
 *
 * Settings come from the environment: `KUBEMR_COORDINATOR` (required), and optionally
 * `KUBEMR_JOB`, `KUBEMR_WORKER_ID`, `KUBEMR_TOKEN` (removed from the environment once read),
 * `KUBEMR_TLS_CA_PEM`, `KUBEMR_APP`, `KUBEMR_LOG_LEVEL`,
 * `KUBEMR_LOG_FORMAT=json`. Like a `main`, it sets the process's exit code when the work ends.
 */
export async function startWorkerFromEnv(reg: RegisteredApp | undefined = registeredApp()): Promise<void> {
  const env = process.env;
  try {
    if (!reg) throw new Error('no app registered: import your app module (which calls registerApp) first');
    if (!env.KUBEMR_COORDINATOR) throw new Error('KUBEMR_COORDINATOR is not set: the coordinator address (host:port) is needed');
    const logger = createLogger({ level: (env.KUBEMR_LOG_LEVEL as LogLevel | undefined) ?? 'warn', json: env.KUBEMR_LOG_FORMAT === 'json' });
    const appName = env.KUBEMR_APP ?? reg.name ?? path.basename(process.argv[1] ?? 'app').replace(/\.[^.]+$/, '');
    const abort = new AbortController();
    process.once('SIGTERM', () => abort.abort());
    process.once('SIGINT', () => abort.abort());
    const token = env.KUBEMR_TOKEN || undefined;
    // map, reduce and streaming commands never find the credential in the environment.
    delete env.KUBEMR_TOKEN;
    const ca = env.KUBEMR_TLS_CA_PEM;
    const summary = await runWorker({
      coordinator: env.KUBEMR_COORDINATOR,
      app: reg,
      appName,
      jobId: env.KUBEMR_JOB || undefined,
      workerId: env.KUBEMR_WORKER_ID || undefined,
      token,
      tls: ca ? { ca: Buffer.from(ca) } : undefined,
      logger,
      signal: abort.signal,
    });
    process.exitCode = summary.reason === 'aborted' ? 143 : 0;
  } catch (err) {
    process.stderr.write(`kubemr worker: ${errorMessage(err)}\n`);
    process.exitCode = 1;
  }
}
