import { Command } from 'commander';
import { InvalidJobSpecError } from '../../lib/errors.js';
import { loadApp } from '../../lib/worker/loader.js';
import { runWorker } from '../../lib/worker/worker.js';
import { cliLogger, exitWithError, intFlag } from './common.js';

interface WorkerFlags {
  coordinator?: string;
  job?: string;
  workerId?: string;
  token?: string;
  streaming?: boolean;
  giveUpMs: number;
  verbose?: boolean;
}

/** The MIT lab's mrworker: one worker process that runs tasks until told to exit. */
export function workerCommand(): Command {
  return new Command('worker')
    .description('run one worker process: ask the coordinator for tasks until the work is done')
    .argument('[app]', 'bundled app name or a .js/.mjs/.ts module that calls registerApp')
    .option('--coordinator <host:port>', 'coordinator address (default $KUBEMR_COORDINATOR or 127.0.0.1:7070)')
    .option('--job <id>', 'only work on this job (default $KUBEMR_JOB)')
    .option('--worker-id <id>', 'the id reported to the coordinator (default $KUBEMR_WORKER_ID or host-pid)')
    .option('--token <token>', 'token for the coordinator (default $KUBEMR_TOKEN)')
    .option('--streaming', 'a worker for streaming jobs (no app)')
    .option('--give-up-ms <ms>', 'exit when the coordinator stays unreachable this long', intFlag('--give-up-ms', 0), 30_000)
    .option('-v, --verbose', 'debug logging')
    .action(async (app: string | undefined, flags: WorkerFlags) => {
      try {
        if (!app && !flags.streaming) throw new InvalidJobSpecError('Expected an app (or --streaming), got none');
        const logger = cliLogger(flags.verbose);
        const loaded = app ? await loadApp(app) : undefined;
        const abort = new AbortController();
        const stop = () => abort.abort();
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
        const summary = await runWorker({
          coordinator: flags.coordinator ?? process.env.KUBEMR_COORDINATOR ?? '127.0.0.1:7070',
          app: loaded,
          appName: app ?? '',
          jobId: flags.job ?? process.env.KUBEMR_JOB,
          workerId: flags.workerId ?? process.env.KUBEMR_WORKER_ID,
          token: flags.token ?? process.env.KUBEMR_TOKEN,
          logger,
          giveUpMs: flags.giveUpMs,
          signal: abort.signal,
        });
        process.exitCode = summary.reason === 'aborted' ? 143 : 0;
      } catch (err) {
        exitWithError(err);
      }
    });
}
