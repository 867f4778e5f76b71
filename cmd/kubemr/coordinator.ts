import path from 'node:path';
import { Command } from 'commander';
import { Coordinator } from '../../lib/coordinator/coordinator.js';
import { ExternalExecutor } from '../../lib/executor/external.js';
import { startCoordinatorServer, stopServer } from '../../lib/protocol/server.js';
import { JOB_DEFAULTS } from '../../lib/coordinator/jobspec.js';
import { InvalidOptionError } from '../../lib/errors.js';
import { checkServing, cliLogger, dataDir, exitWithError, intFlag, localToken, paramFlag, serverTls, withFlagNames } from './common.js';
import { probeWritableDir } from '../../lib/storage/dirs.js';
import { reportProgress } from './progress.js';

interface CoordinatorFlags {
  param?: Record<string, string>;
  speculative: boolean;
  pack?: boolean;
  reducers: number;
  listen: string;
  out: string;
  data?: string;
  app: string;
  leaseMs: number;
  maxAttempts: number;
  token?: string;
  insecure?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  allowPlaintext?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

/**
 * The MIT lab's mrcoordinator: one job over the given inputs, served to workers started by
 * hand; exits once every output is final.
 */
export function coordinatorCommand(): Command {
  return new Command('coordinator')
    .description('serve one job to hand-started workers (kubemr worker) and exit when it is done')
    .argument('<inputs...>', 'input files or glob patterns')
    .option('-r, --reducers <R>', 'number of reduce partitions', intFlag('--reducers', 1), JOB_DEFAULTS.reducers)
    .option('--listen <host:port>', 'address to serve gRPC on (port 0 picks one)', '127.0.0.1:7070')
    .option('-o, --out <dir>', 'directory for mr-out-<r>', 'output')
    .option('--data <dir>', 'data directory (default $KUBEMR_DATA or ./.kubemr)')
    .option('--app <name>', 'only serve workers of this app (default: any worker)', '')
    .option('--lease-ms <ms>', 'a task without a heartbeat for this long is reassigned', intFlag('--lease-ms', 100), JOB_DEFAULTS.leaseMs)
    .option('--max-attempts <n>', 'task failures before the job fails', intFlag('--max-attempts', 1), JOB_DEFAULTS.maxAttempts)
    .option('--token <token>', 'the token clients and workers present (default $KUBEMR_TOKEN, else the data directory\'s token file, made on first use)')
    .option('--insecure', 'serve with no authentication at all: anyone who can reach the port can run jobs as you')
    .option('--tls-cert <file>', 'serve TLS with this certificate chain (PEM; default $KUBEMR_TLS_CERT)')
    .option('--tls-key <file>', 'the private key of --tls-cert (PEM; default $KUBEMR_TLS_KEY)')
    .option('--allow-plaintext', 'serve a non-loopback address without TLS (the token then travels in clear)')
    .option('--param <key=value>', 'a job parameter, read in map/reduce with params() (repeatable)', paramFlag)
    // The lab's mrcoordinator makes one map task per input file, and its tests count on it.
    .option('--pack', 'pack small files into shared map tasks, as `kubemr run` does (default here: one map task per file, as the lab)')
    .option('--no-speculative', 'never run backup attempts of slow tasks near the end of a phase')
    .option('-q, --quiet', 'no progress output')
    .option('-v, --verbose', 'debug logging')
    .action(async (inputs: string[], flags: CoordinatorFlags) => {
      try {
        process.exitCode = await serve(inputs, flags);
      } catch (err) {
        exitWithError(withFlagNames(err));
      }
    });
}

async function serve(inputs: string[], flags: CoordinatorFlags): Promise<number> {
  const cwd = process.cwd();
  const logger = cliLogger(flags.verbose);
  const data = dataDir(flags.data);
  // Both written to before anything starts (the output directory again under the job's claim).
  probeWritableDir(data, '`--data` directory');
  probeWritableDir(path.resolve(cwd, flags.out), '`--out` directory');
  if (flags.insecure && flags.token) throw new InvalidOptionError('`--insecure` serves without a token; it cannot be given with `--token`', { option: '--insecure' });
  // Authentication is on unless turned off out loud: the token of the data directory, as `run` uses.
  const token = flags.insecure ? undefined : (flags.token ?? (process.env.KUBEMR_TOKEN || localToken(data)));
  const tls = serverTls(flags);
  checkServing({ listen: flags.listen, token, tls: tls !== undefined, allowPlaintext: flags.allowPlaintext, insecure: flags.insecure });
  const coord = new Coordinator({ dataDir: data, executor: new ExternalExecutor(), logger, exitWhenIdle: true, recover: false, token });
  await coord.start();
  const job = await coord.submit({
    app: flags.app,
    inputs,
    reducers: flags.reducers,
    outputDir: path.resolve(cwd, flags.out),
    workDir: cwd,
    leaseMs: flags.leaseMs,
    maxAttempts: flags.maxAttempts,
    params: flags.param,
    speculative: flags.speculative,
    packSmallFiles: flags.pack ?? false,
  });
  const grpcServer = await startCoordinatorServer(coord, flags.listen, { token, tls, logger });
  const address = grpcServer.address;
  coord.advertise = address;
  // Tests and scripts read the bound address from this line.
  process.stderr.write(`kubemr coordinator listening on ${address} job ${job.id}\n`);
  const stopProgress = reportProgress(coord, job.id, flags.quiet ?? false);
  const onSignal = () => coord.cancel(job.id);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const done = await coord.waitFor(job.id);
  stopProgress();
  // Stay a moment so waiting workers hear EXIT instead of finding the coordinator gone.
  await new Promise((r) => setTimeout(r, 1000));
  await stopServer(grpcServer, 500);
  await coord.close();
  if (done.phase === 'succeeded') return 0;
  process.stderr.write(`kubemr: job ${done.id} ${done.phase}: ${done.message}\n`);
  return 1;
}
