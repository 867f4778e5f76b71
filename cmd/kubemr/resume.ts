import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Coordinator, isFinished } from '../../lib/coordinator/coordinator.js';
import { InvalidJobSpecError, JobNotFoundError } from '../../lib/errors.js';
import { LocalExecutor } from '../../lib/executor/local.js';
import { cliLogger, EXIT, jobEndError, localToken, logsLine } from './common.js';
import { reportProgress } from './progress.js';

/**
 * `kubemr run --resume <jobId>`: continues a job whose `kubemr run` was killed mid-way. The
 * coordinator replays the job's journal (tasks already done stay done, granted commits are
 * finished), re-checks that the job still holds its output directory, and starts its workers.
 */
export async function resumeRun(jobId: string, opts: { data: string; workerRestarts: number; quiet: boolean; verbose: boolean | undefined }): Promise<number> {
  const jl = new Coordinator({ dataDir: opts.data, recover: false }).jobLayout(jobId);
  if (!fs.existsSync(jl.spec)) throw new JobNotFoundError(`No job \`${jobId}\` in data directory \`${opts.data}\` (no ${jl.spec})`, { jobId });
  if (fs.existsSync(jl.result)) {
    throw new InvalidJobSpecError(`Job \`${jobId}\` has already finished (${fs.readFileSync(jl.result, 'utf8').trim()}); there is nothing to resume`);
  }
  const logger = cliLogger(opts.verbose);
  const token = localToken(opts.data);
  const executor = new LocalExecutor({ logger, maxRestarts: opts.workerRestarts });
  const coord = new Coordinator({ dataDir: opts.data, executor, logger, recover: true, resumeOnly: jobId, token, workerGraceMs: 1000 });
  const socket = path.join(os.tmpdir(), `kubemr-${process.pid}-${crypto.randomBytes(3).toString('hex')}.sock`);
  coord.advertise = `unix:${socket}`;
  const { startCoordinatorServer, stopServer } = await import('../../lib/protocol/server.js');
  // Listening first: workers started by the recovery are told to wait until it is done.
  const grpcServer = await startCoordinatorServer(coord, coord.advertise, { token, logger });
  const onSignal = () => {
    if (coord.hasJob(jobId) && !isFinished(coord.getJob(jobId).phase)) {
      process.stderr.write(`\nkubemr: cancelling ${jobId} and stopping workers\n`);
      coord.cancel(jobId);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await coord.start();
    if (!coord.hasJob(jobId)) throw new JobNotFoundError(`Job \`${jobId}\` could not be resumed; see the messages above`, { jobId });
    const stopProgress = reportProgress(coord, jobId, opts.quiet);
    const done = await coord.waitFor(jobId);
    stopProgress();
    const logs = logsLine(done.id, coord.jobLayout(done.id).logsDir, opts.data);
    if (done.phase === 'succeeded') {
      if (!opts.quiet) process.stderr.write(`job ${done.id} succeeded: ${done.reduces.length} files in ${done.outputDir}\n${logs}\n`);
      return EXIT.ok;
    }
    const err = jobEndError(done);
    process.stderr.write(`kubemr: ${err.message}\nkubemr: ${logs}\n`);
    return done.phase === 'cancelled' ? EXIT.interrupted : EXIT.failed;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await executor.close();
    await stopServer(grpcServer, 500);
    await coord.close();
    fs.rmSync(socket, { force: true });
  }
}
