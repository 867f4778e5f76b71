import { Command, InvalidArgumentError } from 'commander';
import { InvalidJobSpecError } from '../../lib/errors.js';
import { loadApp } from '../../lib/worker/loader.js';
import { runWorker } from '../../lib/worker/worker.js';
import { workerCredential, isWorkerCredential } from '../../lib/protocol/credentials.js';
import { cliLogger, clientTls, clientToken, exitWithError, exitWhenFlushed, intFlag, withTlsDialFlags } from './common.js';

interface WorkerFlags {
  coordinator?: string;
  job?: string;
  workerId?: string;
  token?: string;
  data?: string;
  tlsCa?: string;
  tls?: boolean;
  streaming?: boolean;
  giveUpMs?: number | 'never';
  verbose?: boolean;
}

/** `never`, or milliseconds >= 0. */
function giveUpFlag(flag: string): (value: string) => number | 'never' {
  const ms = intFlag(flag, 0);
  return (value) => {
    if (value === 'never') return 'never';
    try {
      return ms(value);
    } catch {
      throw new InvalidArgumentError(`Expected \`${flag}\` to be an integer >= 0 or never, got \`${value}\``);
    }
  };
}

/** The MIT lab's mrworker: one worker process that runs tasks until told to exit. */
export function workerCommand(): Command {
  return withTlsDialFlags(
    new Command('worker')
      .description('run one worker process: ask the coordinator for tasks until the work is done')
      .argument('[app]', 'bundled app name or a .js/.mjs/.ts module that calls registerApp')
      .option('--coordinator <host:port>', 'coordinator address (default $KUBEMR_COORDINATOR or 127.0.0.1:7070)')
      .option('--job <id>', 'only work on this job (default $KUBEMR_JOB)')
      .option('--worker-id <id>', 'the id reported to the coordinator (default $KUBEMR_WORKER_ID or host-pid)')
      .option('--token <token>', 'credential for the coordinator (default $KUBEMR_TOKEN, else the data directory\'s token file)')
      .option('--data <dir>', 'data directory whose token file to use (default $KUBEMR_DATA or ./.kubemr)'),
  )
    .option('--streaming', 'a worker for streaming jobs (no app)')
    .option('--give-up-ms <ms|never>', 'exit when the coordinator stays unreachable this long; `never`: retry until told to exit (default $KUBEMR_GIVE_UP_MS or 30000; worker pods get never)', giveUpFlag('--give-up-ms'))
    .option('-v, --verbose', 'debug logging')
    .action(async (app: string | undefined, flags: WorkerFlags) => {
      try {
        if (!app && !flags.streaming) throw new InvalidJobSpecError('Expected an app (or --streaming), got none');
        const logger = cliLogger(flags.verbose);
        const jobId = flags.job ?? process.env.KUBEMR_JOB;
        const tls = clientTls(flags);
        // Given the token itself and one job, work with that job's credential only.
        let token = clientToken(flags.token, flags.data);
        if (token && jobId && !isWorkerCredential(token)) token = workerCredential(token, jobId);
        // User code (the app module loaded next, streaming commands) never finds a credential here.
        delete process.env.KUBEMR_TOKEN;
        const loaded = app ? await loadApp(app) : undefined;
        const abort = new AbortController();
        const stop = () => abort.abort();
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
        const summary = await runWorker({
          coordinator: flags.coordinator ?? process.env.KUBEMR_COORDINATOR ?? '127.0.0.1:7070',
          app: loaded,
          appName: app ?? '',
          jobId,
          workerId: flags.workerId ?? process.env.KUBEMR_WORKER_ID,
          token,
          tls,
          logger,
          giveUpMs: flags.giveUpMs ?? (process.env.KUBEMR_GIVE_UP_MS ? giveUpFlag('KUBEMR_GIVE_UP_MS')(process.env.KUBEMR_GIVE_UP_MS) : 30_000),
          signal: abort.signal,
        });
        // The work is over and reported: exit now, neither waiting on whatever the app left
        // open (a socket, a timer) nor for the environment and isolate teardown of a natural
        // exit (100-300 ms measured for a 300 MB heap).
        exitWhenFlushed(summary.reason === 'aborted' ? 143 : 0);
      } catch (err) {
        exitWithError(err);
      }
    });
}
